#!/bin/bash
# CPU time per request of two router configs, measured in alternating rounds on the same machine:
# the scheduler's count of the time every thread of the router (and, with `workers: N`, of its
# workers) spent on a CPU while autocannon sends a fixed number of requests (pair-load.mjs). Unlike
# requests per second it does not fall when the load generator is starved; unlike callgrind it runs
# at full speed, so a router's fixed background work (probes; in a fleet, keep-alives and duties)
# is a small share of each round.
#   ETCD=host:port [METHOD=POST] [HEADER='name: value'] [ROUNDS=10] [N=20000] [CHUNKS=8] [NODE_A=opts] [NODE_B=opts] \
#     [CLI_A=path] [CLI_B=path] test/bench/cpu-pair.sh [CONFIG_A] [CONFIG_B]
# Defaults: test/bench/meridian-bench.yaml against test/bench/meridian-bench-fleet.yaml (which needs
# ETCD, a running etcd's client address). NODE_A / NODE_B: node options for one side only (e.g.
# NODE_B='--import etcd3' loads the fleet's modules without a fleet). CLI_A / CLI_B: another build's
# dist/cli.js for one side (compare two builds with the same config).
#
# Every round starts a fresh process of each config and stops both afterwards: one process can be a
# few per cent cheaper than another of the same config for its whole life (heap layout, V8's young
# generation sizing, which of the two started first), and an A/A run of long-lived processes showed
# such a bias of 2.5 %. Rounds alternate which config starts first. Each process gets 2N warm-up
# requests; then each gets N in CHUNKS chunks, interleaved A B B A A B B A …: this machine has slow
# spells of a second or two that, with one block per side, fell on one side of a round and moved
# its ratio by up to 2x. Prints each round's CPU milliseconds and the ratio B/A per round, their
# median, mean and standard error and the ratio of the sums. A round in which either side answers a
# measured request with anything but 2xx stops the run: an error is cheaper than a forwarded request.
# Routers on CPU 1; load and backend on CPU 0, so nothing else runs on the routers' core.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=${1:-test/bench/meridian-bench.yaml}
b=${2:-test/bench/meridian-bench-fleet.yaml}
m=${METHOD:-GET}
n=${N:-20000}
chunks=${CHUNKS:-8} # a multiple of 4 (pair-load.mjs sends them A B B A …)
port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
bport=$(port)
taskset -c 0 node test/bench/backend.mjs "ok:$bport" > /dev/null 2>&1 &
backend=$!
pids=()
trap 'kill $backend "${pids[@]}" 2>/dev/null || true' EXIT
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
  # pair-load.mjs prints nothing (and says why) when a side answered anything but 2xx
  read -r ua ub < <(taskset -c 0 node test/bench/pair-load.mjs "$m" "$n" "$chunks" "$pa" "$ra" "$pb" "$rb") || {
    echo "round $r: no measurement" >&2
    exit 1
  }
  kill "$ra" "$rb"
  wait "$ra" "$rb" 2> /dev/null || true
  echo "round $r $((ua / 1000)) $((ub / 1000))" | tee -a "$out"
done
echo "$m x $n per round in $chunks chunks: A = ${CLI_A:-dist/cli.js} $a ${NODE_A:-}, B = ${CLI_B:-dist/cli.js} $b ${NODE_B:-} (CPU ms)"
python3 - "$out" << 'EOF'
import statistics, sys
rows = [list(map(int, l.split()[2:])) for l in open(sys.argv[1])]
ratios = [b / a for a, b in rows if a > 0]
print('B/A per round:', ' '.join(f'{x:.3f}' for x in ratios))
print(f'median {statistics.median(ratios):.3f}; sums {sum(b for _, b in rows)} / {sum(a for a, _ in rows)} = {sum(b for _, b in rows) / sum(a for a, _ in rows):.3f}')
if len(ratios) > 2:
    print(f'mean {statistics.mean(ratios):.3f}, standard error {statistics.stdev(ratios) / len(ratios) ** 0.5:.3f}')
EOF
rm -f "$out"
