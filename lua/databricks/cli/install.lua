--- `databricks-oauth-install`: installs the rotator as a systemd user
-- service (Linux) or a launchd agent (macOS). Takes every rotator flag;
-- checks the configuration with one real rotation before writing anything
-- (so a broken install never starts a crash loop); writes the secret only
-- into a 0600 credentials file that the service reads; never prints it.
-- Exit codes: 0 installed, 1 verification or a service command failed,
-- 2 usage or configuration error.
-- @module databricks.cli.install
local databricks = require "databricks"
local core = require "databricks.core"
local common = require "databricks.cli.common"
local credentials = require "databricks.rotator.credentials"
local options = require "databricks.rotator.options"
local paths_mod = require "databricks.paths"
local rotator_cli = require "databricks.cli.rotator"
local Rotator = require "databricks.rotator"
local service = require "databricks.service"

local M = {}

local PROGRAM = "databricks-oauth-install"

--- The help text (the rotator options come from the option table).
function M.help()
  return [[
Usage: databricks-oauth-install [options]

Installs databricks-oauth-rotator as a supervised user service that keeps
Databricks Lakebase credentials valid: a systemd user unit on Linux
(~/.config/systemd/user/databricks-oauth-rotator.service), a launchd agent on
macOS (~/Library/LaunchAgents/com.databricks.oauth-rotator.plist). The client
secret goes into ~/.config/lua-databricks/credentials (mode 0600), never into
the unit, the plist or a command line. Before writing anything it runs one
rotation with the same configuration; a failure stops the install.
Reinstalling updates the service in place and restarts it.

Installer options:
  --platform systemd|launchd   service manager (default: from the OS)
  --dry-run                print every file (path, mode, content; secrets
                           masked) and every command, and change nothing
  --no-verify              skip the verification rotation
  --linger                 systemd: also run `loginctl enable-linger`, so the
                           service runs without a login session and at boot
  --version, --help, -h

Rotator options (passed to the service; paths are made absolute; a client
secret given by flag, variable or --client-secret-file is copied into the
credentials file):
]] .. options.help("install") .. [[

Exit status: 0 installed, 1 the verification rotation or a service command
failed, 2 usage or configuration error.
]]
end

local INSTALL_OPTIONS = {
  platform = "string", ["dry-run"] = "flag", ["no-verify"] = "flag", linger = "flag",
  -- accepted only to say why they do not apply
  once = "flag", json = "flag",
}

local NOT_FOR_INSTALL = { once = "the service runs as a daemon", json = "nothing to report as JSON" }

--- The parsed-argument spec: the rotator's options plus the installer's.
function M.spec()
  return options.cli_spec("install", INSTALL_OPTIONS)
end

local function say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
end

local function warn(fmt, ...)
  io.stderr:write(PROGRAM, ": ", core.redact(string.format(fmt, ...)), "\n")
end

-- The interpreter running this script: the most negative index of `arg`
-- (`lua5.4` from the shebang, or an absolute path from a LuaRocks wrapper).
local function interpreter_of(argv)
  local i = -1
  while argv[i - 1] ~= nil do i = i - 1 end
  return argv[i]
end

-- The rotator settings from flags, environment and --config, as the
-- rotator reads them, with every path absolute (the service's environment
-- and working folder are not ours). Returns the Rotator options and
-- whether a stored secret was reused, or nil and a message.
local function resolve_settings(opts, env, paths, cwd)
  local ro, uerr = rotator_cli.rotator_options(opts, function(name) return os.getenv(name) end, PROGRAM)
  if not ro then return nil, uerr end
  local function abs(p) return p and service.absolute(p, paths.home, cwd) end
  for _, row in ipairs(options.ROWS) do
    if row.path == true and ro[row.key] then ro[row.key] = abs(ro[row.key]) end
    if row.path == "after-colon" and ro[row.key] then
      for i, spec in ipairs(ro[row.key]) do
        local kind, path = spec:match("^(%w+):(.+)$")
        ro[row.key][i] = kind .. ":" .. abs(path)
      end
    end
  end
  ro.config = abs(opts.config)
  if not ro.config then
    ro.pgpass_file = ro.pgpass_file or abs(paths.home .. "/.pgpass")
    ro.log_file = ro.log_file or abs(Rotator.default_log_file())
    ro.status_file = ro.status_file or abs(Rotator.default_status_file())
  end
  ro.ca_bundle = ro.ca_bundle or abs(env.SSL_CERT_FILE or env.CURL_CA_BUNDLE)
  -- The secret: given, or from the user's credentials file; it goes into
  -- the installer's own credentials file, which the service reads.
  if not ro.client_secret and ro.client_secret_file then
    local creds, cerr = credentials.read(ro.client_secret_file, "--client-secret-file")
    if not creds then return nil, PROGRAM .. ": " .. cerr end
    ro.client_secret = creds.client_secret
    ro.token_store = ro.token_store or abs(creds.token_store)
  end
  ro.client_secret_file = nil
  -- A custom token store goes into the credentials file, never argv.
  if ro.token_store and ro.workspace_url then
    local host = core.normalize_host(ro.workspace_url)
    if host and ro.token_store == paths_mod.token_store(host, env) then ro.token_store = nil end
  end
  -- Reinstalling to change a setting need not repeat the secret: M2M keeps
  -- the one stored by the previous install.
  local reused = false
  if not ro.client_secret and ro.client_id and (ro.auth == nil or ro.auth == "m2m")
      and core.file_mode(paths.credentials) then
    local creds = credentials.read(paths.credentials)
    if creds and creds.client_secret then ro.client_secret, reused = creds.client_secret, true end
  end
  -- Validates the configuration as the rotator will (opens no file).
  local check_opts = {}
  for k, v in pairs(ro) do check_opts[k] = v end
  check_opts.config = nil
  local check, cerr = Rotator.new(check_opts)
  if not check then return nil, PROGRAM .. ": " .. tostring(cerr.message or cerr) end
  return ro, reused
end

-- What the service's command line carries: with --config, the file and
-- only the flags given here (they override its [rotator] section, and a
-- reload re-reads the rest); without, every resolved setting.
local function service_settings(ro, opts, paths, cwd)
  if not ro.config then return ro end
  local out = { config = ro.config }
  for k, v in pairs(options.from_flags(opts, "install")) do
    local row = options.by_key[k]
    if row.scope ~= "cli" and row.scope ~= "install" and not row.secret then
      out[k] = row.path == true and service.absolute(v, paths.home, cwd) or v
    end
  end
  out.client_secret_file, out.token_store = nil, nil
  return out
end

-- Renders the service file and the credentials file into the plan;
-- returns the plan, or nil and a message.
local function render(plan)
  local values = {}
  for i, a in ipairs(plan.argv) do values[#values + 1] = { "argument " .. i .. " of the service command", a } end
  for _, nv in ipairs(plan.env) do values[#values + 1] = { nv[1], nv[2] } end
  local ok, verr = service.check_values(values)
  if not ok then return nil, PROGRAM .. ": " .. verr end
  local paths = plan.paths
  local spec = { argv = plan.argv, env = plan.env, credentials = plan.credentials, version = databricks.VERSION,
                 label = service.LABEL, stdout = paths.stdout_log, stderr = paths.stderr_log }
  plan.content = plan.platform == "launchd" and service.render_plist(spec) or service.render_unit(spec)
  if plan.credentials then
    local text, serr = service.render_credentials(plan.secret, plan.ro.token_store)
    if not text then return nil, PROGRAM .. ": " .. serr end
    plan.credentials_text = text
    -- The invariant this whole module exists for.
    if plan.secret and #plan.secret >= 4 and plan.content:find(plan.secret, 1, true) then
      return nil, PROGRAM .. ": the client secret appears in another setting (client ID, a path?); refusing to " ..
        "write it into the service file"
    end
  end
  return plan
end

--- Resolves everything the service needs from the flags, the environment
-- and the system. Returns a plan, or nil and a usage message.
local function make_plan(opts, argv, env, sys)
  for flag, why in pairs(NOT_FOR_INSTALL) do
    if opts[flag] then return nil, PROGRAM .. ": --" .. flag .. " does not apply to an install (" .. why .. ")" end
  end
  local platform, perr = service.platform(opts.platform)
  if not platform then return nil, PROGRAM .. ": " .. perr end
  local paths, herr = service.paths(env)
  if not paths then return nil, PROGRAM .. ": " .. herr end
  local cwd = sys.cwd()
  local ro, reused = resolve_settings(opts, env, paths, cwd)
  if not ro then return nil, reused end

  local program, werr = service.rotator_program{ arg0 = argv[0], interpreter = interpreter_of(argv), cwd = cwd,
                                                 path = env.PATH, is_exec = sys.is_exec }
  if not program then return nil, PROGRAM .. ": " .. werr end
  if platform == "systemd" then
    local eok, eerr = service.check_executable(program[1])
    if not eok then return nil, PROGRAM .. ": " .. eerr end
  end

  local plan = { platform = platform, paths = paths, ro = ro, secret = ro.client_secret, program = program,
                 reused_credentials = reused, file = service.service_file(platform, paths) }
  plan.credentials = (plan.secret or ro.token_store) and paths.credentials or nil
  plan.service_cfg = service_settings(ro, opts, paths, cwd)
  plan.argv = service.rotator_argv(program, plan.service_cfg, plan.credentials)
  local warnings
  plan.env, warnings = service.service_env(env, ro)
  for _, w in ipairs(warnings) do warn("%s", w) end
  plan.reinstall = core.file_mode(plan.file) ~= nil
  plan.uid = sys.uid()
  plan.commands = service.install_commands(platform, { reinstall = plan.reinstall, linger = opts.linger,
                                                       uid = plan.uid, plist = paths.plist })
  return render(plan)
end

-- The verification run: the service's own command line with --once, in
-- the service's environment (plus HOME), reading the secret from a
-- private temporary copy of the credentials file.
local function verify_argv(plan, tmp_credentials)
  local argv = { "env", "-i", "HOME=" .. plan.paths.home }
  for _, nv in ipairs(plan.env) do argv[#argv + 1] = nv[1] .. "=" .. nv[2] end
  for _, a in ipairs(service.rotator_argv(plan.program, plan.service_cfg, tmp_credentials)) do
    argv[#argv + 1] = a
  end
  return argv
end

local function print_plan(plan, verify)
  say("%s: dry run: nothing is written and nothing is run.", PROGRAM)
  say("")
  if plan.credentials then
    say("==> %s (mode 0600, folder 0700)", plan.credentials)
    io.stdout:write(service.mask_credentials(plan.credentials_text))
    say("")
  end
  say("==> %s (mode 0644)", plan.file)
  io.stdout:write(plan.content)
  say("")
  if plan.platform == "launchd" then
    for _, p in ipairs({ plan.paths.stdout_log, plan.paths.stderr_log }) do
      say("==> %s (mode 0600, created empty if missing)", p)
      say("")
    end
  end
  if verify then
    local argv = verify_argv(plan, plan.credentials and "<private temporary copy of the credentials file>" or nil)
    argv[#argv + 1] = "--once"
    say("$ %s", service.shell_join(argv))
  end
  for _, cmd in ipairs(plan.commands) do say("$ %s", service.shell_join(cmd.argv)) end
end

local function tmpdir(sys)
  local out, code = sys.capture({ "mktemp", "-d", (os.getenv("TMPDIR") or "/tmp") .. "/dbx-install.XXXXXX" })
  if code ~= 0 then return nil end
  return (out:gsub("%s+$", ""))
end

local function verify(plan, sys)
  local dir, tmp
  if plan.credentials then
    dir = tmpdir(sys)
    if not dir then
      warn("cannot create a temporary folder for the verification run")
      return 1
    end
    tmp = dir .. "/credentials"
    local ok, err = core.write_private(tmp, plan.credentials_text)
    if not ok then
      sys.run({ "rm", "-rf", dir })
      warn("cannot write a temporary credentials file: %s", err.message)
      return 1
    end
  end
  local argv = verify_argv(plan, tmp)
  argv[#argv + 1] = "--once"
  say("Verifying the configuration with one rotation:")
  say("$ %s", service.shell_join(argv))
  local ok, code = sys.run(argv)
  if dir then sys.run({ "rm", "-rf", dir }) end
  if ok then return 0 end
  warn("the verification rotation failed (exit %s); nothing was installed. Fix the problem reported above, " ..
       "or install anyway with --no-verify.", tostring(code))
  return code == 2 and 2 or 1
end

local function ensure_private_dir(sys, dir)
  local mode = core.file_mode(dir)
  if mode and mode ~= 448 then sys.run({ "chmod", "0700", dir }) end
end

local function write_files(plan, sys)
  if plan.credentials then
    local ok, err = core.write_private(plan.credentials, plan.credentials_text)
    if not ok then return nil, "cannot write " .. plan.credentials .. ": " .. err.message end
    ensure_private_dir(sys, service.dirname(plan.credentials))
  end
  local ok, err = sys.write_file(plan.file, plan.content, "0644")
  if not ok then return nil, err end
  if plan.platform == "launchd" then
    for _, p in ipairs({ plan.paths.stdout_log, plan.paths.stderr_log }) do
      local cok, cerr = sys.create_private(p)
      if not cok then return nil, cerr end
    end
  end
  return true
end

--- Runs a command list, printing each command. Returns true, or false and
-- the failed command.
function M.run_commands(commands, sys)
  for _, cmd in ipairs(commands) do
    say("$ %s", service.shell_join(cmd.argv))
    local ok, code = sys.run(cmd.argv)
    for _ = 1, cmd.retries or 0 do
      if ok then break end
      sys.sleep(1)
      ok, code = sys.run(cmd.argv)
    end
    cmd.failed = not ok
    if not ok and not cmd.ignore_failure then return false, cmd, code end
    if not ok and cmd.warning then warn("%s", cmd.warning) end
  end
  return true
end

local function command_failed(plan, cmd, code)
  warn("`%s` failed (exit %s).", service.shell_join(cmd.argv), tostring(code))
  if plan.platform == "systemd" then
    warn("The files are written; once `systemctl --user status` works in this session (a login session, " ..
         "not su/sudo; XDG_RUNTIME_DIR=/run/user/$(id -u)), run databricks-oauth-install again.")
  else
    warn("The files are written; see `launchctl print gui/%s/%s` and %s, then run databricks-oauth-install " ..
         "again.", tostring(plan.uid), service.LABEL, plan.paths.stderr_log)
  end
  return 1
end

local function report(plan, opts, env)
  local p = plan.paths
  if plan.platform == "systemd" then
    say("Installed and started %s (systemd user service).", service.UNIT_NAME)
  else
    say("Installed and loaded %s (launchd agent).", service.LABEL)
  end
  say("  service file: %s", plan.file)
  if plan.credentials then say("  credentials:  %s (mode 0600)", plan.credentials) end
  if plan.ro.config then
    say("  config:       %s (SIGHUP or databricks-oauth-restart to apply changes)", plan.ro.config)
  else
    say("  .pgpass:      %s", plan.ro.pgpass_file)
    say("  log:          %s", plan.ro.log_file)
  end
  say("  status:       databricks-oauth-status   (restart: databricks-oauth-restart, " ..
      "remove: databricks-oauth-uninstall)")
  if plan.platform == "systemd" then
    say("  journal:      journalctl --user -u %s", service.UNIT_NAME)
    if opts.linger and plan.linger_failed then
      say("Lingering could not be enabled (see above); ask an administrator to run: loginctl enable-linger %s",
        env.USER or "$USER")
    elseif opts.linger then
      say("Lingering is enabled: the service also runs while you are logged out, and starts at boot.")
    elseif not (env.USER and core.file_mode("/var/lib/systemd/linger/" .. env.USER)) then
      say("Note: a user service runs only while you are logged in. To keep it running after you log out " ..
          "and start it at boot, run:  loginctl enable-linger %s   (or reinstall with --linger)", env.USER or "$USER")
    end
  else
    say("  launchd logs: %s, %s", p.stdout_log, p.stderr_log)
  end
end

--- Runs the command line; returns the exit code. `sys` replaces
-- `service.sys` (tests).
function M.main(argv, sys)
  argv = argv or {}
  sys = sys or service.sys
  local opts, exit_code = common.start(argv, M.spec(), PROGRAM, M.help)
  if not opts then return exit_code end
  local env = sys.env()
  local plan, perr = make_plan(opts, argv, env, sys)
  if not plan then return common.usage(perr, opts) end
  local do_verify = not opts["no-verify"]
  if opts["dry-run"] then
    print_plan(plan, do_verify)
    return 0
  end
  if do_verify then
    local code = verify(plan, sys)
    if code ~= 0 then return code end
  end
  local ok, werr = write_files(plan, sys)
  if not ok then
    warn("%s", werr)
    return 1
  end
  if plan.reused_credentials then say("Kept the client secret stored in %s", plan.credentials) end
  say("%s %s", plan.reinstall and "Updated" or "Wrote", plan.file)
  local cok, cmd, code = M.run_commands(plan.commands, sys)
  if not cok then return command_failed(plan, cmd, code) end
  for _, c in ipairs(plan.commands) do
    if c.linger and c.failed then plan.linger_failed = true end
  end
  report(plan, opts, env)
  return 0
end

return M
