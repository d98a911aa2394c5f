--- In-process benchmarks, run by bench/main.lua as separate `lua5.4`
-- processes (so the orchestrator never loads the code under test). Each mode
-- prints `key=value` lines on stdout and exits non-zero when the benchmark
-- itself broke (a failed call is a broken bench, never a slow result).
--
--   lua5.4 bench/inproc.lua token   URL CA CLIENT_ID SECRET N ROUNDS
--   lua5.4 bench/inproc.lua request URL CA CLIENT_ID SECRET N PATH
--   lua5.4 bench/inproc.lua pgpass  DIR ENTRIES RUNS
--   lua5.4 bench/inproc.lua rows    URL CA PAT WAREHOUSE STATEMENT TYPED PREFETCH
--   lua5.4 bench/inproc.lua decode  DIR
--   lua5.4 bench/inproc.lua upload  URL CA PAT REMOTE FILE
--   lua5.4 bench/inproc.lua download URL CA PAT REMOTE FILE
--
-- Timing: CPU-bound loops use os.clock() (process CPU time); anything that
-- waits on a server or a disk uses the wall clock (lua-socket's gettime).
local databricks = require "databricks"
local socket = require "socket"

local mode = arg[1]

local function fail(fmt, ...)
  io.stderr:write("bench/inproc.lua ", tostring(mode), ": ", string.format(fmt, ...), "\n")
  os.exit(1)
end

local function connect(url, ca, id, secret)
  local client, err = databricks.connect{
    host = url, auth_type = "oauth_m2m", client_id = id, client_secret = secret, ca_bundle = ca,
  }
  if not client then fail("connect: %s", tostring(err)) end
  return client
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- client:token() on a fresh cached token, beside an empty Lua function call
-- in the same loop shape. Rounds alternate; the best of each is reported
-- (the least disturbed by the machine, which is what a rate target means).
local function bench_token(url, ca, id, secret, n, rounds)
  local client = connect(url, ca, id, secret)
  local tok, exp = client:token()
  if not tok then fail("first token(): %s", tostring(exp)) end
  local function empty() end
  local best_empty, best_token = 0, 0
  for _ = 1, rounds do
    local t0 = os.clock()
    for _ = 1, n do empty(client) end
    local dt = os.clock() - t0
    best_empty = math.max(best_empty, n / math.max(dt, 1e-9))
    t0 = os.clock()
    for _ = 1, n do client:token() end
    dt = os.clock() - t0
    best_token = math.max(best_token, n / math.max(dt, 1e-9))
  end
  local again = client:token()
  if again ~= tok then fail("the cached token changed during the loop (it was refreshed)") end
  client:close()
  print(string.format("empty_cps=%.0f", best_empty))
  print(string.format("token_cps=%.0f", best_token))
  print(string.format("token_len=%d", #tok))
end

-- Sequential client:request() calls over one client (one kept-alive
-- connection). A warm-up call (discovery, token, TLS handshake) comes first.
-- SCIM Me comes back decoded (a table); /bench/raw is not JSON and comes
-- back as a string.
local function bench_request(url, ca, id, secret, n, path)
  local client = connect(url, ca, id, secret)
  local first, info = client:request("GET", path)
  local want = path:find("scim", 1, true) and "table" or "string"
  if type(first) ~= want then fail("warm-up request: got %s (%s), want a %s", type(first), tostring(info), want) end
  local t0, c0 = socket.gettime(), os.clock()
  for _ = 1, n do
    local r, e = client:request("GET", path)
    if not r then fail("request: %s", tostring(e)) end
  end
  local cpu, dt = os.clock() - c0, socket.gettime() - t0
  client:close()
  print(string.format("requests=%d seconds=%.6f rps=%.1f cpu_us=%.2f", n, dt, n / dt, cpu / n * 1e6))
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- A .pgpass with `entries` lines; the one being rotated is the LAST line
-- (the writer has to read and keep everything before it). Other passwords
-- are 40 characters; the rotated one is a ~1 KB token, as in real use.
local function pgpass_file(entries)
  local lines = { "# benchmark .pgpass" }
  for i = 1, entries - 1 do
    lines[#lines + 1] = string.format("db-%05d.example.com:5432:databricks_postgres:user%05d@example.com:%s",
      i, i, string.rep(string.char(97 + i % 26), 40))
  end
  lines[#lines + 1] = "instance.database.example.com:5432:databricks_postgres:bench@example.com:"
    .. string.rep("x", 1000)
  return table.concat(lines, "\n") .. "\n"
end

-- The baseline: the same file read, one line replaced and written back
-- through a temp file and rename in plain Lua — no lock, no fsync, no
-- escaping rules: what the file's size alone costs.
local function naive_update(path, password)
  local s = read_file(path)
  local key = "instance.database.example.com:5432:databricks_postgres:bench@example.com:"
  local at = s:find(key, 1, true)
  if not at then fail("naive update: entry not found") end
  local eol = s:find("\n", at, true)
  s = s:sub(1, at - 1) .. key .. password .. s:sub(eol)
  write_file(path .. ".tmp", s)
  assert(os.rename(path .. ".tmp", path))
end

local function bench_pgpass(dir, entries, runs)
  local path = dir .. "/pgpass-" .. entries
  local base = dir .. "/naive-" .. entries
  write_file(path, pgpass_file(entries))
  write_file(base, pgpass_file(entries))
  local pw = { string.rep("A", 1000), string.rep("B", 1000) }
  local wall, cpu, naive = {}, {}, {}
  for i = 1, runs do
    local password = pw[i % 2 + 1] -- a new password each time: the file is rewritten
    local w0, c0 = socket.gettime(), os.clock()
    local r, err = databricks.pgpass.update{
      path = path, host = "instance.database.example.com", port = 5432, database = "databricks_postgres",
      username = "bench@example.com", password = password,
    }
    local c1, w1 = os.clock(), socket.gettime()
    if not r then fail("pgpass.update: %s", tostring(err)) end
    if r.action ~= "replaced" or not r.written or r.line ~= entries + 1 then
      fail("pgpass.update did %s at line %s (want replaced at line %d)", tostring(r.action), tostring(r.line),
        entries + 1)
    end
    wall[i], cpu[i] = (w1 - w0) * 1000, (c1 - c0) * 1000
    w0 = socket.gettime()
    naive_update(base, password)
    naive[i] = (socket.gettime() - w0) * 1000
  end
  local got = read_file(path)
  if #got ~= #read_file(base) then fail("the rewritten file has an unexpected size") end
  print(string.format("entries=%d bytes=%d", entries, #got))
  print(string.format("wall_ms=%.4f", median(wall)))
  print(string.format("cpu_ms=%.4f", median(cpu)))
  print(string.format("naive_ms=%.4f", median(naive)))
end

-- Peak RSS of this process so far (KiB).
local function hwm_kib()
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end

-- CPU seconds of this process's main thread (the Lua thread), from /proc.
local function main_thread_cpu()
  local f = io.open("/proc/self/stat", "r")
  if not f then return 0 end
  local pid = f:read("a"):match("^(%d+)")
  f:close()
  f = io.open("/proc/self/task/" .. pid .. "/stat", "r")
  if not f then return 0 end
  local fields = {}
  for v in f:read("a"):gsub("^.-%) ", ""):gmatch("%S+") do fields[#fields + 1] = v end
  f:close()
  return ((tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0)) / 100
end

-- st:rows() over a whole EXTERNAL_LINKS result, each row touched as a
-- consumer would (its first value read).
local function bench_rows(url, ca, pat, warehouse, statement, typed, prefetch, batch_bytes, batch_rows)
  local client, err = databricks.connect{ host = url, token = pat, ca_bundle = ca, warehouse_id = warehouse }
  if not client then fail("connect: %s", tostring(err)) end
  local st
  st, err = client:execute(statement, { typed = typed == "typed", prefetch = tonumber(prefetch), timeout = 3600,
    _batch_bytes = tonumber(batch_bytes), _batch_rows = tonumber(batch_rows) })
  if not st then fail("execute: %s", tostring(err)) end
  local ok
  ok, err = st:wait()
  if not ok then fail("wait: %s", tostring(err)) end
  local n, sink = 0, nil
  local t0, c0, m0 = socket.gettime(), os.clock(), main_thread_cpu()
  local pok, perr = pcall(function()
    for row in st:rows() do
      n = n + 1
      sink = row[1]
    end
  end)
  local dt, cpu, main = socket.gettime() - t0, os.clock() - c0, main_thread_cpu() - m0
  if not pok then fail("rows: %s", tostring(perr)) end
  local stats = st:_stats()
  st:close()
  client:close()
  print(string.format("rows=%d seconds=%.6f cpu=%.6f main_cpu=%.2f hwm_kib=%d max_parallel=%d links_s=%.3f wait_s=%.3f "
    .. "last=%s", n, dt, cpu, main, hwm_kib(), stats.max_parallel, stats.links_seconds, stats.wait_seconds, type(sink)))
end

-- The baseline's second pass: lua-cjson decoding each downloaded chunk
-- (read first, not timed) and touching each row as bench_rows does. The
-- collector runs as it does in bench_rows (no collection forced outside the
-- timed part, which would hide its cost).
local function bench_decode(dir)
  local cjson = require "cjson"
  local p = io.popen("ls " .. dir)
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  local n, bytes, dt, cpu, sink = 0, 0, 0, 0, nil
  for _, name in ipairs(names) do
    local body = read_file(dir .. "/" .. name)
    bytes = bytes + #body
    local t0, c0 = socket.gettime(), os.clock()
    local rows = cjson.decode(body)
    for _, row in ipairs(rows) do
      n = n + 1
      sink = row[1]
    end
    rows = nil -- luacheck: ignore
    dt, cpu = dt + socket.gettime() - t0, cpu + os.clock() - c0
    body = nil -- luacheck: ignore
  end
  print(string.format("rows=%d bytes=%d seconds=%.6f cpu=%.6f files=%d last=%s", n, bytes, dt, cpu, #names,
    type(sink)))
end

-- One upload or download of a volume file.
local function bench_file(way, url, ca, pat, remote, file)
  local client, err = databricks.connect{ host = url, token = pat, ca_bundle = ca }
  if not client then fail("connect: %s", tostring(err)) end
  local t0 = socket.gettime()
  local ok
  if way == "upload" then
    ok, err = client:upload_file(remote, file, { overwrite = true })
  else
    ok, err = client:download_file(remote, file, { overwrite = true })
  end
  local dt = socket.gettime() - t0
  if not ok then fail("%s: %s", way, tostring(err)) end
  client:close()
  print(string.format("seconds=%.6f hwm_kib=%d", dt, hwm_kib()))
end

if mode == "token" then
  bench_token(arg[2], arg[3], arg[4], arg[5], tonumber(arg[6]), tonumber(arg[7]))
elseif mode == "request" then
  bench_request(arg[2], arg[3], arg[4], arg[5], tonumber(arg[6]), arg[7])
elseif mode == "pgpass" then
  bench_pgpass(arg[2], tonumber(arg[3]), tonumber(arg[4]))
elseif mode == "rows" then
  bench_rows(arg[2], arg[3], arg[4], arg[5], arg[6], arg[7], arg[8], arg[9], arg[10])
elseif mode == "decode" then
  bench_decode(arg[2])
elseif mode == "upload" or mode == "download" then
  bench_file(mode, arg[2], arg[3], arg[4], arg[5], arg[6])
else
  fail("unknown mode (token, request, pgpass, rows, decode, upload, download)")
end
