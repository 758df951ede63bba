# diff: -t 20s
# self.environment.runner.quit() ends the whole run
from locust import HttpUser, constant, task


class Quitter(HttpUser):
    wait_time = constant(0.01)

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        self.n += 1
        self.client.get("/items/1", name="work")
        if self.n >= 50:
            self.environment.runner.quit()
