#!/usr/bin/env bash
# What one keep-alive `GET /` costs a server in instructions: `valgrind --tool=callgrind` counts
# them, so the figure is the same run to run whatever else the machine does (unlike time).
#
# The server (`serve --model MODEL --workers 1`, default epoll) runs under callgrind; `ab -k -n N
# -c 10` sends N keep-alive requests; the total includes the server's start and stop, the same
# for every build. Give two builds to compare them:
#
#   bash bench/hot-path-instructions.sh                         # this checkout's release build
#   bash bench/hot-path-instructions.sh OLD/swarmlab NEW/swarmlab
# Needs: valgrind, ab (apt: valgrind apache2-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-epoll}
N=${N:-20000}
if [ $# -eq 0 ]; then
  cargo build --release -q
  set -- "$PWD/target/release/swarmlab"
fi
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "$MODEL --workers 1 under callgrind, ab -k -n $N -c 10 GET /"
first=""
for bin in "$@"; do
  port=$((20000 + RANDOM % 10000))
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" serve --model "$MODEL" \
    --workers 1 --bind "127.0.0.1:$port" > /dev/null 2> "$tmp/err" &
  pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/" > /dev/null 2>&1 && break
    sleep 0.1
  done
  failed=$(ab -q -k -n "$N" -c 10 "http://127.0.0.1:$port/" | awk '/Failed requests/ {print $3}')
  kill -TERM "$pid"
  wait "$pid" || true
  total=$(awk '/Collected :/ {print $4}' "$tmp/err")
  per=$(python3 -c "print(f'{$total / $N:.0f}')")
  echo "  $bin: $total instructions in all, $per per request ($failed failed)"
  if [ -z "$first" ]; then
    first=$total
  else
    python3 -c "print(f'  difference: {($total - $first) / $N:+.0f} instructions per request')"
  fi
done
