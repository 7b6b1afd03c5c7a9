#!/bin/bash
# One bounded measurement of a proxy on loopback (see docs/profile.md for the setup):
#   test/bench/ab-once.sh NAME PORT SECONDS CONNS PATH -- CMD...
# starts CMD pinned to CPU 1, waits for a 200 on PATH, warms up 3 s, runs wrk (CPU 0, one thread,
# X-Forwarded-For: 5.9.0.1) and prints rps, p50, p99 and the proxy process's CPU time per request
# (utime+stime of all its threads from /proc, divided by the requests wrk completed).
name=$1; port=$2; dur=$3; conns=$4; path=$5; shift 6
taskset -c 1 "$@" > /dev/null 2>${TMPDIR:-/tmp}/meridian-ab-$name.err &
pid=$!
for i in $(seq 1 100); do curl -s -o /dev/null -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$port$path" && code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$port$path") && [ "$code" = 200 ] && break; sleep 0.1; done
taskset -c 0 wrk -t1 -c$conns -d3s -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$port$path" > /dev/null
cpu0=$(awk '{print $14+$15}' /proc/$pid/stat)
out=$(taskset -c 0 wrk -t1 -c$conns -d${dur}s --latency -H 'X-Forwarded-For: 5.9.0.1' "http://127.0.0.1:$port$path")
cpu1=$(awk '{print $14+$15}' /proc/$pid/stat)
kill -INT $pid; wait $pid 2>/dev/null
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
tck=$(getconf CLK_TCK)
usreq=$(awk -v a=$cpu0 -v b=$cpu1 -v n=$reqs -v t=$tck 'BEGIN { printf "%.1f", (b-a)/t*1e6/n }')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1=="50%" {print $2}')
p99=$(echo "$out" | awk '$1=="99%" {print $2}')
errs=$(echo "$out" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ')
echo "$name rps=$rps p50=$p50 p99=$p99 cpu_us/req=$usreq $errs"
