# diff-path: static
# HttpUser's session on the fast path: python-requests' default fields, cookies by path and
# host (and Secure ones kept off plain http), redirects to another host, gzip bodies decoded
from locust import HttpUser, constant, task


class Session(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.get("/set-cookie")
        self.client.get("/scoped/set")

    @task
    def defaults(self):
        with self.client.get("/headers", catch_response=True) as r:
            if "agent=python-requests/" not in r.text:
                r.failure("no python-requests User-Agent")
            elif "accept=*/* " not in r.text or "connection=keep-alive" not in r.text:
                r.failure("not python-requests' Accept and Connection")
            elif "encoding=gzip, deflate" not in r.text:
                r.failure("no gzip, deflate")
            elif "session=s1" not in r.text:
                r.failure("cookie not kept")
            elif "scoped=1" in r.text or "secure=1" in r.text:
                r.failure("a cookie sent outside its path or a Secure one over http")

    @task
    def scoped(self):
        with self.client.get("/scoped/here", catch_response=True) as r:
            if "scoped=1" not in r.text:
                r.failure("the path's cookie not sent")

    @task
    def cross_host(self):
        with self.client.get("/elsewhere", catch_response=True) as r:
            if "agent=python-requests/" not in r.text:
                r.failure("not redirected to the other host")
            elif "session=s1" in r.text:
                r.failure("a host-only cookie went to another host")

    @task
    def moved_post(self):
        # 301 turns a POST into a GET: the other side sees no body
        with self.client.post("/moved-post", data="x", catch_response=True) as r:
            if r.status_code != 200:
                r.failure("301 not followed")
