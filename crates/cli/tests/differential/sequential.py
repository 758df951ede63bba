# SequentialTaskSet and a nested TaskSet that interrupts itself
from locust import HttpUser, SequentialTaskSet, TaskSet, constant, task


class Checkout(SequentialTaskSet):
    @task
    def cart(self):
        self.client.get("/items/1", name="cart")

    @task(2)
    def pay(self):
        self.client.post("/items", name="pay")

    @task
    def done(self):
        self.interrupt()


class Browse(TaskSet):
    @task
    def look(self):
        self.client.get("/", name="look")
        self.interrupt()


class Shopper(HttpUser):
    wait_time = constant(0)
    tasks = {Checkout: 1, Browse: 1}
