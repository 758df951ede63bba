# values set on self in on_start, used in URLs
from locust import HttpUser, constant, task


class Account(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.user_id = 17
        self.base = f"/items/{self.user_id}"

    @task
    def me(self):
        self.client.get(self.base, name="/items/[me]")

    @task
    def other(self):
        self.client.get(f"/items/{self.user_id + 1}", name="/items/[other]")
