# multipart uploads: files= with an open file next to the locustfile
import os

from locust import HttpUser, constant, task

HERE = os.path.dirname(__file__)


class Sender(HttpUser):
    wait_time = constant(0)

    @task
    def upload(self):
        with open(os.path.join(HERE, "users.csv"), "rb") as f:
            with self.client.post("/upload", files={"users": f}, catch_response=True) as r:
                if not r.json()["uploaded"]:
                    r.failure("not uploaded")
