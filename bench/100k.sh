#!/usr/bin/env bash
# Issue 30, item 6: 100,000 clients on one machine whose processes may each open only 20,000
# files. `swarmlab serve --model procs` (nginx's design) with enough worker processes for the
# connections, on CPU 0; `swarmlab swarm -u 100000 -r 10000` on CPU 1, which spreads its users
# over processes of its engine by itself (one process could not hold them) and over local
# addresses (one has about 28,000 ports per destination; 10,000 each keeps connects fast).
# Prints the run's requests, p99 and failures, and both sides' peak memory (RSS and PSS summed
# over each side's processes, sampled every second).
# Knobs: USERS (100000), RATE (10000), DURATION (30) s, WORKERS (from the descriptor limit).
# Needs: taskset, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
RATE=${RATE:-10000}
DURATION=${DURATION:-30}
limit=$(ulimit -Hn)
per=$((limit - 64 - 4))
WORKERS=${WORKERS:-$(( (USERS + per - 1) / per > 2 ? (USERS + per - 1) / per : 2 ))}
sources=$(( (USERS + 9999) / 10000 ))
cargo build --release -q
bin=$PWD/target/release/swarmlab
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=18990
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r); a process may open $limit files"
echo "server: procs --workers $WORKERS on CPU 0; generator: swarm -u $USERS -r $RATE -t ${DURATION}s on CPU 1 from 127.0.0.1-127.0.0.$sources"
taskset -c 0 "$bin" serve --model procs --workers "$WORKERS" --bind "127.0.0.1:$port" > /dev/null 2> "$tmp/server.log" &
server=$!
sleep 1
taskset -c 1 "$bin" swarm --headless -H "http://127.0.0.1:$port" -u "$USERS" -r "$RATE" -t "${DURATION}s" \
  --source-addrs "127.0.0.1-127.0.0.$sources" --csv "$tmp/run" --only-summary > "$tmp/swarm.log" 2>&1 &
gen=$!
# peak RSS and PSS (KiB) of a process and its children
tree_mem() {
  python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
kids = {}
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            ppid = int(open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(p))
todo, rss, pss = [root], 0, 0
while todo:
    pid = todo.pop()
    todo += kids.get(pid, [])
    try:
        for line in open(f'/proc/{pid}/smaps_rollup'):
            if line.startswith('Rss:'):
                rss += int(line.split()[1])
            elif line.startswith('Pss:'):
                pss += int(line.split()[1])
    except OSError:
        pass
print(rss, pss)
EOF
}
peak() { # "rss pss" "rss pss" -> the larger of each
  echo "$1 $2" | awk '{print ($1>$3?$1:$3), ($2>$4?$2:$4)}'
}
s_peak="0 0"
g_peak="0 0"
while kill -0 "$gen" 2>/dev/null; do
  s_peak=$(peak "$s_peak" "$(tree_mem "$server")")
  g_peak=$(peak "$g_peak" "$(tree_mem "$gen")")
  sleep 1
done
wait "$gen" || true
tail -3 "$tmp/swarm.log"
python3 - "$tmp/run_stats.csv" "$tmp/run_stats_history.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
agg = [r for r in rows if r['Name'] == 'Aggregated'][0]
users = max(int(r['User Count']) for r in csv.DictReader(open(sys.argv[2])))
n, f = int(agg['Request Count']), int(agg['Failure Count'])
print(f"users held: {users:,}; requests {n:,}, failures {f:,} ({100 * f / max(n, 1):.3f} %), "
      f"median {agg['Median Response Time']} ms, p99 {agg['99%']} ms")
EOF
read -r srss spss <<< "$s_peak"
read -r grss gpss <<< "$g_peak"
echo "server (procs, $WORKERS processes): peak RSS $((srss / 1024)) MiB, PSS $((spss / 1024)) MiB"
echo "generator (swarmlab and its engine's processes): peak RSS $((grss / 1024)) MiB, PSS $((gpss / 1024)) MiB"
if grep -q "Too many open files" "$tmp/server.log"; then
  echo "the server said: $(grep -m1 'Too many open files' "$tmp/server.log")"
fi
