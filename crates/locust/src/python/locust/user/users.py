"""User and HttpUser: what a locustfile subclasses."""

import time

import greenlet

from ..clients import HttpSession, rest
from ..exception import LocustError, StopTest, StopUser
from .task import DefaultTaskSet, TaskSet, get_tasks_from_base_classes
from .wait_time import constant


class UserMeta(type):
    """Flattens the class's tasks (as TaskSet's metaclass does) and makes `abstract` not
    inherited: a subclass that does not say `abstract = True` is a real user class."""

    def __new__(mcs, classname, bases, class_dict):
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        if not class_dict.get("abstract"):
            class_dict["abstract"] = False
        return type.__new__(mcs, classname, bases, class_dict)


class User(metaclass=UserMeta):
    """A user: runs its tasks, waiting `wait_time` after each, until it is stopped."""

    _is_user = True  # what a TaskSet's parent is checked for (task.py is below this module)
    host = None
    min_wait = None
    max_wait = None
    wait_time = constant(0)
    wait_function = None
    on_start_called = False
    tasks = []
    weight = 1
    fixed_count = 0
    abstract = True

    def __init__(self, environment):
        super().__init__()
        self.environment = environment
        self._state = "running"
        self._greenlet = None
        self._group = None
        self._taskset_instance = None
        self._cp_last_run = time.perf_counter()
        self._cp_last_wait_time = 0

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def run(self):
        self._state = "running"
        self._taskset_instance = DefaultTaskSet(self)
        try:
            self.on_start()
            self._taskset_instance.run()
        except (greenlet.GreenletExit, StopTest) as e:
            self.on_stop()
            if isinstance(e, StopTest):
                return
            raise
        except Exception as e:
            if isinstance(e, StopUser):
                self.on_stop()
                return
            raise

    def wait(self):
        self._taskset_instance.wait()

    def context(self):
        return {}

    def start(self, group):
        return None

    def stop(self, force=False):
        self._state = "stopping"

    @property
    def greenlet(self):
        return self._greenlet

    @classmethod
    def fullname(cls):
        return f"{cls.__module__}.{cls.__qualname__}"


class HttpUser(User):
    """A user with `self.client`, an HTTP session that keeps cookies, as python-requests'."""

    abstract = True
    pool_manager = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.host is None:
            raise LocustError(
                "You must specify the base host. Either in the host attribute in the User class, or on the command line using the --host option."
            )
        self.client = HttpSession(base_url=self.host, user=self)

    def rest(self, method, url, headers=None, **kwargs):
        return rest(self.client, method, url, headers=headers, **kwargs)

    def rest_(self, method, url, name=None, **kwargs):
        sep = "&" if "?" in url else "?"
        if name is None:
            name = url + sep + "_=..."
        return self.rest(method, f"{url}{sep}_={int(time.time() * 1000)}", name=name, **kwargs)
