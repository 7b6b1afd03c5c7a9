-- Copy of ../../../shared/bench/peers/wrk-json.lua (so this repo runs without the shared harness).
-- Prints one machine-readable line when wrk finishes. No request()/response() hooks are
-- defined, so wrk keeps its fast static-request path.
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d non2xx=%d\n",
    s.requests / (s.duration / 1e6), lat:percentile(50), lat:percentile(99), s.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
