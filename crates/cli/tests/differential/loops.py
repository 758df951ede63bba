# loops in tasks: for over a range, while with a counter
from locust import HttpUser, constant, task


class Looper(HttpUser):
    wait_time = constant(0)

    @task
    def pages(self):
        for page in range(3):
            self.client.get(f"/items/{page}", name="/items/[page]")

    @task
    def until(self):
        n = 0
        while n < 2:
            self.client.get("/", name="while")
            n += 1
