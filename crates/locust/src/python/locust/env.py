"""Environment: what `self.environment` gives user code."""

import argparse
import os

from .event import events as _events
from .runners import LocalRunner


class Environment:
    def __init__(self, user_classes=None, shape_class=None, events=None, host=None, parsed_options=None, **kwargs):
        self.user_classes = user_classes or []
        self.shape_class = shape_class() if isinstance(shape_class, type) else shape_class
        self.events = events or _events
        self.host = host or os.environ.get("SWARMLAB_HOST") or None
        self.catch_exceptions = True
        self.stop_timeout = None
        self.process_exit_code = None
        self.web_ui = None
        self.parsed_options = parsed_options or _options(self.host)
        self.available_user_classes = {c.__name__: c for c in self.user_classes}
        self.stats = None
        self.runner = LocalRunner(self)
        if self.shape_class is not None:
            self.shape_class.runner = self.runner

    def create_local_runner(self):
        return self.runner


def _options(host):
    """The options Locust's parser would give, from what the engine was told."""
    env = os.environ
    num = env.get("SWARMLAB_USERS")
    rate = env.get("SWARMLAB_SPAWN_RATE")
    run_time = env.get("SWARMLAB_RUN_TIME")
    return argparse.Namespace(
        host=host,
        num_users=int(num) if num else None,
        spawn_rate=float(rate) if rate else None,
        run_time=int(float(run_time)) if run_time else None,
        headless=env.get("SWARMLAB_HEADLESS") == "1",
        tags=None,
        exclude_tags=None,
        stop_timeout=0,
        master=False,
        worker=False,
        processes=None,
        csv_prefix=None,
        exit_code_on_error=1,
    )
