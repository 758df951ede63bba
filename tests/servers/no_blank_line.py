"""A header never ended: the status line and one field, then the page right after, with no
blank line between (the student forgot the second \r\n), then a close. A client never finds
where the header ends.

Usage: python3 no_blank_line.py PORT
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
            csocket.recv(4096)
            csocket.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n<html>hello</html>")
        except OSError:
            pass
        csocket.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
