from locust import HttpUser, constant


def home(user):
    pass


class Listed(HttpUser):
    wait_time = constant(0)

    def a(self):
        self.client.get("/", name="listed a")

    def b(self):
        self.client.get("/echo", name="listed b")

    tasks = [a, a, b]


class Mapped(HttpUser):
    weight = 1

    def x(self):
        self.client.get("/", name="mapped x")

    def y(self):
        self.client.get("/echo", name="mapped y")

    tasks = {x: 1, y: 3}
