# on_start login with a token from JSON, sent in a header
from locust import HttpUser, constant, task


class Member(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        r = self.client.post("/login", json={"user": "u", "password": "p"})
        self.token = r.json()["token"]

    @task
    def profile(self):
        with self.client.get("/whoami", headers={"Authorization": f"Bearer {self.token}"}, catch_response=True) as r:
            if r.json()["auth"] != "Bearer t0k3n":
                r.failure("no token sent")
