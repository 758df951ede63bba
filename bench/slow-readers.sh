#!/usr/bin/env bash
# Issue 18: what slow readers of large responses cost each model's memory.
#
# For every model (`serve --list`, default --workers), CLIENTS clients (default 20) each ask
# for /bytes?n=67108864 (64 MiB) over a socket with a 4 KiB receive buffer and then read
# nothing. For 2 s the script samples the resident memory (VmRSS) of the server's whole process
# tree every 100 ms and prints the peak, then asks GET / on a fresh connection and says whether
# it was answered within 5 s (single, prefork and pool serve one or N connections at a time, so
# they are not expected to). Target: every tree under 128 MiB; the script exits 1 when a model
# misses it.
#
#   bash bench/slow-readers.sh                      # this checkout's release build
#   SWARMLAB=/path/to/old/swarmlab bash bench/slow-readers.sh   # another build, for before/after
# Needs: python3.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SWARMLAB:-}" ]; then
  cargo build --release -q
  SWARMLAB=$PWD/target/release/swarmlab
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "binary: $SWARMLAB"
python3 - "$SWARMLAB" "${CLIENTS:-20}" <<'PY'
import os, socket, subprocess, sys, time

exe, clients = sys.argv[1], int(sys.argv[2])
LIMIT_KIB = 128 * 1024

def tree(root):
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            procs[int(d)] = int(s[s.rfind(")") + 2:].split()[1])
    out, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in procs.items():
            if ppid in out and pid not in out:
                out.add(pid); grew = True
    return out

def rss_kib(root):
    total = 0
    for p in tree(root):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total

inherits = "--listen-fd" in subprocess.run([exe, "serve", "--help"], capture_output=True, text=True).stdout
models = [l.split()[0] for l in subprocess.run([exe, "serve", "--list"], capture_output=True, text=True).stdout.splitlines() if l.strip()]
print(f"{clients} clients x GET /bytes?n=67108864, 4 KiB receive buffers, nothing read")
print(f"{'model':8} {'peak RSS MiB':>13} {'another client':>16}")
missed = []
for model in models:
    if inherits:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        addr = listener.getsockname()
        server = subprocess.Popen([exe, "serve", "--model", model, "--listen-fd", "0"],
                                  stdin=listener.fileno(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        listener.close()
    else:  # a build from before --listen-fd: it says its address on its first line
        server = subprocess.Popen([exe, "serve", "--model", model, "--bind", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = server.stdout.readline().decode()
        host, port = line.split("http://", 1)[1].split()[0].rsplit(":", 1) if "http://" in line else ("127.0.0.1", "9")
        addr = (host, int(port))
    time.sleep(0.3)
    if server.poll() is not None:
        print(f"{model:8} {'not run: ' + server.stderr.read().decode().strip().splitlines()[-1]}")
        continue
    readers = []
    for _ in range(clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(addr)
        s.sendall(b"GET /bytes?n=67108864 HTTP/1.1\r\nHost: b\r\n\r\n")
        readers.append(s)
    peak, t = 0, time.time()
    while time.time() - t < 2:
        peak = max(peak, rss_kib(server.pid))
        time.sleep(0.1)
    other = socket.create_connection(addr)
    other.settimeout(5)
    other.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    try:
        answered = other.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        answered = False
    other.close()
    peak = max(peak, rss_kib(server.pid))
    for s in readers:
        s.close()
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
    print(f"{model:8} {peak / 1024:13.1f} {'answered' if answered else 'not answered':>16}")
    if peak >= LIMIT_KIB:
        missed.append(model)
if missed:
    print(f"NOT met: {', '.join(missed)} at or above 128 MiB")
    sys.exit(1)
print("met: every model under 128 MiB")
PY
