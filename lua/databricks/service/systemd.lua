--- The systemd user unit (Linux) of the rotator service: one platform of
-- `databricks.service`, a table of pure functions — render the unit, read
-- its command line back, the commands that install, remove, restart and
-- inspect it, and what `systemctl show` says. A platform is one file like
-- this one (CONTRIBUTING.md, "Adding a service platform").
-- @module databricks.service.systemd
local M = { name = "systemd", describe = "systemd user service" }

M.UNIT_NAME = "databricks-oauth-rotator.service"
M.id = M.UNIT_NAME

-- Timing of the unit. The daemon pings the watchdog from its sleep loop
-- (every min(30 s, WatchdogSec/2)), but not while a rotation is in flight,
-- and one rotation may legitimately take a few minutes when the network is
-- bad (each HTTP call retries within a 60 s budget, and a rotation makes up
-- to three). So the watchdog and the start timeout (READY=1 comes after the
-- first attempt) leave room for that; RestartSec paces restarts after a
-- crash; exit status 2 (configuration error) is not worth restarting.
M.WATCHDOG_SEC = 300
M.TIMEOUT_START_SEC = 300
M.TIMEOUT_STOP_SEC = 10
M.RESTART_SEC = 30

-- Hardening that a *user* unit can use without user namespaces: all of it
-- is prctl or seccomp based, which the per-user manager applies itself.
-- Deliberately absent (see docs/service.md): PrivateTmp=, ProtectSystem=,
-- ProtectHome=, ReadWritePaths= and the other mount-namespace options. In a
-- user unit they take effect only with PrivateUsers=yes, which needs
-- unprivileged user namespaces; where those are disabled or restricted
-- (Debian's unprivileged_userns_clone=0, Ubuntu's AppArmor userns
-- restriction, many containers) the service would fail with 226/NAMESPACE
-- and crash-loop. SystemCallFilter= and RestrictAddressFamilies= are also
-- left out: `--auth cli` runs the Databricks CLI, a binary whose system
-- calls and sockets we do not control.
M.HARDENING = {
  { "NoNewPrivileges", "yes" },
  { "UMask", "0077" },
  { "RestrictSUIDSGID", "yes" },
  { "LockPersonality", "yes" },
  { "MemoryDenyWriteExecute", "yes" },
  { "RestrictRealtime", "yes" },
  { "RestrictNamespaces", "yes" },
  { "SystemCallArchitectures", "native" },
}

local function fail(message)
  return nil, message
end

--- The unit file: always `~/.config/systemd/user/<unit>` (DESIGN.md §4).
function M.file(paths)
  return paths.home .. "/.config/systemd/user/" .. M.UNIT_NAME
end

--- Files besides the unit that the service needs created (none).
function M.extra_files()
  return {}
end

local C_ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }

local function c_escape(s)
  return (s:gsub('[\\"%c]', function(c)
    return C_ESCAPES[c] or string.format("\\x%02x", c:byte())
  end))
end

--- One ExecStart= argument: `%` doubled (specifiers), `$` doubled
-- (variable expansion), and double-quoted with C escapes unless it is
-- made of plainly safe characters only. The executable (first word) gets
-- specifiers but no variable expansion, so its `$` stays single.
function M.systemd_quote(s, executable)
  s = s:gsub("%%", "%%%%")
  if not executable then s = s:gsub("%$", "$$") end
  if s ~= "" and s:match("^[%w%._/:=,+@%-%%$]+$") then return s end
  return '"' .. c_escape(s) .. '"'
end

--- Whether systemd accepts `path` as an ExecStart= executable: absolute,
-- and none of the characters it refuses there (quotes, backslash,
-- control characters).
function M.check_program(path)
  if path:sub(1, 1) ~= "/" then return fail("the service's program must be an absolute path: " .. path) end
  if path:find("[\\\"'%c\127]") then
    return fail("systemd refuses a program path containing quotes or backslashes: " .. path ..
      " (install lua-databricks or Lua somewhere else)")
  end
  return true
end

--- An ExecStart= command line.
function M.systemd_command(argv)
  local out = {}
  for i, a in ipairs(argv) do out[i] = M.systemd_quote(a, i == 1) end
  return table.concat(out, " ")
end

--- One `Environment=` assignment: quoted, C escapes, `%` doubled (`$` has
-- no special meaning there).
function M.systemd_env(name, value)
  return '"' .. c_escape(name .. "=" .. value:gsub("%%", "%%%%")) .. '"'
end

local C_UNESCAPES = { n = "\n", t = "\t", r = "\r", ["\\"] = "\\", ['"'] = '"', ["'"] = "'", s = " ",
                      a = "\a", b = "\b", f = "\f", v = "\v" }

--- Splits a systemd command line into its arguments (the inverse of
-- `systemd_command`, plus single quotes and `%h`); used to read an installed
-- unit back.
function M.systemd_split(line, home)
  local argv, i, n = {}, 1, #line
  while true do
    while i <= n and line:sub(i, i):match("%s") do i = i + 1 end
    if i > n then break end
    local word, quote = {}, nil
    while i <= n do
      local c = line:sub(i, i)
      if quote then
        if c == quote then
          quote = nil
          i = i + 1
        elseif c == "\\" and quote == '"' then
          local e = line:sub(i + 1, i + 1)
          if e == "x" then
            word[#word + 1] = string.char(tonumber(line:sub(i + 2, i + 3), 16) or 63)
            i = i + 4
          else
            word[#word + 1] = C_UNESCAPES[e] or e
            i = i + 2
          end
        else
          word[#word + 1] = c
          i = i + 1
        end
      elseif c:match("%s") then
        break
      elseif c == '"' or c == "'" then
        quote = c
        i = i + 1
      elseif c == "\\" then
        word[#word + 1] = C_UNESCAPES[line:sub(i + 1, i + 1)] or line:sub(i + 1, i + 1)
        i = i + 2
      else
        word[#word + 1] = c
        i = i + 1
      end
    end
    local w = table.concat(word)
    w = w:gsub("%%(.)", function(s) return s == "%" and "%" or s == "h" and (home or "%h") or "%" .. s end)
    if #argv > 0 then w = w:gsub("%$%$", "$") end -- the executable has no variables
    argv[#argv + 1] = w
  end
  return argv
end

--- The systemd user unit. spec: `argv` (ExecStart), `env` (list of
-- `{name, value}`), `credentials` (path or nil), `version`.
function M.render(spec)
  local lines = {
    "# Installed by databricks-oauth-install (lua-databricks " .. spec.version .. "); reinstall to change it,",
    "# databricks-oauth-uninstall to remove it. No secret is written here" .. (spec.credentials and
      (": the client secret is read from\n# " .. spec.credentials .. " (mode 0600).") or "."),
    "[Unit]",
    "Description=Databricks Lakebase credential rotator (keeps .pgpass valid)",
    "Documentation=https://github.com/lua-databricks/lua-databricks#run-as-a-service",
    "",
    "[Service]",
    "Type=notify",
    "NotifyAccess=main",
    "ExecStart=" .. M.systemd_command(spec.argv),
  }
  for _, nv in ipairs(spec.env) do
    lines[#lines + 1] = "Environment=" .. M.systemd_env(nv[1], nv[2])
  end
  local rest = {
    "Restart=on-failure",
    "RestartSec=" .. M.RESTART_SEC .. "s",
    "RestartPreventExitStatus=2",
    "TimeoutStartSec=" .. M.TIMEOUT_START_SEC .. "s",
    "TimeoutStopSec=" .. M.TIMEOUT_STOP_SEC .. "s",
    "WatchdogSec=" .. M.WATCHDOG_SEC .. "s",
  }
  for _, l in ipairs(rest) do lines[#lines + 1] = l end
  for _, kv in ipairs(M.HARDENING) do lines[#lines + 1] = kv[1] .. "=" .. kv[2] end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "[Install]"
  lines[#lines + 1] = "WantedBy=default.target"
  return table.concat(lines, "\n") .. "\n"
end

--- The ExecStart= arguments of an installed unit's text (nil if none).
function M.program_arguments(text, home)
  local line = text:match("\nExecStart=([^\n]*)")
  if not line then return nil end
  return M.systemd_split(line, home)
end

-- == Commands ==

local function systemctl(...)
  return { argv = { "systemctl", "--user", ... } }
end

--- Commands that activate a freshly written unit. o: `reinstall` (the file
-- existed before), `linger` (also `loginctl enable-linger`). Each command
-- is `{argv=, ignore_failure=, retries=}`.
function M.install_commands(o)
  local cmds = { systemctl("daemon-reload") }
  if o.reinstall then
    cmds[#cmds + 1] = systemctl("enable", M.UNIT_NAME)
    cmds[#cmds + 1] = systemctl("restart", M.UNIT_NAME)
  else
    cmds[#cmds + 1] = systemctl("enable", "--now", M.UNIT_NAME)
  end
  if o.linger then
    -- Not fatal: the service already runs; lingering may need an administrator.
    cmds[#cmds + 1] = { argv = { "loginctl", "enable-linger" }, ignore_failure = true, linger = true,
                        warning = "`loginctl enable-linger` failed (polkit may require an administrator); the " ..
                          "service is installed, but it stops when you log out" }
  end
  return cmds
end

--- Commands that stop and deregister the service (before its file is
-- removed), and the ones to run after the removal.
function M.uninstall_commands()
  return { systemctl("disable", "--now", M.UNIT_NAME) }, { systemctl("daemon-reload") }
end

--- Files to remove with the unit (a dangling enablement link is left
-- behind if `disable` could not run).
function M.uninstall_files(paths)
  return { paths.home .. "/.config/systemd/user/default.target.wants/" .. M.UNIT_NAME }
end

function M.restart_commands()
  return { systemctl("restart", M.UNIT_NAME) }
end

M.PROPERTIES = "LoadState,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus,StatusText"

--- The command whose output describes the service's state.
function M.state_command()
  return { "systemctl", "--user", "show", M.UNIT_NAME, "-p", M.PROPERTIES }
end

local function snake(name)
  return (name:gsub("(%l)(%u)", "%1_%2"):lower())
end

--- `systemctl show` output to a manager-state table (`active` is the
-- verdict; the properties are kept in snake_case).
function M.parse_state(text)
  local props = {}
  for k, v in (text or ""):gmatch("([%w]+)=([^\n]*)") do props[snake(k)] = v end
  local state = { platform = "systemd", properties = props }
  state.active = props.active_state == "active"
  state.state = props.active_state and (props.active_state .. " (" .. (props.sub_state or "?") .. ")") or "unknown"
  state.pid = tonumber(props.main_pid)
  if state.pid == 0 then state.pid = nil end
  return state
end

--- The state when the state command itself failed.
function M.unknown_state(code)
  return { platform = "systemd", active = false, state = "unknown (systemctl --user exit " .. tostring(code) .. ")" }
end

--- Lines for the installer's report. o: `user`, `linger` (asked for),
-- `linger_failed`, `lingering` (function(user) -> already enabled?).
function M.install_notes(o)
  local user = o.user or "$USER"
  local lines = { string.format("  journal:      journalctl --user -u %s", M.UNIT_NAME) }
  if o.linger and o.linger_failed then
    lines[#lines + 1] = "Lingering could not be enabled (see above); ask an administrator to run: " ..
      "loginctl enable-linger " .. user
  elseif o.linger then
    lines[#lines + 1] = "Lingering is enabled: the service also runs while you are logged out, and starts at boot."
  elseif not (o.user and o.lingering(o.user)) then
    lines[#lines + 1] = "Note: a user service runs only while you are logged in. To keep it running after you " ..
      "log out and start it at boot, run:  loginctl enable-linger " .. user .. "   (or reinstall with --linger)"
  end
  return lines
end

--- What to tell the user when a command failed.
function M.command_failed_hint()
  return "The files are written; once `systemctl --user status` works in this session (a login session, " ..
    "not su/sudo; XDG_RUNTIME_DIR=/run/user/$(id -u)), run databricks-oauth-install again."
end

return M
