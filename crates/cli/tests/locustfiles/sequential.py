from locust import HttpUser, SequentialTaskSet, task


class Checkout(SequentialTaskSet):
    @task
    def cart(self):
        self.client.get("/echo?cart", name="cart")

    @task(2)
    def pay(self):
        self.client.post("/echo?pay", data="card=1", name="pay")

    @task
    def done(self):
        self.client.get("/", name="done")


class Shopper(HttpUser):
    tasks = [Checkout]
