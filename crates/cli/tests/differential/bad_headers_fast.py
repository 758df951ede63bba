# FastHttpUser's client checks header fields as geventhttpclient does: a name that is not a
# token or a str value with CR, LF or other control characters raises ValueError in the task
# (no request counted, nothing sent); other values are str()ed (issue 27).
from locust import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def fine(self):
        self.client.get("/", name="fast fine", headers={"X-A": 5})

    @task
    def colon(self):
        self.client.get("/items/1", name="fast colon", headers={"X:A": "b"})

    @task
    def split(self):
        self.client.get("/items/1", name="fast crlf", headers={"X-A": "b\r\nInjected: yes"})
