#!/usr/bin/env bash
# npm run bench:peers: Meridian in the reverse-proxy peer benchmark (test/bench/peers/), next to nginx, HAProxy,
# Caddy and plain http-proxy, on this machine. Bounded: wrk against 127.0.0.1 only, fixed durations.
# Meridian runs test/bench/meridian-bench.yaml (3 regions on the harness's one backend, GeoIP nearest
# from X-Forwarded-For, a read-local-write-global route) with the access log at info to /dev/null.
#   ROUNDS=3 (default here) ONLY="direct nginx-1w haproxy caddy http-proxy-ka fastify-proxy meridian" (default)
#   FULL=1 runs the harness's whole matrix.
#   BENCH_LOG_LEVEL=warn     access lines filtered by level instead of written (default info)
#   BENCH_ACCESS_LOG=FILE    write the access log to FILE instead of /dev/null
#   MERIDIAN_WORKERS=N       run Meridian with `workers: N` (needs a build that accepts the key)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$HERE/peers}
[ -x "$PEERS/run.sh" ] || { echo "bench harness not found at $PEERS (set PEERS=...)" >&2; exit 1; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build)
mkdir -p "$HERE/results"
CONFIG=$HERE/meridian-bench.yaml
if [ -n "${MERIDIAN_WORKERS:-}" ]; then
  [[ $MERIDIAN_WORKERS =~ ^([0-9]+|auto)$ ]] || { echo "MERIDIAN_WORKERS must be a number or auto" >&2; exit 2; }
  CONFIG=$HERE/results/meridian-bench-${MERIDIAN_WORKERS}w.yaml
  { cat "$HERE/meridian-bench.yaml"; echo "workers: $MERIDIAN_WORKERS"; } >"$CONFIG"
  UPSTREAM=127.0.0.1:9000 EXTRA_PORT=${EXTRA_PORT:-9110} node "$ROOT/dist/cli.js" validate --config "$CONFIG" >/dev/null ||
    { echo "this build does not accept \`workers: $MERIDIAN_WORKERS\` (see above)" >&2; exit 2; }
fi
export ROUNDS=${ROUNDS:-3}
[ "${FULL:-0}" = 1 ] || export ONLY=${ONLY:-"direct nginx-1w haproxy caddy http-proxy-ka fastify-proxy meridian"}
export WRK_HEADER=${WRK_HEADER:-"X-Forwarded-For: 5.9.0.1"}
export EXTRA_NAME=meridian EXTRA_PORT=${EXTRA_PORT:-9110}
# stdout is the access log; stderr stays in the harness's meridian.log. `exec … >FILE` applies
# because the harness runs EXTRA_CMD as `bash -c "cd DIR && exec $EXTRA_CMD"`.
export EXTRA_CMD="node $ROOT/dist/cli.js serve --config $CONFIG --log-level ${BENCH_LOG_LEVEL:-info} >${BENCH_ACCESS_LOG:-/dev/null}"
OUT_JSON=${OUT_JSON:-$HERE/results/latest-peers.json} exec "$PEERS/run.sh"
