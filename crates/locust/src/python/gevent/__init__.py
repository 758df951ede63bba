"""A small gevent for swarmlab's Python users: sleep, spawn, joinall, Greenlet and pool on
swarmlab's hub, so `gevent.sleep` and `gevent.spawn` in a task pause or run alongside only
that user, as under Locust. (Real gevent's own loop would not cooperate with the hub.)"""

import greenlet as _greenlet

import swarmlab_runtime as _rt

__version__ = "26.9.0-swarmlab"
GreenletExit = _greenlet.GreenletExit


def _hub():
    return _rt.HUB


def sleep(seconds=0):
    _hub().sleep(seconds)


def getcurrent():
    return _greenlet.getcurrent()


class Greenlet:
    """A task of its own on the hub; join() waits for it."""

    def __init__(self, run=None, *args, **kwargs):
        self._run = run
        self.args = args
        self.kwargs = kwargs
        self.value = None
        self.exception = None
        self._done = False
        self._waiters = []
        self._g = None

    def start(self):
        hub = _hub()
        self._g = _greenlet.greenlet(self._body, parent=hub.main)
        hub.schedule(self._g)

    def _body(self):
        try:
            self.value = self._run(*self.args, **self.kwargs)
        except _greenlet.GreenletExit:
            pass
        except Exception as e:
            self.exception = e
            import traceback

            traceback.print_exc()
        finally:
            self._done = True
            hub = _hub()
            for w in self._waiters:
                hub.schedule(w)

    def ready(self):
        return self._done

    def successful(self):
        return self._done and self.exception is None

    def join(self, timeout=None):
        if self._done:
            return
        me = _greenlet.getcurrent()
        self._waiters.append(me)
        hub = _hub()
        if timeout is not None:
            hub.seq += 1
            import heapq
            import time

            heapq.heappush(hub.timers, (time.monotonic() + timeout, hub.seq, me))
        hub.main.switch()

    def get(self, block=True, timeout=None):
        self.join(timeout)
        if self.exception is not None:
            raise self.exception
        return self.value

    def kill(self, exception=GreenletExit, block=True, timeout=None):
        if self._g is not None and not self._g.dead:
            _hub().schedule(self._g, throw=exception)

    @classmethod
    def spawn(cls, run, *args, **kwargs):
        g = cls(run, *args, **kwargs)
        g.start()
        return g


def spawn(run, *args, **kwargs):
    return Greenlet.spawn(run, *args, **kwargs)


def joinall(greenlets, timeout=None, raise_error=False):
    for g in greenlets:
        g.join(timeout)
        if raise_error and g.exception is not None:
            raise g.exception
    return [g for g in greenlets if g.ready()]


def killall(greenlets, exception=GreenletExit, block=True, timeout=None):
    for g in greenlets:
        g.kill(exception)


def idle(priority=0):
    sleep(0)
