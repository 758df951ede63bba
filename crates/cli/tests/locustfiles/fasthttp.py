from locust import FastHttpUser, HttpUser, constant, task


class Fast(FastHttpUser):
    weight = 3
    # paced: the share of each class then does not depend on how fast its client is
    wait_time = constant(0.05)

    @task
    def sized(self):
        self.client.get("/bytes", params={"n": 10})

    @task
    def status(self):
        self.client.get("/nope")


class Pinned(HttpUser):
    fixed_count = 2
    wait_time = constant(0.05)

    @task
    def index(self):
        self.client.get("/", name="pinned")
