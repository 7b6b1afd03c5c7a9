#!/bin/bash
# Instructions per forwarded request, counted by valgrind's callgrind: it moves far less than
# requests per second or CPU time when other work shares the machine, so two builds can be
# compared on a busy VM (docs/profile.md, "Public http-proxy API").
#   [LOG_LEVEL=warn] [CONFIG=file] [METHOD=POST] test/bench/callgrind.sh CLI [REQUESTS]
#   e.g. test/bench/callgrind.sh dist/cli.js 3000
# CONFIG: another router config (default test/bench/meridian-bench.yaml; test/bench/meridian-bench-fleet.yaml
# is the same in a fleet, and needs ETCD=host:port of a running etcd). METHOD=POST sends writes
# (body {}), which go to the write region and, in a fleet, carry the write epoch.
# (LOG_LEVEL=warn drops the access line, whose batching per event-loop turn makes the count depend
# on how busy the machine is: steadier when comparing changes that do not touch logging.)
# Starts a loopback backend and `CLI serve` under callgrind with test/bench/meridian-bench.yaml,
# warms up with 5000 requests (autocannon, 10 connections, GET /api/items from a German client),
# zeroes the counters, sends REQUESTS more, and prints the main thread's and all threads'
# instructions per request, and how long the measured window lasted (none if any measured request
# was answered with anything but 2xx). Needs valgrind (apt-get install
# valgrind). Takes about a minute.
# IDLE=SECONDS: after the warm-up, count SECONDS without traffic instead, and print instructions per
# second: the background work (probes; in a fleet, lease keep-alives, watches, view and leader
# duties) that a run under valgrind, at a few hundred requests a second, charges to its requests.
# RATE=N: send the measured requests at N a second instead of as fast as valgrind answers. A request
# then costs about a + b / N: two rates separate what each request costs (a) from what the process
# spends per second whatever the load (b: timers, keep-alives, snapshots, and the scavenges that
# background allocation brings forward), which a full-speed run spreads over far more requests.
# KEEP=DIR: keep the callgrind files there, to read with callgrind_annotate.
set -euo pipefail
cli=$(realpath "$1"); n=${2:-3000}
cd "$(dirname "$0")/../.."
port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
bport=$(port); mport=$(port)
out=$(mktemp -d)
node test/bench/backend.mjs "ok:$bport" > /dev/null 2>&1 &
backend=$!
vg=
# the router under valgrind too: one left behind keeps a core busy (in a fleet config, as a second
# member with the benchmark's id)
trap 'kill $backend $vg 2>/dev/null; rm -rf "$out"' EXIT
export UPSTREAM=127.0.0.1:$bport EXTRA_PORT=$mport
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.%p" \
  node "$cli" serve --config "${CONFIG:-test/bench/meridian-bench.yaml}" --log-level "${LOG_LEVEL:-info}" > /dev/null 2> "$out/valgrind.err" &
vg=$!
url="http://127.0.0.1:$mport/api/items"
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 5.9.0.1' "$url")" = 200 ] && break
  sleep 0.5
done
method=(-m "${METHOD:-GET}")
[ "${METHOD:-GET}" = POST ] && method+=(-b '{}' -H 'Content-Type: application/json')
npx autocannon "${method[@]}" -a 5000 -c 10 -H 'X-Forwarded-For: 5.9.0.1' "$url" > /dev/null 2>&1
callgrind_control -z "$vg" > /dev/null
t0=$(date +%s%N)
if [ -n "${IDLE:-}" ]; then sleep "$IDLE"; else
  npx autocannon -j "${method[@]}" ${RATE:+-R "$RATE"} -a "$n" -c 10 -H 'X-Forwarded-For: 5.9.0.1' "$url" > "$out/load.json" 2> /dev/null
fi
callgrind_control -d "$vg" > /dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
kill -INT "$vg"; wait "$vg" 2>/dev/null || true
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$out"/cg.* "$KEEP"/
# an error costs less than a forwarded request (a fleet member refusing writes, a broken build)
if [ -z "${IDLE:-}" ]; then
  bad=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.non2xx+r.errors)' "$out/load.json")
  if [ "$bad" != 0 ]; then
    echo "$1 ${CONFIG:-} ${METHOD:-GET}: $bad of $n measured requests were not answered 2xx: no measurement" >&2
    exit 1
  fi
fi
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }
main=$(total "$out/cg.$vg.1-01")
all=0
for f in "$out"/cg."$vg".1-*; do all=$((all + $(total "$f"))); done
if [ -n "${IDLE:-}" ]; then
  echo "$1 ${CONFIG:-} idle ${ms} ms: main thread $((main * 1000 / ms)) instructions/s, all threads $((all * 1000 / ms))"
else
  echo "$1 ${CONFIG:-} ${METHOD:-GET}: main thread $((main / n)) instructions/request, all threads $((all / n)); window ${ms} ms"
fi
