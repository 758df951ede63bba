"""A server whose answer is well formed (CRLF, Content-Length) but that reads a request with
one recv(1024), as the seeds do: a request longer than that (long headers, a body) is cut, and
closing with the rest unread makes the kernel reset the connection, so the client may lose
the answer it was sent.

Usage: python3 recv_once.py PORT
"""
import sys

from common import listener


def main(port):
    server_socket = listener(port)
    while True:
        csocket, _ = server_socket.accept()
        try:
            data = csocket.recv(1024)
            body = b"hello\n"
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            head += b"Content-Length: %d\r\n\r\n" % len(body)
            csocket.sendall(head + (b"" if data.startswith(b"HEAD ") else body))
        except OSError:
            pass
        csocket.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
