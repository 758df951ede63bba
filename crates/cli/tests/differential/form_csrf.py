# a CSRF value scraped from HTML with a regular expression, then posted
import re

from locust import HttpUser, constant, task


class Former(HttpUser):
    wait_time = constant(0)

    @task
    def submit(self):
        page = self.client.get("/form")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        self.client.post("/items", data={"csrf": token}, name="/items (form)")
