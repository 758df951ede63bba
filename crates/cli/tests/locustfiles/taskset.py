from locust import HttpUser, TaskSet, task


class Browse(TaskSet):
    @task(3)
    def page(self):
        self.client.get("/echo?page", name="page")

    @task
    def leave(self):
        self.interrupt()


class Visitor(HttpUser):
    tasks = {Browse: 2}

    @task
    def home(self):
        self.client.get("/")
