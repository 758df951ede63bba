# diff: -t 8s
# a LoadTestShape with stages: 2 users, then 4, then the end (tick() returns None)
from locust import HttpUser, LoadTestShape, constant, task


class Staged(HttpUser):
    wait_time = constant(0.005)

    @task
    def get(self):
        self.client.get("/items/1", name="staged")


class Stages(LoadTestShape):
    stages = [(1.5, 2, 10), (3.0, 4, 10)]

    def tick(self):
        t = self.get_run_time()
        for until, users, rate in self.stages:
            if t < until:
                return (users, rate)
        return None
