"""gevent.lock on swarmlab's hub: one greenlet runs at a time, so a lock only has to make the
others wait until it is released."""

from . import sleep


class Semaphore:
    def __init__(self, value=1):
        self.counter = value

    def acquire(self, blocking=True, timeout=None):
        while self.counter <= 0:
            if not blocking:
                return False
            sleep(0.001)
        self.counter -= 1
        return True

    def release(self):
        self.counter += 1

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *args):
        self.release()


BoundedSemaphore = Semaphore
RLock = Semaphore
