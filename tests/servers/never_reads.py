"""Accepts and then does nothing with the connection: the student's handler thread waits on
a queue no one fills. Connections are taken (the port is up), and no answer ever comes.

Usage: python3 never_reads.py PORT
"""
import queue
import socket
import sys
import threading

work = queue.Queue()


def handler(csocket):
    work.get()  # never filled
    csocket.close()


def main(port):
    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server_socket.bind(("127.0.0.1", port))
    server_socket.listen(128)
    while True:
        csocket, _ = server_socket.accept()
        threading.Thread(target=handler, args=(csocket,), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]))
