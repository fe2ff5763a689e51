-- wrk script for the fault soak: FAULT_PERCENT of the requests (default 5) ask the mock provider for one of its
-- failures; the rest are small and streaming chat requests in equal parts. Bodies come from $BODIES.
-- Prints the same RESULT line as post.lua.
local function read(name)
  local file = assert(io.open(os.getenv("BODIES") .. "/" .. name .. ".json", "rb"))
  local body = file:read("*a"):gsub("%s+$", "")
  file:close()
  return body
end

local small = read("small")
local stream = read("stream")
-- A body the edits do not fit would turn a fault into a normal (or an invalid) request: fail loudly instead.
assert(small:sub(-1) == "}" and not small:find('"mock"', 1, true), "small.json: expected one JSON object without a mock field")
local function small_with(mock) return small:sub(1, -2) .. ',"mock":' .. mock .. '}' end
local function stream_with(extra)
  local body, edits = stream:gsub('"mock":{"chunks":20}', '"mock":{"chunks":20,' .. extra .. '}')
  assert(edits == 1, "stream.json: expected one \"mock\":{\"chunks\":20}")
  return body
end

local normal = { small, stream }
-- One of each kind the gateway must survive (see README, "Soak with faults"): before the commit point (retried,
-- then a clean error status) and after it (an error event, then an abnormal end).
local faults = {
  small_with('{"status":500}'),                     -- retried once, then 502
  small_with('{"status":429,"retry_after":"1"}'),   -- passed through with its Retry-After; the provider cools down
  small_with('{"reset":true}'),                     -- connection reset before headers: retried, then 502
  small_with('{"delay_ms":1000}'),                  -- no headers within the provider's timeout: 504
  stream_with('"first_event_error":true'),          -- an error as the first event: retried, then 502
  stream_with('"close_after":5'),                   -- cut after 5 chunks: error event, abnormal end
  stream_with('"hang_after":5'),                    -- stalls after 5 chunks: idle timeout, error event, abnormal end
}
local percent = tonumber(os.getenv("FAULT_PERCENT") or "5")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local body
  if math.random(100) <= percent then
    body = faults[math.random(#faults)]
  else
    body = normal[math.random(#normal)]
  end
  return wrk.format(nil, nil, nil, body)
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
