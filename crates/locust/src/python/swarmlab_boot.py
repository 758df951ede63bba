"""swarmlab's Python user runtime, its top layer: one process of users for the swarmlab engine.

The engine (Rust) starts this in the user's own python3 with a socket (fd 3, or stdin) and the
locustfile's path: `--describe` prints the file's user classes; `--serve` runs its users,
spawned and stopped as the engine says, every request handed to the engine through the hub
(`swarmlab_runtime`). This module is the only one that imports both the hub and the `locust`
API; nothing imports it.
"""

import gc
import importlib.util
import json
import logging
import os
import random
import signal
import socket
import sys
import traceback

import swarmlab_runtime as rt

if rt.greenlet is None:  # the API is built on greenlets: said in one line, before importing it
    print(
        f"the Python path needs greenlet, which Locust installs with gevent: {sys.executable} -m pip install greenlet",
        file=sys.stderr,
    )
    sys.exit(3)

import greenlet  # noqa: E402

import locust  # noqa: E402
from locust import _port  # noqa: E402
from locust.contrib.fasthttp import FastHttpUser  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopTest  # noqa: E402
from locust.shape import LoadTestShape  # noqa: E402
from locust.user.task import filter_tasks_by_tags  # noqa: E402
from locust.user.users import HttpUser, User  # noqa: E402

log = logging.getLogger("locust.runners")
ENV = None  # the Environment, once serve() made it


def load_locustfile(path):
    """Imports the locustfile as Locust does: its directory first on sys.path for the import,
    its module name the file's stem."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    name = os.path.splitext(os.path.basename(path))[0]
    if name == "locust":
        name = "locustfile"
    sys.path.insert(0, directory)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass
        # the file's own modules stay importable later (from tasks), as under Locust's cwd
        if directory not in sys.path:
            sys.path.append(directory)
    return module


def discover(module, wanted):
    """The module's non-abstract User classes (imported ones too) and its shape, if any."""
    users = []
    shape = None
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, User) and value is not User:
            if not value.__dict__.get("abstract", False) and value not in users:
                users.append(value)
        elif isinstance(value, type) and issubclass(value, LoadTestShape) and value is not LoadTestShape:
            if not value.__dict__.get("abstract", False):
                shape = value
    if wanted:
        users = [u for u in users if u.__name__ in wanted]
    return users, shape


def _client_of(cls):
    if issubclass(cls, FastHttpUser):
        return "FastHttpUser"
    if issubclass(cls, HttpUser):
        return "HttpUser"
    return "User"


def _user_error_line(path, exc):
    """One line for an exception raised while importing the locustfile: FILE:LINE: Type: msg,
    at the innermost frame in the file itself (else the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = None
    real = os.path.realpath(path)
    for f in frames:
        if os.path.realpath(f.filename) == real:
            where = f
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{os.path.basename(exc.filename)}:{exc.lineno}: SyntaxError: {exc.msg}"
    if where is None and frames:
        where = frames[-1]
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if where is None:
        return f"{os.path.basename(path)}: {text}"
    return f"{os.path.basename(where.filename)}:{where.lineno}: {text}"


def main():
    """python3 -c BOOTSTRAP --describe FILE [CLASS ...] | --serve FILE [CLASS ...]

    --describe prints the file's user classes as JSON (the user's own output goes to stderr);
    --serve runs users for the engine on the socket that is this process's stdin."""
    args = sys.argv[1:]
    mode, path = args[0], args[1]
    wanted = [a for a in args[2:] if not a.startswith("--")]
    real_stdout = sys.stdout
    if mode == "--describe":
        sys.stdout = sys.stderr
    else:
        # a terminal's Ctrl-C reaches the whole process group: the engine stops the run and
        # then tells this process to end (a KeyboardInterrupt here printed a traceback per
        # process and made the run exit 1); if the engine dies, the kernel ends this process
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # the run's seed (swarm --seed N repeats a run's random choices, task picks included)
        seed = os.environ.get("SWARMLAB_SEED")
        if seed:
            random.seed(int(seed))
    rt.patch_time()
    try:
        module = load_locustfile(path)
        users, shape = discover(module, wanted)
    except SystemExit:
        raise
    except BaseException as e:
        print(_user_error_line(path, e), file=sys.stderr)
        sys.exit(2)
    host = os.environ.get("SWARMLAB_HOST")
    if host:
        for u in users:
            u.host = host  # -H replaces every class's host, as Locust's runner does
    tags = os.environ.get("SWARMLAB_TAGS")
    exclude = os.environ.get("SWARMLAB_EXCLUDE_TAGS")
    if tags or exclude:
        for u in users:  # --tags / --exclude-tags, as Locust's runner applies them
            filter_tasks_by_tags(u, set(tags.split(",")) if tags else None, set(exclude.split(",")) if exclude else None)
    if mode == "--describe":
        out = []
        for u in users:
            out.append(
                {
                    "name": u.__name__,
                    "weight": getattr(u, "weight", 1),
                    "fixed_count": getattr(u, "fixed_count", 0) or None,
                    "host": getattr(u, "host", None),
                    "client": _client_of(u),
                }
            )
        json.dump({"classes": out, "shape": shape.__name__ if shape else None}, real_stdout)
        real_stdout.flush()
        return
    fd = int(os.environ.get("SWARMLAB_CHANNEL_FD", "0"))
    if fd == 0:
        # the engine's socket is stdin: keep it on a descriptor of its own, and give user code
        # a plain empty stdin
        fd = os.dup(0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    rt.HUB = rt.Hub(socket.socket(fileno=fd))
    # what the import made lives as long as the process: out of the collector's way
    gc.freeze()

    prof = os.environ.get("SWARMLAB_PROFILE")
    if prof:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
        try:
            serve(rt.HUB, users, shape)
        finally:
            profile.disable()
            profile.dump_stats(prof)
            print("profile written", prof, file=sys.stderr)
        return
    serve(rt.HUB, users, shape)


class Spawned:
    """The users this process runs, by the engine's user id."""

    def __init__(self, classes):
        self.classes = classes
        self.users = {}  # id -> (user, greenlet)

    def spawn(self, uid, class_index):
        cls = self.classes[class_index]
        g = greenlet.greenlet(lambda: self._run(uid, cls), parent=rt.HUB.main)
        self.users[uid] = g
        rt.HUB.schedule(g)

    def _run(self, uid, cls):
        try:
            user = cls(ENV)
        except StopTest:
            ENV.runner.quit()
            rt.report_ended(uid)
            return
        except Exception as e:
            rt.report_exception(e, sys.exc_info()[2])
            rt.report_ended(uid)
            return
        user._swarmlab_id = uid
        user._greenlet = greenlet.getcurrent()
        try:
            user.run()
        except greenlet.GreenletExit:
            pass
        except (RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet) as e:
            # escaped the User's own task set: the greenlet dies with its traceback
            traceback.print_exception(type(e), e, e.__traceback__)
        except Exception as e:
            # in on_start: logged, user_error, and the user is not replaced
            log.error("%s\n%s", e, "".join(traceback.format_tb(e.__traceback__)))
            rt.report_exception(e, e.__traceback__)
            ENV.events.user_error.fire(user_instance=user, exception=e, tb=e.__traceback__)
        finally:
            self.users.pop(uid, None)
            rt.report_ended(uid)

    def stop(self, uid):
        g = self.users.get(uid)
        if g is not None and not g.dead:
            rt.HUB.schedule(g, throw=greenlet.GreenletExit)


def serve(hub, classes, shape):
    """Runs this process's users as the engine says, until it says exit."""
    global ENV
    ENV = _port.ENV = Environment(user_classes=classes, shape_class=shape, events=None)
    locust.events.request._engine = lambda **kw: rt.report_request(
        kw.get("request_type"), kw.get("name"), kw.get("response_time"), kw.get("response_length"), kw.get("exception")
    )
    ENV.events.init.fire(environment=ENV, runner=ENV.runner, web_ui=None)
    spawned = _port.SPAWNED = Spawned(classes)
    shape_instance = ENV.shape_class  # Environment made it, with its runner

    def on_frame(kind, data):
        if kind == rt.SPAWN:
            uid, cls = rt.struct.unpack_from("<IH", data, 0)
            spawned.spawn(uid, cls)
        elif kind == rt.STOP:
            (uid,) = rt.struct.unpack_from("<I", data, 0)
            spawned.stop(uid)
        elif kind == rt.TEST_START:
            if shape_instance is not None:
                shape_instance.reset_time()
            _event_greenlet(lambda: ENV.events.test_start.fire(environment=ENV))
        elif kind == rt.TEST_STOP:
            _event_greenlet(lambda: (ENV.events.test_stopping.fire(environment=ENV), ENV.events.test_stop.fire(environment=ENV)))
        elif kind == rt.EXIT:
            _event_greenlet(_quitting)
        elif kind == rt.SHAPE_TICK and shape_instance is not None:
            run_time, users = rt.struct.unpack_from("<dI", data, 0)
            ENV.runner._engine_users = users
            _event_greenlet(lambda: _shape_turn(shape_instance, classes))

    def _quitting():
        ENV.events.quitting.fire(environment=ENV, reverse=True)
        hub.running = False

    hub.on_frame = on_frame
    hub.send(rt._U32.pack(1) + bytes([rt.READY]))
    hub.run()
    hub.flush()


def _shape_turn(shape, classes):
    """The shape's tick(), answered to the engine; an exception in it is logged and counted,
    and the run goes on as it was."""
    try:
        step = shape.tick()
    except Exception as e:
        log.error("%s\n%s", e, "".join(traceback.format_tb(e.__traceback__)))
        rt.report_exception(e, e.__traceback__)
        return
    chosen = None
    if step is not None and len(step) > 2 and step[2]:
        # its user_classes: the users it asks for are of these only (as indices the engine
        # knows the classes by)
        chosen = [classes.index(c) for c in step[2] if c in classes]
    rt.report_shape(step, chosen)


def _event_greenlet(fn):
    g = greenlet.greenlet(fn, parent=rt.HUB.main)
    rt.HUB.schedule(g)
