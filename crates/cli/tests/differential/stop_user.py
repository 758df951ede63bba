# raise StopUser after a few rounds: the user ends, on_stop runs
from locust import HttpUser, constant, task
from locust.exception import StopUser


class Short(HttpUser):
    wait_time = constant(0.01)

    def on_start(self):
        self.rounds = 0

    @task
    def work(self):
        self.rounds += 1
        if self.rounds > 20:
            raise StopUser()
        self.client.get("/items/1", name="/items/[work]")

    def on_stop(self):
        self.client.get("/", name="bye")
