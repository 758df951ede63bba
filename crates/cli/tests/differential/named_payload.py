# a static value passed through a name: a module-level payload, headers kept on self
from locust import HttpUser, constant, task

PAYLOAD = {"name": "widget", "count": 3}


class Poster(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"X-Client": "differential"}

    @task(2)
    def post(self):
        payload = PAYLOAD
        self.client.post("/items", json=payload, headers=self.headers)

    @task
    def get(self):
        self.client.get("/whoami", headers=self.headers)
