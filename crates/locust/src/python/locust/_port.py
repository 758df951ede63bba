"""The port: the one place the `locust` API reaches the hub (and so the engine). A request a
client prepared goes out and comes back as a response of the client's own classes; a task's
exception is reported as Locust reports it; a sleep yields to the hub. It imports the hub and
the exceptions, nothing else of `locust`: the clients, tasks and runners call it, and
`swarmlab_boot` fills in the run's Environment and users once it made them."""

import logging
import traceback

import swarmlab_runtime as rt

log = logging.getLogger("locust.runners")
EXIT_CODE_FROM_LISTENER = [None]

ENV = None  # the Environment, once swarmlab_boot made it
SPAWNED = None  # the users of this process (swarmlab_boot's Spawned)


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


def perform(session, prepared, header_block, name, catch_response, allow_redirects, context, refused=None, stream=False):
    """Sends `prepared` through the engine as `session`'s user; returns the response, of the
    session's own classes (`session.RESPONSES`: the plain one, and the context manager deciding
    the outcome with catch_response). `refused`: the error the
    client raised before sending (python-requests' InvalidHeader): the engine counts the
    request failed with it and sends nothing. `stream`: the reply comes at the response's head
    (timed and counted then) and its body after it, read as user code asks for it."""
    user = session.user
    fast = session.FAST
    flags = rt.DEFERRED if catch_response else 0
    if allow_redirects:
        flags |= rt.REDIRECTS
    if stream:
        flags |= rt.STREAM
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
    plain, managed = session.RESPONSES
    hook = ENV.events.request if ENV is not None else None
    streamed = rid if stream and reply[4] is None else None
    if not catch_response:
        resp = plain(reply, prepared)
        resp._stream = streamed
        if hook is not None and hook._handlers:
            hook._fire_from_client(**_meta(prepared, name, reply, resp, user, context, _by_rule(resp)))
        return resp
    resp = managed(reply, prepared)
    resp._stream = streamed
    resp._outcome = _Outcome(rid, hook, prepared, name, reply, resp, user, context)
    return resp


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

    __slots__ = ("rid", "hook", "prepared", "name", "reply", "resp", "user", "context", "meta")

    def __init__(self, rid, hook, prepared, name, reply, resp, user, context):
        self.rid, self.hook, self.prepared, self.name = rid, hook, prepared, name
        self.reply, self.resp, self.user, self.context = reply, resp, user, context
        self.meta = None  # the block's `response.request_meta`, once it looked at it

    def request_meta(self):
        """The request event's keyword arguments, as the block may read and change them
        (Locust fires the event with them when the block ends)."""
        if self.meta is None:
            self.meta = _meta(self.prepared, self.name, self.reply, self.resp, self.user, self.context, None)
        return self.meta

    def _changed(self):
        """Whether the block changed what the engine counts (the time, the name, the length
        or the type): then the request is counted as the block left it."""
        m = self.meta
        return m is not None and (
            m["response_time"] != self.reply[1]
            or m["name"] != self.name
            or m["response_length"] != self.reply[2]
            or m["request_type"] != self.prepared.method
        )

    def __call__(self, outcome, exc):
        if outcome in ("success", "failure", "default") and self._changed():
            m = self.meta
            if outcome == "success":
                exc = None
            elif outcome == "default":
                # the client's rule, its error citing the name the block left (Locust puts
                # the name in the URL's place, so one name's failures group as one)
                url, self.resp.url = self.resp.url, m["name"]
                exc = _by_rule(self.resp)
                self.resp.url = url
            rt.HUB.done(self.rid, rt.NOT_REPORTED)
            m["exception"] = exc
            rt.report_request(m["request_type"], m["name"], m["response_time"], m["response_length"], exc)
            if self.hook is not None and self.hook._handlers:
                self.hook._fire_from_client(**m)
            return
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
