# The dynamic locustfile of bench/locustfile-python.sh: a token from an on_start login in a
# header, random ids in the URL with name=, a catch_response check on r.json(), constant(0).
# Outside swarmlab's static subset (the token and the ids are values of the run), so swarmlab
# runs it on the Python path. CLIENT=fast makes the same users FastHttpUser.
import os
import random

from locust import HttpUser, constant, task
from locust.contrib.fasthttp import FastHttpUser

Base = FastHttpUser if os.environ.get("CLIENT") == "fast" else HttpUser


class Shopper(Base):
    wait_time = constant(0)

    def on_start(self):
        r = self.client.post("/login", json={"user": "bench", "password": "secret"})
        self.token = r.json()["token"]

    @task
    def item(self):
        item_id = random.randint(1, 10000)
        with self.client.get(
            f"/items/{item_id}",
            name="/items/[id]",
            headers={"Authorization": f"Bearer {self.token}"},
            catch_response=True,
        ) as r:
            if r.json()["id"] != item_id:
                r.failure(f"got item {r.json()['id']}, wanted {item_id}")
