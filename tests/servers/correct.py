"""A multi-thread server done right, for `swarmlab check` to pass: CRLF line ends, a
Content-Length on every answer, the whole request read (headers up to the blank line, then
Content-Length bytes of body), keep-alive with pipelining, Connection: close and HTTP/1.0
honoured, HEAD without a body, 404 for an unknown path, 400 for bytes that are not HTTP, and a
client that leaves early costs only its own thread.

Usage: python3 correct.py PORT
"""
import sys
from threading import Thread

from common import answer, listener, read_request


def serve(csocket):
    buffered = bytearray()
    try:
        while True:
            request = read_request(csocket, buffered)
            if request is None:
                return
            keep = request.keep_alive()
            csocket.sendall(answer(request, keep_alive=keep))
            if not keep:
                return
    except OSError:
        pass
    finally:
        csocket.close()


def main(port):
    server_socket = listener(port, 1024)
    while True:
        csocket, _ = server_socket.accept()
        Thread(target=serve, args=(csocket,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
