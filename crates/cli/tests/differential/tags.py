# diff: --tags read
# @tag with --tags: only the tagged tasks run
from locust import HttpUser, constant, tag, task


class Tagged(HttpUser):
    wait_time = constant(0)

    @tag("read")
    @task
    def read(self):
        self.client.get("/items/1", name="read")

    @tag("write")
    @task
    def write(self):
        self.client.post("/items", name="write")

    @tag("read", "slow")
    @task
    def search(self):
        self.client.get("/search?q=s", name="search")
