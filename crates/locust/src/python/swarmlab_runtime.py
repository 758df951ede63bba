"""swarmlab's Python user runtime, its bottom layer: the hub and the engine's protocol.

The engine (Rust) starts this in the user's own python3 with a socket on fd 3 and the
locustfile's path. Python runs the user's code; every request it makes is handed to the
engine, which sends it, times it and counts it; this process gets the response back.

Users are greenlets on one hub (this module's `Hub`): a user that makes a request, sleeps or
waits yields to the hub, which goes on with the others, resumes users as their responses and
timers come, and talks to the engine in batches (many frames per system call, both ways).

Frames (little-endian): u32 length of what follows, u8 type, payload. Strings are u16- or
u32-length-prefixed UTF-8. The engine's side of the protocol is `crates/swarm/src/remote.rs`.

This module imports nothing of `locust` or `gevent`: they are built on it. The layers, bottom
up: this hub and its protocol; `locust/_port.py`, the narrow port through which the API
reaches the hub (a request, a task's exception, a sleep); the API (`locust`, `gevent`); and
`swarmlab_boot.py` on top, which loads the locustfile and runs its users (the engine starts
the process there). `crates/cli/tests/layout.rs` reads the imports and fails on a circle.

For whoever works on this file: SWARMLAB_PROFILE=FILE in the environment of a run writes a
cProfile of the users' process to FILE (wall-clock time, so a system call that lets the engine
run on the same core looks expensive).
"""

import heapq
import os
import re
import selectors
import struct
import time
import traceback

try:
    import greenlet
except ImportError:  # said in one line by swarmlab_boot.main()
    greenlet = None


def _client_rules(text):
    """The clients' rules as the engine hands them over (its table, `ClientProfile` in
    `crates/swarm/src/profile.rs`): `http_fails=400-599;fast_valid=200,...;max_redirects=30`."""
    if not text:
        raise RuntimeError("SWARMLAB_CLIENT_RULES is not set: this runtime runs under swarmlab's engine")
    rules = dict(part.split("=", 1) for part in text.split(";"))
    lo, hi = rules["http_fails"].split("-")
    return {
        "http_fails": (int(lo), int(hi)),
        "fast_valid": frozenset(int(c) for c in rules["fast_valid"].split(",")),
        "max_redirects": int(rules["max_redirects"]),
    }


CLIENT_RULES = _client_rules(os.environ.get("SWARMLAB_CLIENT_RULES"))

# engine -> python
SPAWN, STOP, RESP, TEST_START, TEST_STOP, EXIT, SHAPE_TICK, PART = 1, 2, 3, 4, 5, 6, 7, 8
# python -> engine
REQ, DONE, EXC, ENDED, FIRE, QUIT, READY, SHAPE = 1, 2, 3, 4, 5, 6, 7, 8
# REQ flags
DEFERRED, REDIRECTS, FAST, HAS_BODY, INSECURE, VERIFY, TLS_FILES, FAILED, STREAM = 1, 2, 4, 8, 16, 32, 64, 128, 256
# DONE outcomes
SUCCESS, FAILURE, DEFAULT_RULE, NOT_REPORTED = 0, 1, 2, 3

_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_REQ_HEAD = struct.Struct("<IBIIH")  # length, type, req id, user, flags
_RESP_HEAD = struct.Struct("<IHdQ")  # req id, status, elapsed ms, length
_PART_HEAD = struct.Struct("<IB")  # req id, last


def _s16(b):
    return _U16.pack(len(b)) + b


def _s32(b):
    return _U32.pack(len(b)) + b


_NO_BODY = b"\0\0\0\0"
_DONE = struct.Struct("<IBIBI")  # length, type, req id, outcome, error length


class BadHeader(Exception):
    """A header field the client refuses before it sends anything; the argument is the error
    the request fails with, as Locust's failure text (`InvalidHeader("...")`)."""


# python-requests' rules for a field (checked as it prepares a request): a name starts with
# neither a colon nor whitespace and holds no colon, CR or LF; a value is empty or starts
# with non-whitespace and holds no CR or LF. Anything else fails the request with
# InvalidHeader, so a value cannot smuggle a second header line or request.
_NAME_OK = re.compile(r"[^:\s][^:\r\n]*").fullmatch
_VALUE_OK = re.compile(r"\S[^\r\n]*|").fullmatch
_NAME_OK_B = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
_VALUE_OK_B = re.compile(rb"\S[^\r\n]*|").fullmatch


def _requests_part(field, part, value):
    """One part of a field as python-requests sends it (its bytes), or BadHeader."""
    if part.__class__ is str:
        if (_VALUE_OK if value else _NAME_OK)(part):
            # http.client: names in ASCII, values in Latin-1 (UnicodeEncodeError in the task);
            # REQ carries UTF-8, and the engine writes each character as its Latin-1 byte
            part.encode("latin-1" if value else "ascii")
            return part.encode()
    elif isinstance(part, bytes):
        if (_VALUE_OK_B if value else _NAME_OK_B)(part):
            return part.decode("latin-1").encode()
    else:
        raise BadHeader(
            "InvalidHeader(%r)"
            % f"Header part ({part!r}) from {field} must be of type str or bytes, not {type(part)}"
        )
    kind = "value" if value else "name"
    raise BadHeader(
        "InvalidHeader(%r)"
        % f"Invalid leading whitespace, reserved character(s), or return character(s) in header {kind}: {part!r}"
    )


# geventhttpclient's (FastHttpUser): a name is an RFC 9110 token; a str value holds tabs and
# visible Latin-1 only; anything else is str()ed unchecked. It raises ValueError in the task.
_TOKEN_OK = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_FIELD_VALUE_OK = re.compile(r"[\t\x20-\x7e\x80-\xff]*").fullmatch


def _fast_field(k, v):
    if k.__class__ is not str or not _TOKEN_OK(k):
        raise ValueError(f"invalid header field name {k!r}")
    if v.__class__ is str:
        if not _FIELD_VALUE_OK(v):
            raise ValueError(f"invalid value for header field {k!r}: {v!r}")
    else:
        v = str(v)
    return k.encode(), v.encode()


def encode_fields(items, fast=False):
    """Header fields as REQ carries them, without their count: s16 name, s32 value each.
    Checked as the user's client checks them: python-requests' fields (BadHeader: the request
    fails) or, `fast`, geventhttpclient's (ValueError in the task)."""
    parts = []
    for field in items:
        k, v = field
        if fast:
            k, v = _fast_field(k, v)
        else:
            k, v = _requests_part(field, k, False), _requests_part(field, v, True)
        parts.append(_U16.pack(len(k)) + k + _U32.pack(len(v)) + v)
    return b"".join(parts)


def encode_headers(items, fast=False):
    """A request's header fields as REQ carries them: u16 count, then the fields."""
    items = list(items)
    return _U16.pack(len(items)) + encode_fields(items, fast)


def find_header(blob, name, low=None):
    """One field's value in RESP's header bytes without decoding the others (`name` in lower
    case, as bytes); None if absent. A match is a name only where it follows its own u16
    length: a header value cannot hold the NUL that length's high byte is, and the engine
    never passes a value long enough for a u32 length to end in the same two bytes."""
    if low is None:
        low = blob.lower()
    n = len(name)
    i = low.find(name)
    while i >= 2:
        if blob[i - 1] == 0 and blob[i - 2] == n:
            (vl,) = _U32.unpack_from(blob, i + n)
            return blob[i + n + 4 : i + n + 4 + vl].decode("latin-1")
        i = low.find(name, i + 1)
    return None


def decode_headers(blob):
    """RESP's header fields (decoded only when user code reads them)."""
    out = []
    if not blob:
        return out
    (n,) = _U16.unpack_from(blob, 0)
    p = 2
    for _ in range(n):
        (kl,) = _U16.unpack_from(blob, p)
        p += 2
        k = blob[p : p + kl].decode("latin-1")
        p += kl
        (vl,) = _U32.unpack_from(blob, p)
        p += 4
        v = blob[p : p + vl].decode("latin-1")
        p += vl
        out.append((k, v))
    return out


class Hub:
    """The greenlet hub: the engine's socket, timers, and the users waiting on them."""

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)
        self.main = greenlet.getcurrent()
        self.out = []
        self.out_size = 0
        self.inbuf = bytearray()
        self.timers = []  # (when, seq, greenlet, value)
        self.seq = 0
        self.waiting = {}  # request id -> greenlet
        self.streams = {}  # request id -> [body parts, ended, error] (stream=True)
        self.stream_waiting = {}  # request id -> the greenlet waiting for its next part
        self.dropped = set()  # streams nobody reads any more: their parts are let go
        self.next_req = 1
        self.ready = []  # (greenlet, value, throw)
        self.fresh = None  # the user last resumed with a response, until it yields again
        self.on_frame = None
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.running = True

    # ---- what user greenlets call ----
    def request(self, user_id, flags, method, url, name, header_block, body, tls_files=None):
        """Hands a request to the engine and waits for its reply: `method` already as s16
        bytes, `header_block` as `encode_headers` makes it, `tls_files` (CA file, client
        certificate, its key: paths or None) for `verify="ca.pem"` and `cert=`. The reply is a
        tuple (status, elapsed ms, length, body, error or None, final URL, header bytes)."""
        rid = self.put_request(user_id, flags, method, url, name, header_block, body, tls_files)
        g = self.waiting[rid] = greenlet.getcurrent()
        reply = self.main.switch()
        self.fresh = g
        return rid, reply

    def put_request(self, user_id, flags, method, url, name, header_block, body, tls_files=None):
        """Queues one REQ frame; returns its request id."""
        rid = self.next_req
        self.next_req = (rid + 1) & 0xFFFFFFFF or 1
        u = url.encode()
        n = name.encode()
        if body is None:
            b = _NO_BODY
        else:
            flags |= HAS_BODY
            b = _U32.pack(len(body)) + body
        payload = b"".join((method, _U32.pack(len(u)), u, _U16.pack(len(n)), n, header_block, b))
        if tls_files is not None:
            flags |= TLS_FILES
            for path in tls_files:
                p = (path or "").encode()
                payload += _U16.pack(len(p)) + p
        self.out.append(_REQ_HEAD.pack(len(payload) + 11, REQ, rid, user_id, flags) + payload)
        self.out_size += len(payload)
        return rid

    def done(self, rid, outcome, error=""):
        e = error.encode()
        self.out.append(_DONE.pack(10 + len(e), DONE, rid, outcome, len(e)) + e)

    def send(self, frame):
        self.out.append(frame)
        self.out_size += len(frame)

    def sleep(self, seconds):
        """Pauses the calling greenlet (and only it)."""
        g = greenlet.getcurrent()
        if g is self.main:
            time.sleep(seconds)  # not a user: there is nothing else to run
            return
        if seconds <= 0:
            if self.fresh is g:
                # constant(0) right after a response: the others ran while this user waited
                # for it and nothing has run since, so yielding again changes nothing but cost
                self.fresh = None
                return
            self.ready.append((g, None, None))  # the others first, then on
            self.main.switch()
            return
        self.seq += 1
        heapq.heappush(self.timers, (time.monotonic() + max(0.0, seconds), self.seq, g))
        self.main.switch()

    def schedule(self, g, value=None, throw=None):
        self.ready.append((g, value, throw))

    # ---- the loop ----
    def flush(self):
        while self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.out_size = 0
            try:
                n = self.sock.send(data)
            except BlockingIOError:
                n = 0
            if n < len(data):
                self.out.append(data[n:])
                self.out_size = len(data) - n
                self.selector.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
        self.selector.modify(self.sock, selectors.EVENT_READ)

    def run(self):
        while self.running:
            self.run_ready()
            self.flush()
            if not self.running:
                break  # told to exit while running users: nothing more to wait for
            timeout = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            if self.ready:
                timeout = 0.0
            for key, mask in self.selector.select(timeout):
                if mask & selectors.EVENT_READ:
                    self.read()
                if mask & selectors.EVENT_WRITE:
                    self.flush()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, g = heapq.heappop(self.timers)
                if not g.dead:
                    self.ready.append((g, None, None))

    def run_ready(self):
        # One batch, then back to the loop, which looks at the channel before the next: a user
        # that yields with sleep(0) over and over (a class without tasks fails and waits 0 s,
        # forever) made this loop endless, and the engine's stop went unread for seconds.
        batch, self.ready = self.ready, []
        for g, value, throw in batch:
            if g.dead:
                continue
            if throw is not None:
                g.throw(throw)
            elif value is None:
                g.switch()  # a start, or the end of a sleep
            else:
                g.switch(value)
        if self.out_size > 1 << 16:
            self.flush()

    def read(self):
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        if not data:
            self.running = False  # the engine is gone
            return
        buf = self.inbuf
        buf += data
        pos = 0
        end = len(buf)
        while end - pos >= 5:
            (length,) = _U32.unpack_from(buf, pos)
            if end - pos - 4 < length:
                break
            kind = buf[pos + 4]
            start = pos + 5
            pos += 4 + length
            if kind == RESP:
                self.on_resp(buf, start, pos)
            elif kind == PART:
                self.on_part(buf, start)
            else:
                self.on_frame(kind, bytes(buf[start:pos]))
        del buf[:pos]

    def on_resp(self, f, p, end):
        rid, status, elapsed, length = _RESP_HEAD.unpack_from(f, p)
        p += 22
        (bl,) = _U32.unpack_from(f, p)
        p += 4
        body = bytes(f[p : p + bl])
        p += bl
        (el,) = _U32.unpack_from(f, p)
        p += 4
        error = f[p : p + el].decode("utf-8", "replace") if el else None
        p += el
        (ul,) = _U32.unpack_from(f, p)
        p += 4
        url = f[p : p + ul].decode("utf-8", "replace")
        p += ul
        g = self.waiting.pop(rid, None)
        if g is not None:
            self.ready.append((g, (status, elapsed, length, body, error, url, bytes(f[p:end])), None))

    def on_part(self, f, p):
        rid, last = _PART_HEAD.unpack_from(f, p)
        p += 5
        (bl,) = _U32.unpack_from(f, p)
        body = bytes(f[p + 4 : p + 4 + bl])
        p += 4 + bl
        (el,) = _U32.unpack_from(f, p)
        error = f[p + 4 : p + 4 + el].decode("utf-8", "replace") if el else None
        if rid in self.dropped:
            if last:
                self.dropped.discard(rid)
            return
        st = self.streams.get(rid)
        if st is None:
            st = self.streams[rid] = [[], False, None]
        if body:
            st[0].append(body)
        if last:
            st[1], st[2] = True, error
        g = self.stream_waiting.pop(rid, None)
        if g is not None:
            self.ready.append((g, None, None))

    # ---- streamed responses (stream=True), what user greenlets call ----
    def next_part(self, rid):
        """A streamed response's next body bytes, as they come (the calling greenlet waits for
        them); None at its end. What cut it short is raised as `StreamCut(its text)`."""
        while True:
            st = self.streams.get(rid)
            if st is not None:
                if st[0]:
                    return st[0].pop(0)
                if st[1]:
                    del self.streams[rid]
                    if st[2]:
                        raise StreamCut(st[2])
                    return None
            self.stream_waiting[rid] = greenlet.getcurrent()
            self.main.switch()

    def drop_stream(self, rid):
        """Nobody will read this stream's body: what came and what comes is let go."""
        st = self.streams.pop(rid, None)
        if st is None or not st[1]:
            self.dropped.add(rid)


class StreamCut(Exception):
    """A streamed response's body ended early: the engine's words for why."""


HUB = None


def hub():
    return HUB


def report_exception(exc, tb):
    """A task's exception, for the Exceptions tab, as Locust reports it: `str(exc)` and the
    traceback's frames (`format_tb`), by which the rows are grouped."""
    msg = str(exc).encode("utf-8", "replace")
    text = "".join(traceback.format_tb(tb)).encode("utf-8", "replace")
    HUB.send(_U32.pack(1 + 8 + len(msg) + len(text)) + bytes([EXC]) + _s32(msg) + _s32(text))


def report_ended(user_id):
    HUB.send(_U32.pack(5) + bytes([ENDED]) + _U32.pack(user_id))


def report_shape(step, classes=None):
    """The shape's tick(): (users, spawn_rate) or None, the end of the run; `classes`: the
    indices of the user classes it chose, if it chose."""
    if step is None:
        users, rate = 0xFFFFFFFF, 0.0
    else:
        users, rate = int(step[0]), float(step[1])
    tail = b"" if classes is None else _U16.pack(len(classes)) + b"".join(_U16.pack(i) for i in classes)
    HUB.send(_U32.pack(13 + len(tail)) + bytes([SHAPE]) + struct.pack("<Id", users, rate) + tail)


def report_quit():
    HUB.send(_U32.pack(1) + bytes([QUIT]))


def report_request(request_type, name, response_time, response_length, exception):
    """A request reported by user code (`events.request.fire`), counted by the engine."""
    m = str(request_type).encode()
    n = str(name).encode()
    err = b"" if exception is None else _error_text(exception).encode("utf-8", "replace")
    HUB.send(
        _U32.pack(1 + 2 + len(m) + 2 + len(n) + 8 + 8 + 4 + len(err))
        + bytes([FIRE])
        + _s16(m)
        + _s16(n)
        + struct.pack("<dQ", float(response_time or 0), int(response_length or 0))
        + _s32(err)
    )


def _error_text(exc):
    if isinstance(exc, str):
        return exc
    return repr(exc)


def patch_time():
    """`time.sleep` in user code pauses only that user (Locust's gevent patching does the same);
    outside a user (module level, the main loop) it sleeps as always."""
    if getattr(time.sleep, "_swarmlab", False):
        return
    real = time.sleep

    def sleep(seconds):
        if HUB is not None and greenlet.getcurrent() is not HUB.main:
            HUB.sleep(seconds)
        else:
            real(seconds)

    sleep._swarmlab = True
    time.sleep = sleep
