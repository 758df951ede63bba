"""swarmlab's implementation of Locust's user-facing API (what `from locust import ...` finds
in a swarmlab run): written from Locust's documented behaviour. User code runs here, in the
user's own python3; the requests go to swarmlab's engine."""

__version__ = "2.47.0"

from .event import Events, events

from . import exception
from .contrib.fasthttp import FastHttpUser
from .exception import InterruptTaskSet, ResponseError, RescheduleTask, RescheduleTaskImmediately, StopTest, StopUser
from .shape import LoadTestShape
from .user import wait_time
from .user.task import SequentialTaskSet, TaskSet, tag, task
from .user.users import HttpUser, User
from .user.wait_time import between, constant, constant_pacing, constant_throughput, poisson


def run_single_user(user_class, *args, **kwargs):
    raise NotImplementedError("run_single_user is not available in a swarmlab run")


class Locust:
    def __init_subclass__(cls, **kwargs):
        raise ImportError("The Locust class has been renamed to User in version 1.0.")


class HttpLocust:
    def __init_subclass__(cls, **kwargs):
        raise ImportError("The HttpLocust class has been renamed to HttpUser in version 1.0.")


__all__ = (
    "SequentialTaskSet",
    "wait_time",
    "task",
    "tag",
    "TaskSet",
    "HttpUser",
    "FastHttpUser",
    "User",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "poisson",
    "events",
    "LoadTestShape",
    "run_single_user",
)
