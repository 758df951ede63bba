# diff-path: Python
# A server that closes idle keep-alive connections (nginx after 150 ms here; the `single`,
# `pool` and `prefork` models when others wait): every request but a user's first goes out
# after the server let its connection go. python-requests checks a pooled connection before it
# reuses it (urllib3's is_connection_dropped) and connects anew; geventhttpclient resends a
# GET whose connection closed unanswered. Neither shows a failure, and swarmlab must not either.
from locust import FastHttpUser, HttpUser, constant, task


class Requests(HttpUser):
    wait_time = constant(0.3)

    def on_start(self):
        self.label = "requests"

    @task
    def brief(self):
        self.client.get("/brief", name=f"/brief ({self.label})")


class Fast(FastHttpUser):
    wait_time = constant(0.3)

    def on_start(self):
        self.label = "fast"

    @task
    def brief(self):
        self.client.get("/brief", name=f"/brief ({self.label})")
