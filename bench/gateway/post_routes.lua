-- wrk script: authenticated POST /api/v1/routes, a fresh Idempotency-Key per request
-- and a start point that varies, so every request is a real submission (no replay).
local counter = 0
local cookie = os.getenv("WILDSIDE_SESSION") or ""

local function uuid4()
  local template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(template, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

function setup(thread)
  thread:set("id", math.random(1, 1000000))
end

function init(args)
  math.randomseed(os.time() + id)
end

request = function()
  counter = counter + 1
  local lat = 60.15 + (counter % 1000) / 100000
  local body = string.format(
    '{"start":{"lat":%.5f,"lng":24.9384},"duration_minutes":60,"preferences":["history"],"seed":%d}',
    lat, counter)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "session=" .. cookie,
    ["Idempotency-Key"] = uuid4(),
  }
  return wrk.format("POST", "/api/v1/routes", headers, body)
end
