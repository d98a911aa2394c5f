--- Building connect() configs explicitly from the environment or a profile
-- of `~/.databrickscfg`, with the unified-auth names, reporting conflicts
-- instead of guessing. `connect` itself reads neither.
--
-- How the two merge follows the Databricks SDKs (config resolution of the Go
-- and Python SDKs): the variables win over the profile's keys, and a
-- profile without a host takes `DATABRICKS_HOST`. Two deliberate
-- differences keep a token on the host it was configured for: without
-- `DATABRICKS_CONFIG_PROFILE`, a `DATABRICKS_HOST` (or any credential
-- variable) means the config file is not read at all (the SDKs' rule, and
-- trust defect #11 of 0.1); with a named profile whose host differs from
-- `DATABRICKS_HOST`, the result is a `config` error rather than the
-- profile's token sent to the other host. `from_env` reads a config file
-- only when `DATABRICKS_CONFIG_PROFILE` or `DATABRICKS_CONFIG_FILE` asks
-- for one (never `~/.databrickscfg` on its own initiative).
-- @module databricks.config
local core = require "databricks.core"

local M = {}

local function err(message)
  return nil, core.error{ kind = "config", message = message }
end

-- Which config keys each auth type uses, to report mixed methods.
local METHOD_KEYS = {
  pat = { "token" },
  oauth_m2m = { "client_id", "client_secret" },
  token = { "access_token" },
  file_oidc = { "oidc_token_file" },
}

-- The auth types whose credentials are present.
local function methods_present(cfg)
  local found = {}
  if cfg.token then found[#found + 1] = "pat" end
  if cfg.client_id and cfg.client_secret then found[#found + 1] = "oauth_m2m" end
  if cfg.access_token then found[#found + 1] = "token" end
  if cfg.oidc_token_file then found[#found + 1] = "file_oidc" end
  return found
end

-- Methods that may share a config with another's keys: U2M takes a custom
-- app's client credentials; federation takes a client_id (never a secret).
local function compatible(want, m)
  if m == want then return true end
  if want == "oauth_u2m" and m ~= "pat" and m ~= "file_oidc" then return true end
  return false
end

-- Checks auth_type against the credentials and mixed methods.
local function check_methods(cfg, origin)
  local found = methods_present(cfg)
  if cfg.auth_type then
    local want = cfg.auth_type
    local needs = METHOD_KEYS[want]
    for _, m in ipairs(found) do
      if not compatible(want, m) then
        return err(string.format(
          "%s: auth_type is %s but %s credentials (%s) are present; remove them or change auth_type",
          origin, want, m, table.concat(METHOD_KEYS[m], ", ")))
      end
    end
    if needs then
      for _, k in ipairs(needs) do
        if not cfg[k] then
          return err(string.format("%s: auth_type is %s but %s is missing", origin, want, k))
        end
      end
    end
  elseif #found > 1 then
    return err(string.format(
      "%s: more than one authorization method configured: %s and %s; remove one or set the auth type explicitly",
      origin, found[1], found[2]))
  end
  return cfg
end

-- Every variable of DESIGN.md §3 and §7 and the config key it sets.
local ENV_KEYS = {
  DATABRICKS_HOST = "host", DATABRICKS_TOKEN = "token",
  DATABRICKS_CLIENT_ID = "client_id", DATABRICKS_CLIENT_SECRET = "client_secret",
  DATABRICKS_AUTH_TYPE = "auth_type", DATABRICKS_WAREHOUSE_ID = "warehouse_id",
  DATABRICKS_HTTP_PATH = "http_path", DATABRICKS_CLUSTER_ID = "cluster_id",
  DATABRICKS_SERVERLESS_COMPUTE_ID = "serverless_compute_id",
  DATABRICKS_OIDC_TOKEN_ENV = "oidc_token_env", DATABRICKS_OIDC_TOKEN_FILEPATH = "oidc_token_file",
  DATABRICKS_TOKEN_AUDIENCE = "token_audience", DATABRICKS_ACCOUNT_ID = "account_id",
  DATABRICKS_WORKSPACE_ID = "workspace_id", DATABRICKS_CLI_PATH = "databricks_cli",
}

-- Keys whose presence in the environment means "auth is configured here":
-- the SDKs then skip the config file (unless a profile is named).
local AUTH_KEYS = { "token", "client_id", "client_secret", "oidc_token_file", "oidc_token_env" }

-- Unified-auth auth_type names (the SDKs') mapped to ours; ours map to
-- themselves.
local AUTH_TYPES = {
  pat = "pat", ["oauth-m2m"] = "oauth_m2m", oauth_m2m = "oauth_m2m",
  ["external-browser"] = "oauth_u2m", oauth_u2m = "oauth_u2m", ["databricks-cli"] = "databricks_cli",
  databricks_cli = "databricks_cli", token = "token",
  ["env-oidc"] = "env_oidc", env_oidc = "env_oidc", ["file-oidc"] = "file_oidc", file_oidc = "file_oidc",
  ["github-oidc"] = "github_oidc", github_oidc = "github_oidc",
}

-- Profile keys and the config key each sets (the SDKs' names; where the Go
-- and Python SDKs spell one differently, both are read).
local PROFILE_KEYS = {
  host = "host", token = "token", client_id = "client_id", client_secret = "client_secret",
  auth_type = "auth_type", warehouse_id = "warehouse_id", http_path = "http_path", cluster_id = "cluster_id",
  serverless_compute_id = "serverless_compute_id", scopes = "scopes", account_id = "account_id",
  workspace_id = "workspace_id", databricks_cli_path = "databricks_cli",
  oidc_token_filepath = "oidc_token_file", databricks_id_token_filepath = "oidc_token_file",
  oidc_token_env = "oidc_token_env", token_audience = "token_audience", audience = "token_audience",
  http_timeout_seconds = "timeout", retry_timeout_seconds = "retry_timeout",
}
local NUMERIC = { timeout = true, retry_timeout = true }
-- Written by the legacy Python CLI (`databricks configure`): it selects
-- that tool's Jobs API version and means nothing for connecting.
local IGNORED_PROFILE_KEYS = { ["jobs-api-version"] = true }

local SETTINGS = "__settings__"

local function map_auth_type(cfg, origin)
  if cfg.auth_type then
    local t = AUTH_TYPES[cfg.auth_type]
    if not t then
      return err(string.format("%s: auth_type '%s' is not supported (pat, oauth-m2m, external-browser, "
        .. "databricks-cli, env-oidc, file-oidc, github-oidc)", origin, cfg.auth_type))
    end
    cfg.auth_type = t
  end
  return cfg
end

local function default_path(getenv)
  local home = getenv("HOME")
  if not home or home == "" then return nil end
  return home .. "/.databrickscfg"
end

local function read_file(path)
  local f, e = io.open(path, "rb")
  if not f then return nil, e end
  local s = f:read("a")
  f:close()
  return s
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The profile's keys as config keys; a key not understood is an error.
local function profile_config(section, origin)
  local cfg = {}
  for _, k in ipairs(sorted_keys(section)) do
    local v = section[k]
    local key = PROFILE_KEYS[k]
    if not key and not IGNORED_PROFILE_KEYS[k] then
      return err(string.format("%s: key '%s' is not understood by lua-databricks (known keys: %s)",
        origin, k, table.concat(sorted_keys(PROFILE_KEYS), ", ")))
    end
    if key and v ~= "" then
      if NUMERIC[key] then
        local n = tonumber(v)
        if not n then return err(string.format("%s: %s must be a number of seconds (got '%s')", origin, k, v)) end
        cfg[key] = n
      elseif cfg[key] and cfg[key] ~= v then
        return err(string.format("%s: '%s' and another spelling of the same key disagree", origin, k))
      else
        cfg[key] = v
      end
    end
  end
  return cfg
end

-- Loads a profile: the config (no checks of methods yet), its name, and
-- the origin string used in messages.
local function load_profile(name, path, getenv)
  path = path or default_path(getenv)
  if not path then return err("no config file: HOME is not set and no path was given") end
  local text, e = read_file(path)
  if not text then
    return err(string.format("cannot read config file %s: %s", path, e))
  end
  local ini, perr = core.ini_parse(text)
  if not ini then return err(string.format("%s: %s", path, perr.message)) end
  local requested = name ~= nil
  if name == SETTINGS then
    return err(string.format("%s: %s is a reserved section name and cannot be used as a profile", path, SETTINGS))
  end
  if not name then
    -- [__settings__] default_profile, else DEFAULT (an empty value too).
    local settings = ini.sections[SETTINGS]
    local d = settings and settings.default_profile and settings.default_profile:match("^%s*(.-)%s*$")
    if d == SETTINGS then
      return err(string.format("%s: default_profile names %s, a reserved section name", path, SETTINGS))
    end
    name = (d and d ~= "") and d or "DEFAULT"
  end
  local section = ini.sections[name]
  if not section then
    local names = {}
    for _, n in ipairs(ini.order) do if n ~= SETTINGS then names[#names + 1] = n end end
    return err(string.format("profile '%s' not found in %s%s (profiles: %s)", name, path,
      requested and "" or " (the default profile)", #names > 0 and table.concat(names, ", ") or "none"))
  end
  local origin = string.format("profile '%s' of %s", name, path)
  local cfg, cerr = profile_config(section, origin)
  if not cfg then return nil, cerr end
  return cfg, name, origin
end

-- The Databricks CLI token source runs `auth token --profile <name>` for a
-- config that came from a profile (as the SDKs do).
local function pin_profile(cfg, name)
  if cfg.auth_type == "databricks_cli" and name then cfg.profile = name end
  return cfg
end

--- A config from a profile of a `.databrickscfg` file. The profile is not
-- merged with `[DEFAULT]`; without a name, `[__settings__] default_profile`
-- (when set and not empty) or `DEFAULT` is used. Values are read as the Go
-- SDK reads them (inline ` #` comments, quoted values). A key the connector
-- does not understand is a `config` error naming it.
-- @tparam[opt] string name profile
-- @tparam[opt] string path file (default `~/.databrickscfg`)
-- @tparam[opt] function getenv for tests (default os.getenv; only HOME is read)
-- @return config table, or nil and a `config` error
function M.from_profile(name, path, getenv)
  getenv = getenv or os.getenv
  local cfg, pname, origin = load_profile(name, path, getenv)
  if not cfg then return nil, pname end
  if not cfg.host then return err(origin .. " has no host") end
  local ok, merr = map_auth_type(cfg, origin)
  if not ok then return nil, merr end
  return check_methods(pin_profile(cfg, pname), origin)
end

local function same_host(a, b)
  local na, nb = core.normalize_host(a), core.normalize_host(b)
  return na ~= nil and na == nb
end

--- A config from the unified-auth environment variables (DATABRICKS_HOST,
-- DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET,
-- DATABRICKS_AUTH_TYPE, DATABRICKS_WAREHOUSE_ID, DATABRICKS_HTTP_PATH,
-- DATABRICKS_CLUSTER_ID, DATABRICKS_SERVERLESS_COMPUTE_ID,
-- DATABRICKS_OIDC_TOKEN_ENV, DATABRICKS_OIDC_TOKEN_FILEPATH,
-- DATABRICKS_TOKEN_AUDIENCE, DATABRICKS_ACCOUNT_ID, DATABRICKS_WORKSPACE_ID,
-- DATABRICKS_CLI_PATH). With DATABRICKS_CONFIG_PROFILE that profile (of
-- DATABRICKS_CONFIG_FILE or `~/.databrickscfg`) is the base and the
-- variables override it; with DATABRICKS_CONFIG_FILE alone, its default
-- profile is the base unless a host or credentials are already in the
-- environment (then the file is not read, as the SDKs do). Credentials of
-- two methods are a conflict, not a choice.
-- @tparam[opt] function getenv for tests (default os.getenv)
-- @return config table, or nil and a `config` error
function M.from_env(getenv)
  getenv = getenv or os.getenv
  local function var(name)
    local v = getenv(name)
    if v and v ~= "" then return v end
  end
  local env = {}
  for name, key in pairs(ENV_KEYS) do env[key] = var(name) end
  local profile, file = var("DATABRICKS_CONFIG_PROFILE"), var("DATABRICKS_CONFIG_FILE")
  local any_auth = env.host ~= nil
  for _, k in ipairs(AUTH_KEYS) do any_auth = any_auth or env[k] ~= nil end

  local cfg, pname, origin = {}, nil, "environment"
  -- Without a named profile, settings in the environment mean the file is
  -- not consulted: its [DEFAULT] may belong to another workspace.
  if profile or (file and not any_auth) then
    local porigin
    cfg, pname, porigin = load_profile(profile, file, getenv)
    if not cfg then return nil, pname end
    origin = "environment with " .. porigin
    if env.host and cfg.host and not same_host(env.host, cfg.host) then
      return err(string.format(
        "%s: DATABRICKS_HOST (%s) is not the profile's host (%s): the profile's credentials belong to its "
        .. "host; unset DATABRICKS_HOST or use a profile of that workspace", origin, env.host, cfg.host))
    end
  elseif next(env) == nil then
    return err("no Databricks settings in the environment (DATABRICKS_HOST and credentials)")
  end
  for key, v in pairs(env) do cfg[key] = v end
  if not cfg.host then return err("DATABRICKS_HOST is not set") end
  local ok, merr = map_auth_type(cfg, origin)
  if not ok then return nil, merr end
  return check_methods(pin_profile(cfg, pname), origin)
end

return M
