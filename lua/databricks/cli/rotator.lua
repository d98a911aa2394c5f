--- `databricks-oauth-rotator`: keeps Lakebase credentials valid in .pgpass
-- and other outputs. Flag-compatible with the Python tool. The bin/ script
-- calls `main(arg)`; exit codes follow DESIGN.md §4: 0 done, 1 rotation
-- failed, 2 usage or configuration error. Every option comes from the one
-- table, `databricks.rotator.options`.
-- @module databricks.cli.rotator
local common = require "databricks.cli.common"
local config_file = require "databricks.rotator.config_file"
local credentials = require "databricks.rotator.credentials"
local core = require "databricks.core"
local options = require "databricks.rotator.options"
local paths = require "databricks.paths"
local Rotator = require "databricks.rotator"

local M = {}

local PROGRAM = "databricks-oauth-rotator"

--- The help text (generated from the option table).
function M.help()
  return [[
Usage: databricks-oauth-rotator [--once] [options]
       databricks-oauth-rotator --config FILE [--once] [options]
       databricks-oauth-rotator --check [--json] [options]

Keeps Databricks Lakebase (PostgreSQL) OAuth credentials valid in .pgpass,
a pgbouncer auth_file, an env file or JSON, so psql, libpq clients, pools
and apps keep logging in while passwords expire hourly.

Options:
]] .. options.help("rotator") .. [[
  --version                print the version and exit
  --help, -h               print this help and exit

Environment: ]] .. table.concat(options.env_names("rotator"), ", ") .. [[.
Flags win over the --config file's [rotator] section, which wins over the
environment; a [target NAME] section's own keys win over all of them.

Exit status: 0 done, 1 rotation failed, 2 usage or configuration error.
]]
end

--- The parsed-argument spec (from the option table).
function M.spec()
  return options.cli_spec("rotator")
end

--- The flags (name -> "string" | "number" | "flag" | "list"), as of now.
M.OPTIONS = M.spec()

-- Checks values given as flags or variables (strings from the environment
-- become numbers and booleans here). Returns the checked table, or nil and
-- a message.
local function check_cli(t)
  local out = {}
  for k, v in pairs(t) do
    local checked, err = options.check(options.by_key[k], v, "cli")
    if checked == nil then return nil, err end
    out[k] = checked
  end
  return out
end

-- The program on PATH (as `command -v`), or nil.
local function on_path(name, getenv)
  if name:find("/", 1, true) then return core.file_mode(name) and name or nil end
  for dir in (getenv("PATH") or ""):gmatch("[^:]+") do
    local mode, _, kind = core.file_mode(dir .. "/" .. name)
    if mode and kind == "file" and mode & 73 ~= 0 then return dir .. "/" .. name end
  end
  return nil
end

-- Which token source a target will use, decided as the rotator decides it,
-- before any network call: nil and a message in the rotator's own words
-- (flags and variables, never library keys) when there is none.
local function check_source(t, creds, getenv)
  if t.oidc_token_file and (t.auth == "oidc" or not t.auth) then
    -- Read again at every exchange; missing now is a mistake, not a wait.
    local f, ferr = io.open(t.oidc_token_file, "rb")
    if not f then return nil, "--oidc-token-file cannot be read: " .. tostring(ferr) end
    f:close()
  end
  if t.auth == "m2m" or t.auth == "oidc" then return true end
  if not t.auth and (t.oidc_token_file or t.oidc_token_env) then return true end
  local secret = t.client_secret or (creds and creds.client_secret)
  if not t.auth and t.client_id and secret then return true end
  local host = core.normalize_host(t.workspace_url)
  local store = t.token_store or (creds and creds.token_store) or (host and paths.token_store(host))
  if t.auth == "u2m" or (not t.auth and store and core.file_mode(store)) then return true end
  local cli = t.databricks_cli or "databricks"
  if on_path(cli, getenv) then return true end
  if t.auth == "cli" then
    return nil, string.format("--auth cli runs the Databricks CLI (%s), which is not on PATH: install it "
      .. "(https://docs.databricks.com/dev-tools/cli/install.html), or use --auth m2m or --auth u2m", cli)
  end
  local why = {}
  if t.client_id and not secret then
    why[#why + 1] = "DATABRICKS_CLIENT_ID is set but there is no client secret: set DATABRICKS_CLIENT_SECRET "
      .. "or give --client-secret-file"
  end
  local pat = getenv("DATABRICKS_TOKEN")
  if pat and pat ~= "" then
    why[#why + 1] = "DATABRICKS_TOKEN holds a personal access token, which the rotator does not use: "
      .. "Lakebase credentials come from OAuth"
  end
  why[#why + 1] = "give DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (or --client-secret-file) for a "
    .. "service principal (--auth m2m), sign in once with databricks-oauth-login (--auth u2m), or install the "
    .. "Databricks CLI (--auth cli; not found on PATH); in CI or Kubernetes, use workload identity federation "
    .. "(--auth oidc with --oidc-token-file or DATABRICKS_OIDC_TOKEN)"
  return nil, "no token source: " .. table.concat(why, "; ")
end

local function merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...)) or {}) do out[k] = v end
  end
  return out
end

--- Rotator options from parsed flags, the environment and the --config
-- file (flags win over [rotator], which wins over the environment).
-- Returns the options for Rotator.new, or nil and a usage message.
function M.rotator_options(opts, getenv, program, rows)
  getenv = getenv or os.getenv
  program = program or PROGRAM
  rows = rows or "rotator"
  local env, eerr = check_cli(options.from_env(getenv, rows))
  if not env then return nil, program .. ": " .. eerr end
  local flags, ferr = check_cli(options.from_flags(opts, rows))
  if not flags then return nil, program .. ": " .. ferr end
  -- The command line's own modes are not rotator options.
  for _, row in ipairs(options.ROWS) do
    if row.scope == "cli" then flags[row.key] = nil end
  end
  if opts["client-secret"] then
    io.stderr:write(program, ": warning: --client-secret puts the secret in the process list, visible to ",
      "other users; use DATABRICKS_CLIENT_SECRET or --client-secret-file instead\n")
  end
  local file = { defaults = {}, targets = {} }
  if opts.config then
    local cerr
    file, cerr = config_file.read(opts.config)
    if not file then return nil, program .. ": " .. cerr end
  end
  local top = merge(env, file.defaults, flags)
  local targets = #file.targets > 0 and file.targets or nil
  -- Every credentials file is checked now, so a bad one is a usage error
  -- (exit 2), not a failed rotation.
  for _, t in ipairs(targets or { {} }) do
    local merged = merge(top, t)
    local where = program .. ": " .. (t.name and ("[target " .. t.name .. "] ") or "")
    local creds
    if merged.client_secret_file then
      local cerr
      creds, cerr = credentials.read(merged.client_secret_file, "--client-secret-file")
      if not creds then return nil, program .. ": " .. cerr end
    end
    local ok, terr = options.check_target(merged, "cli")
    if not ok then return nil, where .. terr end
    ok, terr = check_source(merged, creds, getenv)
    if not ok then return nil, where .. terr end
  end
  top.targets = targets
  top.vocabulary = "cli"
  return top
end

--- Runs the command line; returns the exit code.
function M.main(argv, getenv)
  getenv = getenv or os.getenv
  local opts, exit_code = common.start(argv or {}, M.spec(), PROGRAM, M.help)
  if not opts then return exit_code end
  local ro, uerr = M.rotator_options(opts, getenv)
  if not ro then return common.usage(uerr, opts) end
  local rotator, rerr = Rotator.new(ro)
  if not rotator then return common.usage(PROGRAM .. ": " .. rerr.message, opts) end
  if opts.check then
    local report = rotator:check()
    if opts.json then
      io.stdout:write(common.json(report), "\n")
    else
      io.stdout:write(require("databricks.rotator.check").text(report))
    end
    return report.ok and 0 or 1
  end
  local fok, ferr0 = rotator:check_files()
  if not fok then
    local row = options.by_key[ferr0.key]
    return common.usage(string.format("%s: %s: %s", PROGRAM, row and options.name(row, "cli") or ferr0.key,
      ferr0.message), opts)
  end
  if opts.once then
    local report, ferr = rotator:run_once()
    if opts.json then
      io.stdout:write(common.json(report or { error = ferr and ferr.message, kind = ferr and ferr.kind }), "\n")
    end
    -- 2 only for a configuration that cannot work; an output that could
    -- not be written after the credential was obtained is a failure (1).
    if ferr then return (ferr.kind == "config" and not ferr.outputs_failed) and 2 or 1 end
    return 0
  end
  local function reload()
    local fresh, err = M.rotator_options(opts, getenv)
    if not fresh then return nil, err end
    return fresh
  end
  return rotator:run_daemon(opts.config and reload or nil)
end

return M
