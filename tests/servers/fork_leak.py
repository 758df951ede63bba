"""A first forking server with both classic mistakes: the parent never closes its copy of the
accepted socket (it keeps them in a list, as the seeds' `req_clients` does, so every
connection's descriptor stays open in the parent, and a client waits for an end that only the
parent could give), and never reaps its children (each one stays a zombie). Its HTTP is
otherwise right.

Usage: python3 fork_leak.py PORT
"""
import os
import sys

from common import answer, listener, read_request


def main(port):
    server_socket = listener(port)
    req_clients = list()
    while True:
        csocket, _ = server_socket.accept()
        req_clients.append(csocket)
        if os.fork() == 0:
            server_socket.close()
            try:
                request = read_request(csocket)
                if request is not None:
                    csocket.sendall(answer(request, keep_alive=False))
            except OSError:
                pass
            csocket.close()
            os._exit(0)
        # the mistakes: no csocket.close() here (the list keeps it open), no os.waitpid()


if __name__ == "__main__":
    main(int(sys.argv[1]))
