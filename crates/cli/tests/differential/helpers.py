# helper methods and a module-level helper function
from locust import HttpUser, constant, task


def item_path(n):
    return f"/items/{n}"


class Helped(HttpUser):
    wait_time = constant(0)

    def login(self):
        return self.client.post("/login", json={"u": "a"}).json()["token"]

    def on_start(self):
        self.token = self.login()

    def fetch(self, n):
        return self.client.get(item_path(n), name="/items/[n]", headers={"Authorization": self.token})

    @task
    def two(self):
        self.fetch(1)
        self.fetch(2)
