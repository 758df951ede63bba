# os.getenv and os.environ (the test sets DIFF_ITEM=8 and DIFF_MODE=fast)
import os

from locust import HttpUser, constant, task

ITEM = os.getenv("DIFF_ITEM", "1")


class Configured(HttpUser):
    wait_time = constant(0)

    @task
    def item(self):
        self.client.get(f"/items/{ITEM}", name=f"item {ITEM}")

    @task
    def mode(self):
        if os.environ.get("DIFF_MODE") == "fast":
            self.client.get("/", name="fast mode")
        else:
            self.client.get("/", name="slow mode")
