"""Where swarmlab's `locust` package meets the engine: a request made by a user is handed to
the hub (and so to the engine) and comes back as a response; users are greenlets started and
stopped as the engine says; errors are reported as Locust reports them."""

import logging
import sys
import traceback

import greenlet

import swarmlab_runtime as rt

from .clients import Response, ResponseContextManager
from .exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)

log = logging.getLogger("locust.runners")
EXIT_CODE_FROM_LISTENER = [None]

ENV = None  # the Environment, once serve() made it
SPAWNED = None  # the users of this process


def sleep(seconds):
    rt.HUB.sleep(seconds)


_METHODS = {}


def _method(method):
    """A method as REQ carries it (s16), kept per method."""
    m = _METHODS.get(method)
    if m is None:
        b = method.encode()
        m = _METHODS[method] = rt._U16.pack(len(b)) + b
    return m


def perform(session, prepared, header_block, name, catch_response, allow_redirects, context, refused=None):
    """Sends `prepared` through the engine as `session`'s user; returns the response (a
    context manager deciding the outcome with catch_response). `refused`: the error the
    client raised before sending (python-requests' InvalidHeader): the engine counts the
    request failed with it and sends nothing."""
    user = session.user
    fast = session.FAST
    flags = rt.DEFERRED if catch_response else 0
    if allow_redirects:
        flags |= rt.REDIRECTS
    if fast:
        flags |= rt.FAST
        if not session.insecure:
            flags |= rt.VERIFY
    elif prepared._insecure:
        flags |= rt.INSECURE
    name = name if name.__class__ is str else str(name)
    body = prepared.body
    if refused is not None:
        flags |= rt.FAILED
        body = refused.encode()
    rid, reply = rt.HUB.request(
        user._swarmlab_id if user is not None else 0,
        flags,
        _method(prepared.method),
        prepared.url,
        name,
        header_block,
        body,
        prepared._tls_files,
    )
    hblob = reply[6]
    if (b"ookie" in hblob or b"OOKIE" in hblob) and not fast:
        for k, v in rt.decode_headers(hblob):
            if k.lower() == "set-cookie":
                cname, _, rest = v.partition("=")
                session.cookies._saw(cname.strip(), rest.split(";", 1)[0])
    if fast:
        plain, managed = _fast_responses()
    else:
        plain, managed = Response, ResponseContextManager
    hook = ENV.events.request if ENV is not None else None
    if not catch_response:
        resp = plain(reply, prepared)
        if hook is not None and hook._handlers:
            hook._fire_from_client(**_meta(prepared, name, reply, resp, user, context, _by_rule(resp)))
        return resp
    resp = managed(reply, prepared)
    resp._outcome = _Outcome(rid, hook, prepared, name, reply, resp, user, context)
    return resp


def _fast_responses():
    global _fast_responses
    from .contrib.fasthttp import FastResponse, FastResponseContextManager

    pair = (FastResponse, FastResponseContextManager)
    _fast_responses = lambda: pair  # noqa: E731
    return pair


def _meta(prepared, name, reply, resp, user, context, exception):
    """The request event's keyword arguments, as Locust's clients fire it."""
    return {
        "request_type": prepared.method,
        "name": name,
        "response_time": reply[1],
        "response_length": reply[2],
        "response": resp,
        "context": {**(user.context() if user is not None else {}), **(context or {})},
        "exception": exception,
        "start_time": None,
        "url": prepared.url,
    }


class _Outcome:
    """What a catch_response block decided, for the engine and the request event."""

    __slots__ = ("rid", "hook", "prepared", "name", "reply", "resp", "user", "context")

    def __init__(self, rid, hook, prepared, name, reply, resp, user, context):
        self.rid, self.hook, self.prepared, self.name = rid, hook, prepared, name
        self.reply, self.resp, self.user, self.context = reply, resp, user, context

    def __call__(self, outcome, exc):
        if outcome == "success":
            rt.HUB.done(self.rid, rt.SUCCESS)
            exc = None
        elif outcome == "failure":
            rt.HUB.done(self.rid, rt.FAILURE, _error_text(exc))
        elif outcome == "default":
            rt.HUB.done(self.rid, rt.DEFAULT_RULE)
            if self.hook is None or not self.hook._handlers:
                return
            exc = _by_rule(self.resp)
        else:
            rt.HUB.done(self.rid, rt.NOT_REPORTED)
            return
        if self.hook is not None and self.hook._handlers:
            self.hook._fire_from_client(
                **_meta(self.prepared, self.name, self.reply, self.resp, self.user, self.context, exc)
            )


def _by_rule(resp):
    """The exception the client's own rule gives a response (None: a success): a connection
    error, python-requests' HTTPError for 4xx/5xx, geventhttpclient's bad status code."""
    try:
        resp.raise_for_status()
    except Exception as e:
        return e
    return None


def _error_text(exc):
    if isinstance(exc, str):
        return exc
    return repr(exc)


def task_error(task_set, exc, tb):
    """An exception escaped a task: Locust logs it, fires user_error and counts it."""
    log.error("%s\n%s", exc, "".join(traceback.format_tb(tb)))
    rt.report_exception(exc, tb)
    if ENV is not None:
        ENV.events.user_error.fire(user_instance=task_set, exception=exc, tb=tb)


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
    global ENV, SPAWNED
    from .env import Environment

    ENV = Environment(user_classes=classes, shape_class=shape, events=None)
    import locust

    locust.events.request._engine = lambda **kw: rt.report_request(
        kw.get("request_type"), kw.get("name"), kw.get("response_time"), kw.get("response_length"), kw.get("exception")
    )
    ENV.events.init.fire(environment=ENV, runner=ENV.runner, web_ui=None)
    spawned = SPAWNED = Spawned(classes)
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
            _event_greenlet(lambda: _shape_turn(shape_instance))

    def _quitting():
        ENV.events.quitting.fire(environment=ENV, reverse=True)
        hub.running = False

    hub.on_frame = on_frame
    hub.send(rt._U32.pack(1) + bytes([rt.READY]))
    hub.run()
    hub.flush()


_SHAPE_WARNED = []


def _shape_turn(shape):
    """The shape's tick(), answered to the engine; an exception in it is logged and counted,
    and the run goes on as it was."""
    try:
        step = shape.tick()
    except Exception as e:
        log.error("%s\n%s", e, "".join(traceback.format_tb(e.__traceback__)))
        rt.report_exception(e, e.__traceback__)
        return
    if step is not None and len(step) > 2 and step[2] and not _SHAPE_WARNED:
        _SHAPE_WARNED.append(True)
        log.warning("the shape's user_classes are not followed here: users are spread over every class by weight")
    rt.report_shape(step)


def _event_greenlet(fn):
    g = greenlet.greenlet(fn, parent=rt.HUB.main)
    rt.HUB.schedule(g)
