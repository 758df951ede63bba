# diff: -t 8s
# a LoadTestShape over two weighted classes, reading the runner's user count
from locust import HttpUser, LoadTestShape, constant, task


class Reader(HttpUser):
    weight = 3
    wait_time = constant(0.005)

    @task
    def read(self):
        self.client.get("/items/2", name="read")


class Writer(HttpUser):
    weight = 1
    wait_time = constant(0.005)

    @task
    def write(self):
        self.client.post("/items", name="write")


class Ramp(LoadTestShape):
    def tick(self):
        if self.get_run_time() > 3:
            return None
        return (4, 4) if self.get_current_user_count() < 4 else (4, 1)
