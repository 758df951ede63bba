# FastHttpUser: random ids, catch_response on JSON, names by the URL as written
import random

from locust import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task(2)
    def item(self):
        n = random.randint(1, 50)
        with self.client.get(f"/items/{n}", name="/items/[n]", catch_response=True) as r:
            if r.json()["id"] != n:
                r.failure("wrong id")

    @task(1)
    def plain(self):
        self.client.get("/search?q=x")

    @task(1)
    def fails(self):
        self.client.get("/fail")
