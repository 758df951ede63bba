# an init listener that sets shared state, a test_stop listener, a failing custom event
from locust import HttpUser, constant, events, task

CONFIG = {}


@events.init.add_listener
def on_init(environment, **kwargs):
    CONFIG["path"] = "/items/21"


@events.test_stop.add_listener
def on_stop(environment, **kwargs):
    print("stopped")


class Configured(HttpUser):
    wait_time = constant(0)

    @task(3)
    def get(self):
        self.client.get(CONFIG["path"], name="configured")

    @task(1)
    def failing(self):
        events.request.fire(request_type="custom", name="always fails", response_time=1,
                            response_length=0, exception=RuntimeError("nope"), context={})
