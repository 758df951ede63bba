"""Users whose requests are longer than 1,024 bytes (a 2,000-byte form post), as real ones
often are (cookies, bodies): a server that reads a request with one recv(1024) fails them,
and `compare` says which check finding that failure is."""
from locust import HttpUser, constant, task


class LongPoster(HttpUser):
    wait_time = constant(1)

    @task
    def post_a_form(self):
        self.client.post("/", data="x" * 2000)
