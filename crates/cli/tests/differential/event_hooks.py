# event hooks: test_start and request listeners, and events.request.fire for a custom row
import time

from locust import HttpUser, constant, events, task

SEEN = {"n": 0}


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    print("test starting")


@events.request.add_listener
def on_request(request_type, name, response_time, response_length, exception, **kwargs):
    SEEN["n"] += 1


class Custom(HttpUser):
    wait_time = constant(0)

    @task(3)
    def http(self):
        self.client.get("/")

    @task(1)
    def custom(self):
        start = time.perf_counter()
        events.request.fire(
            request_type="custom",
            name="computed",
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
