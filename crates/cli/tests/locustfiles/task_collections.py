from locust import HttpUser, constant


def home(user):
    pass


# both classes pace their users (10 ms), so each class's share of requests is its share of
# users, not of the server's time: at full speed, "/echo" (which answers with the request,
# python-requests' default fields included) is slower than "/", and shares would measure that
class Listed(HttpUser):
    wait_time = constant(0.01)

    def a(self):
        self.client.get("/", name="listed a")

    def b(self):
        self.client.get("/echo", name="listed b")

    tasks = [a, a, b]


class Mapped(HttpUser):
    weight = 1
    wait_time = constant(0.01)

    def x(self):
        self.client.get("/", name="mapped x")

    def y(self):
        self.client.get("/echo", name="mapped y")

    tasks = {x: 1, y: 3}
