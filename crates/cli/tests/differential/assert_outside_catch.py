# the response kept and checked outside a catch block: assert on status and body
from locust import HttpUser, constant, task


class Checker(HttpUser):
    wait_time = constant(0)

    @task(3)
    def good(self):
        r = self.client.get("/items/5")
        assert r.status_code == 200
        assert r.json()["id"] == 5

    @task(1)
    def bad(self):
        r = self.client.get("/missing")
        assert r.status_code == 200, f"status {r.status_code}"
