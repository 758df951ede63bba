#!/usr/bin/env bash
# Issue 26: does the generator itself add latency at the assignment's load? Two builds, alternated.
#
# nginx (bench/nginx.conf, one worker) pinned to CPU 0; each build's `swarm --headless -u 10000
# -r 1000 -t 20s --wait-time "constant(1)" --only-summary --json` pinned to CPU 1, the builds
# taking turns ROUNDS times. Prints per run: p99 and mean response time, requests, the
# generator's CPU time (user+sys, from rusage) and, where the build reports it, the delay the
# generator added itself (`read_delay`: from a response's bytes arriving to their being read
# and timed, and whether the run was flagged for it). Then each build's medians and NEW/OLD
# ratios.
#
#   bash bench/generator-delay.sh OLD/swarmlab                 # against this checkout's release build
#   bash bench/generator-delay.sh OLD/swarmlab NEW/swarmlab
#
# An old build to compare: `git worktree add /tmp/old 3497ae6 && (cd /tmp/old && cargo build
# --release)`, then /tmp/old/target/release/swarmlab.
# Needs: nginx (apt: nginx-light), taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
RUN_TIME=${RUN_TIME:-20s}
URL=http://127.0.0.1:18880/
[ $# -ge 1 ] || { echo "usage: $0 OLD_BINARY [NEW_BINARY]"; exit 2; }
old=$1
if [ $# -ge 2 ]; then
  new=$2
else
  cargo build --release -q
  new=$PWD/target/release/swarmlab
fi
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
taskset -c 0 nginx -p "$tmp" -c "$PWD/bench/nginx.conf" -g "pid $tmp/nginx.pid;" 2>/dev/null &
sleep 0.5
curl -sf "$URL" >/dev/null || { echo "nginx did not start"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "command: taskset -c 1 BUILD swarm --headless -H $URL -u 10000 -r 1000 -t $RUN_TIME --wait-time constant(1) --only-summary --json"
echo "old: $old"
echo "new: $new"
python3 - "$old" "$new" "$ROUNDS" "$RUN_TIME" "$URL" <<'PY'
import json, resource, statistics, subprocess, sys
old, new, rounds, run_time, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = {"old": [], "new": []}
for r in range(rounds):
    for name, binary in (("old", old), ("new", new)):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(["taskset", "-c", "1", binary, "swarm", "--headless", "-H", url,
                              "-u", "10000", "-r", "1000", "-t", run_time, "--wait-time",
                              "constant(1)", "--only-summary", "--json"],
                             capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        d = json.loads(out.stdout)
        s, t = d["swarmlab"], d["stats_total"]
        mean = t["total_response_time"] / max(t["num_requests"], 1)
        delay = s.get("read_delay")
        row = {"p99": s["p99_ms"], "mean": mean, "requests": t["num_requests"], "cpu": cpu}
        rows[name].append(row)
        extra = (f", generator's own read delay mean {delay['mean_ms']:.2f} ms, p99 {delay['p99_ms']:.2f} ms, "
                 f"flagged: {'yes' if s.get('delayed') else 'no'}") if delay else ""
        print(f"round {r + 1} {name}: p99 {row['p99']:.2f} ms, mean {mean:.2f} ms, "
              f"requests {row['requests']:,}, generator CPU {cpu:.2f} s{extra}, "
              f"saturated: {s['saturated']}", flush=True)
med = {k: {f: statistics.median(x[f] for x in v) for f in ("p99", "mean", "requests", "cpu")}
       for k, v in rows.items()}
for k in ("old", "new"):
    m = med[k]
    print(f"median {k}: p99 {m['p99']:.2f} ms, mean {m['mean']:.2f} ms, requests {m['requests']:,.0f}, "
          f"CPU {m['cpu']:.2f} s")
for f in ("p99", "mean", "cpu"):
    print(f"new/old {f}: {med['new'][f] / max(med['old'][f], 1e-9):.2f}x")
PY
