-- hello.lua - wrk script: the same POST body against the bare hello server
function request()
  return wrk.format("POST", "/v1/messages/send", {["Content-Type"] = "application/json"},
    '{"recipient_phone":"+5564999998888","message_body":"Bench message","external_id":"x"}')
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d req_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
