#!/usr/bin/env bash
# Issue 3, figure 1: can swarmlab swarm drive as much load as wrk from one core?
#
# nginx (one worker, bench/nginx.conf) is pinned to CPU 0; the generator to CPU 1. wrk -t1 -c100
# and `swarmlab swarm -u 100 --wait-time constant(0) --threads 1` take turns, ROUNDS times each,
# DURATION each, against the same nginx in the same run. Prints each run and the ratio of the
# medians, and each generator's own CPU time per request (user+sys from rusage): on a shared
# machine with CPU steal, req/s swings run to run, CPU per request much less so.
# Needs: wrk, nginx (apt: wrk nginx-light), taskset, python3, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
URL=http://127.0.0.1:18880/
# SWARMLAB_BIN: another build to measure (this checkout's release build by default)
bin=${SWARMLAB_BIN:-target/release/swarmlab}
[ -n "${SWARMLAB_BIN:-}" ] || cargo build --release -q
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
taskset -c 0 nginx -p "$tmp" -c "$PWD/bench/nginx.conf" -g "pid $tmp/nginx.pid;" &
sleep 0.5
curl -sf "$URL" >/dev/null || { echo "nginx did not start"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "server: nginx $(nginx -v 2>&1 | cut -d/ -f2) on CPU 0; generators on CPU 1; 100 connections, ${DURATION}s per run"
# run CMD...: prints "REQS CPU_SECONDS" for one generator run (requests parsed from its output).
measure() {
  python3 - "$@" <<'PY'
import json, re, resource, subprocess, sys
kind, cmd = sys.argv[1], sys.argv[2:]
out = subprocess.run(cmd, capture_output=True, text=True).stdout
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if kind == "wrk":
    reqs, secs = int(re.search(r"(\d+) requests in ([\d.]+)s", out).group(1)), float(re.search(r"requests in ([\d.]+)s", out).group(1))
else:
    d = json.loads(out); reqs, secs = d["stats_total"]["num_requests"], d["swarmlab"]["duration_s"]
print(f"{reqs / secs:.1f} {1e6 * (ru.ru_utime + ru.ru_stime) / reqs:.2f}")
PY
}
wrk_rps=(); wrk_cpu=(); sw_rps=(); sw_cpu=()
for i in $(seq "$ROUNDS"); do
  read -r wr wc < <(measure wrk taskset -c 1 wrk -t1 -c100 -d"${DURATION}s" "$URL")
  read -r sr sc < <(measure swarm taskset -c 1 "$bin" swarm --headless -H "$URL" -u 100 -r 100000 -t "${DURATION}s" \
                    --threads 1 --only-summary --json)
  echo "round $i: wrk ${wr} req/s (${wc} us CPU/req), swarmlab ${sr} req/s (${sc} us CPU/req)"
  wrk_rps+=("$wr"); wrk_cpu+=("$wc"); sw_rps+=("$sr"); sw_cpu+=("$sc")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wm=$(median "${wrk_rps[@]}"); sm=$(median "${sw_rps[@]}")
wcm=$(median "${wrk_cpu[@]}"); scm=$(median "${sw_cpu[@]}")
echo "median req/s: wrk ${wm}, swarmlab ${sm}: swarmlab/wrk = $(python3 -c "print(f'{$sm/$wm:.3f}')")"
echo "median generator CPU per request: wrk ${wcm} us, swarmlab ${scm} us: swarmlab/wrk = $(python3 -c "print(f'{$scm/$wcm:.3f}')")"
steal=$(awk '/^cpu / {print $9}' /proc/stat)
echo "(CPU steal on this machine so far: ${steal} ticks; compare ratios, not absolute numbers)"
