# diff-time: 5000 renamed /
# catch_response's `response.request_meta`: what the block changes there (the response time,
# the name) is what is counted when it ends, success or failure
from locust import HttpUser, constant, task


class Meta(HttpUser):
    wait_time = constant(0)

    @task
    def timed(self):
        with self.client.get("/", catch_response=True) as r:
            r.request_meta["response_time"] = 5000
            r.request_meta["name"] = "renamed /"
        with self.client.get("/missing", catch_response=True) as r:
            r.request_meta["name"] = "renamed /missing"
        with self.client.get("/items/1", catch_response=True) as r:
            if r.request_meta["name"] != "/items/1":
                r.failure("request_meta names the request " + r.request_meta["name"])
