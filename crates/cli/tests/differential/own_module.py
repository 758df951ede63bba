# imports of the project's own module next to the file
from diff_common import NAME, paths
from locust import HttpUser, constant, task


class Local(HttpUser):
    wait_time = constant(0)

    @task
    def both(self):
        for p in paths():
            self.client.get(p, name=NAME)
