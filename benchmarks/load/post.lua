-- wrk script: POST the JSON body in $BODY_FILE, and print one machine-readable RESULT line at the end.
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
-- A gateway key when the benchmark configures one (the scale-out benchmark's limited key).
if os.getenv("AUTH_KEY") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("AUTH_KEY")
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "result.lua")
