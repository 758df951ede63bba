from locust import HttpUser, task


class Weighted(HttpUser):
    @task(3)
    def index(self):
        self.client.get("/")

    @task(1)
    def echo(self):
        self.client.get("/echo")
