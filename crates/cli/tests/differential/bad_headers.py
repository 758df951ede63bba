# header names and values python-requests refuses (CR/LF, leading whitespace, a colon in a
# name, a value neither str nor bytes): the request fails with its InvalidHeader, as Locust's
# HttpSession records it, and nothing reaches the server (issue 27: such a value went out as
# two header lines). bad_headers_fast.py: FastHttpUser's.
from locust import HttpUser, constant, task


class Requests(HttpUser):
    wait_time = constant(0)

    @task
    def fine(self):
        self.client.get("/", headers={"X-Trailing": "space ", "X-Empty": ""})

    @task
    def split(self):
        self.client.get("/items/1", name="crlf", headers={"X-A": "b\r\nInjected: yes"})

    @task
    def bytes_split(self):
        self.client.get("/items/1", name="bytes", headers={"X-A": b"b\r\nDELETE /admin"})

    @task
    def leading(self):
        self.client.get("/items/1", name="leading", headers={"X-A": " b"})

    @task
    def colon(self):
        self.client.get("/items/1", name="colon", headers={"X:A": "b"})

    @task
    def number(self):
        self.client.get("/items/1", name="number", headers={"X-A": 5})

    @task
    def session_header(self):
        self.client.headers["X-Session"] = "a\nb"
        try:
            self.client.get("/items/2", name="session")
        finally:
            del self.client.headers["X-Session"]

    @task
    def caught(self):
        with self.client.get("/items/1", name="caught", headers={"X-A": "\r\n"}, catch_response=True) as r:
            if r.status_code == 0:
                r.success()

