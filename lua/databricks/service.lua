--- Service installers for the rotator, independent of the service
-- manager: paths, the rotator's command line and environment, the
-- credentials file, the health verdict, and one runner for the manager's
-- commands. Each service manager is one module of pure functions under
-- `databricks.service.<name>` (systemd, launchd) with the same shape —
-- `file`, `render`, `program_arguments`, `install_commands`, ... — and
-- `M.PLATFORMS` lists them (CONTRIBUTING.md, "Adding a service platform").
-- The only impure part is `M.sys` (`databricks.service.sys`), which specs
-- replace with a recording fake.
--
-- What it must never do: put a secret into a unit, a plist, an
-- `Environment=` line, a command line or anything it prints. Secrets only
-- ever go through `render_credentials` into a 0600 file.
-- @module databricks.service
local M = {}

M.ROTATOR = "databricks-oauth-rotator"

--- The service managers, by `--platform` name.
M.PLATFORMS = {
  systemd = require "databricks.service.systemd",
  launchd = require "databricks.service.launchd",
}
local PLATFORM_NAMES = "systemd|launchd"

--- The module of a platform name (`systemd`, `launchd`).
function M.manager(platform)
  return M.PLATFORMS[platform]
end

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
  return fail(string.format("no supported service manager on '%s': use --platform %s", uname, PLATFORM_NAMES))
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

--- Where the installers' own files live, from an environment table
-- (`HOME`, optional `XDG_CONFIG_HOME`): `home`, `config_dir` and
-- `credentials` (beside the stored OAuth tokens). The service file's
-- place is the platform's (`service_file`).
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
  return p
end

--- The service definition file of a platform.
function M.service_file(platform, paths)
  return M.PLATFORMS[platform].file(paths)
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
  local seen = {}
  for dir in (env.PATH or ""):gmatch("[^:]+") do
    if dir:sub(1, 1) == "/" and not seen[dir] then
      seen[dir] = true
      dirs[#dirs + 1] = dir
    end
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

--- The value following `flag` in an argv (nil if absent).
function M.flag_value(argv, flag)
  for i = 1, #(argv or {}) - 1 do
    if argv[i] == flag then return argv[i + 1] end
  end
  return nil
end

-- == The platform's commands ==

--- Commands that activate a freshly written service file. o: `reinstall`
-- (the file existed before), `linger` (systemd), `uid`, `file`. Each
-- command is `{argv=, ignore_failure=, retries=, warning=}`.
function M.install_commands(platform, o)
  return M.PLATFORMS[platform].install_commands(o)
end

--- Commands that stop and deregister the service (before its file is
-- removed), and the ones to run after the removal.
function M.uninstall_commands(platform, o)
  return M.PLATFORMS[platform].uninstall_commands(o)
end

function M.restart_commands(platform, o)
  return M.PLATFORMS[platform].restart_commands(o)
end

--- The command whose output describes the service's state.
function M.state_command(platform, o)
  return M.PLATFORMS[platform].state_command(o)
end

--- The manager's state from the state command's output and exit status.
function M.state(platform, text, code)
  local mod = M.PLATFORMS[platform]
  if code ~= 0 then return mod.unknown_state(code) end
  return mod.parse_state(text)
end

--- The rotator's argv read back from an installed service file's text.
function M.program_arguments(platform, text, home)
  return M.PLATFORMS[platform].program_arguments(text, home)
end

--- Runs a command list through `sys`, printing each command as `$ ...`.
-- o: `dry` (print only), `keep_going` (run the rest after a failure),
-- `warn` (function(message) for failures that are only warnings, and for
-- failures when keeping going). A command with `retries` is tried again
-- once a second. Returns true, or false, the first command that failed
-- and its exit status. Each command's `failed` is set.
function M.run_commands(commands, sys, o)
  o = o or {}
  local first, first_code
  for _, cmd in ipairs(commands) do
    io.stdout:write("$ ", M.shell_join(cmd.argv), "\n")
    if not o.dry then
      local ok, code = sys.run(cmd.argv)
      for _ = 1, cmd.retries or 0 do
        if ok then break end
        sys.sleep(1)
        ok, code = sys.run(cmd.argv)
      end
      cmd.failed = not ok
      if not ok then
        if cmd.ignore_failure then
          if cmd.warning and o.warn then o.warn(cmd.warning) end
        else
          if not o.keep_going then return false, cmd, code end
          if o.warn then
            o.warn(string.format("`%s` failed (exit %s); continuing", M.shell_join(cmd.argv), tostring(code)))
          end
          first, first_code = first or cmd, first_code or code
        end
      end
    end
  end
  if first then return false, first, first_code end
  return true
end

-- == State and health ==

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

M.sys = require "databricks.service.sys"

--- The platform: `--platform` if given (validated), else from the
-- operating system.
function M.platform(requested)
  if requested then
    if not M.PLATFORMS[requested] then return fail("--platform must be " .. PLATFORM_NAMES:gsub("|", " or ")) end
    return requested
  end
  return M.detect_platform(M.sys.uname())
end

return M
