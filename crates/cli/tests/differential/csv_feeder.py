# diff-swarmlab: --processes 1
# data read at run time: a CSV feeder next to the file, one row per user. The cycle is module
# state, one per process (as under Locust's --processes): one process, as Locust's default.
import csv
import itertools
import os

from locust import HttpUser, constant, task

HERE = os.path.dirname(__file__)
with open(os.path.join(HERE, "users.csv")) as f:
    ROWS = itertools.cycle(list(csv.DictReader(f)))


class Fed(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.row = next(ROWS)
        self.client.post("/login", json={"user": self.row["user"], "password": self.row["password"]})

    @task
    def read(self):
        self.client.get("/whoami", name=f"/whoami as {self.row['user'][0]}*")
