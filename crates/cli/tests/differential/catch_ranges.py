# catch_response with ranges, branches that print, success() on an error status
from locust import HttpUser, constant, task


class Ranges(HttpUser):
    wait_time = constant(0)

    @task
    def missing_is_fine(self):
        with self.client.get("/missing", catch_response=True) as r:
            if 200 <= r.status_code < 300:
                r.success()
            elif r.status_code == 404:
                print("404 is expected here")
                r.success()
            else:
                r.failure(f"status {r.status_code}")

    @task
    def server_error(self):
        with self.client.get("/fail", catch_response=True) as r:
            if r.status_code >= 500:
                r.failure("server error")
