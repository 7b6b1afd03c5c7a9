#!/usr/bin/env bash
# npm run bench: Meridian in the shared reverse-proxy peer benchmark, next to nginx, HAProxy, Caddy
# and plain http-proxy, on this machine. Bounded: wrk against 127.0.0.1 only, fixed durations.
#   ROUNDS=3 (default here) ONLY="direct nginx-1w haproxy caddy http-proxy-ka meridian" (default)
#   FULL=1 runs the harness's whole matrix.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
[ -x "$PEERS/run.sh" ] || { echo "bench harness not found at $PEERS (set PEERS=...)" >&2; exit 1; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build)
export ROUNDS=${ROUNDS:-3}
[ "${FULL:-0}" = 1 ] || export ONLY=${ONLY:-"direct nginx-1w haproxy caddy http-proxy-ka meridian"}
export WRK_HEADER=${WRK_HEADER:-"X-Forwarded-For: 5.9.0.1"}
export EXTRA_NAME=meridian EXTRA_PORT=${EXTRA_PORT:-9110}
export EXTRA_CMD="node $ROOT/dist/cli.js serve --config $HERE/meridian-bench.yaml --log-level ${BENCH_LOG_LEVEL:-warn}"
mkdir -p "$HERE/results"
OUT_JSON=${OUT_JSON:-$HERE/results/latest.json} exec "$PEERS/run.sh"
