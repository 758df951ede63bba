# if-guards on state, try/except, an early return
from locust import HttpUser, constant, task


class Careful(HttpUser):
    wait_time = constant(0)
    logged_in = False

    @task
    def step(self):
        if not self.logged_in:
            self.client.post("/login", json={})
            self.logged_in = True
            return
        try:
            value = self.client.get("/").json()
        except ValueError:
            value = None
        if value is None:
            self.client.get("/items/1", name="/items/[fallback]")
