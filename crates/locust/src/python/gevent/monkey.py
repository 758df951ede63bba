"""gevent.monkey on swarmlab's hub: time.sleep is patched (it pauses only the calling user)."""

from swarmlab_runtime import patch_time


def patch_all(*args, **kwargs):
    patch_time()
    return True


def is_module_patched(name):
    return name == "time"
