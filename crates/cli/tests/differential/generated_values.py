# generated values in bodies and headers: uuid4(), time.time()
import time
import uuid

from locust import HttpUser, constant, task


class Writer(HttpUser):
    wait_time = constant(0)

    @task
    def create(self):
        self.client.post("/items", json={"ref": str(uuid.uuid4()), "at": time.time()})

    @task
    def traced(self):
        self.client.get("/items/1", headers={"X-Request-Id": uuid.uuid4().hex})
