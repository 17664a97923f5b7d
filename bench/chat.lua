-- wrk script for bench/run: POSTs one realistic (~1 KB) OpenAI chat completion request and, in
-- done(), prints one machine-readable line:
--   BENCH {"requests":N,"duration_us":..,"rps":..,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,
--          "errors":{"connect":..,"read":..,"write":..,"status":..,"timeout":..}}
-- Environment: STREAM=1 adds "stream": true (the same body otherwise), BENCH_PATH overrides the path,
-- BENCH_FORMAT=anthropic sends the same conversation as an Anthropic Messages request instead,
-- BENCH_FORMAT=responses as an OpenAI Responses API request (instructions + input);
-- BENCH_DUMP_BODY=PATH writes the body to PATH (bench/run gives it to h2load).

local stream = os.getenv("STREAM") == "1"
local anthropic = os.getenv("BENCH_FORMAT") == "anthropic"
local responses = os.getenv("BENCH_FORMAT") == "responses"
local path = os.getenv("BENCH_PATH") or "/v1/chat/completions"

local system_prompt = "You are a meticulous support assistant for Acme Cloud, a hosting provider. "
  .. "Answer in plain English, at most five short paragraphs. Quote the exact configuration keys "
  .. "and CLI flags when you mention them, never invent a flag that is not in the documentation, "
  .. "and say so clearly when you are not sure. If the customer shares logs, point to the line that "
  .. "shows the cause before suggesting a fix. Prefer the smallest change that solves the problem, "
  .. "and mention any downtime or data loss a step may cause before the step itself."

local user_prompt = "Our staging deployment started failing health checks after we moved the "
  .. "service behind the new load balancer. The pods are Running, the readiness probe hits /healthz "
  .. "on port 8080 every 10 seconds with a 1 second timeout, and the load balancer health check uses "
  .. "HTTP on the same port. Since the move we see intermittent 502s and the target group flaps "
  .. "between healthy and unhealthy every few minutes. What should we check first, and how do we "
  .. "tell whether the probe timeout or the keep-alive settings are the cause?"

local function quote(s)
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

local body
if anthropic then
  body = '{"model":"claude-sonnet-4-5","system":' .. quote(system_prompt) .. ',"messages":['
    .. '{"role":"user","content":' .. quote(user_prompt) .. '}],'
    .. '"temperature":0.2,"max_tokens":512,"top_p":1,"metadata":{"user_id":"bench-client-0042"}'
    .. (stream and ',"stream":true' or '')
    .. '}'
elseif responses then
  body = '{"model":"gpt-4o-mini","instructions":' .. quote(system_prompt) .. ','
    .. '"input":[{"role":"user","content":' .. quote(user_prompt) .. '}],'
    .. '"temperature":0.2,"max_output_tokens":512,"top_p":1,"user":"bench-client-0042"'
    .. (stream and ',"stream":true' or '')
    .. '}'
else
  body = '{"model":"gpt-4o-mini","messages":['
    .. '{"role":"system","content":' .. quote(system_prompt) .. '},'
    .. '{"role":"user","content":' .. quote(user_prompt) .. '}],'
    .. '"temperature":0.2,"max_tokens":512,"top_p":1,"user":"bench-client-0042"'
    .. (stream and ',"stream":true' or '')
    .. '}'
end

wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
if anthropic then wrk.headers["anthropic-version"] = "2023-06-01" end
wrk.headers["Accept"] = stream and "text/event-stream" or "application/json"
wrk.headers["User-Agent"] = "sluice-bench/1 (wrk)"
if os.getenv("BENCH_KEY") and os.getenv("BENCH_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
end

local req
function init(args)
  req = wrk.format()
  local dump = os.getenv("BENCH_DUMP_BODY")
  if dump and dump ~= "" then
    local f = assert(io.open(dump, "wb"))
    f:write(body)
    f:close()
  end
  if os.getenv("BENCH_SHOW_BODY") == "1" then
    io.stderr:write(string.format("chat.lua: body %d bytes, request %d bytes\n", #body, #req))
  end
end

function request()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
