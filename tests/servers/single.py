"""The course's single-process server (seed 001, `single_process.py`), as students hand it in.

Its defects, on purpose (`swarmlab check` must name each):
- the header ends lines with a bare "\n" (HTTP wants "\r\n"): python-requests logs
  MissingHeaderBodySeparatorDefect;
- no Content-Length: the body is "everything until the server closes";
- one recv(1024): a longer request is cut, and the unread rest turns the close into a reset;
- no error handling: a client that leaves before the answer is sent kills the server
  (BrokenPipeError / ConnectionResetError);
- one client at a time (the design: a client that sends nothing holds everyone else).

Usage: python3 single.py PORT
"""
import socket
import sys


def main(port):
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server_socket.bind(("127.0.0.1", port))
    server_socket.listen()

    while True:
        (csocket, address) = server_socket.accept()

        data = csocket.recv(1024)
        res = "HTTP/1.1 200 OK\nContent-Type: text/html\n\n"
        csocket.send(res.encode("utf-8"))
        csocket.send(data)
        csocket.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
