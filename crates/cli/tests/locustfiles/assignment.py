# The classic assignment's shape: one HttpUser, a wait time, one or two GETs.
from locust import HttpUser, task, between


class QuickstartUser(HttpUser):
    wait_time = between(1, 5)

    @task
    def hello_world(self):
        self.client.get("/")
        self.client.get("/echo")
