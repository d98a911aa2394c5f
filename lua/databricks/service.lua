--- Service installers for the rotator: a systemd user unit (Linux) or a
-- launchd agent (macOS). Almost everything here is a pure function of the
-- tables it is given (environment, paths, configuration), so specs call it
-- directly: paths, quoting and escaping, rendering the unit, the plist and
-- the credentials file, the command lists for install/uninstall/restart,
-- parsing what the service managers print, and the health verdict. The few
-- functions that touch the system live in `M.sys` at the end.
--
-- What it must never do: put a secret into a unit, a plist, an
-- `Environment=` line, a command line or anything it prints. Secrets only
-- ever go through `render_credentials` into a 0600 file.
-- @module databricks.service
local M = {}

M.UNIT_NAME = "databricks-oauth-rotator.service"
M.LABEL = "com.databricks.oauth-rotator"
M.ROTATOR = "databricks-oauth-rotator"
M.PLATFORMS = { systemd = true, launchd = true }

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

-- Environment variables copied from the installer into the service (none
-- of them a secret; proxies only without a user:password part).
M.PROXY_VARS = { "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy" }

local function fail(message)
  return nil, message
end

-- == Platform and paths ==

--- The service manager for an operating system name (`uname -s`).
function M.detect_platform(uname)
  uname = (uname or ""):gsub("%s+$", "")
  if uname == "Linux" then return "systemd" end
  if uname == "Darwin" then return "launchd" end
  return fail(string.format("no supported service manager on '%s': use --platform systemd|launchd", uname))
end

--- Lexically normalizes an absolute path: no `.`, `..`, `//` or trailing `/`.
function M.normalize(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return "/" .. table.concat(parts, "/")
end

--- Makes a user-given path absolute: `~` and `~/...` from `home`, relative
-- paths from `cwd`.
function M.absolute(path, home, cwd)
  if path == "~" then
    path = home
  elseif path:sub(1, 2) == "~/" then
    path = home .. path:sub(2)
  elseif path:sub(1, 1) ~= "/" then
    path = cwd .. "/" .. path
  end
  return M.normalize(path)
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end
M.dirname = dirname

--- Where everything lives, from an environment table (`HOME`, optional
-- `XDG_CONFIG_HOME`). The unit folder is always `~/.config/systemd/user`
-- (DESIGN.md §4); the credentials sit beside the stored OAuth tokens.
function M.paths(env)
  local home = env.HOME
  if not home or home:sub(1, 1) ~= "/" then
    return fail("HOME must be set to an absolute path to install a user service")
  end
  home = M.normalize(home)
  local config = env.XDG_CONFIG_HOME
  if not config or config:sub(1, 1) ~= "/" then config = home .. "/.config" end
  local p = { home = home }
  p.config_dir = M.normalize(config) .. "/lua-databricks"
  p.credentials = p.config_dir .. "/credentials"
  p.unit_dir = home .. "/.config/systemd/user"
  p.unit = p.unit_dir .. "/" .. M.UNIT_NAME
  p.agents_dir = home .. "/Library/LaunchAgents"
  p.plist = p.agents_dir .. "/" .. M.LABEL .. ".plist"
  p.launchd_log_dir = home .. "/Library/Logs/lua-databricks"
  p.stdout_log = p.launchd_log_dir .. "/rotator.out.log"
  p.stderr_log = p.launchd_log_dir .. "/rotator.err.log"
  return p
end

--- The service definition file of a platform.
function M.service_file(platform, paths)
  return platform == "launchd" and paths.plist or paths.unit
end

--- Looks `name` up like `command -v`: a name with a `/` is taken as is,
-- otherwise the first executable in the `:`-separated `path`.
function M.find_program(name, path, is_exec)
  if name:find("/", 1, true) then return name end
  for dir in (path or ""):gmatch("[^:]+") do
    if dir:sub(1, 1) == "/" and is_exec(dir .. "/" .. name) then return dir .. "/" .. name end
  end
  return nil
end

--- The command that starts the rotator, as an argv prefix. From a LuaRocks
-- tree (the script runs from `<tree>/lib/luarocks/rocks-5.4/...`) it is the
-- tree's `bin/` wrapper, which execs Lua with the right paths; from a
-- checkout it is the interpreter plus the checkout's script.
-- o: `arg0` (this script), `interpreter` (arg[-n]), `cwd`, `path` ($PATH),
-- `is_exec` (function).
function M.rotator_program(o)
  local script_dir = M.absolute(dirname(o.arg0 or ""), o.cwd, o.cwd)
  local tree = script_dir:match("^(.*)/lib/luarocks/rocks%-5%.4/")
  if tree and o.is_exec(tree .. "/bin/" .. M.ROTATOR) then
    return { tree .. "/bin/" .. M.ROTATOR }
  end
  local script = script_dir .. "/" .. M.ROTATOR
  if not o.is_exec(script) then
    return fail("cannot find " .. M.ROTATOR .. " next to this script (looked for " .. script .. ")")
  end
  local interp = o.interpreter or "lua5.4"
  local found = M.find_program(interp, o.path, o.is_exec)
  if not found then return fail("cannot find the Lua interpreter '" .. interp .. "' on PATH") end
  return { M.absolute(found, o.cwd, o.cwd), script }
end

-- == What the service runs ==

--- The rotator's argv for the service (daemon mode): `program` (argv
-- prefix) and the resolved configuration `cfg` (paths absolute), as the
-- option table (`databricks.rotator.options`) writes it. No secret ever
-- goes here: the secret is read from `credentials` when given.
function M.rotator_argv(program, cfg, credentials)
  local argv = {}
  for i, a in ipairs(program) do argv[i] = a end
  local c = {}
  for k, v in pairs(cfg) do c[k] = v end
  c.client_secret_file = credentials
  for _, a in ipairs(require("databricks.rotator.options").argv(c)) do argv[#argv + 1] = a end
  return argv
end

local function has_userinfo(url)
  return url:match("^%a[%w+.-]*://[^/@]*@") ~= nil
end

--- The (non-secret) environment of the service, as an ordered list of
-- `{name, value}`: the client ID, PATH (absolute entries only, so
-- `--auth cli` finds the Databricks CLI), XDG_CONFIG_HOME (where stored
-- tokens are) and proxies without a password. Returns the list and a list
-- of warnings about what was left out.
function M.service_env(env, cfg)
  local out, warnings = {}, {}
  if cfg.client_id then out[#out + 1] = { "DATABRICKS_CLIENT_ID", cfg.client_id } end
  local dirs = {}
  for dir in (env.PATH or ""):gmatch("[^:]+") do
    if dir:sub(1, 1) == "/" then dirs[#dirs + 1] = dir end
  end
  if #dirs == 0 then dirs = { "/usr/local/bin", "/usr/bin", "/bin" } end
  out[#out + 1] = { "PATH", table.concat(dirs, ":") }
  if env.XDG_CONFIG_HOME and env.XDG_CONFIG_HOME:sub(1, 1) == "/" then
    out[#out + 1] = { "XDG_CONFIG_HOME", env.XDG_CONFIG_HOME }
  end
  for _, name in ipairs(M.PROXY_VARS) do
    local v = env[name]
    if v and v ~= "" then
      if has_userinfo(v) then
        warnings[#warnings + 1] = name .. " holds a user name or password: not copied into the service "
          .. "(see docs/service.md, \"Proxies\")"
      else
        out[#out + 1] = { name, v }
      end
    end
  end
  return out, warnings
end

--- Rejects values that no unit or plist can carry safely: control
-- characters (a newline would start a new directive) and invalid UTF-8
-- (a plist is XML). `values` is a list of `{what, value}`.
function M.check_values(values)
  for _, wv in ipairs(values) do
    local what, v = wv[1], wv[2]
    if v:find("[%c\127]") then
      return fail(what .. " contains a control character; it cannot be written into a service file")
    end
    if not utf8.len(v) then
      return fail(what .. " is not valid UTF-8; it cannot be written into a service file")
    end
  end
  return true
end

-- == Credentials file ==

--- The credentials file's content: one `DATABRICKS_CLIENT_SECRET=...` line
-- (what `--client-secret-file` reads, and valid as an EnvironmentFile=).
function M.render_credentials(secret, token_store)
  local lines = {}
  for _, kv in ipairs({ { "DATABRICKS_CLIENT_SECRET", secret, "the client secret" },
                        { "DATABRICKS_TOKEN_STORE", token_store, "the token store path" } }) do
    local value = kv[2]
    if value then
      if value:find("[%c]") or value:match("^%s") or value:match("%s$") then
        return fail(kv[3] .. " contains a line break or surrounding blanks; it cannot be stored")
      end
      lines[#lines + 1] = kv[1] .. "=" .. value .. "\n"
    end
  end
  return table.concat(lines)
end

--- The credentials file as shown by --dry-run: every value masked.
function M.mask_credentials(text)
  return (text:gsub("([%w_]+)=[^\n]*", "%1=********"))
end

-- == systemd ==

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
function M.check_executable(path)
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
function M.render_unit(spec)
  local lines = {
    "# Installed by databricks-oauth-install (lua-databricks " .. spec.version .. "); reinstall to change it,",
    "# databricks-oauth-uninstall to remove it. No secret here: the client secret is read from",
    "# " .. (spec.credentials or "(none: this configuration uses no client secret)") .. " (mode 0600).",
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
function M.unit_exec_start(text, home)
  local line = text:match("\nExecStart=([^\n]*)")
  if not line then return nil end
  return M.systemd_split(line, home)
end

-- == launchd ==

local XML_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

function M.xml_escape(s)
  return (s:gsub("[&<>\"']", XML_ESCAPES))
end

local XML_ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }

function M.xml_unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, name)
    if kind == "#x" then return utf8.char(tonumber(name, 16)) end
    if kind == "#" then return utf8.char(tonumber(name)) end
    return XML_ENTITIES[name]
  end))
end

--- The launchd agent. spec: `label`, `argv`, `env` (list of `{name,
-- value}`), `stdout`, `stderr` (paths), `credentials`, `version`.
function M.render_plist(spec)
  local out = {}
  local function add(s) out[#out + 1] = s end
  local function str(s) return "<string>" .. M.xml_escape(s) .. "</string>" end
  local function key(k) return "\t<key>" .. k .. "</key>" end
  add('<?xml version="1.0" encoding="UTF-8"?>')
  add('<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">')
  -- (No comment in the file: a path may contain "--", which XML forbids there.)
  add('<plist version="1.0">')
  add("<dict>")
  add(key("Label"))
  add("\t" .. str(spec.label))
  add(key("ProgramArguments"))
  add("\t<array>")
  for _, a in ipairs(spec.argv) do add("\t\t" .. str(a)) end
  add("\t</array>")
  add(key("EnvironmentVariables"))
  add("\t<dict>")
  for _, nv in ipairs(spec.env) do
    add("\t\t<key>" .. M.xml_escape(nv[1]) .. "</key>")
    add("\t\t" .. str(nv[2]))
  end
  add("\t</dict>")
  add(key("RunAtLoad"))
  add("\t<true/>")
  add(key("KeepAlive"))
  add("\t<dict>")
  add("\t\t<key>SuccessfulExit</key>")
  add("\t\t<false/>")
  add("\t</dict>")
  add(key("ProcessType"))
  add("\t" .. str("Background"))
  add(key("ThrottleInterval"))
  add("\t<integer>" .. M.RESTART_SEC .. "</integer>")
  add(key("ExitTimeOut"))
  add("\t<integer>" .. M.TIMEOUT_STOP_SEC .. "</integer>")
  add(key("Umask"))
  add("\t<integer>63</integer>") -- 0077
  add(key("StandardOutPath"))
  add("\t" .. str(spec.stdout))
  add(key("StandardErrorPath"))
  add("\t" .. str(spec.stderr))
  add("</dict>")
  add("</plist>")
  return table.concat(out, "\n") .. "\n"
end

--- The ProgramArguments of an installed plist's text (nil if none).
function M.plist_program_arguments(text)
  local array = text:match("<key>ProgramArguments</key>%s*<array>(.-)</array>")
  if not array then return nil end
  local argv = {}
  for s in array:gmatch("<string>(.-)</string>") do argv[#argv + 1] = M.xml_unescape(s) end
  return argv
end

--- The value following `flag` in an argv (nil if absent).
function M.flag_value(argv, flag)
  for i = 1, #(argv or {}) - 1 do
    if argv[i] == flag then return argv[i + 1] end
  end
  return nil
end

-- == Commands ==

local function systemctl(...)
  return { argv = { "systemctl", "--user", ... } }
end

local function launchd_target(uid)
  return "gui/" .. tostring(uid)
end

local function launchd_service(uid)
  return launchd_target(uid) .. "/" .. M.LABEL
end

--- Commands that activate a freshly written service file. o: `reinstall`
-- (the file existed before), `linger` (systemd: also `loginctl
-- enable-linger`), `uid`, `plist` (launchd). Each command is `{argv=,
-- ignore_failure=, retries=}`.
function M.install_commands(platform, o)
  if platform == "launchd" then
    local cmds = {}
    if o.reinstall then
      cmds[#cmds + 1] = { argv = { "launchctl", "bootout", launchd_service(o.uid) }, ignore_failure = true }
    end
    cmds[#cmds + 1] = { argv = { "launchctl", "enable", launchd_service(o.uid) } }
    -- bootout returns before the old job is gone; bootstrap may need a retry.
    cmds[#cmds + 1] = { argv = { "launchctl", "bootstrap", launchd_target(o.uid), o.plist },
                        retries = o.reinstall and 5 or 0 }
    return cmds
  end
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
function M.uninstall_commands(platform, o)
  if platform == "launchd" then
    return { { argv = { "launchctl", "bootout", launchd_service(o.uid) }, ignore_failure = true } }, {}
  end
  return { systemctl("disable", "--now", M.UNIT_NAME) }, { systemctl("daemon-reload") }
end

function M.restart_commands(platform, o)
  if platform == "launchd" then
    return { { argv = { "launchctl", "kickstart", "-k", launchd_service(o.uid) } } }
  end
  return { systemctl("restart", M.UNIT_NAME) }
end

M.SYSTEMD_PROPERTIES = "LoadState,ActiveState,SubState,MainPID,NRestarts,Result,ExecMainStatus,StatusText"

--- The command whose output describes the service's state.
function M.state_command(platform, o)
  if platform == "launchd" then
    return { "launchctl", "print", launchd_service(o.uid) }
  end
  return { "systemctl", "--user", "show", M.UNIT_NAME, "-p", M.SYSTEMD_PROPERTIES }
end

-- == State and health ==

local function snake(name)
  return (name:gsub("(%l)(%u)", "%1_%2"):lower())
end

--- `systemctl show` output to a manager-state table (`active` is the
-- verdict; the properties are kept in snake_case).
function M.parse_systemctl_show(text)
  local props = {}
  for k, v in (text or ""):gmatch("([%w]+)=([^\n]*)") do props[snake(k)] = v end
  local state = { platform = "systemd", properties = props }
  state.active = props.active_state == "active"
  state.state = props.active_state and (props.active_state .. " (" .. (props.sub_state or "?") .. ")") or "unknown"
  state.pid = tonumber(props.main_pid)
  if state.pid == 0 then state.pid = nil end
  return state
end

--- `launchctl print gui/<uid>/<label>` output to a manager-state table.
function M.parse_launchctl_print(text)
  text = text or ""
  local state = { platform = "launchd", properties = {} }
  local s = text:match("\n%s*state = ([^\n]+)")
  state.properties.state = s
  state.properties.pid = text:match("\n%s*pid = (%d+)")
  state.properties.last_exit_code = text:match("\n%s*last exit code = ([^\n]+)")
  state.properties.runs = text:match("\n%s*runs = (%d+)")
  state.active = s == "running"
  state.state = s or "unknown"
  state.pid = tonumber(state.properties.pid)
  return state
end

--- The verdict: healthy when the manager runs the service, the last
-- attempt succeeded and the credential has not expired. `manager` may be
-- nil (state unknown), `status` is the decoded status file (or nil).
-- Returns healthy (boolean) and the list of problems.
function M.health(manager, status, now)
  local problems = {}
  if not manager or not manager.active then
    problems[#problems + 1] = "the service is not running (" .. (manager and manager.state or "state unknown") .. ")"
  end
  if not status then
    problems[#problems + 1] = "no status file yet: the rotator has not finished a rotation attempt"
  else
    if status.last_result ~= "ok" then
      problems[#problems + 1] = "the last rotation attempt failed"
        .. (type(status.last_error) == "string" and (": " .. status.last_error) or "")
    end
    if type(status.expires_at) ~= "number" then
      problems[#problems + 1] = "no credential has been obtained yet"
    elseif status.expires_at <= now then
      problems[#problems + 1] = "the credential in .pgpass has expired"
    end
  end
  return #problems == 0, problems
end

-- == Shell quoting (for printing commands and running them through os.execute) ==

function M.shell_quote(s)
  if s ~= "" and s:match("^[%w%._/:=,+@%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.shell_join(argv)
  local out = {}
  for i, a in ipairs(argv) do out[i] = M.shell_quote(a) end
  return table.concat(out, " ")
end

--- Octal text of a mode ("0600").
function M.octal(mode)
  return string.format("%04o", mode)
end

-- == The system (the only impure part) ==

local sys = {}
M.sys = sys

--- Runs argv (stdio inherited); returns true on exit status 0, and the status.
function sys.run(argv)
  local ok, _, code = os.execute(M.shell_join(argv))
  return ok == true, code
end

--- Runs argv; returns its stdout (stderr discarded) and exit status.
function sys.capture(argv)
  local p = io.popen(M.shell_join(argv) .. " 2>/dev/null", "r")
  if not p then return "", 127 end
  local out = p:read("a") or ""
  local _, _, code = p:close()
  return out, code
end

function sys.is_exec(path)
  return os.execute("test -f " .. M.shell_quote(path) .. " && test -x " .. M.shell_quote(path)) == true
end

function sys.cwd()
  local out, code = sys.capture({ "pwd" })
  if code ~= 0 then return os.getenv("PWD") or "/" end
  return (out:gsub("%s+$", ""))
end

function sys.uname()
  return (sys.capture({ "uname", "-s" }):gsub("%s+$", ""))
end

function sys.uid()
  return tonumber((sys.capture({ "id", "-u" })))
end

--- Writes a non-secret file atomically (temporary file in the same folder,
-- then rename), creating its folder; `mode` is octal text such as "0644".
function sys.write_file(path, data, mode)
  local dir = dirname(path)
  if not sys.run({ "mkdir", "-p", dir }) then return nil, "cannot create the folder " .. dir end
  local tmp = string.format("%s/.%s.tmp%d", dir, path:match("[^/]*$"), math.random(1, 1e9))
  local f, err = io.open(tmp, "wb")
  if not f then return nil, "cannot write " .. path .. ": " .. tostring(err) end
  local ok, werr = f:write(data)
  f:close()
  if ok and sys.run({ "chmod", mode, tmp }) then
    local rok, rerr = os.rename(tmp, path)
    if rok then return true end
    werr = rerr
  end
  os.remove(tmp)
  return nil, "cannot write " .. path .. ": " .. tostring(werr or "chmod failed")
end

--- Creates an empty file of mode 0600 (folder 0700) if it is missing, and
-- makes an existing one 0600; keeps its content.
function sys.create_private(path)
  local cmd = string.format("umask 077 && mkdir -p %s && : >> %s && chmod 0600 %s",
    M.shell_quote(dirname(path)), M.shell_quote(path), M.shell_quote(path))
  if os.execute(cmd) == true then return true end
  return nil, "cannot create " .. path
end

--- True if `path` exists (a dangling symbolic link counts).
function sys.exists(path)
  local q = M.shell_quote(path)
  return os.execute("test -e " .. q .. " || test -L " .. q) == true
end

--- Removes a file; true when it is gone (or was never there).
function sys.remove(path)
  local ok, err, code = os.remove(path)
  if ok or code == 2 then return true end
  return nil, err
end

function sys.sleep(seconds)
  os.execute("sleep " .. tostring(seconds))
end

--- The environment table the pure functions take.
function sys.env()
  local t = {}
  for _, name in ipairs({ "HOME", "PATH", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "USER", "SSL_CERT_FILE",
                          "CURL_CA_BUNDLE" }) do
    t[name] = os.getenv(name)
  end
  for _, name in ipairs(M.PROXY_VARS) do t[name] = os.getenv(name) end
  return t
end

--- The platform: `--platform` if given (validated), else from `uname -s`.
function M.platform(requested)
  if requested then
    if not M.PLATFORMS[requested] then return fail("--platform must be systemd or launchd") end
    return requested
  end
  return M.detect_platform(sys.uname())
end

return M
