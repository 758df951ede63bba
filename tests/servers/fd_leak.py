"""A thread-per-connection server that opens its page for every request and keeps the file
objects in a list "to cache them": one descriptor more per connection, never closed. Its HTTP is
right. With `ulimit -n 1024` it stops accepting after about a thousand connections.

Usage: python3 fd_leak.py PORT
"""
import os
import sys
from threading import Thread

from common import answer, listener, read_request

HERE = os.path.abspath(__file__)
cache = []


def serve(csocket):
    try:
        request = read_request(csocket)
        if request is not None:
            cache.append(open(HERE, "rb"))  # the leak: one file per connection, kept
            csocket.sendall(answer(request, keep_alive=False))
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
