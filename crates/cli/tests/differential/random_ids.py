# random values in URLs (random.randint, random.choice) with name=
import random

from locust import HttpUser, constant, task


class Browser(HttpUser):
    wait_time = constant(0)

    @task(3)
    def item(self):
        self.client.get(f"/items/{random.randint(1, 1000)}", name="/items/[id]")

    @task(1)
    def search(self):
        self.client.get("/search", params={"q": random.choice(["a", "b", "c"])}, name="/search?q=[q]")
