# diff: -t 8s
# a LoadTestShape that chooses its user_classes: two seconds of two Early users, then two Late
# users more (Early's keep running, as under Locust's dispatcher); with the classes ignored,
# the two would share alike
from locust import HttpUser, LoadTestShape, constant, task


class Early(HttpUser):
    wait_time = constant(0.01)

    @task
    def read(self):
        self.client.get("/items/1", name="early")


class Late(HttpUser):
    wait_time = constant(0.01)

    @task
    def read(self):
        self.client.get("/items/2", name="late")


class Phases(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        if t < 2:
            return (2, 10, [Early])
        if t < 4:
            return (4, 10, [Late])
        return None
