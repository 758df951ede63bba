"""FastHttpUser: geventhttpclient's ways (its headers, its valid codes, names by the URL as
written); the engine sends the requests."""

import json as _json
import re
from urllib.parse import urlencode

import swarmlab_runtime as _rt

from .._port import perform
from ..clients import BROTLI, _installed, _Rename, CaseInsensitiveDict, PreparedRequest, Response, ResponseContextManager, _basic_auth, encode_body, requote, rest, split_credentials
from ..exception import LocustError
from ..user.users import User

GEVENTHTTPCLIENT_VERSION = _installed("geventhttpclient", "2.6.1")
_ABSOLUTE = re.compile(r"^https?://", re.I)


class LocustBadStatusCode(ConnectionError):
    def __init__(self, code):
        super().__init__()
        self.code = code

    def __repr__(self):
        return f"LocustBadStatusCode(code={self.code})"

    __str__ = __repr__


class FastResponse(Response):
    """A FastHttpSession response without catch_response: already reported, so no with-block,
    success() or failure() (Locust 2.47 raises LocustError for each)."""

    def success(self):
        raise LocustError(
            "If you want to change the state of the request, you must pass catch_response=True. See http://docs.locust.io/en/stable/writing-a-locustfile.html#validating-responses"
        )

    failure = success

    @property
    def ok(self):
        return 0 < self.status_code < 400

    def raise_for_status(self):
        if self.error:
            raise ConnectionError(self.error)
        if self.status_code not in VALID:
            raise LocustBadStatusCode(self.status_code)


# geventhttpclient's valid codes, from the engine's table of client rules
VALID = _rt.CLIENT_RULES["fast_valid"]


class FastResponseContextManager(ResponseContextManager):
    pass


class CookieJar(dict):
    def set_cookie(self, cookie):
        self[getattr(cookie, "name", "")] = getattr(cookie, "value", "")


class FastHttpSession:
    """`self.client` of a FastHttpUser."""

    FAST = True
    RESPONSES = (FastResponse, FastResponseContextManager)  # what the port makes of a reply

    def __init__(self, environment=None, base_url="", user=None, insecure=True, **kwargs):
        self.environment = environment
        self.base_url = base_url or ""
        self.user = user
        self.insecure = insecure
        self.request_name = None
        self.cookiejar = CookieJar()
        self.base_url, self.auth = split_credentials(self.base_url)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def head(self, url, **kwargs):
        return self.request("HEAD", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def rename_request(self, name):
        return _Rename(self, name)

    def request(
        self,
        method,
        url,
        name=None,
        data=None,
        catch_response=False,
        stream=False,
        headers=None,
        auth=None,
        json=None,
        allow_redirects=True,
        context=None,
        params=None,
        files=None,
        **kwargs,
    ):
        if url[:1] == "/" or not _ABSOLUTE.match(url):
            full = self.base_url + url
        else:
            full = url
        extra = params
        if kwargs and method.upper() != "POST":
            extra = dict(params or {})
            extra.update(kwargs)  # unknown keyword arguments become query parameters
        if extra:
            full += ("&" if "?" in full else "?") + urlencode(extra, doseq=True)
        full = requote(full)
        if data is None and json is None and not files:
            body = ctype = None
        else:
            body, ctype = encode_body(data, json, files)
        auth = auth or self.auth
        if not headers and not ctype and json is None and not auth:
            sent = _DEFAULTS
            block = _defaults_block()
        else:
            sent = CaseInsensitiveDict(_DEFAULTS)
            if json is not None:
                sent["Content-Type"] = "application/json"
                sent["Accept"] = "application/json"
            elif ctype:
                sent["Content-Type"] = ctype
            for k, v in (headers or {}).items():
                if v is not None:
                    sent[k] = v
            if auth and "authorization" not in sent:
                sent["Authorization"] = _basic_auth(*auth)
            block = _rt.encode_headers(sent.items(), fast=True)
        prepared = PreparedRequest(method, full, sent, body)
        return perform(self, prepared, block, name or self.request_name or url, catch_response, allow_redirects, context)


_DEFAULTS = CaseInsensitiveDict(
    {
        "User-Agent": f"python/gevent-http-client-{GEVENTHTTPCLIENT_VERSION}",
        "Accept-Encoding": "gzip, deflate, br" if BROTLI else "gzip, deflate",
    }
)
_BLOCK = []


def _defaults_block():
    if not _BLOCK:
        _BLOCK.append(_rt.encode_headers(_DEFAULTS.items(), fast=True))
    return _BLOCK[0]


class FastHttpUser(User):
    """A user whose client is FastHttpSession (geventhttpclient's ways)."""

    abstract = True
    _swarmlab_fast = True
    network_timeout = 60.0
    connection_timeout = 60.0
    max_redirects = _rt.CLIENT_RULES["max_redirects"]
    max_retries = 0
    insecure = True
    default_headers = None
    concurrency = 10
    proxy_host = None
    proxy_port = None
    client_pool = None
    ssl_context_factory = None

    def __init__(self, environment):
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host. Either in the host attribute in the User class, or on the command line using the --host option."
            )
        self.client = FastHttpSession(
            environment, base_url=self.host, user=self, insecure=self.insecure
        )
        if self.default_headers:
            base = self.client.request

            def with_defaults(method, url, headers=None, **kwargs):
                merged = dict(self.default_headers)
                merged.update(headers or {})
                return base(method, url, headers=merged, **kwargs)

            self.client.request = with_defaults

    def rest(self, method, url, headers=None, **kwargs):
        return rest(self.client, method, url, headers=headers, **kwargs)
