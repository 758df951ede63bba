# A request the server reads and closes without answering, on a keep-alive connection that
# carried a request before: python-requests does not send it again (RemoteDisconnected);
# geventhttpclient sends a GET again on fresh connections, a few times, then fails. swarmlab
# must fail each the same way, and never count a resent request as one that was answered.
from locust import FastHttpUser, HttpUser, constant, task


class Requests(HttpUser):
    wait_time = constant(0.1)

    @task
    def twice(self):
        self.client.get("/", name="/ (requests)")
        self.client.get("/drop", name="/drop (requests)")


class Fast(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def twice(self):
        self.client.get("/", name="/ (fast)")
        self.client.get("/drop", name="/drop (fast)")
