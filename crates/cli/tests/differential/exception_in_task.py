# an uncaught exception in a task: counted, the user goes on with its next task
from locust import HttpUser, constant, task


class Faulty(HttpUser):
    wait_time = constant(0)

    @task(3)
    def fine(self):
        self.client.get("/")

    @task(1)
    def broken(self):
        self.client.get("/items/1", name="before the error")
        {}["missing"]
