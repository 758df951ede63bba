#!/usr/bin/env bash
# Issue 21: the assignment for the student's own servers, timed. (1) `compare --quick` (ten
# models and the PDF) must stay within 90 s; (2) the course's three designs as students write
# them (tests/servers: the seed's single-process server, a forking one that leaks, a correct
# thread-per-connection one), checked, compared over three trials, and the report written:
# its wall time, the PDF's pages and the figures. Exit 1 when (1) takes longer than 90 s.
# Needs python3 (and pdfinfo from poppler-utils for the page count).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=$PWD/target/release/swarmlab
out=${OUT:-target/bench-students}
rm -rf "$out"
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
start=$(date +%s.%N)
"$bin" compare --quick --no-web --out "$out/quick" > "$out/quick.log" 2>&1
quick=$(echo "$(date +%s.%N) - $start" | bc)
echo "compare --quick: ${quick} s, $(pdfinfo "$out/quick/report.pdf" 2>/dev/null | awk '/^Pages/ {print $2}') PDF pages, $(ls "$out/quick/figures" | wc -l) figures"
start=$(date +%s.%N)
"$bin" compare --quick --no-web --models none --repeat 3 --out "$out/students" \
  --server single="python3 tests/servers/single.py {port}" \
  --server multiprocess="python3 tests/servers/fork_leak.py {port}" \
  --server multithread="python3 tests/servers/correct.py {port}" > "$out/students.log" 2>&1
students=$(echo "$(date +%s.%N) - $start" | bc)
echo "students' servers, --repeat 3: ${students} s, $(pdfinfo "$out/students/report.pdf" 2>/dev/null | awk '/^Pages/ {print $2}') PDF pages, $(ls "$out/students/figures" | wc -l) figures"
grep -A4 '^the assignment' "$out/students.log" || true
if (( $(echo "$quick > 90" | bc) )); then
  echo "FAIL: compare --quick took ${quick} s (the budget: 90 s)"
  exit 1
fi
echo "ok: compare --quick within 90 s"
