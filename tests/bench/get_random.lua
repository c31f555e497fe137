-- get_random.lua - wrk script: GET /v1/messages/{id} (WA_GET=id) or
-- GET /v1/messages?external_id= (WA_GET=ext) for ids picked at random from
-- WA_IDS_FILE (one "id external_id" pair a line, written by backlog.sh)
local ids, exts = {}, {}
local mode = os.getenv("WA_GET") or "id"
local key = os.getenv("WA_BENCH_KEY") or "bench-key-0123456789"

function init(args)
  for line in io.lines(os.getenv("WA_IDS_FILE")) do
    local id, ext = line:match("^(%S+)%s+(%S+)$")
    if id then
      ids[#ids + 1] = id
      exts[#exts + 1] = ext
    end
  end
  math.randomseed(os.time() * 1000 + math.random(1, 1e6))
end

function request()
  local i = math.random(1, #ids)
  local path = mode == "ext" and ("/v1/messages?external_id=" .. exts[i])
    or ("/v1/messages/" .. ids[i])
  return wrk.format("GET", path, {["X-API-Key"] = key})
end

dofile("tests/bench/report.lua")
