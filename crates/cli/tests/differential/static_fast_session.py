# diff-path: static
# FastHttpUser's session on the fast path: geventhttpclient's fields (no Accept, no Connection),
# its cookie jar (Secure cookies kept off http, whatever Locust's comment says: geventhttpclient
# sets the scheme), redirects to another host, gzip decoded
from locust import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.get("/scoped/set")

    @task
    def defaults(self):
        with self.client.get("/headers", catch_response=True) as r:
            if "agent=python/gevent-http-client-" not in r.text:
                r.failure("no geventhttpclient User-Agent")
            elif "accept= " not in r.text or "connection= " not in r.text:
                r.failure("an Accept or Connection geventhttpclient does not send")
            elif "encoding=gzip, deflate, br" not in r.text:
                r.failure("no gzip, deflate, br")
            elif "secure=1" in r.text:
                r.failure("a Secure cookie sent over http")

    @task
    def cross_host(self):
        with self.client.get("/elsewhere", catch_response=True) as r:
            if "agent=python/gevent-http-client-" not in r.text:
                r.failure("not redirected to the other host")
