# print, logging and time.sleep in tasks (time.sleep pauses only that user)
import logging
import time

from locust import HttpUser, constant, task


class Chatty(HttpUser):
    wait_time = constant(0)

    @task
    def talk(self):
        logging.info("about to ask")
        r = self.client.get("/")
        print("status", r.status_code)
        time.sleep(0.005)
        self.client.get("/items/2", name="after sleep")
