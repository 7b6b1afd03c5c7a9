#!/bin/bash
# CPU time per request of two router configs, measured in alternating rounds on the same machine:
# the kernel's count of the process's user+system time (10 ms ticks, /proc/PID/stat; with
# `workers: N`, the primary's and its workers' together) while
# autocannon sends a fixed number of requests. Unlike requests per second it does not fall when the
# load generator is starved; unlike callgrind it runs at full speed, so a router's fixed background
# work (probes; in a fleet, keep-alives and duties) is a small share of each round.
#   ETCD=host:port [METHOD=POST] [ROUNDS=10] [N=20000] [NODE_A=opts] [NODE_B=opts] [CLI_A=path] [CLI_B=path] \
#     test/bench/cpu-pair.sh [CONFIG_A] [CONFIG_B]
# Defaults: test/bench/meridian-bench.yaml against test/bench/meridian-bench-fleet.yaml (which needs
# ETCD, a running etcd's client address). NODE_A / NODE_B: node options for one side only (e.g.
# NODE_B='--import etcd3' loads the fleet's modules without a fleet). CLI_A / CLI_B: another build's
# dist/cli.js for one side (compare two builds with the same config).
#
# Every round starts a fresh process of each config and stops both afterwards: one process can be a
# few per cent cheaper than another of the same config for its whole life (heap layout, V8's young
# generation sizing, which of the two started first), and an A/A run of long-lived processes showed
# such a bias of 2.5 %. Rounds alternate which config starts first and which is measured first.
# Each process gets 2N warm-up requests. Prints each round's ticks and the ratio B/A per round,
# their median and the ratio of the sums. Routers on CPU 1, load on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=${1:-test/bench/meridian-bench.yaml}
b=${2:-test/bench/meridian-bench-fleet.yaml}
m=${METHOD:-GET}
n=${N:-20000}
port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
bport=$(port)
node test/bench/backend.mjs "ok:$bport" > /dev/null 2>&1 &
backend=$!
pids=()
trap 'kill $backend "${pids[@]}" 2>/dev/null || true' EXIT
args=(-m "$m" -H 'X-Forwarded-For: 5.9.0.1' -c 10)
[ "$m" = POST ] && args+=(-b '{}' -H 'Content-Type: application/json')
# start CONFIG NODE_OPTS CLI: prints "PORT PID" once the router answers
start() {
  local p
  p=$(port)
  # shellcheck disable=SC2086
  UPSTREAM=127.0.0.1:$bport EXTRA_PORT=$p taskset -c 1 node $2 "$3" serve --config "$1" --log-level warn > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$p/api/items")" = 200 ] && break
    sleep 0.2
  done
  echo "$p $pid"
}
# the router's ticks plus its children's (cluster workers, with `workers: N`)
ticks() {
  local t=0 c
  for c in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2> /dev/null || echo 0))); done
  echo "$t"
}
load() { taskset -c 0 npx autocannon "${args[@]}" -a "$2" "http://127.0.0.1:$1/api/items" > /dev/null 2>&1; }
out=$(mktemp)
for r in $(seq 1 "${ROUNDS:-10}"); do
  if [ $((r % 2)) = 1 ]; then
    read -r pa ra < <(start "$a" "${NODE_A:-}" "${CLI_A:-dist/cli.js}")
    read -r pb rb < <(start "$b" "${NODE_B:-}" "${CLI_B:-dist/cli.js}")
  else
    read -r pb rb < <(start "$b" "${NODE_B:-}" "${CLI_B:-dist/cli.js}")
    read -r pa ra < <(start "$a" "${NODE_A:-}" "${CLI_A:-dist/cli.js}")
  fi
  pids=("$ra" "$rb")
  load "$pa" $((n * 2))
  load "$pb" $((n * 2))
  order=("$pa $ra A" "$pb $rb B")
  [ $((r % 2)) = 0 ] && order=("$pb $rb B" "$pa $ra A")
  declare -A got=()
  for pp in "${order[@]}"; do
    set -- $pp
    t0=$(ticks "$2")
    load "$1" "$n"
    got[$3]=$(($(ticks "$2") - t0))
  done
  kill "$ra" "$rb"
  wait "$ra" "$rb" 2> /dev/null || true
  echo "round $r ${got[A]} ${got[B]}" | tee -a "$out"
done
echo "$m x $n per round: A = ${CLI_A:-dist/cli.js} $a ${NODE_A:-}, B = ${CLI_B:-dist/cli.js} $b ${NODE_B:-} (CPU ticks of 10 ms)"
python3 - "$out" << 'EOF'
import statistics, sys
rows = [list(map(int, l.split()[2:])) for l in open(sys.argv[1])]
ratios = [b / a for a, b in rows if a > 0]
print('B/A per round:', ' '.join(f'{x:.3f}' for x in ratios))
print(f'median {statistics.median(ratios):.3f}; sums {sum(b for _, b in rows)} / {sum(a for a, _ in rows)} = {sum(b for _, b in rows) / sum(a for a, _ in rows):.3f}')
EOF
rm -f "$out"
