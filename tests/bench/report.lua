-- report.lua - the RESULT line both wrk scripts print (loaded with dofile;
-- bench.sh runs wrk from the repository root)
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d req_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
