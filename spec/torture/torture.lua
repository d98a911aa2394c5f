-- Torture runs of the Lakebase credential rotator (spec/torture/run.sh runs
-- this with lua5.4; `make torture` with large counts, spec/torture_spec.lua
-- with tiny ones). Everything runs against the workspace simulator, in a
-- scrubbed environment, with the real bin/databricks-oauth-rotator.
--
--  1. kill -9 during rotation, TORTURE_KILLS times: a `--once` run is killed
--     after a random delay spread over a whole run (half of them packed into
--     its last part, where the file is written). After every kill: every
--     other entry of .pgpass is intact byte for byte, the rotated entry is
--     there at most once and whole, no file in the folder is wider than 0600,
--     a leftover temp file is 0600 and the next complete run removes it.
--  2. TORTURE_WRITERS concurrent rotators for different users, each rotating
--     TORTURE_ROUNDS times: every run succeeds, every user has exactly one
--     entry at the end, the other entries are intact, the file is well formed
--     and 0600, no temp file is left, databricks.pgpass.lookup finds each
--     user's password and real libpq (psql against a throw-away PostgreSQL,
--     when one can be started) logs in with it.
--  3. The wall clock jumps forward TORTURE_JUMPS times under a running
--     daemon (clock injected as in spec/rotator_spec.lua, the simulator's
--     token clock advanced alike): each jump is followed by a rotation within
--     TORTURE_JUMP_LIMIT seconds (default 2), and none happens in between.
--  4. One daemon keeps TORTURE_TARGETS targets (default 20) fresh for
--     TORTURE_AGENT_ROUNDS rounds (default 100): each target writes its user's
--     entry into one shared .pgpass and its own pgbouncer auth_file; a third
--     of them talk to an instance whose credential calls are slow (5 s) or
--     refused (503) — faults injected at the simulator. Each round the clock
--     moves an hour on (injected as in part 3), every target is due, and
--     every healthy target must rotate within TORTURE_AGENT_LIMIT seconds
--     (default 2) whatever the faulty ones do; at the end no entry of any
--     output is lost and every healthy target rotated every round.
--
-- Prints one line of figures per part and a total; exits 1 on any failure.
-- TORTURE_PARTS (default "kill,writers,clock,agent") selects parts.
local h = require "support.helpers"
local Sim = require "support.sim"

local KILLS = tonumber(os.getenv("TORTURE_KILLS") or "1000")
local WRITERS = tonumber(os.getenv("TORTURE_WRITERS") or "8")
local ROUNDS = tonumber(os.getenv("TORTURE_ROUNDS") or "100")
local JUMPS = tonumber(os.getenv("TORTURE_JUMPS") or "10")
local JUMP_LIMIT = tonumber(os.getenv("TORTURE_JUMP_LIMIT") or "2")
local PARTS = os.getenv("TORTURE_PARTS") or "kill,writers,clock,agent"
local TARGETS = tonumber(os.getenv("TORTURE_TARGETS") or "20")
local AGENT_ROUNDS = tonumber(os.getenv("TORTURE_AGENT_ROUNDS") or "100")
local AGENT_LIMIT = tonumber(os.getenv("TORTURE_AGENT_LIMIT") or "2")
local VERBOSE = os.getenv("TORTURE_VERBOSE") == "1"

local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"
local PG_PORT = 5432 -- the entries' port; a real server is only needed for psql

local pgpass_mod = (function()
  package.path = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;" .. package.path
  package.cpath = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;" .. package.cpath
  return require "databricks.pgpass"
end)()

local failures_total = 0
local figures = {}

local function say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
  io.stdout:flush()
end

local function failure(part, fmt, ...)
  failures_total = failures_total + 1
  io.stderr:write(string.format("torture: %s: FAIL: " .. fmt, part, ...), "\n")
  io.stderr:flush()
end

-- A part's failure count (c.n) and the function that records one (c.fail).
local function counter(name)
  local c = { n = 0 }
  function c.fail(fmt, ...)
    c.n = c.n + 1
    failure(name, fmt, ...)
  end
  return c
end


local function part_on(name)
  for p in PARTS:gmatch("[^,]+") do
    if p == name then return true end
  end
  return false
end

-- The .pgpass every part starts from: comments, entries with escapes, a
-- wildcard line last (so the rotated entries go above it) and no final
-- newline. Everything but the rotated entries must survive byte for byte.
local ORIGINAL = table.concat({
  "# torture: every byte of this file but the rotated entries must survive",
  "other.example.com:5432:db:me:pw",
  "esc\\:host:1:d\\\\b:u\\:x:p\\:w\\\\",
  "",
  "  # an indented line is not a comment for libpq, keep it anyway",
  "127.0.0.1:" .. PG_PORT .. ":databricks_postgres:not-rotated:old-password",
  "*:*:*:*:wildcard",
}, "\n")

-- The folders of a part whose daemon runs on an injected clock: dir holds a
-- .pgpass with ORIGINAL, outdir the offset file (0) and the daemon's output.
local function clocked_folders(label)
  local dir, outdir = h.tmpdir("torture-" .. label), h.tmpdir("torture-" .. label .. "-out")
  h.write_file(dir .. "/pgpass", ORIGINAL, 384)
  h.write_file(outdir .. "/offset", "0")
  return dir, outdir, dir .. "/pgpass", outdir .. "/offset"
end

local function rotated_line_pattern(user)
  return "^127%.0%.0%.1:" .. PG_PORT .. ":databricks_postgres:" .. user:gsub("%p", "%%%0") .. ":eyJ[%w%-_%.]+$"
end

-- Splits text into lines keeping their ends.
local function lines_of(text)
  local out = {}
  for line in text:gmatch("[^\n]*\n?") do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

-- The text without the lines of the rotated users; and those lines by user.
local function split_rotated(text, users)
  local kept, found = {}, {}
  for _, line in ipairs(lines_of(text)) do
    local body = line:gsub("\n$", "")
    local user = body:match("^127%.0%.0%.1:" .. PG_PORT .. ":databricks_postgres:([^:]+):")
    if user and users[user] then
      found[user] = found[user] or {}
      table.insert(found[user], body)
    else
      kept[#kept + 1] = line
    end
  end
  return table.concat(kept), found
end

local function ls(dir)
  local _, out = h.sh("ls -1A " .. h.quote(dir))
  local names = {}
  for n in out:gmatch("[^\n]+") do names[#names + 1] = n end
  return names
end

local function temp_files(dir)
  local out = {}
  for _, n in ipairs(ls(dir)) do
    if n:match("^pgpass%.tmp%.%d+%.%d+$") then out[#out + 1] = n end
  end
  return out
end

-- Every regular file in dir: mode & 077 == 0 (nothing wider than 0600).
local function wide_files(dir)
  local _, out = h.sh("find " .. h.quote(dir) .. " -maxdepth 1 -type f -perm /077")
  local wide = {}
  for f in out:gmatch("[^\n]+") do wide[#wide + 1] = f end
  return wide
end

local function rotator_argv(sim, dir, user, extra)
  local argv = { ROTATOR, "--once", "--workspace-url", sim.url, "--ca-bundle", sim.ca_file,
                 "--pgpass-file", dir .. "/pgpass", "--log-file", dir .. "/rotator-" .. user .. ".log",
                 "--status-file", dir .. "/status-" .. user .. ".json", "--pg-host", "127.0.0.1",
                 "--pg-port", tostring(PG_PORT), "--pg-username", user }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return argv
end

local function m2m_env(sim)
  return { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret }
end

-- Starts argv in the background under a shell that waits for it, so the
-- killed process is reaped (no zombie piles up whatever PID 1 does).
-- Returns a handle {pid=, pipe=}; finish(handle) closes the pipe.
local function start(argv, env, home, log)
  local cmd = string.format("%s %s </dev/null >%s 2>&1 & echo $!; wait $! 2>/dev/null",
    h.clean_env(home, env), h.join(argv), h.quote(log or "/dev/null"))
  local pipe = io.popen("sh -c " .. h.quote(cmd))
  local pid = tonumber(pipe:read("l"))
  return { pid = pid, pipe = pipe }
end

local function finish(handle)
  handle.pipe:close()
end

local function once(sim, dir, user)
  return h.run(rotator_argv(sim, dir, user), { env = m2m_env(sim), home = dir, timeout = 60 })
end

-- The simulator is one Lua process on lua-sec. When a client dies while
-- the simulator writes its answer, Debian 12's lua-sec 1.2.0 can spin
-- forever inside luasocket's send (SSL_write reports SSL_ERROR_SYSCALL with
-- errno 0, which lua-sec passes on as "done, 0 bytes"; see
-- lunarmodules/luasec#172): the simulator stops answering anyone. That is
-- the test fixture failing, not the rotator, so a stuck simulator is
-- replaced and counted, and the run goes on.
local function sim_answers(sim)
  local res = Sim.client.request(sim.control_url .. "/__sim/state", { timeout = 3 })
  return res ~= nil and res.status == 200
end

local function replace_sim(box)
  h.kill(box.sim.pid, "KILL")
  box.sim:stop()
  box.sim = Sim.start()
  box.replaced = (box.replaced or 0) + 1
end

-- ---------------------------------------------------------------- kill -9 ---
local function part_kill(box)
  local name = "kill -9"
  local dir = h.tmpdir("torture-kill")
  local file = dir .. "/pgpass"
  local users = { victim = true }
  h.write_file(file, ORIGINAL, 384)
  local t_start = h.now()

  local sim = box.sim
  -- Calibrate: how long does a whole run take, from the moment its PID is
  -- known to its exit (what the kill delay is measured against)?
  local durations = {}
  for i = 1, 5 do
    local handle = start(rotator_argv(sim, dir, "victim"), m2m_env(sim), dir)
    local t0 = h.now()
    finish(handle)
    durations[#durations + 1] = h.now() - t0
    if h.read_file(file) == ORIGINAL then
      failure(name, "calibration run %d did not rotate", i)
      return
    end
  end
  table.sort(durations)
  local T = durations[3]

  local stats = { kills = 0, unchanged = 0, rotated = 0, temp_left = 0, temp_cleaned = 0, cleanup_runs = 0 }
  local tally = counter(name)
  local fail = tally.fail

  local before = h.read_file(file)
  for i = 1, KILLS do
    -- Half spread over the whole run, half over its last 30 % (the write).
    local delay = (i % 2 == 0) and (math.random() * T) or ((0.7 + math.random() * 0.3) * T)
    local handle = start(rotator_argv(sim, dir, "victim"), m2m_env(sim), dir)
    h.sleep(delay)
    -- Only while it runs: once it has exited (and been reaped) the PID is
    -- no longer ours to signal.
    if h.alive(handle.pid) then h.kill(handle.pid, "KILL") end
    finish(handle)
    stats.kills = stats.kills + 1
    if not sim_answers(sim) then
      replace_sim(box)
      sim = box.sim
    end

    local text = h.read_file(file) or ""
    local rest, found = split_rotated(text, users)
    if rest ~= ORIGINAL then
      fail("kill %d: the other entries changed:\n--- expected\n%s\n--- got\n%s", i, ORIGINAL, rest)
    end
    local mine = found.victim or {}
    if #mine ~= 1 then
      fail("kill %d: %d entries for the rotated user (want exactly 1)", i, #mine)
    elseif not mine[1]:match(rotated_line_pattern("victim")) then
      fail("kill %d: the rotated entry is not whole: %q", i, mine[1])
    end
    if text == before then
      stats.unchanged = stats.unchanged + 1
    else
      stats.rotated = stats.rotated + 1
    end
    before = text
    local mode = h.mode(file)
    if mode ~= 384 then fail("kill %d: .pgpass mode is %o", i, mode or -1) end
    for _, w in ipairs(wide_files(dir)) do fail("kill %d: %s is wider than 0600", i, w) end
    local temps = temp_files(dir)
    if #temps > 0 then
      stats.temp_left = stats.temp_left + 1
      for _, t in ipairs(temps) do
        local m = h.mode(dir .. "/" .. t)
        if m ~= 384 then fail("kill %d: leftover temp file %s has mode %o", i, t, m or -1) end
      end
      -- The next complete run removes it.
      local r = once(sim, dir, "victim")
      stats.cleanup_runs = stats.cleanup_runs + 1
      if r.code ~= 0 then fail("kill %d: the run after it failed: %s", i, r.stderr) end
      if #temp_files(dir) == 0 then
        stats.temp_cleaned = stats.temp_cleaned + 1
      else
        fail("kill %d: the next run left %s", i, table.concat(temp_files(dir), " "))
      end
      before = h.read_file(file)
    end
    if VERBOSE and i % 100 == 0 then say("  ... %d kills", i) end
  end

  -- A last complete run: the entry is readable and nothing is left over.
  local r = once(sim, dir, "victim")
  if r.code ~= 0 then fail("final run failed: %s", r.stderr) end
  if #temp_files(dir) ~= 0 then fail("temp files after the final run: %s", table.concat(temp_files(dir), " ")) end
  local pw = pgpass_mod.lookup { path = file, host = "127.0.0.1", port = PG_PORT, database = "databricks_postgres",
                                 username = "victim" }
  if type(pw) ~= "string" or not pw:match("^eyJ") then fail("lookup of the rotated entry gave %s", tostring(pw)) end
  local elapsed = h.now() - t_start
  figures[#figures + 1] = string.format(
    "kill -9 during rotation: %d kills, %d failures; file untouched by %d, rotated before the kill in %d; " ..
    "temp file left by %d (all 0600, %d removed by the next run); one run %.0f ms; " ..
    "simulator replaced %d times (lua-sec spin); %.1f s",
    stats.kills, tally.n, stats.unchanged, stats.rotated, stats.temp_left, stats.temp_cleaned, T * 1000,
    box.replaced or 0, elapsed)
  say("torture: %s", figures[#figures])
end

-- -------------------------------------------------------- concurrent writers ---
local function part_writers(box)
  local sim = box.sim
  local name = "writers"
  local dir = h.tmpdir("torture-writers")
  local outdir = h.tmpdir("torture-writers-out") -- the harness's files, not the rotators'
  local file = dir .. "/pgpass"
  h.write_file(file, ORIGINAL, 384)
  local users, names = {}, {}
  for i = 1, WRITERS do
    local u = "writer" .. i .. "@example.com"
    users[u] = true
    names[#names + 1] = u
  end
  local tally = counter(name)
  local fail = tally.fail

  local t0 = h.now()
  local handles = {}
  for i, u in ipairs(names) do
    local script = string.format(
      "fails=0; for k in $(seq %d); do %s || fails=$((fails+1)); done; echo \"fails=$fails\"",
      ROUNDS, h.join(rotator_argv(sim, dir, u)))
    handles[i] = start({ "sh", "-c", script }, m2m_env(sim), dir, outdir .. "/writer" .. i .. ".out")
  end
  for i, handle in ipairs(handles) do
    finish(handle) -- waits for the writer's loop to end
    local out = h.read_file(outdir .. "/writer" .. i .. ".out") or ""
    local fails = tonumber(out:match("fails=(%d+)"))
    if fails ~= 0 then
      fail("writer %d: %s of %d runs failed:\n%s", i, tostring(fails), ROUNDS, out:sub(-2000))
    end
  end
  local elapsed = h.now() - t0

  local text = h.read_file(file) or ""
  local rest, found = split_rotated(text, users)
  if rest ~= ORIGINAL then
    fail("the other entries changed:\n--- expected\n%s\n--- got\n%s", ORIGINAL, rest)
  end
  local present, looked_up = 0, 0
  local passwords = {}
  for _, u in ipairs(names) do
    local mine = found[u] or {}
    if #mine == 1 and mine[1]:match(rotated_line_pattern(u)) then
      present = present + 1
    else
      fail("%s has %d entries (want one whole entry): %s", u, #mine, table.concat(mine, " | "))
    end
    local pw = pgpass_mod.lookup { path = file, host = "127.0.0.1", port = PG_PORT,
                                   database = "databricks_postgres", username = u }
    if type(pw) == "string" and pw:match("^eyJ") then
      looked_up = looked_up + 1
      passwords[u] = pw
    else
      fail("lookup for %s gave %s", u, tostring(pw))
    end
  end
  -- Well formed: every line is a comment, blank, or has five fields.
  for n, line in ipairs(lines_of(text)) do
    local body = line:gsub("\r?\n$", "")
    if body ~= "" and not body:match("^#") and not body:match("^%s+#") then
      local fields = select(2, body:gsub("\\.", ""):gsub(":", ":")) + 1
      if fields ~= 5 then fail("line %d is not host:port:db:user:password: %q", n, body) end
    end
  end
  if h.mode(file) ~= 384 then fail(".pgpass mode is %o", h.mode(file) or -1) end
  for _, w in ipairs(wide_files(dir)) do fail("%s is wider than 0600", w) end
  if #temp_files(dir) ~= 0 then fail("temp files left: %s", table.concat(temp_files(dir), " ")) end

  -- Real libpq reads each entry: a role per user with that password, then
  -- psql logs in through the file (the entries' port is the server's).
  local logins, psql_note = 0, "psql skipped"
  if os.getenv("TORTURE_PSQL") ~= "0" then
    local okpg, PG = pcall(require, "support.pg")
    local pg
    if okpg then
      local ok, started = pcall(PG.start)
      if ok then pg = started else psql_note = "psql skipped (no PostgreSQL: " .. tostring(started):sub(1, 80) .. ")" end
    end
    if pg then
      local ok, err = pcall(function()
        pg:sql("CREATE DATABASE databricks_postgres")
        -- The file names port 5432; psql reads it for the fixture's port
        -- through a copy with the port rewritten, nothing else touched.
        local copy = dir .. "/pgpass-for-psql"
        local rewritten = text:gsub("(127%.0%.0%.1:)" .. PG_PORT .. "(:databricks_postgres:)", "%1" .. pg.port .. "%2")
        h.write_file(copy, rewritten, 384)
        for _, u in ipairs(names) do
          if passwords[u] then
            pg:create_role(u, passwords[u])
            local code, out = pg:psql_login { user = u, database = "databricks_postgres", pgpassfile = copy }
            if code == 0 and out:match("^" .. u:gsub("%p", "%%%0")) then
              logins = logins + 1
            else
              fail("psql could not log in as %s with the rotated entry (exit %s): %s", u, tostring(code), out)
            end
          end
        end
      end)
      pg:stop()
      if not ok then fail("psql check: %s", tostring(err)) end
      psql_note = string.format("psql logins %d/%d", logins, #names)
    end
  end

  figures[#figures + 1] = string.format(
    "concurrent writers: %d writers x %d rounds = %d rotations, %d failures; entries %d/%d, lookups %d/%d, %s; " ..
    "%.0f rotations/s; %.1f s",
    WRITERS, ROUNDS, WRITERS * ROUNDS, tally.n, present, #names, looked_up, #names, psql_note,
    WRITERS * ROUNDS / elapsed, h.now() - t0)
  say("torture: %s", figures[#figures])
end

-- Starts a daemon in a lua5.4 of its own whose clock is the real one plus
-- the seconds in offset_file (a part rewrites it to jump the clock), with
-- the simulator's workspace, CA and service principal and `extra`: Lua
-- source of more Rotator.new options. Returns the process handle.
local function start_clocked_daemon(sim, dir, outdir, offset_file, extra)
  local script = string.format([[
    package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
    package.cpath = %q .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;" .. package.cpath
    local core = require "databricks.core"
    local Rotator = require "databricks.rotator"
    local function offset()
      local f = io.open(%q); local v = f and tonumber(f:read("a")) or 0; if f then f:close() end; return v
    end
    local r = assert(Rotator.new{ workspace_url = %q, ca_bundle = %q, pg_host = "127.0.0.1", pg_port = %d,
      log_file = %q, status_file = %q, client_id = %q, client_secret = %q, rotation_interval = 60, %s,
      clock = function() return core.now() + offset() end })
    os.exit(r:run_daemon())
  ]], h.root, h.root, h.root, offset_file, sim.url, sim.ca_file, PG_PORT, dir .. "/rotator.log",
    dir .. "/status.json", sim.client_id, sim.client_secret, extra)
  return start({ "lua5.4", "-e", script }, { DBX_BUILD = os.getenv("DBX_BUILD") }, dir, outdir .. "/daemon.out")
end

-- --------------------------------------------------------------- clock jump ---
local function part_clock(box)
  local sim = box.sim
  local name = "clock jump"
  local dir, outdir, file, offset_file = clocked_folders("clock")
  local tally = counter(name)
  local fail = tally.fail
  local t_start = h.now()
  local handle = start_clocked_daemon(sim, dir, outdir, offset_file,
    string.format('pg_username = "sleeper", pgpass_file = %q, max_slice = 0.2', file))

  local function rotations()
    local log = h.read_file(dir .. "/rotator.log") or ""
    local _, n = log:gsub("INFO: rotated", "")
    return n
  end
  local latencies = {}
  if not h.wait_for(function() return rotations() >= 1 end, 30) then
    fail("the daemon never rotated: %s", h.read_file(outdir .. "/daemon.out") or "")
  else
    local offset = 0
    for k = 1, JUMPS do
      h.sleep(0.5)
      if rotations() ~= k then
        fail("jump %d: %d rotations before the jump (want %d: the interval is an hour)", k, rotations(), k)
      end
      local before = h.read_file(file)
      -- The machine "slept" two hours: the simulator's token clock and the
      -- daemon's wall clock move together.
      offset = offset + 7200
      sim:advance(7200)
      local t0 = h.now()
      h.write_file(offset_file, tostring(offset))
      if h.wait_for(function() return rotations() >= k + 1 end, JUMP_LIMIT + 5, 0.01) then
        local dt = h.now() - t0
        latencies[#latencies + 1] = dt
        if dt > JUMP_LIMIT then fail("jump %d: rotated %.2f s after the jump (limit %.1f s)", k, dt, JUMP_LIMIT) end
        if h.read_file(file) == before then fail("jump %d: rotated but .pgpass did not change", k) end
      else
        fail("jump %d: no rotation after the jump", k)
      end
    end
    h.sleep(0.5)
    if rotations() ~= JUMPS + 1 then
      fail("%d rotations in all (want %d: one at start, one per jump)", rotations(), JUMPS + 1)
    end
  end
  if h.alive(handle.pid) then h.kill(handle.pid, "TERM") end
  finish(handle)
  for _, w in ipairs(wide_files(dir)) do fail("%s is wider than 0600", w) end
  table.sort(latencies)
  local median = latencies[math.max(1, (#latencies + 1) // 2)] or 0
  figures[#figures + 1] = string.format(
    "clock jump: %d jumps of 2 h, %d failures; rotation after the jump in median %.2f s, max %.2f s " ..
    "(limit %.1f s); %.1f s",
    JUMPS, tally.n, median, latencies[#latencies] or 0, JUMP_LIMIT, h.now() - t_start)
  say("torture: %s", figures[#figures])
end


-- ------------------------------------------------------------ many targets ---
local function part_agent(box)
  local sim = box.sim
  local name = "agent"
  local dir, outdir, pgpass, offset_file = clocked_folders("agent")
  local tally = counter(name)
  local fail = tally.fail
  local t_start = h.now()
  -- Healthy targets share one instance; every third target talks to a slow
  -- one and every sixth (from the fifth) to a refusing one.
  sim:config{ instances = { healthy = { read_write_dns = "127.0.0.1", state = "AVAILABLE" },
                            slow = { read_write_dns = "127.0.0.1", state = "AVAILABLE" },
                            refused = { read_write_dns = "127.0.0.1", state = "AVAILABLE" } } }
  sim:fault{ path = "^/api/2%.0/database/credentials$", match_body = '"slow"', delay = 5, count = -1 }
  sim:fault{ path = "^/api/2%.0/database/credentials$", match_body = '"refused"', status = 503, count = -1 }
  local targets, healthy = {}, {}
  for i = 1, TARGETS do
    local kind = (i % 3 == 0) and "slow" or (i % 6 == 5) and "refused" or "healthy"
    local t = "t" .. i
    local userlist = dir .. "/userlist-" .. t .. ".txt"
    h.write_file(userlist, '; pool ' .. t .. '\n"admin" "admin-pw"\n', 384)
    targets[#targets + 1] = string.format(
      "{ name = %q, instance_name = %q, pg_username = %q, output = { %q, %q } }",
      t, kind, "user-" .. t, "pgpass:" .. pgpass, "pgbouncer:" .. userlist)
    if kind == "healthy" then healthy[t] = userlist end
  end
  local handle = start_clocked_daemon(sim, dir, outdir, offset_file,
    string.format("max_slice = 0.1, timeout = 10, retry_budget = 2, targets = { %s }", table.concat(targets, ", ")))

  local function counts()
    local log = h.read_file(dir .. "/rotator.log") or ""
    local n = {}
    for t in log:gmatch("%[(t%d+)%] rotated") do n[t] = (n[t] or 0) + 1 end
    return n
  end
  local function all_healthy(k)
    local n = counts()
    for t in pairs(healthy) do
      if (n[t] or 0) < k then return false end
    end
    return true
  end
  local latencies = {}
  if not h.wait_for(function() return all_healthy(1) end, 60) then
    fail("the healthy targets never all rotated: %s", (h.read_file(outdir .. "/daemon.out") or ""):sub(1, 2000))
  else
    local offset = 0
    for k = 1, AGENT_ROUNDS do
      offset = offset + 3600
      sim:advance(3600)
      local t0 = h.now()
      h.write_file(offset_file, tostring(offset))
      if h.wait_for(function() return all_healthy(k + 1) end, AGENT_LIMIT + 10, 0.01) then
        local dt = h.now() - t0
        latencies[#latencies + 1] = dt
        if dt > AGENT_LIMIT then fail("round %d: the healthy targets took %.2f s (limit %.1f s)", k, dt, AGENT_LIMIT) end
      else
        fail("round %d: a healthy target did not rotate", k)
        break
      end
    end
  end
  if h.alive(handle.pid) then h.kill(handle.pid, "TERM") end
  h.wait_for(function() return not h.alive(handle.pid) end, 15)
  finish(handle)
  -- Nothing lost: the shared .pgpass keeps every original byte and has
  -- exactly one entry per healthy user; each auth_file keeps its lines.
  -- A slow target's entry may land too (its call answers after 5 s).
  local users = {}
  for i = 1, TARGETS do users["user-t" .. i] = true end
  local text = h.read_file(pgpass) or ""
  local kept, found = split_rotated(text, users)
  if kept ~= ORIGINAL and kept ~= ORIGINAL .. "\n" then fail(".pgpass lost or changed a line it does not own") end
  for u in pairs(users) do
    local n, want_one = found[u] and #found[u] or 0, healthy[u:sub(6)] ~= nil
    if n > 1 or (want_one and n ~= 1) then fail("%s has %d entries in .pgpass", u, n) end
  end
  for t, userlist in pairs(healthy) do
    local ul = h.read_file(userlist) or ""
    if not ul:find('; pool ' .. t .. '\n"admin" "admin-pw"\n', 1, true) then fail("%s lost its lines", userlist) end
    local _, n = ul:gsub('\n"user%-' .. t .. '" "', "")
    if n ~= 1 then fail("%s has %d lines for its user", userlist, n) end
  end
  for _, w in ipairs(wide_files(dir)) do fail("%s is wider than 0600", w) end
  local n = counts()
  local total, slow = 0, 0
  for t, c in pairs(n) do
    total = total + c
    if not healthy[t] then slow = slow + c end
  end
  table.sort(latencies)
  local median = latencies[math.max(1, (#latencies + 1) // 2)] or 0
  figures[#figures + 1] = string.format(
    "agent: %d targets x %d rounds, %d failures; %d rotations (%d by slow targets), healthy targets rotated in "
    .. "median %.2f s, max %.2f s after each round began (limit %.1f s); %.1f s",
    TARGETS, AGENT_ROUNDS, tally.n, total, slow, median, latencies[#latencies] or 0, AGENT_LIMIT, h.now() - t_start)
  say("torture: %s", figures[#figures])
end

-- ---------------------------------------------------------------------- main ---
math.randomseed(tonumber(os.getenv("TORTURE_SEED") or tostring(os.time())))
local t0 = h.now()
local box = { sim = Sim.start() }
local ok, err = pcall(function()
  if part_on("kill") then part_kill(box) end
  if part_on("writers") then part_writers(box) end
  if part_on("clock") then part_clock(box) end
  if part_on("agent") then part_agent(box) end
end)
box.sim:stop()
h.cleanup()
if not ok then failure("torture", "%s", tostring(err)) end
say("torture: total: %d failures in %.1f s (kills=%d writers=%d rounds=%d jumps=%d targets=%d agent rounds=%d)",
  failures_total, h.now() - t0, KILLS, WRITERS, ROUNDS, JUMPS, TARGETS, AGENT_ROUNDS)
os.exit(failures_total == 0 and 0 or 1)
