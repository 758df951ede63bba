"""gevent.pool.Pool / Group on swarmlab's hub."""

from . import Greenlet, joinall, sleep


class Group:
    def __init__(self, *args):
        self.greenlets = []

    def spawn(self, run, *args, **kwargs):
        g = Greenlet.spawn(run, *args, **kwargs)
        self.greenlets.append(g)
        return g

    def add(self, g):
        self.greenlets.append(g)

    def join(self, timeout=None, raise_error=False):
        joinall(self.greenlets, timeout, raise_error)
        self.greenlets = [g for g in self.greenlets if not g.ready()]

    def kill(self, *args, **kwargs):
        for g in self.greenlets:
            g.kill()

    def __len__(self):
        return len([g for g in self.greenlets if not g.ready()])


class Pool(Group):
    """At most `size` greenlets at once: spawn waits for room."""

    def __init__(self, size=None):
        super().__init__()
        self.size = size

    def spawn(self, run, *args, **kwargs):
        while self.size and len(self) >= self.size:
            sleep(0.001)
        return super().spawn(run, *args, **kwargs)

    def map(self, func, iterable):
        gs = [self.spawn(func, item) for item in iterable]
        joinall(gs)
        return [g.value for g in gs]

    def imap_unordered(self, func, iterable):
        return iter(self.map(func, iterable))

    def wait_available(self, timeout=None):
        while self.size and len(self) >= self.size:
            sleep(0.001)
