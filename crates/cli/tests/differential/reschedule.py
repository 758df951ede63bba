# RescheduleTask and a plain exception class of the user's own
from locust import HttpUser, constant, task
from locust.exception import RescheduleTask


class NotReady(Exception):
    pass


class Retrying(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        self.n += 1
        self.client.get("/", name="attempt")
        if self.n % 3 == 0:
            raise RescheduleTask()
        if self.n % 5 == 0:
            raise NotReady(f"not ready")
