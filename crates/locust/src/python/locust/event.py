"""Events (`locust.events`): hooks user code listens on and fires."""

import logging
import time
from contextlib import contextmanager

from . import _port
from .exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

_PROPAGATE = (StopUser, StopTest, RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet)
log = logging.getLogger("locust.event")


class EventHook:
    """Listeners called in order by `fire(**kwargs)`."""

    def __init__(self):
        self._handlers = []
        # swarmlab's own first listener (the engine's statistics), if any: user code firing
        # the hook reaches it; swarmlab's clients, which the engine has already counted, skip it
        self._engine = None

    def add_listener(self, handler):
        self._handlers.append(handler)
        return handler

    def remove_listener(self, handler):
        self._handlers.remove(handler)

    def fire(self, *, reverse=False, **kwargs):
        if self._engine is not None:
            self._engine(**kwargs)
        self._fire_listeners(reverse, kwargs)

    def _fire_listeners(self, reverse, kwargs):
        handlers = reversed(self._handlers) if reverse else self._handlers
        for handler in list(handlers):
            try:
                handler(**kwargs)
            except _PROPAGATE:
                raise
            except Exception:
                log.exception("Uncaught exception in event handler")
                _port.EXIT_CODE_FROM_LISTENER[0] = 2

    def _fire_from_client(self, **kwargs):
        """A request swarmlab's clients made: the engine counted it; only the listeners hear it."""
        if self._handlers:
            self._fire_listeners(False, kwargs)

    @contextmanager
    def measure(self, request_type, name, response_length=0, context=None):
        start = time.perf_counter()
        start_time = time.time()
        exc = None
        try:
            yield
        except Exception as e:
            exc = e
        self.fire(
            request_type=request_type,
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=response_length,
            response=None,
            context=context or {},
            exception=exc,
            start_time=start_time,
            url=None,
        )


class DeprecatedEventHook(EventHook):
    pass


class Events:
    """Every event Locust has; unknown names are an AttributeError, as in Locust."""

    _NAMES = (
        "request",
        "user_error",
        "report_to_master",
        "worker_report",
        "worker_connect",
        "spawning_complete",
        "quitting",
        "quit",
        "init",
        "init_command_line_parser",
        "test_start",
        "test_stopping",
        "test_stop",
        "reset_stats",
        "cpu_warning",
        "usage_monitor",
        "heartbeat_sent",
        "heartbeat_received",
    )

    def __init__(self):
        for name in self._NAMES:
            setattr(self, name, EventHook())


events = Events()  # `locust.events`: the one the runtime and user code share
