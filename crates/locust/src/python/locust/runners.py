"""The runner as user code sees it (`self.environment.runner`): its state, its user count,
and `quit()`/`stop()`, which end the engine's run."""

import greenlet

import swarmlab_runtime as rt

from . import _port

STATE_INIT = "ready"
STATE_SPAWNING = "spawning"
STATE_RUNNING = "running"
STATE_CLEANUP = "cleanup"
STATE_STOPPING = "stopping"
STATE_STOPPED = "stopped"
STATE_MISSING = "missing"


class Runner:
    def __init__(self, environment):
        self.environment = environment
        self.state = STATE_INIT
        self.exceptions = {}
        self.errors = {}
        self.greenlet = None

    _engine_users = None  # the whole run's users, as the engine last told the shape

    @property
    def user_count(self):
        if self._engine_users is not None:
            return self._engine_users
        return len(_port.SPAWNED.users) if _port.SPAWNED else 0

    @property
    def user_classes_count(self):
        return {}

    @property
    def stats(self):
        return self.environment.stats

    def quit(self):
        """Ends the run (the engine stops every user; on_stop runs); the calling user ends."""
        rt.report_quit()
        if greenlet.getcurrent() is not rt.HUB.main:
            raise greenlet.GreenletExit()

    def stop(self):
        self.quit()

    def start(self, user_count, spawn_rate, wait=False, user_classes=None):
        pass


class LocalRunner(Runner):
    pass


class DistributedRunner(Runner):
    pass


class MasterRunner(DistributedRunner):
    pass


class WorkerRunner(DistributedRunner):
    pass


class WorkerNode:
    pass
