# a value from one response reused in the next request
from locust import HttpUser, constant, task


class Creator(HttpUser):
    wait_time = constant(0)

    @task
    def create_then_read(self):
        new = self.client.post("/items", json={"name": "x"}).json()["id"]
        self.client.get(f"/items/{new}", name="/items/[new]")
