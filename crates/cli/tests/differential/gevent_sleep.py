# gevent.sleep in a task and between requests
import gevent

from locust import HttpUser, between, task


class Patient(HttpUser):
    wait_time = between(0, 0.002)

    @task
    def slow(self):
        self.client.get("/", name="first")
        gevent.sleep(0.003)
        self.client.get("/", name="second")
