# imports of installed packages (msgpack and requests come with Locust)
import msgpack
from requests.utils import quote

from locust import HttpUser, constant, task


class Packer(HttpUser):
    wait_time = constant(0)

    @task
    def upload(self):
        self.client.post("/upload", data=msgpack.packb({"a": 1}), headers={"Content-Type": "application/msgpack"})

    @task
    def search(self):
        self.client.get("/search?q=" + quote("a b"), name="/search")
