"""A server whose exception handler closes the listening socket: a request that is not UTF-8
raises UnicodeDecodeError, the bare `except:` closes `server_socket` instead of the client's,
and the process goes on running without accepting anyone. Its HTTP is otherwise right.

Usage: python3 listener_closed.py PORT
"""
import sys
import time

from common import listener

BODY = b"hello, world\n"


def main(port):
    server_socket = listener(port)
    while True:
        try:
            csocket, _ = server_socket.accept()
        except OSError:
            break
        try:
            data = csocket.recv(65536)
            while b"\r\n\r\n" not in data:
                more = csocket.recv(65536)
                if not more:
                    break
                data += more
            text = data.decode("utf-8")
            path = text.split(" ")[1] if " " in text else "/"
            status = b"200 OK" if path in ("/", "/hello") else b"404 Not Found"
            body = b"" if text.startswith("HEAD") else BODY
            csocket.sendall(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + body
            )
            csocket.close()
        except:  # noqa: E722 (the mistake: this closes the listener, not the client)
            server_socket.close()
    # still running, accepting no one
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(int(sys.argv[1]))
