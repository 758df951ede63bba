"""A multi-thread server with the mistake seed 000's student made: join() inside the accept
loop, so each connection's thread is waited for before the next accept: one client at a time,
a thread per connection for nothing. Its HTTP is otherwise right (CRLF, Content-Length, the
whole request read), so the only thing `swarmlab check` can hold against it is that one
silent client blocks every other.

Usage: python3 thread_join.py PORT
"""
import sys
from threading import Thread

from common import answer, listener, read_request


def serve(csocket):
    try:
        request = read_request(csocket)
        if request is not None:
            csocket.sendall(answer(request, keep_alive=False))
    except OSError:
        pass
    finally:
        csocket.close()


def main(port):
    server_socket = listener(port)
    while True:
        csocket, _ = server_socket.accept()
        th = Thread(target=serve, args=(csocket,))
        th.start()
        th.join()  # the mistake: waits for this client before accepting the next


if __name__ == "__main__":
    main(int(sys.argv[1]))
