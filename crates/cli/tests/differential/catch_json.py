# catch_response checks beyond a status: r.json()[...], r.headers
from locust import HttpUser, constant, task


class Judge(HttpUser):
    wait_time = constant(0)

    @task(2)
    def item(self):
        with self.client.get("/items/9", catch_response=True) as r:
            if r.json()["name"] != "item 9":
                r.failure("wrong name")
            elif "json" not in r.headers["Content-Type"]:
                r.failure("not JSON")

    @task(1)
    def wrong(self):
        with self.client.get("/items/3", catch_response=True) as r:
            if r.json()["id"] != 4:
                r.failure(f"got {r.json()['id']}")
