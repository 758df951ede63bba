#!/usr/bin/env bash
# Issue 12: swarmlab workers under a stock Locust master, against nginx.
#
# nginx (one worker, bench/nginx.conf) on CPU 0; everything that generates load on CPU 1:
#   A. locust --master + one Python worker (FastHttpUser, the printed locustfile)
#   B. locust --master + one swarmlab worker (--threads 1)
#   C. locust --master + two swarmlab workers (--threads 1 each)
#   D. one standalone `swarmlab swarm --headless --threads 1`
# (SERVER=uring: `swarmlab serve --model uring --workers 1` on CPU 0 instead of nginx)
# each alone, -u USERS (100) at once, constant(0), DURATION (15) s. req/s is the Aggregated
# count over the run from the master's (or swarm's) _stats.csv divided by the run time; the
# master's CPU is its utime+stime over the run (/proc). Targets: B >= 10x A; C >= 0.9x D;
# the master under 20 % of a core.
# Needs: locust 2.47 (PATH or target/ci-venv), nginx, taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
USERS=${USERS:-100}
[ -x target/ci-venv/bin/locust ] && export PATH="$PWD/target/ci-venv/bin:$PATH"
cargo build --release -q
bin=$PWD/target/release/swarmlab
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
url=http://127.0.0.1:18880
# SERVER=uring: swarmlab's fastest design (one loop) instead of nginx, where nginx's one core is
# the ceiling a worker reaches (then the ratio measures the server, not the worker)
if [ "${SERVER:-nginx}" = uring ]; then
  taskset -c 0 "$bin" serve --model uring --workers 1 --bind 127.0.0.1:18880 > /dev/null 2>&1 &
else
  taskset -c 0 nginx -p "$tmp" -c "$PWD/bench/nginx.conf" -g "pid $tmp/nginx.pid;" 2>/dev/null &
fi
sleep 0.5
"$bin" swarm --print-locustfile -H "$url" > "$tmp/locustfile.py"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); $(locust --version 2>&1 | head -n 1)"
echo "${SERVER:-nginx} on CPU 0; master and workers on CPU 1; -u $USERS at once, constant(0), ${DURATION}s each"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rps_of() { # stats.csv -> requests per second over the run
  python3 - "$1" "$DURATION" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
agg = next(r for r in rows if r[1] == "Aggregated")
print(f"{int(agg[2]) / float(sys.argv[2]):.0f} {agg[3]}")
PY
}
fleet() { # label workers...: a master with those workers; prints "rps failures master_cpu%"
  local label=$1 port=$((15600 + RANDOM % 300)); shift
  local n=$#
  ( cd "$tmp" && exec taskset -c 1 locust -f locustfile.py --master --headless --expect-workers "$n" \
      -u "$USERS" -r "$USERS" -t "${DURATION}s" -H "$url" --master-bind-host 127.0.0.1 \
      --master-bind-port "$port" --csv "$tmp/$label" --only-summary > "$tmp/$label.log" 2>&1 ) &
  local mpid=$!
  sleep 1
  local pids=()
  for kind in "$@"; do
    if [ "$kind" = python ]; then
      taskset -c 1 locust -f "$tmp/locustfile.py" --worker --master-port "$port" > /dev/null 2>&1 &
    else
      taskset -c 1 "$bin" swarm --worker --threads 1 --master-port "$port" > /dev/null 2>&1 &
    fi
    pids+=($!)
  done
  # the master's CPU over the run, sampled just before it ends
  sleep 3
  local c0; c0=$(cpu_ticks "$mpid")
  sleep $((DURATION - 3))
  local c1; c1=$(cpu_ticks "$mpid" 2>/dev/null || echo "$c0")
  wait "$mpid" || true
  wait "${pids[@]}" 2>/dev/null || true
  read -r rps fails < <(rps_of "$tmp/${label}_stats.csv")
  echo "$rps $fails $(python3 -c "print(f'{100 * ($c1 - $c0) / $hz / ($DURATION - 3):.1f}')")"
}
read -r a_rps a_f a_cpu < <(fleet python python)
echo "  A. master + 1 Python worker (FastHttpUser): $a_rps req/s, $a_f failures, master CPU $a_cpu %"
read -r b_rps b_f b_cpu < <(fleet one swarmlab)
echo "  B. master + 1 swarmlab worker:              $b_rps req/s, $b_f failures, master CPU $b_cpu %"
read -r c_rps c_f c_cpu < <(fleet two swarmlab swarmlab)
echo "  C. master + 2 swarmlab workers:             $c_rps req/s, $c_f failures, master CPU $c_cpu %"
taskset -c 1 "$bin" swarm --headless --threads 1 -H "$url" -u "$USERS" -r "$USERS" -t "${DURATION}s" \
  --csv "$tmp/alone" --only-summary > /dev/null 2>&1 || true
read -r d_rps d_f < <(rps_of "$tmp/alone_stats.csv")
echo "  D. standalone swarmlab swarm:               $d_rps req/s, $d_f failures"
python3 - "$a_rps" "$b_rps" "$c_rps" "$d_rps" "$b_cpu" "$c_cpu" <<'PY'
import sys
a, b, c, d, bc, cc = map(float, sys.argv[1:])
ok = lambda x: "met" if x else "NOT met"
print(f"issue 12: one swarmlab worker / one Python worker = {b / a:.1f}x ({ok(b >= 10 * a)}: >= 10x)")
print(f"issue 29: the same ratio after one loop = {b / a:.1f}x ({ok(b >= 20 * a)}: >= 20x; a worker at the server's ceiling, B close to D, measures the server: SERVER=uring)")
print(f"issue 12: master + 2 swarmlab workers / standalone = {c / d:.2f}x ({ok(c >= 0.9 * d)}: >= 0.9x)")
print(f"issue 12: master CPU {max(bc, cc):.1f} % of a core at most ({ok(max(bc, cc) < 20)}: < 20 %)")
sys.exit(0 if b >= 10 * a and c >= 0.9 * d and max(bc, cc) < 20 else 1)
PY
