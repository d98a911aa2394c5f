-- The live-workspace test runner (`make live-test`, spec/live/run.sh): for
-- each auth mode whose credentials are in the credentials file, runs
-- connect + validate_connection + one SQL statement + one rotation against a
-- real workspace, every mode in its own child process, all in parallel.
--
-- Isolation is the point: a child starts from `env -i` with PATH, a fresh
-- HOME and TMPDIR (0700, empty), LANG, and the variables of its own mode read
-- from a 0600 file (never from argv, which other users can see); nothing of
-- the runner's environment is inherited. A developer's DATABRICKS_* variables,
-- ~/.databrickscfg or ~/.pgpass therefore cannot change what a mode tests,
-- and the modes cannot see each other's credentials.
--
-- Output: a per-mode pass/fail/skip report in Markdown and JSON. Without a
-- credentials file every mode is skipped and the exit status is 0.
-- Exit status: 0 nothing failed, 1 a mode failed, 2 usage or a bad file.
-- Plain Lua 5.4 + lua-cjson: the runner never loads the code under test;
-- the children do (spec/live/mode.lua).
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local credentials = dofile(here .. "/credentials.lua")
local cjson = require "cjson"

local USAGE = [[
Usage: spec/live/run.sh [--credentials FILE] [--report PREFIX] [--modes LIST]
                        [--timeout SECONDS] [--keep] [--help]

Runs connect, validate_connection, one SQL statement and one rotation
against a real Databricks workspace for each auth mode (pat, oauth_m2m,
oauth_u2m_token, databricks_cli) whose section is in the credentials file,
each in its own scrubbed environment, in parallel.

  --credentials FILE  credentials (INI, see spec/live/credentials.example.ini);
                      default $DBX_LIVE_CREDENTIALS, else spec/live/credentials.ini
  --report PREFIX     write PREFIX.md and PREFIX.json (default $DBX_LIVE_REPORT,
                      else spec/live/report)
  --modes LIST        comma-separated subset of the modes
  --timeout SECONDS   per mode (default 600: a stopped warehouse takes minutes)
  --keep              keep each mode's temporary HOME (logs, .pgpass) and say where

Exit status: 0 no mode failed (skips are fine), 1 a mode failed, 2 usage or
an unreadable credentials file.
]]

local CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

local function quote(s)
  s = tostring(s)
  if s:match("^[%w%._/:=,+%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local out = p:read("a")
  p:close()
  return (out:gsub("%s+$", ""))
end

local function fail_usage(message)
  io.stderr:write("live-test: ", message, "\n")
  os.exit(2)
end

local function parse_args(argv)
  local o = { timeout = 600 }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local function value()
      i = i + 1
      if argv[i] == nil then fail_usage(a .. " needs a value") end
      return argv[i]
    end
    if a == "--help" or a == "-h" then
      io.stdout:write(USAGE)
      os.exit(0)
    elseif a == "--credentials" then o.credentials = value()
    elseif a == "--report" then o.report = value()
    elseif a == "--modes" then o.modes = value()
    elseif a == "--timeout" then
      o.timeout = tonumber(value())
      if not o.timeout or o.timeout <= 0 then fail_usage("--timeout needs a positive number of seconds") end
    elseif a == "--keep" then o.keep = true
    elseif a == "--root" then o.root = value()
    elseif a == "--build" then o.build = value()
    else fail_usage("unknown argument '" .. a .. "' (see --help)") end
    i = i + 1
  end
  return o
end

-- Replaces every known secret by [REDACTED] (belt and braces: the children
-- never print one, but the report must not depend on that).
local function redactor(secrets)
  return function(text)
    if type(text) ~= "string" then return text end
    for _, s in ipairs(secrets) do
      local from = 1
      while true do
        local a, b = text:find(s, from, true)
        if not a then break end
        text = text:sub(1, a - 1) .. "[REDACTED]" .. text:sub(b + 1)
        from = a + #"[REDACTED]"
      end
    end
    return text
  end
end

local function home_path(p, home)
  if p and home and p:sub(1, 2) == "~/" then return home .. p:sub(2) end
  return p
end

-- The credentials: explicit file (must exist), else the default (optional).
local function load_credentials(o, root)
  local path = o.credentials or os.getenv("DBX_LIVE_CREDENTIALS")
  local explicit = path ~= nil and path ~= ""
  if not explicit then path = root .. "/spec/live/credentials.ini" end
  local text = read_file(path)
  if not text then
    if explicit then fail_usage("cannot read the credentials file " .. path) end
    return nil, nil
  end
  local mode = sh("stat -c %a " .. quote(path) .. " || stat -f %Lp " .. quote(path))
  if mode:match("[^0]$") or mode:match("[^0].$") then
    io.stderr:write("live-test: warning: ", path, " is mode ", mode, "; it holds secrets: chmod 600 it\n")
  end
  local creds, err = credentials.parse(text, path)
  if not creds then fail_usage(err) end
  return creds, path
end

local function env_file(vars)
  local keys = {}
  for k in pairs(vars) do keys[#keys + 1] = k end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = k .. "=" .. quote(vars[k]) end
  return table.concat(lines, "\n") .. "\n"
end

-- Prepares each mode's private folder and returns the shell command that
-- starts its child in the background.
local function prepare(entry, work, ctx)
  local dir = work .. "/" .. entry.mode
  entry.dir, entry.home, entry.tmp = dir, dir .. "/home", dir .. "/tmp"
  entry.result_file, entry.out, entry.err, entry.rc_file = dir .. "/result.json", dir .. "/stdout",
    dir .. "/stderr", dir .. "/rc"
  assert(os.execute(string.format("umask 077 && mkdir -p %s %s", quote(entry.home), quote(entry.tmp))))
  for name, target in pairs(entry.home_links or {}) do
    os.execute(string.format("ln -s %s %s", quote(home_path(target, os.getenv("HOME"))),
      quote(entry.home .. "/" .. name)))
  end
  local vars = {}
  for k, v in pairs(entry.env) do vars[k] = v end
  vars.DBX_LIVE_MODE = entry.mode
  vars.DBX_LIVE_RESULT = entry.result_file
  vars.LUA_PATH = ctx.root .. "/lua/?.lua;" .. ctx.root .. "/lua/?/init.lua;;"
  vars.LUA_CPATH = ctx.build .. "/?.so;;"
  local envf = dir .. "/env"
  assert(os.execute("umask 077 && : > " .. quote(envf)))
  write_file(envf, env_file(vars))
  -- cd first (a shell started inside env -i would export PWD); the env file
  -- is sourced with allexport; then the child replaces the shell.
  return string.format(
    "( cd %s && exec timeout -k 5 %d env -i PATH=%s HOME=%s TMPDIR=%s LANG=C.UTF-8 " ..
    "/bin/sh -c 'set -a; . \"$1\"; set +a; unset PWD OLDPWD; exec lua5.4 \"$2\"' live-mode %s %s " ..
    ">%s 2>%s; echo $? >%s ) &",
    quote(entry.home), math.ceil(ctx.timeout), quote(CHILD_PATH), quote(entry.home), quote(entry.tmp),
    quote(envf), quote(ctx.here .. "/mode.lua"), quote(entry.out), quote(entry.err), quote(entry.rc_file))
end

local function last_line(text)
  local last
  for l in (text or ""):gmatch("[^\n]+") do
    if l:match("%S") then last = l end
  end
  return last
end

-- Reads a child's result; a child that left none failed.
local function collect(entry, redact, timeout)
  local rc = tonumber(read_file(entry.rc_file) or "")
  local ok, result = pcall(cjson.decode, read_file(entry.result_file) or "")
  if ok and type(result) == "table" and result.status then
    for k, v in pairs(result) do
      if entry[k] == nil or k == "status" then entry[k] = v end
    end
  else
    entry.status = "fail"
    local why = rc == 124 and string.format("timed out after %d s", timeout) or ("exit " .. tostring(rc))
    local err = last_line(read_file(entry.err))
    entry.reason = "the mode's process ended without a result (" .. why .. ")" .. (err and (": " .. err) or "")
  end
  entry.reason = redact(entry.reason)
  for _, s in ipairs(entry.steps or {}) do s.detail = redact(s.detail) end
end

local STEPS = { "connect", "validate", "sql", "rotate" }

local function duration(ms)
  if not ms then return "–" end
  return ms < 1000 and string.format("%d ms", ms) or string.format("%.1f s", ms / 1000)
end

local function markdown(report)
  local out = {}
  local function add(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
  add("# Live workspace test")
  add("")
  add("%s · lua-databricks %s · credentials: %s", report.generated_at, report.version or "?",
    report.credentials_file and ("`" .. report.credentials_file .. "`") or "none")
  add("")
  add("**%d passed, %d failed, %d skipped**", report.summary.pass, report.summary.fail, report.summary.skip)
  add("")
  add("| mode | result | connect | validate | sql | rotate | time |")
  add("|---|---|---|---|---|---|---|")
  for _, m in ipairs(report.modes) do
    local cells = {}
    local by = {}
    for _, s in ipairs(m.steps or {}) do by[s.name] = s.status end
    for i, name in ipairs(STEPS) do cells[i] = by[name] or "–" end
    add("| %s | **%s** | %s | %s | %s | %s | %s |", m.mode, m.status, cells[1], cells[2], cells[3], cells[4],
      duration(m.duration_ms))
  end
  for _, m in ipairs(report.modes) do
    add("")
    add("## %s — %s", m.mode, m.status)
    add("")
    if m.reason then add("%s", m.reason) end
    if m.reason and (m.steps or m.isolation) then add("") end
    for _, s in ipairs(m.steps or {}) do
      add("- **%s**: %s (%d ms)%s", s.name, s.status, s.ms or 0, s.detail and (" — " .. s.detail) or "")
    end
    if m.isolation then
      add("- environment: %s", table.concat(m.isolation.env or {}, ", "))
      add("- HOME: fresh (%s at start)", #(m.isolation.home_entries or {}) == 0 and "empty" or
        table.concat(m.isolation.home_entries, ", "))
    end
    if m.kept then add("- kept: `%s`", m.kept) end
  end
  return table.concat(out, "\n") .. "\n"
end

local function main(argv)
  local o = parse_args(argv)
  local root = o.root or os.getenv("DBX_ROOT") or sh("cd " .. quote(here .. "/../..") .. " && pwd")
  local build = o.build or (root .. "/" .. (os.getenv("DBX_BUILD") or "build"))
  local report_prefix = o.report or os.getenv("DBX_LIVE_REPORT")
  if not report_prefix or report_prefix == "" then report_prefix = root .. "/spec/live/report" end
  local creds, cred_path = load_credentials(o, root)
  local redact = redactor(creds and credentials.secrets(creds) or {})

  local wanted
  if o.modes then
    wanted = {}
    local known = {}
    for _, m in ipairs(credentials.MODES) do known[m] = true end
    for m in o.modes:gmatch("[^,%s]+") do
      if not known[m] then fail_usage("unknown mode '" .. m .. "' (" .. table.concat(credentials.MODES, ", ") .. ")") end
      wanted[m] = true
    end
  end

  local plan = credentials.plan(creds, { resolve = function(p)
    local found = sh("command -v " .. quote(p))
    return found ~= "" and found or nil
  end })
  local runs = {}
  for _, e in ipairs(plan) do
    if wanted and not wanted[e.mode] then
      e.status, e.reason, e.env = "skip", "not selected (--modes)", nil
    elseif e.status == "run" then
      runs[#runs + 1] = e
    end
  end

  local work
  if #runs > 0 then
    work = sh("mktemp -d " .. quote((os.getenv("TMPDIR") or "/tmp") .. "/dbx-live.XXXXXX"))
    assert(work ~= "", "mktemp failed")
    os.execute("chmod 0700 " .. quote(work))
    local ctx = { root = root, build = build, here = sh("cd " .. quote(here) .. " && pwd"), timeout = o.timeout }
    local script = {}
    for _, e in ipairs(runs) do script[#script + 1] = prepare(e, work, ctx) end
    script[#script + 1] = "wait"
    io.stdout:write(string.format("live-test: running %d mode(s) in parallel: ", #runs))
    for i, e in ipairs(runs) do io.stdout:write(i > 1 and ", " or "", e.mode) end
    io.stdout:write("\n")
    io.stdout:flush()
    os.execute(table.concat(script, "\n"))
    for _, e in ipairs(runs) do
      collect(e, redact, o.timeout)
      if o.keep then e.kept = e.dir end
    end
  end

  local version_h = read_file(root .. "/src/version.h") or ""
  local report = {
    version = version_h:match('#define DBX_VERSION "([^"]+)"'),
    generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"), credentials_file = cred_path,
    summary = { pass = 0, fail = 0, skip = 0 }, modes = {},
  }
  for _, e in ipairs(plan) do
    if e.status == "run" then e.status = "fail" end -- cannot happen: collect sets it
    report.summary[e.status] = report.summary[e.status] + 1
    report.modes[#report.modes + 1] = {
      mode = e.mode, status = e.status, reason = e.reason, steps = e.steps, duration_ms = e.duration_ms,
      started_at = e.started_at, finished_at = e.finished_at, isolation = e.isolation, user_agent = e.user_agent,
      kept = e.kept,
    }
  end
  write_file(report_prefix .. ".json", cjson.encode(report) .. "\n")
  write_file(report_prefix .. ".md", markdown(report))
  if work and not o.keep then os.execute("rm -rf " .. quote(work)) end
  if work and o.keep then io.stdout:write("live-test: kept each mode's folder under ", work, "\n") end

  for _, m in ipairs(report.modes) do
    io.stdout:write(string.format("%-16s %-4s  %s\n", m.mode, m.status,
      m.reason or duration(m.duration_ms)))
  end
  io.stdout:write(string.format("live-test: %d passed, %d failed, %d skipped; report %s.md and .json\n",
    report.summary.pass, report.summary.fail, report.summary.skip, report_prefix))
  return report.summary.fail > 0 and 1 or 0
end

os.exit(main(arg or {}))
