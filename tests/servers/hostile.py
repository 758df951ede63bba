"""Hostile answers, one per mode, for `swarmlab check`'s bounds: whatever a server sends (or
does not), a check ends in bounded time and memory with one finding per cause.

Modes: endless-body (no Content-Length, bytes forever), endless-chunks (chunks forever),
endless-headers (fields forever), huge-length (Content-Length: 2 GB, a little, then a stall),
garbage (random bytes, then close), instant-close (close on accept), silence (accept, say
nothing).

Usage: python3 hostile.py MODE PORT
"""
import os
import socket
import sys
import threading
import time


def serve(mode, c):
    try:
        if mode != "instant-close":
            c.settimeout(5)
            try:
                c.recv(65536)
            except OSError:
                pass
        if mode == "endless-body":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            chunk = b"x" * 65536
            while True:
                c.sendall(chunk)
        elif mode == "endless-chunks":
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"y" * 65536 + b"\r\n"
            while True:
                c.sendall(chunk)
        elif mode == "endless-headers":
            c.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                c.sendall(b"X-More: " + b"z" * 1000 + b"\r\n")
        elif mode == "huge-length":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000000\r\n\r\nabc")
            time.sleep(60)
        elif mode == "garbage":
            c.sendall(os.urandom(4096))
        elif mode == "silence":
            time.sleep(60)
    except OSError:
        pass
    finally:
        c.close()


def main(mode, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(mode, c), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
