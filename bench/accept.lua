-- wrk script for bench/receiver_load.py: POST a brief to /api-endpoint, each with its own nonce, at a fixed rate.
-- Arguments (after `--`): BODY_FILE RATE_PER_THREAD MODE
--   BODY_FILE: the brief's JSON with the text @@NONCE@@ where the nonce goes
--   RATE_PER_THREAD: requests per second this thread schedules; 0 = as fast as the connections go (saturation)
--   MODE: unique (a new nonce per request: every POST is a new brief) or duplicate (one nonce: every POST after
--         the first is the duplicate path)
-- The schedule is per thread: each finished response claims the next slot of a fixed timetable, so with enough
-- connections requests leave on time whatever the latency; `late` counts slots that had already passed (the
-- server fell behind the offered rate).
-- done() prints one JSON line, `wrk-result {...}`, that the benchmark parses.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local template = f:read("*a")
  f:close()
  pre, post = template:match("^(.-)@@NONCE@@(.*)$")
  assert(pre, "the body file has no @@NONCE@@")
  local rate = tonumber(args[2])
  interval = rate > 0 and 1000 / rate or 0
  duplicate = args[3] == "duplicate"
  counter = 0
  late = 0
  next_at = nil
  headers = { ["Content-Type"] = "application/json" }
  run_id = tostring(os.time())
end

function delay()
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  next_at = (next_at or now) + interval
  local wait = next_at - now
  if wait < 0 then
    late = late + 1
    return 0
  end
  return wait
end

function request()
  counter = counter + 1
  local nonce = duplicate and "bench-duplicate" or ("bench-" .. run_id .. "-" .. tid .. "-" .. counter)
  return wrk.format("POST", "/api-endpoint", headers, pre .. nonce .. post)
end

function done(summary, latency, requests)
  local late_total = 0
  for _, thread in ipairs(threads) do
    late_total = late_total + (thread:get("late") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'wrk-result {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "late": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, late_total))
end
