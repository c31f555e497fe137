-- send_random.lua - wrk script: POST /v1/messages/send with a random UUID
-- (version 4 layout) as external_id, as many callers use; send.lua's ids are
-- sequential and land at the right edge of the external_id index
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919 + math.random(1, 1e6))
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%06x%06x",
    math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"recipient_phone":"+5564999998888","message_body":"Bench message %d","external_id":"%s"}',
    counter, uuid4())
  return wrk.format("POST", "/v1/messages/send",
    {["X-API-Key"] = os.getenv("WA_BENCH_KEY") or "bench-key-0123456789",
     ["Content-Type"] = "application/json"}, body)
end

dofile("tests/bench/report.lua")
