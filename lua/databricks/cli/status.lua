--- `databricks-oauth-status`: is the rotator healthy? Combines the service
-- manager's view (systemd or launchd) with the status file the rotator
-- writes after every attempt — or, with `--status-file` and no installed
-- service, reports on a rotator started by hand (is its process alive).
-- Shows every target: state, last rotation, expiry, next rotation, last
-- error. Usable from monitoring: exit 0 healthy, 1 unhealthy (not running,
-- a last attempt failed, a credential expired), 2 usage error, 3 not
-- installed. Reads only; prints no secret (the status file holds none).
-- @module databricks.cli.status
local core = require "databricks.core"
local common = require "databricks.cli.common"
local Rotator = require "databricks.rotator"
local Status = require "databricks.rotator.status"
local service = require "databricks.service"

local M = {}

local PROGRAM = "databricks-oauth-status"

M.HELP = [[
Usage: databricks-oauth-status [--json] [--platform systemd|launchd] [--status-file PATH]

Reports the state of the installed rotator service: what the service manager
says, and from the rotator's status file, for every target, the last
rotation, the credential's expiry and minutes left, the next rotation and
the last error. With --status-file and no installed service it reports on a
rotator started by hand.

Options:
  --json                   one JSON object instead of text
  --platform systemd|launchd   service manager (default: from the OS)
  --status-file PATH       status file (default: the one the installed
                           service writes); without an installed service,
                           the one of a rotator started by hand
  --version, --help, -h

Exit status: 0 healthy, 1 unhealthy (not running, last attempt failed or
credential expired), 2 usage error, 3 not installed.
]]

M.OPTIONS = { json = "flag", platform = "string", ["status-file"] = "string", version = "flag", help = "flag" }

local function iso(t)
  return type(t) == "number" and core.format_rfc3339(t) or nil
end

local function ago(seconds)
  seconds = math.floor(seconds + 0.5)
  if seconds < 120 then return seconds .. " s" end
  if seconds < 7200 then return (seconds // 60) .. " min" end
  return string.format("%.1f h", seconds / 3600)
end

--- Everything status knows, as one table (what --json prints).
function M.collect(platform, sys, opts, now)
  local paths, perr = service.paths(sys.env())
  if not paths then return nil, perr end
  local file = service.service_file(platform, paths)
  local r = { platform = platform, service_file = file, installed = false, checked_at = iso(now) }
  local f = io.open(file, "rb")
  if not f and opts["status-file"] then
    -- A rotator started by hand: its status file and whether it still runs.
    r.by_hand, r.status_file = true, opts["status-file"]
    r.status = Status.read(r.status_file)
    local pid = r.status and math.tointeger(r.status.pid)
    local alive = pid ~= nil and core.alive(pid)
    -- A daemon schedules a next rotation for every target; a --once run
    -- schedules none, and having ended is what it should have done.
    local scheduled = r.status and r.status.next_rotation_at ~= nil
    for _, t in pairs(r.status and type(r.status.targets) == "table" and r.status.targets or {}) do
      if type(t) == "table" and t.next_rotation_at ~= nil then scheduled = true end
    end
    local once = r.status ~= nil and not alive and not scheduled
    r.manager = { platform = "none", active = alive or once, pid = pid,
                  state = once and "finished (a --once run)" or pid and (alive and "running" or "not running")
                    or "unknown" }
    if r.status and type(r.status.expires_at) == "number" then
      r.minutes_left = math.floor((r.status.expires_at - now) / 60)
    end
    r.healthy, r.problems = service.health(r.manager, r.status, now)
    return r
  end
  if not f then return r end
  local text = f:read("a")
  f:close()
  r.installed = true
  local argv = service.program_arguments(platform, text, paths.home)
  r.status_file = opts["status-file"] or service.flag_value(argv, "--status-file") or Rotator.default_status_file()
  r.log_file = service.flag_value(argv, "--log-file")
  local uid = sys.uid()
  local out, code = sys.capture(service.state_command(platform, { uid = uid }))
  local manager = service.state(platform, out, code)
  r.manager = manager
  r.status = Status.read(r.status_file)
  if r.status and type(r.status.expires_at) == "number" then
    r.minutes_left = math.floor((r.status.expires_at - now) / 60)
  end
  r.healthy, r.problems = service.health(manager, r.status, now)
  return r
end

-- One row per target: state, last rotation, expiry, next rotation, error.
local function print_targets(targets, now)
  local names = {}
  for name in pairs(targets) do names[#names + 1] = name end
  table.sort(names)
  local rows = { { "TARGET", "STATE", "LAST ROTATION", "EXPIRES", "NEXT ROTATION", "LAST ERROR" } }
  for _, name in ipairs(names) do
    local t = targets[name]
    local expires = "-"
    if type(t.expires_at) == "number" then
      expires = t.expires_at > now and string.format("%s (%d min)", iso(t.expires_at), (t.expires_at - now) // 60)
        or "EXPIRED " .. iso(t.expires_at)
    end
    rows[#rows + 1] = { name, t.last_result or "pending", iso(t.last_success) or "never", expires,
                        iso(t.next_rotation_at) or "-", t.last_error or "-" }
  end
  local width = {}
  for _, row in ipairs(rows) do
    for i = 1, 5 do width[i] = math.max(width[i] or 0, #row[i]) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for i = 1, 5 do cells[i] = row[i] .. string.rep(" ", width[i] - #row[i]) end
    io.stdout:write("    ", table.concat(cells, "  "), "  ", row[6], "\n")
  end
end

local function print_text(r, now)
  local function line(label, fmt, ...)
    io.stdout:write(string.format("  %-14s" .. fmt, label .. ":", ...), "\n")
  end
  if not r.installed and not r.by_hand then
    io.stdout:write("databricks-oauth-rotator: not installed (no ", r.service_file, ")\n")
    return
  end
  io.stdout:write("databricks-oauth-rotator: ", r.healthy and "healthy" or "UNHEALTHY", "\n")
  local m = r.manager
  if r.by_hand then
    line("process", "%s%s  [started by hand; status file %s]", m.state, m.pid and (", pid " .. m.pid) or "",
      r.status_file)
  else
    line("service", "%s%s  [%s %s]", m.state, m.pid and (", pid " .. m.pid) or "",
      service.manager(r.platform).describe, r.service_file)
  end
  if m.properties and m.properties.status_text and m.properties.status_text ~= "" then
    line("daemon says", "%s", m.properties.status_text)
  end
  local s = r.status
  if not s then
    line("status file", "%s (missing or unreadable)", r.status_file)
  else
    line("last success", "%s", s.last_success and
      string.format("%s (%s ago)", iso(s.last_success), ago(now - s.last_success)) or "never")
    if type(s.expires_at) == "number" then
      if s.expires_at > now then
        line("credential", "expires %s (%d min left)", iso(s.expires_at), r.minutes_left)
      else
        line("credential", "EXPIRED %s (%s ago)", iso(s.expires_at), ago(now - s.expires_at))
      end
    else
      line("credential", "none yet")
    end
    line("last attempt", "%s %s", s.last_attempt and iso(s.last_attempt) or "never", s.last_result or "")
    line("last error", "%s", s.last_error and (s.last_error .. (s.last_error_kind and
      (" [" .. s.last_error_kind .. "]") or "")) or "none")
    if type(s.next_rotation_at) == "number" then line("next rotation", "%s", iso(s.next_rotation_at)) end
    if s.pgpass_file then
      line(".pgpass", "%s (%s@%s)", s.pgpass_file, s.pg_username or "?", s.pg_host or "?")
    end
    if type(s.targets) == "table" and next(s.targets) then
      io.stdout:write("  targets:\n")
      print_targets(s.targets, now)
    end
  end
  if r.log_file then line("log", "%s", r.log_file) end
  for _, p in ipairs(r.problems or {}) do line("problem", "%s", p) end
end

--- Runs the command line; returns the exit code. `sys` replaces
-- `service.sys` (tests).
function M.main(argv, sys)
  sys = sys or service.sys
  local opts, exit_code = common.start(argv or {}, M.OPTIONS, PROGRAM, M.HELP)
  if not opts then return exit_code end
  local platform, perr = service.platform(opts.platform)
  if not platform then return common.usage(PROGRAM .. ": " .. perr, opts) end
  local now = core.now()
  local r, cerr = M.collect(platform, sys, opts, now)
  if not r then return common.usage(PROGRAM .. ": " .. cerr, opts) end
  if opts.json then
    -- lua-cjson 2.1.0 encodes an empty table as {}; problems is a list.
    -- (Inside an encoded string the quotes would be escaped, so this
    -- cannot match anything but the key.)
    io.stdout:write((common.json(r):gsub('"problems":{}', '"problems":[]')), "\n")
  else
    print_text(r, now)
  end
  if not r.installed and not r.by_hand then return 3 end
  return r.healthy and 0 or 1
end

return M
