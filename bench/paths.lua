-- wrk script: GET /index/<path> for paths drawn at random from a fixed list.
--
--   wrk -t2 -c64 -d15s --latency -s bench/paths.lua http://127.0.0.1:PORT -- PATHS_FILE [SEED]
--
-- PATHS_FILE holds one index path per line (`ab/cd/abcd`, `3/a/abc`, ...), without the
-- `/index/` prefix. Every wrk thread seeds its generator with SEED + its thread number, so two
-- runs with the same threads draw the same sequence of paths: both servers get the same mix.
-- The requests are formatted once in init(), and there is no response() callback, so the
-- generator's per-request cost stays what plain wrk costs.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_number", counter)
   table.insert(threads, thread)
end

function init(args)
   local file = args[1]
   if file == nil then
      error("usage: wrk ... -s paths.lua URL -- PATHS_FILE [SEED]")
   end
   local seed = tonumber(args[2] or "1")
   requests = {}
   for line in io.lines(file) do
      if line ~= "" then
         requests[#requests + 1] = wrk.format("GET", "/index/" .. line)
      end
   end
   if #requests == 0 then
      error("no paths in " .. file)
   end
   math.randomseed(seed * 7919 + (thread_number or 0))
end

function request()
   return requests[math.random(#requests)]
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format("paths.lua: %d requests, %d connect / %d read / %d write / %d timeout errors, %d non-2xx/3xx\n",
      summary.requests, errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
