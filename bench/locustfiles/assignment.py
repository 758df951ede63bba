# The classic assignment's shape on swarmlab's Python path (bench/assignment-python.sh): one
# task with a random id, constant(1); run with -u 10000 -r 1000. The random id keeps it off the
# static path.
import random

from locust import HttpUser, constant, task


class Student(HttpUser):
    wait_time = constant(1)

    @task
    def item(self):
        self.client.get(f"/items/{random.randint(1, 10000)}", name="/items/[id]")
