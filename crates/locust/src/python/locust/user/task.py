"""Tasks and task sets: `@task`, `@tag`, `TaskSet`, `SequentialTaskSet`, and the loop a user
runs (pick a task, run it, wait), with Locust's meaning for each exception."""

import logging
import random
import sys
import time

import greenlet

import swarmlab_runtime as _rt

from .. import _port
from ..exception import (
    InterruptTaskSet,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

log = logging.getLogger("locust.user.task")


def task(weight=1):
    """`@task` or `@task(n)`: the method is a task, picked n times as often as a weight-1 task."""

    def mark(func):
        func.locust_task_weight = weight
        return func

    if callable(weight):  # used without parentheses
        func, weight = weight, 1
        return mark(func)
    return mark


def tag(*tags):
    """`@tag("a", "b")` on a task or a TaskSet class."""

    def mark(obj):
        existing = set(getattr(obj, "locust_tag_set", ()))
        obj.locust_tag_set = existing | set(tags)
        return obj

    for t in tags:
        if not isinstance(t, str):
            raise ValueError("Tags must be strings")
    return mark


def get_tasks_from_base_classes(bases, class_dict):
    """Base classes' tasks, then `tasks` (a list, with (fn, n) tuples, or a {fn: n} dict), then
    the class's `@task` methods: one flat list where weight n appears n times."""
    new_tasks = []
    for base in bases:
        if hasattr(base, "tasks") and base.tasks:
            new_tasks += base.tasks
    if "tasks" in class_dict and class_dict["tasks"] is not None:
        tasks = class_dict["tasks"]
        if isinstance(tasks, dict):
            tasks = tasks.items()
        for t in tasks:
            if isinstance(t, tuple):
                fn, count = t
                new_tasks.extend([fn] * count)
            else:
                new_tasks.append(t)
    for item in class_dict.values():
        if "locust_task_weight" in dir(item):
            new_tasks.extend([item] * item.locust_task_weight)
    return new_tasks


class TaskSetMeta(type):
    def __new__(mcs, classname, bases, class_dict):
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        return type.__new__(mcs, classname, bases, class_dict)


def _is_taskset_class(t):
    return isinstance(t, type) and issubclass(t, TaskSet)


class TaskSet(metaclass=TaskSetMeta):
    """A set of tasks a user runs until it is interrupted; nested sets are tasks too."""

    tasks = []
    min_wait = None
    max_wait = None
    wait_function = None

    def __init__(self, parent):
        self._task_queue = []
        self._time_start = time.time()
        self._cp_last_run = time.perf_counter()
        self._cp_last_wait_time = 0
        if isinstance(parent, TaskSet):
            self._user = parent.user
        elif getattr(parent, "_is_user", False):  # a User (users.py builds on this module)
            self._user = parent
        else:
            raise TypeError("TaskSet's parent must be a TaskSet or a User")
        self._parent = parent

    @property
    def user(self):
        return self._user

    @property
    def parent(self):
        return self._parent

    @property
    def client(self):
        return self._user.client

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def run(self):
        try:
            self.on_start()
        except InterruptTaskSet as e:
            if e.reschedule:
                raise RescheduleTaskImmediately(e.reschedule).with_traceback(e.__traceback__)
            raise RescheduleTask(e.reschedule).with_traceback(e.__traceback__)
        while True:
            try:
                if not self._task_queue:
                    self.schedule_task(self.get_next_task())
                try:
                    if self._user._state == "stopping":
                        raise StopUser()
                    self.execute_next_task()
                except RescheduleTaskImmediately:
                    pass
                except RescheduleTask:
                    self.wait()
                else:
                    self.wait()
            except InterruptTaskSet as e:
                try:
                    self.on_stop()
                except (StopUser, greenlet.GreenletExit):
                    raise
                except Exception:
                    log.exception("Exception in on_stop")
                if e.reschedule:
                    raise RescheduleTaskImmediately(e.reschedule) from e
                raise RescheduleTask(e.reschedule) from e
            except (StopUser, StopTest, greenlet.GreenletExit):
                try:
                    self.on_stop()
                except Exception:
                    log.exception("Exception in on_stop")
                raise
            except Exception as e:
                _port.task_error(self, e, sys.exc_info()[2])
                if not self.user.environment.catch_exceptions:
                    raise
                self.wait()

    def execute_next_task(self):
        self.execute_task(self._task_queue.pop(0))

    def execute_task(self, task):
        if _is_taskset_class(task):
            task(self).run()
        elif hasattr(task, "__self__"):
            task()  # a bound method
        else:
            task(self)

    def schedule_task(self, task_callable, first=False):
        if first:
            self._task_queue.insert(0, task_callable)
        else:
            self._task_queue.append(task_callable)

    def get_next_task(self):
        if not self.tasks:
            if getattr(self, "_user", None) is not None and isinstance(self, DefaultTaskSet):
                raise Exception(
                    f"No tasks defined on {self.user.__class__.__name__}. Use the @task decorator or set the 'tasks' attribute of the User (or mark it as abstract = True if you only intend to subclass it)"
                )
            raise Exception(
                f"No tasks defined on {self.__class__.__name__}. Use the @task decorator or set the 'tasks' attribute of the TaskSet"
            )
        return random.choice(self.tasks)

    def wait_time(self):
        wait_time = self._user.wait_time
        if wait_time:
            return wait_time()
        if self.min_wait is not None and self.max_wait is not None:
            return random.randint(self.min_wait, self.max_wait) / 1000.0
        raise MissingWaitTimeError(
            "You must define a wait_time method on either the %s or %s class"
            % (type(self.user).__name__, type(self).__name__)
        )

    def wait(self):
        user = self._user
        if user._state == "stopping":
            raise StopUser()
        user._state = "waiting"
        _hub_sleep(self.wait_time())
        if user._state == "stopping":
            raise StopUser()
        user._state = "running"

    def _sleep(self, seconds):
        _hub_sleep(seconds)

    def _check_stop_condition(self):
        if self.user._state == "stopping":
            raise StopUser()

    def interrupt(self, reschedule=True):
        raise InterruptTaskSet(reschedule)


def _hub_sleep(seconds):
    _rt.HUB.sleep(seconds)


class DefaultTaskSet(TaskSet):
    """The task set a User's own tasks run in: tasks get the User as `self`."""

    def get_next_task(self):
        tasks = self._user.tasks
        if not tasks:
            raise Exception(
                f"No tasks defined on {self.user.__class__.__name__}. Use the @task decorator or set the 'tasks' attribute of the User (or mark it as abstract = True if you only intend to subclass it)"
            )
        return tasks[0] if len(tasks) == 1 else random.choice(tasks)

    def execute_task(self, task):
        if _is_taskset_class(task):
            task(self._user).run()
        else:
            task(self._user)


class SequentialTaskSetMeta(TaskSetMeta):
    pass


class SequentialTaskSet(TaskSet, metaclass=SequentialTaskSetMeta):
    """Tasks in declaration order (a task of weight n n times in a row), cycling forever."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task_index = 0

    def get_next_task(self):
        if not self.tasks:
            raise Exception(
                f"No tasks defined on {self.__class__.__name__}. Use the @task decorator or set the 'tasks' attribute of the SequentialTaskSet"
            )
        task = self.tasks[self._task_index % len(self.tasks)]
        self._task_index += 1
        return task


def filter_tasks_by_tags(task_holder, tags=None, exclude_tags=None, checked=None, inherited=frozenset()):
    """Keeps tasks with one of `tags` (if given) and none of `exclude_tags`, as Locust's
    --tags / --exclude-tags do; a TaskSet's tags count for all its tasks, and TaskSets left
    empty are dropped."""
    if checked is None:
        checked = {}
    inherited = set(inherited) | set(getattr(task_holder, "locust_tag_set", ()))
    keep = []
    for t in task_holder.tasks:
        key = (t, frozenset(inherited))
        if key in checked:
            if checked[key]:
                keep.append(t)
            continue
        tag_set = set(getattr(t, "locust_tag_set", ())) | inherited
        if _is_taskset_class(t):
            filter_tasks_by_tags(t, tags, exclude_tags, checked, inherited)
            passing = bool(t.tasks)
        else:
            passing = True
            if tags is not None:
                passing &= bool(tag_set & tags)
            if exclude_tags is not None:
                passing &= not (tag_set & exclude_tags)
        if passing:
            keep.append(t)
        checked[key] = passing
    task_holder.tasks = keep
