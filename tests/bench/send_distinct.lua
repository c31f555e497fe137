-- send_distinct.lua - wrk script: POST /v1/messages/send, every message to
-- another recipient (a campaign), with a unique external_id
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  run = math.random(1, 1e9)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"recipient_phone":"+55%d%09d","message_body":"Bench message %d","external_id":"dist-%d-%d-%d"}',
    10 + tid, counter % 1000000000, counter, run, tid, counter)
  return wrk.format("POST", "/v1/messages/send",
    {["X-API-Key"] = os.getenv("WA_BENCH_KEY") or "bench-key-0123456789",
     ["Content-Type"] = "application/json"}, body)
end

dofile("tests/bench/report.lua")
