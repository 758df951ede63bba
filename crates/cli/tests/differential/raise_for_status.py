# raise_for_status() outside catch_response: the failure row and the exception
from locust import HttpUser, constant, task


class Strict(HttpUser):
    wait_time = constant(0)

    @task(2)
    def ok(self):
        self.client.get("/").raise_for_status()

    @task(1)
    def broken(self):
        self.client.get("/fail").raise_for_status()
