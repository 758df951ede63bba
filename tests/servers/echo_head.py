"""A first server that gets the head wrong: it sends the request back where the status line
and header belong (the student meant to log it), then the page, then closes. Every client
reads "GET / HTTP/1.1" where "HTTP/1.1 200 OK" should be.

Usage: python3 echo_head.py PORT
"""
import socket
import sys


def main(port):
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server_socket.bind(("127.0.0.1", port))
    server_socket.listen(128)
    while True:
        csocket, _ = server_socket.accept()
        try:
            data = csocket.recv(4096)
            csocket.sendall(data + b"<html><body>hello</body></html>")
        except OSError:
            pass
        csocket.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
