"""Locust's exceptions (swarmlab's implementation of the names user code imports)."""


class LocustError(Exception):
    """Misuse of the API."""


class ResponseError(Exception):
    """Raised in a catch_response block: the request fails, and the exception is suppressed."""


class CatchResponseError(Exception):
    """What failure("text") wraps its text in."""


class MissingWaitTimeError(LocustError):
    pass


class InterruptTaskSet(Exception):
    """Leaves the current TaskSet (reschedule: run the parent's next task at once)."""

    def __init__(self, reschedule=True):
        super().__init__()
        self.reschedule = reschedule


class StopTest(Exception):
    """Stops the user (and, escaping a runner greenlet, the run)."""


class StopUser(Exception):
    """Stops this user: on_stop runs, and it is not replaced."""


class RescheduleTask(Exception):
    """Ends the task; the next one starts after the usual wait."""


class RescheduleTaskImmediately(Exception):
    """Ends the task; the next one starts without a wait."""


class RPCError(Exception):
    pass


class RPCSendError(RPCError):
    pass


class RPCReceiveError(RPCError):
    pass


class RunnerAlreadyExistsError(Exception):
    pass
