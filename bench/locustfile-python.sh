#!/usr/bin/env bash
# Issue 19: a dynamic locustfile (bench/locustfiles/dynamic.py: an on_start login's token in a
# header, random ids in the URL with name=, a catch_response check on r.json(), constant(0))
# on swarmlab's Python path against Locust 2.47 running the same file as HttpUser and as
# FastHttpUser.
#
# nginx (one worker, bench/nginx.conf) on CPU 0; the generator (all of it: swarmlab's engine
# and its one Python process, or Locust's one process) on CPU 1. -u USERS (100) at once,
# DURATION (15) s per run, ROUNDS (3) rounds of the three alternated; medians. req/s is the
# Aggregated count of the run's _stats.csv over the run time; CPU per request is the
# generator's whole process tree (user + system, from getrusage of the waited children) over
# its requests. Then the channel between Python and Rust, per request, measured on its own:
# the Python side (queue a REQ frame, decode its RESP, the DONE of catch_response) and the
# engine side (examples/channel-cost.rs).
# Goal: swarmlab >= 5x Locust's FastHttpUser on one core (aim: 10x).
# Needs: locust 2.47 (PATH or target/ci-venv), nginx, taskset, python3 with greenlet.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
USERS=${USERS:-100}
ROUNDS=${ROUNDS:-3}
[ -x target/ci-venv/bin/locust ] && export PATH="$PWD/target/ci-venv/bin:$PATH"
# SWARMLAB_BIN: another build to measure (this checkout's release build by default)
[ -n "${SWARMLAB_BIN:-}" ] || cargo build --release -q
bin=${SWARMLAB_BIN:-$PWD/target/release/swarmlab}
lf=$PWD/bench/locustfiles/dynamic.py
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
taskset -c 0 nginx -p "$tmp" -c "$PWD/bench/nginx.conf" -g "pid $tmp/nginx.pid;" 2>/dev/null &
sleep 0.5
url=http://127.0.0.1:18880
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); $(python3 --version); $(locust --version 2>&1 | head -n 1)"
echo "nginx on CPU 0; the generator on CPU 1; -u $USERS at once, constant(0), ${DURATION}s per run, $ROUNDS rounds"

# run LABEL CLIENT cmd...: the command on CPU 1; prints "req/s cpu_us_per_request failures"
run() {
  local label=$1 client=$2; shift 2
  CLIENT=$client python3 - "$tmp/$label" "$DURATION" "$@" <<'PY'
import csv, os, resource, subprocess, sys
prefix, duration, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
subprocess.run(["taskset", "-c", "1", *cmd, "--csv", prefix], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
rows = list(csv.reader(open(prefix + "_stats.csv")))
agg = next(r for r in rows if r[1] == "Aggregated")
n = int(agg[2])
print(f"{n / duration:.0f} {cpu / max(n, 1) * 1e6:.1f} {agg[3]}")
PY
}
locust_cmd=(locust -f "$lf" --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" -H "$url" --only-summary)
swarm_cmd=("$bin" swarm -f "$lf" --headless -u "$USERS" -r "$USERS" -t "${DURATION}s" -H "$url" --processes 1 --only-summary)
declare -a http fast ours
for round in $(seq "$ROUNDS"); do
  read -r r c f < <(run "http$round" http "${locust_cmd[@]}"); http+=("$r $c $f")
  echo "  round $round: Locust HttpUser     $r req/s, $c us CPU per request, $f failures"
  read -r r c f < <(run "fast$round" fast "${locust_cmd[@]}"); fast+=("$r $c $f")
  echo "  round $round: Locust FastHttpUser $r req/s, $c us CPU per request, $f failures"
  read -r r c f < <(run "ours$round" http "${swarm_cmd[@]}"); ours+=("$r $c $f")
  echo "  round $round: swarmlab (Python)   $r req/s, $c us CPU per request, $f failures"
done

# the channel on its own
rt_dir=$PWD/crates/locust/src/python
py_channel=$(python3 - "$rt_dir" <<'PY'
import socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
import greenlet
import swarmlab_runtime as rt
a, b = socket.socketpair()
hub = rt.Hub(a)
method = rt._U16.pack(3) + b"GET"
block = rt.encode_headers([("User-Agent", "python-requests/2.34.2"), ("Accept-Encoding", "gzip, deflate"),
                           ("Accept", "*/*"), ("Connection", "keep-alive"), ("Authorization", "Bearer t0k3n")])
hdrs = rt.encode_headers([("Server", "nginx/1.22.1"), ("Date", "Tue, 01 Dec 2026 11:55:04 GMT"),
                          ("Content-Type", "application/json"), ("Content-Length", "12"), ("Connection", "keep-alive")])
def resp(rid):
    body, url = b'{"id": 4711}', b"http://127.0.0.1:18880/items/4711"
    p = struct.pack("<IHdQ", rid, 200, 0.8, 12) + rt._s32(body) + rt._s32(b"") + rt._s32(url) + hdrs
    return bytearray(struct.pack("<IB", len(p) + 1, rt.RESP) + p)
frame = resp(1)
me = greenlet.getcurrent()
n = 200_000
t = time.perf_counter()
for i in range(n):
    rid = hub.put_request(3, rt.DEFERRED | rt.REDIRECTS, method, "http://127.0.0.1:18880/items/4711", "/items/[id]", block, None)
    hub.waiting[rid] = me
    hub.on_resp(frame, 5, len(frame))
    hub.done(rid, rt.DEFAULT_RULE)
    if len(hub.out) > 256:
        hub.out.clear(); hub.ready.clear()
print(f"{(time.perf_counter() - t) / n * 1e9:.0f}")
PY
)
engine_channel=$(cargo run --release -q -p swarmlab-swarm --example channel-cost | grep -o '[0-9]* ns' | cut -d' ' -f1)

python3 - "$py_channel" "$engine_channel" "${http[@]}" "${fast[@]}" "${ours[@]}" <<'PY'
import statistics, sys
py_ns, engine_ns = float(sys.argv[1]), float(sys.argv[2])
runs = [list(map(float, r.split())) for r in sys.argv[3:]]
k = len(runs) // 3
http, fast, ours = runs[:k], runs[k:2 * k], runs[2 * k:]
med = lambda rs, i: statistics.median(r[i] for r in rs)
for label, rs in (("Locust HttpUser", http), ("Locust FastHttpUser", fast), ("swarmlab, Python path", ours)):
    print(f"median {label:22} {med(rs, 0):8.0f} req/s, {med(rs, 1):6.1f} us generator CPU per request")
ratio = med(ours, 0) / med(fast, 0)
print(f"the Python<->Rust channel per request: {py_ns / 1000:.2f} us on the Python side + {engine_ns / 1000:.2f} us in the engine"
      f" = {100 * (py_ns + engine_ns) / 1000 / med(ours, 1):.0f} % of swarmlab's {med(ours, 1):.1f} us per request")
print(f"issue 19: swarmlab / Locust FastHttpUser = {ratio:.1f}x ({'met' if ratio >= 5 else 'NOT met'}: >= 5x); "
      f"/ Locust HttpUser = {med(ours, 0) / med(http, 0):.1f}x")
sys.exit(0 if ratio >= 5 else 1)
PY
