from locust import HttpUser, task


class LoggedIn(HttpUser):
    def on_start(self):
        self.client.post("/echo", data={"user": "ann", "password": "x"}, name="login")

    def on_stop(self):
        self.client.post("/echo", name="logout")

    @task(2)
    def index(self):
        self.client.get("/")

    @task
    def profile(self):
        self.client.get("/echo?profile", name="profile")
