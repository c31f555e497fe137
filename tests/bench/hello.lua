-- hello.lua - wrk script: the same POST body against the bare hello server
function request()
  return wrk.format("POST", "/v1/messages/send", {["Content-Type"] = "application/json"},
    '{"recipient_phone":"+5564999998888","message_body":"Bench message","external_id":"x"}')
end

dofile("tests/bench/report.lua")
