#!/usr/bin/env bash
# Issue 20: can swarmlab swarm drive as much TLS load as wrk from one core?
#
# nginx (one worker, bench/nginx.conf plus a TLS server on 18443 with an ECDSA P-256
# certificate made here) is pinned to CPU 0; the generator to CPU 1. wrk -t1 -c100 and
# `swarmlab swarm -u 100 --wait-time constant(0) --threads 1 -k` take turns, ROUNDS times each,
# DURATION each, first with keep-alive, then with `Connection: close` (a TLS handshake per
# request: both clients resume sessions where they can). Prints each run, the medians' ratios,
# and each generator's CPU time per request (user+sys from rusage). Then the servers: swarmlab's
# models (MODELS, default "epoll uring", each --workers 1 as nginx has one worker) serving TLS
# with the same certificate on CPU 0, against nginx over TLS, keep-alive, wrk -t1 -c100 on CPU 1
# as the neutral client, alternated ROUNDS times: the best model's median req/s over nginx's.
# Needs: wrk, nginx (apt: wrk nginx-light), openssl, taskset, python3, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
URL=https://127.0.0.1:18443/
bin=target/release/swarmlab
cargo build --release -q
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
  -out "$tmp/cert.pem" -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
# bench/nginx.conf with one more server: the same answer over TLS
python3 - "$tmp" <<'PY'
import sys
tmp = sys.argv[1]
conf = open("bench/nginx.conf").read()
tls = f"""
    server {{
        listen 127.0.0.1:18443 ssl backlog=8192;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:tls:10m;
        default_type text/plain;
        location / {{
            return 200 "Hello, World!";
        }}
    }}
"""
i = conf.rindex("}")
open(f"{tmp}/nginx.conf", "w").write(conf[:i] + tls + conf[i:])
PY
taskset -c 0 nginx -p "$tmp" -c "$tmp/nginx.conf" -g "pid $tmp/nginx.pid;" &
sleep 0.5
curl -skf "$URL" >/dev/null || { echo "nginx did not start"; exit 1; }
cat > "$tmp/close.toml" <<TOML
[[user]]
name = "closer"
wait_time = "constant(0)"
[[user.task]]
path = "/"
headers = { "Connection" = "close" }
TOML

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
echo "server: nginx $(nginx -v 2>&1 | cut -d/ -f2) over TLS (ECDSA P-256) on CPU 0; generators on CPU 1; 100 connections, ${DURATION}s per run"
measure() {
  python3 - "$@" <<'PY'
import json, re, resource, subprocess, sys
kind, cmd = sys.argv[1], sys.argv[2:]
out = subprocess.run(cmd, capture_output=True, text=True).stdout
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if kind == "wrk":
    reqs, secs = int(re.search(r"(\d+) requests in ([\d.]+)s", out).group(1)), float(re.search(r"requests in ([\d.]+)s", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    fails = 0 if not errors else errors.group(0)
else:
    d = json.loads(out); reqs, secs = d["stats_total"]["num_requests"], d["swarmlab"]["duration_s"]
    fails = d["stats_total"]["num_failures"]
    hs = d["swarmlab"]["tls_handshakes"]
    fails = f"{fails} (handshakes: {hs['full']} full, {hs['resumed']} resumed)"
print(f"{reqs / secs:.1f} {1e6 * (ru.ru_utime + ru.ru_stime) / reqs:.2f} {str(fails).replace(' ', '_')}")
PY
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
status=0
for mode in keep-alive close; do
  wrk_rps=(); wrk_cpu=(); sw_rps=(); sw_cpu=()
  if [ "$mode" = close ]; then wrk_extra=(-H "Connection: close"); sw_extra=(-f "$tmp/close.toml"); else wrk_extra=(); sw_extra=(--wait-time "constant(0)"); fi
  for i in $(seq "$ROUNDS"); do
    read -r wr wc wf < <(measure wrk taskset -c 1 wrk -t1 -c100 -d"${DURATION}s" "${wrk_extra[@]}" "$URL")
    read -r sr sc sf < <(measure swarm taskset -c 1 "$bin" swarm --headless -H "$URL" -k -u 100 -r 100000 -t "${DURATION}s" \
                      --threads 1 --only-summary --json "${sw_extra[@]}")
    echo "$mode round $i: wrk ${wr} req/s (${wc} us CPU/req, errors ${wf//_/ }), swarmlab ${sr} req/s (${sc} us CPU/req, failures ${sf//_/ })"
    wrk_rps+=("$wr"); wrk_cpu+=("$wc"); sw_rps+=("$sr"); sw_cpu+=("$sc")
  done
  wm=$(median "${wrk_rps[@]}"); sm=$(median "${sw_rps[@]}")
  wcm=$(median "${wrk_cpu[@]}"); scm=$(median "${sw_cpu[@]}")
  r=$(python3 -c "print(f'{$sm/$wm:.3f}')"); c=$(python3 -c "print(f'{$scm/$wcm:.3f}')")
  echo "$mode: median req/s wrk ${wm}, swarmlab ${sm}: swarmlab/wrk = $r; CPU per request wrk ${wcm} us, swarmlab ${scm} us: swarmlab/wrk = $c"
  python3 -c "import sys; sys.exit(0 if $r >= 1.0 and $c <= 1.0 else 1)" && echo "  met (>= 1.0x req/s, <= 1.0x CPU)" || { echo "  NOT met (>= 1.0x req/s, <= 1.0x CPU)"; status=1; }
done

# the servers: the best model over TLS against nginx over TLS, keep-alive, one worker each
MODELS=${MODELS:-epoll uring}
declare -A model_rps
nginx_rps=()
for i in $(seq "$ROUNDS"); do
  read -r nr _ _ < <(measure wrk taskset -c 1 wrk -t1 -c100 -d"${DURATION}s" "$URL")
  nginx_rps+=("$nr")
  line="servers round $i: nginx ${nr} req/s"
  for m in $MODELS; do
    taskset -c 0 "$bin" serve --model "$m" --workers 1 --bind 127.0.0.1:18445 \
      --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" > "$tmp/serve.log" 2>&1 &
    spid=$!
    for _ in $(seq 50); do curl -skf https://127.0.0.1:18445/ >/dev/null 2>&1 && break; sleep 0.1; done
    read -r mr _ _ < <(measure wrk taskset -c 1 wrk -t1 -c100 -d"${DURATION}s" https://127.0.0.1:18445/)
    kill -TERM "$spid"; wait "$spid" 2>/dev/null || true
    model_rps[$m]="${model_rps[$m]:-} $mr"
    line="$line, $m ${mr} req/s"
  done
  echo "$line"
done
nm=$(median "${nginx_rps[@]}")
best=""; best_rps=0
for m in $MODELS; do
  # shellcheck disable=SC2086
  mm=$(median ${model_rps[$m]})
  echo "servers: $m median ${mm} req/s over TLS keep-alive; nginx ${nm}: $m/nginx = $(python3 -c "print(f'{$mm/$nm:.3f}')")"
  if python3 -c "import sys; sys.exit(0 if $mm > $best_rps else 1)"; then best=$m; best_rps=$mm; fi
done
r=$(python3 -c "print(f'{$best_rps/$nm:.3f}')")
echo "servers: the best model over TLS, $best, against nginx over TLS (keep-alive): $r"
python3 -c "import sys; sys.exit(0 if $r >= 1.0 else 1)" && echo "  met (>= 1.0x nginx req/s)" || { echo "  NOT met (>= 1.0x nginx req/s)"; status=1; }
exit $status
