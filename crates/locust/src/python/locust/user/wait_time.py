"""Wait times: functions of the user (or TaskSet) instance that say how long to wait after a
task."""

import random
import time


def between(min_wait, max_wait):
    return lambda instance: min_wait + random.random() * (max_wait - min_wait)


def constant(wait_time):
    return lambda instance: wait_time


def constant_pacing(wait_time):
    """Waits so that a task starts every `wait_time` seconds (the task's own time included)."""

    def wait_time_func(self):
        if not hasattr(self, "_cp_last_wait_time"):
            self._cp_last_wait_time = 0
            self._cp_last_run = time.perf_counter()
        run_time = time.perf_counter() - self._cp_last_run - self._cp_last_wait_time
        self._cp_last_wait_time = max(0, wait_time - run_time)
        self._cp_last_run = time.perf_counter()
        return self._cp_last_wait_time

    return wait_time_func


def constant_throughput(task_runs_per_second):
    if task_runs_per_second <= 0:
        raise ValueError("task_runs_per_second must be positive")
    return constant_pacing(1 / task_runs_per_second)


def poisson(lambda_value):
    if lambda_value <= 0:
        raise ValueError("lambda_value must be positive")
    return lambda instance: random.expovariate(lambda_value)
