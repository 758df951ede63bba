"""A thread-per-connection server whose handler loops on recv() and never checks for the
empty read that means the client closed: `if not data: continue`. Each client that leaves
leaves its thread spinning at a full core. Its HTTP is otherwise right.

Usage: python3 spin.py PORT
"""
import sys
from threading import Thread

from common import answer, listener, read_request


def serve(csocket):
    buffered = bytearray()
    while True:
        try:
            data = csocket.recv(65536)
        except OSError:
            continue
        if not data:
            continue  # the mistake: the client closed, and this loops forever
        buffered += data
        try:
            request = read_request(_Replay(buffered), bytearray())
        except OSError:
            continue
        if request is not None:
            buffered.clear()
            try:
                csocket.sendall(answer(request, keep_alive=True))
            except OSError:
                pass


class _Replay:
    """The bytes received so far, as a socket read_request can read from once."""

    def __init__(self, data):
        self.data = bytes(data)

    def recv(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out


def main(port):
    server_socket = listener(port, 1024)
    while True:
        csocket, _ = server_socket.accept()
        Thread(target=serve, args=(csocket,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
