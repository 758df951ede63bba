from locust import HttpUser, task


class Judge(HttpUser):
    @task
    def missing_is_fine(self):
        with self.client.get("/nope", catch_response=True, name="missing ok") as r:
            if r.status_code == 404:
                r.success()

    @task
    def hello(self):
        with self.client.get("/", catch_response=True) as r:
            if "Hello" not in r.text:
                r.failure("no hello")

    @task
    def marker(self):
        with self.client.get("/echo", catch_response=True, name="no marker") as r:
            if "marker" not in r.text:
                r.failure("Got wrong response")
            else:
                r.success()

    @task
    def plain_404(self):
        self.client.get("/nope")
