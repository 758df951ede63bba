# diff-path: static
# idle_close.py on the static path: the same server closing idle keep-alive connections, the
# same clients, no failure under either.
from locust import FastHttpUser, HttpUser, constant, task


class Requests(HttpUser):
    wait_time = constant(0.3)

    @task
    def brief(self):
        self.client.get("/brief", name="/brief (requests)")


class Fast(FastHttpUser):
    wait_time = constant(0.3)

    @task
    def brief(self):
        self.client.get("/brief", name="/brief (fast)")
