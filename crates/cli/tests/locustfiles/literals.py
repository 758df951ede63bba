from locust import HttpUser, task

MS = 1
ECHO = "/echo"


class Literal(HttpUser):
    @task
    def sleep(self):
        self.client.get(f"/sleep?ms={MS}", name="/sleep")

    @task
    def sized(self):
        self.client.get("/bytes", params={"n": 100})

    @task
    def posted(self):
        self.client.post(ECHO + "?json", json={"a": [1, 2], "b": "c"}, headers={"X-Test": "1"})
