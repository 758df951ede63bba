# data read at run time: JSON payloads from a file, read in on_start
import json
import os
import random

from locust import HttpUser, constant, task


class Uploader(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        with open(os.path.join(os.path.dirname(__file__), "payloads.json")) as f:
            self.payloads = json.load(f)

    @task
    def send(self):
        self.client.post("/items", json=random.choice(self.payloads))
