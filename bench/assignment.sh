#!/usr/bin/env bash
# Issue 3, figure 2: the classic assignment's own settings against nginx, where Locust reports
# ~965 req/s of ~10,000 offered and a p99 of 11 s (measured on this kind of machine).
#
# nginx (bench/nginx.conf, one worker) pinned to CPU 0; swarmlab swarm pinned to CPU 1 with
# -u 10000 -r 1000 -t 40s --wait-time "constant(1)". Pass: >= 9,500 req/s over Locust's last
# 10 s window, p99 <= 10 ms, zero failures, generator peak RSS <= 100 MiB, and the generator's
# own read delay (issue 26) not a noticeable part of the response times.
#
# On a VM whose vCPUs halt when idle (like this project's machines), waking a halted vCPU for
# each loopback response costs milliseconds, which a lightly loaded generator then reports as
# latency (measured: p50 3 ms idle vs < 0.5 ms with the vCPUs kept busy, same nginx). So the
# run is made twice: as is, and with a nice-19 spinner on each CPU that keeps the vCPUs awake
# (it yields to everything else). Both are printed; CPU steal during each run too.
# Needs: nginx (apt: nginx-light), taskset, python3, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_TIME=${RUN_TIME:-40s}
URL=http://127.0.0.1:18880/
cargo build --release -q
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
taskset -c 0 nginx -p "$tmp" -c "$PWD/bench/nginx.conf" -g "pid $tmp/nginx.pid;" 2>/dev/null &
sleep 0.5
curl -sf "$URL" >/dev/null || { echo "nginx did not start"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
cmd=(taskset -c 1 target/release/swarmlab swarm --headless -H "$URL" -u 10000 -r 1000 -t "$RUN_TIME"
     --wait-time "constant(1)" --only-summary --json)
echo "command: ${cmd[*]}"
status=0
for mode in idle spinning; do
  spinners=()
  if [ "$mode" = spinning ]; then
    for cpu in 0 1; do taskset -c $cpu nice -n 19 sh -c 'while :; do :; done' & spinners+=($!); done
  fi
  echo "== vCPUs $mode"
  python3 - "${cmd[@]}" <<'PY' || status=1
import json, resource, subprocess, sys
def steal():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return f[7], sum(f)
s0, t0 = steal()
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
s1, t1 = steal()
print(f"CPU steal during the run: {100 * (s1 - s0) / max(t1 - t0, 1):.0f} %")
d = json.loads(out.stdout)
rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
s, t = d["swarmlab"], d["stats_total"]
rps, p99, fails = s["current_rps"], s["p99_ms"], t["num_failures"]
mean = t["total_response_time"] / max(t["num_requests"], 1)
delay = s.get("read_delay") or {}
print(f"requests {t['num_requests']}, failures {fails}, last-10s req/s {rps:.1f}, p99 {p99:.3f} ms, "
      f"mean {mean:.3f} ms, generator peak RSS {rss_mib:.1f} MiB, saturated: {s['saturated']}")
print(f"generator's own read delay: mean {delay.get('mean_ms', float('nan')):.3f} ms, "
      f"p99 {delay.get('p99_ms') or float('nan'):.3f} ms; flagged: {s.get('delayed')}")
checks = [("req/s >= 9500", rps >= 9500), ("p99 <= 10 ms", p99 <= 10), ("zero failures", fails == 0),
          ("RSS <= 100 MiB", rss_mib <= 100),
          ("generator's own delay not flagged", not s.get("delayed"))]
for name, ok in checks:
    print(f"  {'PASS' if ok else 'FAIL'}  {name}")
sys.exit(0 if all(ok for _, ok in checks) else 1)
PY
  [ ${#spinners[@]} -eq 0 ] || kill "${spinners[@]}"
done
exit $status
