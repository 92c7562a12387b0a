-- wrk: SendMessage, each with its own messageId. RETURN_IMMEDIATELY=1 asks for the submitted
-- task at once (ares: one durable append per request); otherwise the call waits for the end.
-- MESSAGE_PREFIX (default "wrk") starts every messageId: wrk processes run side by side need
-- different ones, or they send the same ids (each numbers its threads from 1), and half their
-- requests become repeats of the other's (ares answers a repeated messageId with the task it
-- already has).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
if os.getenv("ARES_KEY") and os.getenv("ARES_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ARES_KEY")
end
local immediately = os.getenv("RETURN_IMMEDIATELY") == "1"
local prefix = os.getenv("MESSAGE_PREFIX") or "wrk"
if prefix == "" then prefix = "wrk" end
local counter = 0
local thread_id = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function request()
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":' .. counter .. ',"method":"SendMessage","params":{"message":{"messageId":"' .. prefix .. '-'
    .. thread_id .. '-' .. counter .. '","role":"ROLE_USER","parts":[{"text":"How does the event store make a commit durable? (' .. counter .. ')"}]}'
  if immediately then body = body .. ',"configuration":{"returnImmediately":true}' end
  return wrk.format(nil, nil, nil, body .. '}}')
end

local errors = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end
