#!/bin/bash
# CPU time per request of two router configs, measured in alternating rounds on the same machine:
# the kernel's count of the process's user+system time (10 ms ticks, /proc/PID/stat) while
# autocannon sends a fixed number of requests. Unlike requests per second it does not fall when the
# load generator is starved; unlike callgrind it runs at full speed, so a router's fixed background
# work (probes; in a fleet, keep-alives and duties) is a small share of each round.
#   ETCD=host:port [METHOD=POST] [ROUNDS=12] [N=5000] test/bench/cpu-pair.sh [CONFIG_A] [CONFIG_B]
# Defaults: test/bench/meridian-bench.yaml against test/bench/meridian-bench-fleet.yaml (which needs
# ETCD, a running etcd's client address). Prints each round's ticks and the ratio B/A per round,
# their median and the ratio of the sums. Routers on CPU 1, load on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=${1:-test/bench/meridian-bench.yaml}
b=${2:-test/bench/meridian-bench-fleet.yaml}
m=${METHOD:-GET}
n=${N:-5000}
port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
bport=$(port)
pa=$(port)
pb=$(port)
node test/bench/backend.mjs "ok:$bport" > /dev/null 2>&1 &
backend=$!
UPSTREAM=127.0.0.1:$bport EXTRA_PORT=$pa taskset -c 1 node dist/cli.js serve --config "$a" --log-level warn > /dev/null 2>&1 &
ra=$!
UPSTREAM=127.0.0.1:$bport EXTRA_PORT=$pb taskset -c 1 node dist/cli.js serve --config "$b" --log-level warn > /dev/null 2>&1 &
rb=$!
trap 'kill $backend $ra $rb 2>/dev/null || true' EXIT
args=(-m "$m" -H 'X-Forwarded-For: 5.9.0.1' -c 10)
[ "$m" = POST ] && args+=(-b '{}' -H 'Content-Type: application/json')
for p in $pa $pb; do
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$p/api/items")" = 200 ] && break
    sleep 0.2
  done
  taskset -c 0 npx autocannon "${args[@]}" -a $((n * 2)) "http://127.0.0.1:$p/api/items" > /dev/null 2>&1 # warm-up
done
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
out=$(mktemp)
for r in $(seq 1 "${ROUNDS:-12}"); do
  line="round $r"
  for pp in "$pa $ra" "$pb $rb"; do
    set -- $pp
    t0=$(ticks "$2")
    taskset -c 0 npx autocannon "${args[@]}" -a "$n" "http://127.0.0.1:$1/api/items" > /dev/null 2>&1
    line="$line $(($(ticks "$2") - t0))"
  done
  echo "$line" | tee -a "$out"
done
echo "$m x $n per round: A = $a, B = $b (CPU ticks of 10 ms)"
python3 - "$out" << 'EOF'
import statistics, sys
rows = [list(map(int, l.split()[2:])) for l in open(sys.argv[1])]
ratios = [b / a for a, b in rows if a > 0]
print('B/A per round:', ' '.join(f'{x:.3f}' for x in ratios))
print(f'median {statistics.median(ratios):.3f}; sums {sum(b for _, b in rows)} / {sum(a for a, _ in rows)} = {sum(b for _, b in rows) / sum(a for a, _ in rows):.3f}')
EOF
rm -f "$out"
