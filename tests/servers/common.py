"""What the test servers that get HTTP right share: reading one whole request, and answering
it with CRLF line ends and a Content-Length (404 off `/` and `/hello`, 400 for bytes that are
not a request, no body for HEAD)."""

import socket

HEADER_LIMIT = 16384
BODY = b"hello, world\n"


class Request:
    def __init__(self, method, target, version, headers, bad=False):
        self.method, self.target, self.version = method, target, version
        self.headers, self.bad = headers, bad

    def keep_alive(self):
        if self.bad:
            return False
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


def read_request(sock, buffered=None):
    """One request off `sock` (None at a clean end): headers up to the blank line, then the
    body its Content-Length says. `buffered` keeps bytes of the next (pipelined) request."""
    buf = buffered if buffered is not None else bytearray()
    while b"\r\n\r\n" not in buf:
        if len(buf) > HEADER_LIMIT:
            return Request("", "", "HTTP/1.1", {}, bad=True)
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    end = buf.index(b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    parts = head[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return Request("", "", "HTTP/1.1", {}, bad=True)
    headers = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            return Request("", "", "HTTP/1.1", {}, bad=True)
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        return Request("", "", "HTTP/1.1", {}, bad=True)
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    del buf[:length]
    return Request(parts[0], parts[1], parts[2], headers)


def answer(request, keep_alive):
    """The bytes of the answer to `request`."""
    if request.bad:
        status, body = "400 Bad Request", b"bad request\n"
    elif request.target.split("?")[0] in ("/", "/hello"):
        status, body = "200 OK", BODY
    else:
        status, body = "404 Not Found", b"not found\n"
    head = "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n" % (
        status,
        len(body),
    )
    head += "Connection: %s\r\n\r\n" % ("keep-alive" if keep_alive else "close")
    return head.encode("latin-1") + (b"" if request.method == "HEAD" else body)


def listener(port, backlog=128):
    """A listening TCP socket on 127.0.0.1:`port`."""
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server_socket.bind(("127.0.0.1", port))
    server_socket.listen(backlog)
    return server_socket
