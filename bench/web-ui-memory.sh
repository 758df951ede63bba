#!/usr/bin/env bash
# Issue 11: the web UI's memory stays flat in a long run.
#
# A swarmlab server (epoll, CPU 0) takes 10,000 users at 1,000/s with constant(1) think time
# (about 10,000 req/s) from `swarmlab swarm` in web mode (--autostart, CPU 1), while this script
# polls GET /stats/requests every 2 s, as Locust's page does, and holds an /events stream open.
# The generator's RSS is read from /proc at 1 minute and at the end (MINUTES, default 10); the
# target is the end within 10 % of the 1-minute figure.
# Needs: taskset, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-10}
cargo build --release -q
bin=$PWD/target/release/swarmlab
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
taskset -c 0 "$bin" serve --model epoll --bind 127.0.0.1:18770 > /dev/null &
sleep 0.5
taskset -c 1 "$bin" swarm -H http://127.0.0.1:18770 -u 10000 -r 1000 --wait-time "constant(1)" \
  --web-port 18771 --autostart > "$tmp/swarm.log" 2>&1 &
spid=$!
sleep 1
ui=http://127.0.0.1:18771
curl -sN "$ui/events" > /dev/null &
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$spid/status"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "swarm: 10,000 users at 1,000/s, constant(1), web UI polled every 2 s, $MINUTES min"
start=$(date +%s)
rss1=""
while [ $(( $(date +%s) - start )) -lt $(( MINUTES * 60 )) ]; do
  curl -s "$ui/stats/requests" > "$tmp/last.json"
  elapsed=$(( $(date +%s) - start ))
  if [ -z "$rss1" ] && [ "$elapsed" -ge 60 ]; then
    rss1=$(rss)
    echo "  at 1 min: RSS $rss1 MiB, $(python3 -c "import json;d=json.load(open('$tmp/last.json'));print(f\"{d['user_count']} users, {d['current_rps']:.0f} req/s now, {d['stats'][-1]['num_requests']} requests\")")"
  fi
  sleep 2
done
rss10=$(rss)
python3 - "$tmp/last.json" "$rss1" "$rss10" "$MINUTES" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r1, r10, m = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"  at {m} min: RSS {r10:.1f} MiB, {d['user_count']} users, {d['current_rps']:.0f} req/s now, "
      f"{d['stats'][-1]['num_requests']} requests, {d['stats'][-1]['num_failures']} failures")
ratio = r10 / r1
print(f"issue 11, memory: RSS at {m} min / at 1 min = {ratio:.3f} "
      f"({'met' if ratio <= 1.10 else 'NOT met'}: <= 1.10)")
sys.exit(0 if ratio <= 1.10 else 1)
PY
