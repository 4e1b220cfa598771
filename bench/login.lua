-- wrk script of bench/login.ts (one thread: run wrk with -t1). Two modes, chosen by env:
--
--   WRK_MODE=login      POST the URL's path with {"login":…,"password":…}, rotating through the
--                       accounts in WRK_USERS (comma-separated), so that consecutive requests, and
--                       the ones in flight together, are for different accounts (latchkey
--                       serializes attempts on one account). WRK_PASSWORD is their password.
--   WRK_MODE=protected  GET the URL with the headers given by -H; with WRK_DELAY_MS > 0 each
--                       connection waits that long before its next request (a moderate rate).
--
-- WRK_UA is the User-Agent of every request (the sessions are bound to it). At the end it prints
-- one line, `STATUS 200=… 401=… 403=… 429=… 503=… other=… nocookie=…`, for the driver to read:
-- nocookie counts 200 answers to a login without a Set-Cookie.

local mode = os.getenv("WRK_MODE") or "login"
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0") or 0

local bodies = {}
local n = 0
local i = 0

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function init(args)
  s200, s401, s403, s429, s503, sother, nocookie = 0, 0, 0, 0, 0, 0, 0
  wrk.headers["User-Agent"] = os.getenv("WRK_UA") or "latchkey-bench/1.0"
  if mode == "login" then
    local password = os.getenv("WRK_PASSWORD") or ""
    for login in string.gmatch(os.getenv("WRK_USERS") or "", "[^,]+") do
      n = n + 1
      bodies[n] = '{"login":' .. json_string(login) .. ',"password":' .. json_string(password) .. '}'
    end
    if n == 0 then error("WRK_USERS is empty") end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end

if mode == "login" then
  function request()
    i = i % n + 1
    return wrk.format(nil, nil, nil, bodies[i])
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function response(status, headers, body)
  if status == 200 then
    s200 = s200 + 1
    if mode == "login" and headers["set-cookie"] == nil and headers["Set-Cookie"] == nil then nocookie = nocookie + 1 end
  elseif status == 401 then s401 = s401 + 1
  elseif status == 403 then s403 = s403 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = { s200 = 0, s401 = 0, s403 = 0, s429 = 0, s503 = 0, sother = 0, nocookie = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do total[name] = total[name] + (thread:get(name) or 0) end
  end
  io.write(string.format("STATUS 200=%d 401=%d 403=%d 429=%d 503=%d other=%d nocookie=%d\n",
    total.s200, total.s401, total.s403, total.s429, total.s503, total.sother, total.nocookie))
end
