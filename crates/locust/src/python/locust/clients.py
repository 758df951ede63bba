"""HttpUser's client: a session with python-requests' ways (its default headers, its cookie
and redirect handling are the engine's: swarmlab's engine sends the request), and the
responses and catch_response context managers user code works with."""

import base64
import datetime
import json as _json
import re
import struct
import uuid
import zlib
from urllib.parse import urlencode, urlsplit

import swarmlab_runtime as _rt

from ._port import perform
from .exception import CatchResponseError, LocustError, ResponseError

def _installed(package, fallback):
    """An installed package's version (the User-Agent the real client would send), else the
    one Locust 2.47 installs."""
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:
        return fallback


REQUESTS_VERSION = _installed("requests", "2.34.2")
_U16 = struct.Struct("<H")
_NO_FIELDS = _U16.pack(0)
_ABSOLUTE = re.compile(r"^https?://", re.I)


class CaseInsensitiveDict(dict):
    """Headers: keys compared without case, the first spelling kept. `_v` counts changes, so
    a session can keep its headers encoded until they change."""

    def __init__(self, data=None, **kwargs):
        super().__init__()
        self._keys = {}
        self._v = 0
        if data or kwargs:
            self.update(data or {}, **kwargs)

    def __setitem__(self, key, value):
        low = key.lower()
        old = self._keys.get(low)
        if old is not None:
            super().__delitem__(old)
        self._keys[low] = key
        self._v += 1
        super().__setitem__(key, value)

    def __getitem__(self, key):
        return super().__getitem__(self._keys[key.lower()])

    def __delitem__(self, key):
        self._v += 1
        super().__delitem__(self._keys.pop(key.lower()))

    def __contains__(self, key):
        return isinstance(key, str) and key.lower() in self._keys

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key, *default):
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self):
        key, value = super().popitem()
        self._keys.pop(key.lower(), None)
        self._v += 1
        return key, value

    def clear(self):
        super().clear()
        self._keys.clear()
        self._v += 1

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, data=None, **kwargs):
        items = data.items() if hasattr(data, "items") else (data or ())
        for k, v in items:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def copy(self):
        return CaseInsensitiveDict(self)

    def lower_items(self):
        return ((k.lower(), v) for k, v in self.items())


def _brotli():
    """The brotli module urllib3 would use (it offers br only with one installed), else None."""
    for name in ("brotlicffi", "brotli"):
        try:
            return __import__(name)
        except Exception:
            pass
    return None


BROTLI = _brotli()
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI else "gzip, deflate"


def default_headers():
    return CaseInsensitiveDict(
        {
            "User-Agent": f"python-requests/{REQUESTS_VERSION}",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
    )


# what python-requests leaves as it is in a URL (anything else it percent-encodes)
_SAFE_URL = re.compile(r"[A-Za-z0-9\-._~!#$&'()*+,/:;=?@\[\]]*\Z")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def requote(url):
    """python-requests' `requote_uri`: percent-escapes of unreserved characters undone, then
    everything outside the reserved and unreserved sets escaped (a `%` not starting an escape
    becomes `%25`)."""
    if _SAFE_URL.match(url):
        return url
    from urllib.parse import quote

    parts = url.split("%")
    out = [parts[0]]
    for piece in parts[1:]:
        h = piece[:2]
        if len(h) == 2 and all(c in "0123456789abcdefABCDEF" for c in h):
            c = chr(int(h, 16))
            out.append((c if c in _UNRESERVED else "%" + h) + piece[2:])
        else:
            out.append("%25" + piece)
    return quote("".join(out), safe="!#$%&'()*+,/:;=?@[]~")


def path_url_of(url):
    """python-requests' `PreparedRequest.path_url`: the path (`/` if none) and the query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (("?" + parts.query) if parts.query else "")


def split_credentials(base_url):
    """`http://user:pass@host` -> (`http://host`, ("user", "pass")); else (base_url, None)."""
    m = re.match(r"^(https?://)([^/@]+)@(.*)$", base_url)
    if not m:
        return base_url, None
    name, _, password = m.group(2).partition(":")
    return m.group(1) + m.group(3), (name, password)


class PreparedRequest:
    """The request as sent (`response.request`): its headers are copied from the session's
    only when user code reads them."""

    __slots__ = ("method", "url", "_headers", "body", "_path_url", "_insecure", "_tls_files")

    def __init__(self, method, url, headers, body):
        self.method = method
        self.url = url
        self._headers = headers
        self.body = body
        self._path_url = None
        self._insecure = False
        self._tls_files = None

    @property
    def headers(self):
        h = self._headers
        if not isinstance(h, _Copied):
            if isinstance(h, tuple):  # (session headers, the request's own)
                merged = _Copied(h[0])
                merged.update(h[1])
                h = merged
            else:
                h = _Copied(h)
            self._headers = h
        return h

    @headers.setter
    def headers(self, value):
        self._headers = _Copied(value)

    @property
    def path_url(self):
        if self._path_url is None:
            self._path_url = path_url_of(self.url)
        return self._path_url


class _Copied(CaseInsensitiveDict):
    pass


def _chain(first, rest):
    yield from first
    yield from rest


class ChunkedEncodingError(ConnectionError):
    """python-requests' error for a streamed body cut short."""


class HTTPError(Exception):
    def __init__(self, *args, response=None, request=None):
        super().__init__(*args)
        self.response = response
        self.request = request


_UNSET = object()


class Response:
    """What python-requests' Response offers that locustfiles use. Built from the engine's
    reply; its headers, encoding, reason and elapsed time are worked out only when read."""

    def __init__(self, reply, request):
        (self.status_code, self._ms, self._length, self._content, self.error, url, self._hblob) = reply
        self.url = url or request.url
        self.request = request
        self.history = []
        self._headers = None
        self._low = None
        self._encoding = _UNSET
        self._reason = None
        self._stream = None  # stream=True: the request id whose body parts are still to come
        self._consumed = False

    @property
    def headers(self):
        if self._headers is None:
            self._headers = CaseInsensitiveDict(_rt.decode_headers(self._hblob))
        return self._headers

    @headers.setter
    def headers(self, value):
        self._headers = value

    def _field(self, name):
        """One header's value (`name` lower-case bytes), from the engine's bytes until user
        code has the headers as a dict."""
        if self._headers is None:
            low = self._low
            if low is None:
                low = self._low = self._hblob.lower()
            return _rt.find_header(self._hblob, name, low)
        return self._headers.get(name.decode())

    @property
    def encoding(self):
        if self._encoding is _UNSET:
            self._encoding = _charset(self._field(b"content-type") or "")
        return self._encoding

    @encoding.setter
    def encoding(self, value):
        self._encoding = value

    @property
    def reason(self):
        if self._reason is None:
            self._reason = _reason(self.status_code)
        return self._reason

    @reason.setter
    def reason(self, value):
        self._reason = value

    @property
    def elapsed(self):
        return datetime.timedelta(milliseconds=self._ms)

    @property
    def content(self):
        if self._consumed:
            raise RuntimeError("The content for this response was already consumed")
        if self._stream is not None:
            parts = [self._content or b""]
            parts.extend(self._parts())
            self._content = b"".join(parts)
        if not self._content:
            return self._content
        return _decoded(self._content, self._field(b"content-encoding"))

    def _parts(self):
        """A streamed body's parts as the engine hands them over (the calling user waits for
        each); what cut the body short raises python-requests' ChunkedEncodingError."""
        rid, self._stream = self._stream, None
        try:
            while True:
                part = _rt.HUB.next_part(rid)
                if part is None:
                    return
                yield part
        except _rt.StreamCut as e:
            raise ChunkedEncodingError(str(e)) from None

    def __del__(self):
        if self._stream is not None and _rt.HUB is not None:
            _rt.HUB.drop_stream(self._stream)

    @content.setter
    def content(self, value):
        self._content = value
        self._headers = self.headers
        self._headers.pop("content-encoding", None)

    @property
    def text(self):
        content = self.content
        if not content:
            return ""
        return content.decode(self.encoding or "utf-8", "replace")

    def json(self, **kwargs):
        content = self.content
        if not kwargs and content and self.encoding in (None, "utf-8", "UTF-8", "utf8"):
            try:
                return _json.loads(content)  # the same value as from r.text, one copy fewer
            except UnicodeDecodeError:
                pass
        return _json.loads(self.text, **kwargs)

    @property
    def ok(self):
        return 0 < self.status_code < 400

    @property
    def cookies(self):
        jar = {}
        for k, v in self.headers.items():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                jar[name.strip()] = rest.split(";", 1)[0]
        return jar

    def raise_for_status(self):
        if self.error:
            raise ConnectionError(self.error)
        lo, hi = _rt.CLIENT_RULES["http_fails"]
        if lo <= self.status_code <= hi:
            kind = "Client" if self.status_code < 500 else "Server"
            raise HTTPError(
                f"{self.status_code} {kind} Error: {self.reason} for url: {self.url}", response=self
            )

    def iter_content(self, chunk_size=1, decode_unicode=False):
        """The body in pieces of at most `chunk_size` bytes (None: as they come). With
        stream=True, as the engine hands it over: a piece as soon as its bytes arrived."""
        if self._stream is not None and not self._field(b"content-encoding"):
            if self._consumed:
                raise RuntimeError("The content for this response was already consumed")
            self._consumed = True
            parts = [self._content] if self._content else []
            pieces = _chain(parts, self._parts())
        else:
            data = self.content or b""
            pieces = [data] if data else []
        for part in pieces:
            step = chunk_size or len(part)
            for i in range(0, len(part), step):
                piece = part[i : i + step]
                yield piece.decode(self.encoding or "utf-8", "replace") if decode_unicode else piece

    def iter_lines(self, chunk_size=512, decode_unicode=False, delimiter=None):
        """The body's lines as python-requests splits them (a line that spans pieces is
        joined), each as soon as it is whole when the body is streamed."""
        pending = None
        for chunk in self.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode):
            if pending is not None:
                chunk = pending + chunk
            lines = chunk.split(delimiter) if delimiter else chunk.splitlines()
            if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
                pending = lines.pop()
            else:
                pending = None
            yield from lines
        if pending is not None:
            yield pending

    def close(self):
        pass

    def __enter__(self):
        raise LocustError("In order to use a with-block for requests, you must also pass catch_response=True")

    def __exit__(self, *args):
        return False

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


def _charset(content_type):
    """python-requests' `get_encoding_from_headers`."""
    low = (content_type or "").lower()
    for param in low.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key == "charset" and value:
            return content_type.split("charset=", 1)[-1].split(";")[0].strip("'\" ") if "charset=" in content_type else value.strip("'\" ")
    if "text" in low:
        return "ISO-8859-1"
    if "application/json" in low:
        return "utf-8"
    return None


def _decoded(body, encoding):
    encoding = (encoding or "").lower()
    if not body or not encoding:
        return body
    try:
        if "gzip" in encoding:
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if "deflate" in encoding:
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if encoding.strip() == "br" and BROTLI is not None:
            return BROTLI.decompress(body)
    except Exception:
        return body
    return body


class ResponseContextManager(Response):
    """A response whose success or failure the `with` block decides (catch_response=True).
    `_outcome(kind, exc)` tells the engine (and the request event's listeners)."""

    _outcome = None  # set by the client: (response, kind, exc) -> None

    def __init__(self, reply, request):
        super().__init__(reply, request)
        self._manual = None
        self._entered = False

    def __enter__(self):
        self._entered = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._manual is not None:
            self._outcome(*self._manual)
            return exc_type is not None and issubclass(exc_type, ResponseError)
        if exc_type is None:
            self._outcome("default", None)
            return False
        if issubclass(exc_type, ResponseError):
            self._outcome("failure", exc)
            return True
        self._outcome("drop", None)  # any other exception: the request is never reported
        return False

    @property
    def request_meta(self):
        """The request event's keyword arguments (`response_time`, `name`, ...): what the
        block changes here is what is counted when it ends."""
        return self._outcome.request_meta()

    def success(self):
        self._manual = ("success", None)

    def failure(self, exc):
        if isinstance(exc, str):
            exc = CatchResponseError(exc)
        self._manual = ("failure", exc)

    def raise_for_status(self):
        if self._manual is not None:
            if self._manual[0] == "failure":
                raise self._manual[1]
            return
        super().raise_for_status()


def _reason(status):
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _basic_auth(user, password):
    token = base64.b64encode(f"{user}:{password}".encode("latin-1")).decode()
    return f"Basic {token}"


def encode_body(data=None, json=None, files=None, headers=None):
    """The body and its Content-Type, as python-requests encodes them."""
    if files:
        return _multipart(data, files)
    if json is not None and data is None:
        return _json.dumps(json).encode(), "application/json"
    if data is None:
        return None, None
    if isinstance(data, (bytes, bytearray)):
        return bytes(data), None
    if isinstance(data, str):
        return data.encode("utf-8"), None
    if hasattr(data, "read"):
        return data.read(), None
    items = data.items() if hasattr(data, "items") else data
    return urlencode(list(items), doseq=True).encode(), "application/x-www-form-urlencoded"


def _multipart(data, files):
    boundary = uuid.uuid4().hex
    out = bytearray()
    fields = list(data.items()) if hasattr(data, "items") else list(data or [])
    for name, value in fields:
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        out += value if isinstance(value, bytes) else str(value).encode()
        out += b"\r\n"
    file_items = files.items() if hasattr(files, "items") else files
    for field, spec in file_items:
        if isinstance(spec, (tuple, list)):
            filename, content = spec[0], spec[1]
            ctype = spec[2] if len(spec) > 2 else None
        else:
            filename, content, ctype = getattr(spec, "name", field), spec, None
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        filename = str(filename).rsplit("/", 1)[-1]
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class CookieJar(dict):
    """The session's cookies as user code reads them (`self.client.cookies["csrftoken"]`).
    The engine keeps the user's real jar (Set-Cookie to Cookie, redirects included) and tells
    this one what it saw; cookies that user code sets here are sent with every request too."""

    def __init__(self):
        super().__init__()
        self.explicit = {}

    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        self.explicit[name] = value

    def set(self, name, value, **kwargs):
        self[name] = value

    def get_dict(self, domain=None, path=None):
        return dict(self)

    def clear(self, *args):
        super().clear()
        self.explicit.clear()

    def _saw(self, name, value):
        dict.__setitem__(self, name, value)


class HttpSession:
    """`self.client` of an HttpUser."""

    FAST = False
    RESPONSES = (Response, ResponseContextManager)  # what the port makes of a reply

    def __init__(self, base_url, user=None, request_event=None, **kwargs):
        self.base_url = base_url or ""
        self.user = user
        self.headers = default_headers()
        self.request_name = None
        self.auth = None
        self.cookies = CookieJar()
        self.verify = True
        self.cert = None
        self.trust_env = False
        self._encoded = (None, -1, b"")  # (headers, their version, their REQ encoding)
        self.base_url, self.auth = split_credentials(self.base_url)

    # the verbs
    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url, allow_redirects=False, **kwargs):
        return self.request("HEAD", url, allow_redirects=allow_redirects, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def rename_request(self, name):
        return _Rename(self, name)

    def _url(self, url):
        if url[:1] != "/" and _ABSOLUTE.match(url):
            return url
        return self.base_url + url  # concatenated as a string, as Locust does

    def _session_fields(self):
        """The session's own headers as REQ carries them (count, fields), encoded again only
        after a change."""
        h = self.headers
        held, version, fields = self._encoded
        if held is h and getattr(h, "_v", None) == version:
            return fields
        fields = (len(h), _rt.encode_fields(h.items()))
        self._encoded = (h, getattr(h, "_v", -2), fields)
        return fields

    def request(
        self,
        method,
        url,
        name=None,
        catch_response=False,
        context=None,
        *,
        params=None,
        data=None,
        json=None,
        headers=None,
        files=None,
        auth=None,
        cookies=None,
        allow_redirects=True,
        timeout=None,
        verify=None,
        cert=None,
        stream=False,
        **kwargs,
    ):
        full = self._url(url)
        if params:
            items = params.items() if hasattr(params, "items") else params
            query = urlencode([(k, v) for k, v in items if v is not None], doseq=True)
            if query:
                full += ("&" if "?" in full else "?") + query
        full = requote(full)
        if data is None and json is None and not files:
            body = ctype = None
        else:
            body, ctype = encode_body(data, json, files, headers)
        auth = auth or self.auth
        explicit = self.cookies.explicit
        fast = not ctype and not auth and not explicit and not cookies
        if fast and headers:
            session = self.headers
            for k, v in headers.items():
                if v is None or k in session:
                    fast = False  # a session header replaced or removed
                    break
        refused = None
        try:
            if fast:
                # the common case: the session's headers as they are, encoded once, and the
                # request's own after them
                count, fields = self._session_fields()
                if headers:
                    block = _U16.pack(count + len(headers)) + fields + _rt.encode_fields(headers.items())
                    sent = (self.headers, headers)
                else:
                    block = _U16.pack(count) + fields
                    sent = self.headers
            else:
                sent = self.headers.copy()
                for k, v in (headers or {}).items():
                    if v is None:
                        sent.pop(k, None)
                    else:
                        sent[k] = v
                if ctype and "content-type" not in sent:
                    sent["Content-Type"] = ctype
                if auth and "authorization" not in sent and isinstance(auth, (tuple, list)):
                    sent["Authorization"] = _basic_auth(*auth)
                jar = dict(explicit)
                jar.update(cookies or {})
                if jar:
                    sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
                block = _rt.encode_headers(sent.items())
        except _rt.BadHeader as e:
            # python-requests refuses the field before it connects: the request fails with
            # its InvalidHeader (a RequestException, which Locust records as a failure)
            refused = e.args[0]
            block = _NO_FIELDS
            sent = self.headers
        prepared = PreparedRequest(method, full, sent, body)
        verify = self.verify if verify is None else verify
        if verify is False:
            prepared._insecure = True
        cert = cert if cert is not None else self.cert
        if isinstance(verify, str) or cert:
            prepared._tls_files = _tls_files(verify, cert)
        request_name = name or self.request_name or prepared.path_url
        return perform(self, prepared, block, request_name, catch_response, allow_redirects, context, refused, stream)


def _tls_files(verify, cert):
    """(CA file, client certificate, its key) as absolute paths, for the engine: requests'
    `verify="ca.pem"` (a directory of CAs is not supported) and `cert="both.pem"` or
    `cert=("cert.pem", "key.pem")`."""
    import os

    # python-requests checks the files before it connects, and raises in the task (OSError is
    # no RequestException: Locust counts it as the task's exception, not a failure)
    ca = None
    if isinstance(verify, str):
        if not os.path.exists(verify):
            raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {verify}")
        ca = os.path.abspath(verify)
    if isinstance(cert, (tuple, list)):
        crt, key = cert[0], cert[1]
    else:
        crt, key = cert, None
    if crt and not os.path.exists(crt):
        raise OSError(f"Could not find the TLS certificate file, invalid path: {crt}")
    if key and not os.path.exists(key):
        raise OSError(f"Could not find the TLS key file, invalid path: {key}")
    crt = os.path.abspath(crt) if crt else None
    return (ca, crt, os.path.abspath(key) if key else crt)


class _Rename:
    def __init__(self, session, name):
        self.session = session
        self.name = name

    def __enter__(self):
        self.old = self.session.request_name
        self.session.request_name = self.name
        return self

    def __exit__(self, *args):
        self.session.request_name = self.old
        return False


def rest(session, method, url, headers=None, **kwargs):
    """`HttpUser.rest`: JSON in and out, catch_response forced; `resp.js` is the parsed body."""
    headers = dict(headers or {})
    headers.setdefault("Content-Type", "application/json")
    headers.setdefault("Accept", "application/json")
    kwargs["catch_response"] = True
    return _Rest(session.request(method, url, headers=headers, **kwargs))


class _Rest:
    def __init__(self, resp):
        self.resp = resp

    def __enter__(self):
        r = self.resp.__enter__()
        try:
            r.js = r.json() if r.content else None
        except ValueError:
            r.js = None
            r.failure(f"Could not parse response as JSON. {r.text[:250]}, response code {r.status_code}")
        return r

    def __exit__(self, exc_type, exc, tb):
        if exc_type is AssertionError:
            self.resp.failure(str(exc) or "assertion failed")
            self.resp.__exit__(None, None, None)
            return True
        if exc_type is not None and not issubclass(exc_type, ResponseError):
            import traceback

            frame = traceback.extract_tb(tb)[-1]
            self.resp.failure(f"{exc_type.__name__}: {exc} at {frame.filename}:{frame.lineno}")
            self.resp.__exit__(None, None, None)
            return True
        return self.resp.__exit__(exc_type, exc, tb)
