-- wrk script: every request carries a batch of alerts that no request before it carried.
--
-- Script arguments (after `--` on wrk's command line):
--   1 format     "webhook" (Sophrosyne: Alertmanager webhook payload v4) or
--                "amv2" (Alertmanager's own POST /api/v2/alerts: a JSON array)
--   2 batch      alerts per request
--   3 phase      a number (0..65535) unique to this measurement within the bench run
--   4 names      how many alertnames to spread alerts over (BenchAlert0 .. BenchAlert<names-1>)
--   5 starts_at  RFC 3339 time for startsAt
--   6 ends_at    RFC 3339 time for endsAt ("0001-01-01T00:00:00Z" for a firing webhook alert)
-- Environment: BENCH_TOKEN, if set, is sent as "Authorization: Bearer <token>".
--
-- Uniqueness: the fingerprint is 16 hex digits = phase (4) + thread (4) + counter (8), and the
-- instance label carries the same three numbers, so no two alerts of a run share either.

local next_thread = 0

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

local format, batch, phase, names, starts_at, ends_at
local counter = 0
local headers = {}

function init(args)
  format = args[1]
  batch = tonumber(args[2])
  phase = tonumber(args[3])
  names = tonumber(args[4])
  starts_at = args[5]
  ends_at = args[6]
  headers["Content-Type"] = "application/json"
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
end

-- One alert as JSON text; `n` is this thread's running alert number.
local function alert(n)
  local fingerprint = string.format("%04x%04x%08x", phase, thread_no, n)
  local instance = string.format("bench-%d-%d-%d", phase, thread_no, n)
  local name = "BenchAlert" .. (n % names)
  local labels = '{"alertname":"' .. name .. '","instance":"' .. instance
    .. '","job":"bench","severity":"warning"}'
  local annotations = '{"summary":"benchmark alert ' .. instance .. '"}'
  local common = '"labels":' .. labels .. ',"annotations":' .. annotations
    .. ',"startsAt":"' .. starts_at .. '","endsAt":"' .. ends_at
    .. '","generatorURL":"http://127.0.0.1:9090/graph?g0.expr=up"'
  if format == "webhook" then
    return '{"status":"firing",' .. common .. ',"fingerprint":"' .. fingerprint .. '"}'
  end
  return "{" .. common .. "}"
end

function request()
  local parts = {}
  for i = 1, batch do
    parts[i] = alert(counter)
    counter = counter + 1
  end
  local alerts = "[" .. table.concat(parts, ",") .. "]"
  local body
  if format == "webhook" then
    body = '{"version":"4","groupKey":"{}:{bench=\\"' .. phase .. "-" .. thread_no .. '\\"}"'
      .. ',"truncatedAlerts":0,"status":"firing","receiver":"bench","groupLabels":{}'
      .. ',"commonLabels":{},"commonAnnotations":{},"externalURL":"http://127.0.0.1:9093"'
      .. ',"alerts":' .. alerts .. "}"
  else
    body = alerts
  end
  return wrk.format("POST", nil, headers, body)
end
