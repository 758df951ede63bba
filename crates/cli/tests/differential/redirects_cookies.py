# redirects followed (302 and 303 become GET) and cookies kept per user
from locust import HttpUser, constant, task


class Session(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.get("/set-cookie")

    @task
    def follow(self):
        r = self.client.get("/redirect")
        assert r.json()["id"] == 42, r.text

    @task
    def see_other(self):
        self.client.post("/see-other", json={})

    @task
    def cookie(self):
        with self.client.get("/whoami", catch_response=True) as r:
            if "session=s1" not in r.json()["cookie"]:
                r.failure("cookie not kept: " + r.json()["cookie"])
