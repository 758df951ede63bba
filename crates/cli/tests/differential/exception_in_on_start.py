# an uncaught exception in on_start: logged and counted, and that user does not run its tasks
from locust import HttpUser, constant, task


class Broken(HttpUser):
    weight = 1
    wait_time = constant(0)

    def on_start(self):
        self.client.post("/login", json={})
        raise ValueError("this user cannot start")

    @task
    def never(self):
        self.client.get("/", name="never reached")


class Working(HttpUser):
    weight = 2
    wait_time = constant(0)

    @task
    def work(self):
        self.client.get("/items/1", name="working")
