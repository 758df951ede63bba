"""LoadTestShape: a class whose tick() says how many users there should be, second by second."""

import time


class LoadTestShapeMeta(type):
    def __new__(mcs, classname, bases, class_dict):
        class_dict["abstract"] = class_dict.get("abstract", False)
        return super().__new__(mcs, classname, bases, class_dict)


class LoadTestShape(metaclass=LoadTestShapeMeta):
    """tick() returns (users, spawn_rate), (users, spawn_rate, user_classes), or None to stop."""

    runner = None
    abstract = True
    use_common_options = False

    def __init__(self):
        self.start_time = time.perf_counter()

    def reset_time(self):
        self.start_time = time.perf_counter()

    def get_run_time(self):
        return time.perf_counter() - self.start_time

    def get_current_user_count(self):
        return self.runner.user_count if self.runner else 0

    def tick(self):
        raise NotImplementedError()
