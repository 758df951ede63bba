from locust import HttpUser, TaskSet, task, tag


@tag("web")
class Pages(TaskSet):
    @task
    def page(self):
        self.client.get("/echo?page", name="page")

    @task
    def out(self):
        self.interrupt()


class Tagged(HttpUser):
    tasks = [Pages]

    @tag("api")
    @task
    def api(self):
        self.client.get("/", name="api")

    @tag("slow")
    @task
    def slow(self):
        self.client.get("/sleep?ms=1", name="slow")

    @task
    def untagged(self):
        self.client.get("/echo", name="untagged")
