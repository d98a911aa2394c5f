--- Building connect() configs explicitly from the environment or a profile
-- of `~/.databrickscfg`, with the unified-auth names, reporting conflicts
-- instead of guessing. `connect` itself reads neither.
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
}

-- The auth types whose credentials are present.
local function methods_present(cfg)
  local found = {}
  if cfg.token then found[#found + 1] = "pat" end
  if cfg.client_id and cfg.client_secret then found[#found + 1] = "oauth_m2m" end
  if cfg.access_token then found[#found + 1] = "token" end
  return found
end

-- Checks auth_type against the credentials and mixed methods.
local function check_methods(cfg, origin)
  local found = methods_present(cfg)
  if cfg.auth_type then
    local want = cfg.auth_type
    local needs = METHOD_KEYS[want]
    for _, m in ipairs(found) do
      if m ~= want and not (want == "oauth_u2m" and m ~= "pat") then
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

local ENV_KEYS = {
  DATABRICKS_HOST = "host", DATABRICKS_TOKEN = "token",
  DATABRICKS_CLIENT_ID = "client_id", DATABRICKS_CLIENT_SECRET = "client_secret",
  DATABRICKS_AUTH_TYPE = "auth_type", DATABRICKS_WAREHOUSE_ID = "warehouse_id",
  DATABRICKS_HTTP_PATH = "http_path", DATABRICKS_CLUSTER_ID = "cluster_id",
}

-- Unified-auth auth_type names mapped to ours.
local AUTH_TYPES = {
  pat = "pat", ["oauth-m2m"] = "oauth_m2m", oauth_m2m = "oauth_m2m",
  ["external-browser"] = "oauth_u2m", oauth_u2m = "oauth_u2m", ["databricks-cli"] = "databricks_cli",
  databricks_cli = "databricks_cli", token = "token",
}

local PROFILE_KEYS = {
  host = "host", token = "token", client_id = "client_id", client_secret = "client_secret",
  auth_type = "auth_type", warehouse_id = "warehouse_id", http_path = "http_path", cluster_id = "cluster_id",
  serverless_compute_id = "serverless_compute_id",
}

local function map_auth_type(cfg, origin)
  if cfg.auth_type then
    local t = AUTH_TYPES[cfg.auth_type]
    if not t then
      return err(string.format("%s: auth_type '%s' is not supported (pat, oauth-m2m, external-browser, databricks-cli)",
        origin, cfg.auth_type))
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

--- A config from a profile of a `.databrickscfg` file. The profile is not
-- merged with `[DEFAULT]`; without a name, `[__settings__] default_profile`
-- or `DEFAULT` is used.
-- @tparam[opt] string name profile
-- @tparam[opt] string path file (default `~/.databrickscfg`)
-- @tparam[opt] function getenv for tests (default os.getenv; only HOME is read)
-- @return config table, or nil and a `config` error
function M.from_profile(name, path, getenv)
  getenv = getenv or os.getenv
  path = path or default_path(getenv)
  if not path then return err("no config file: HOME is not set and no path was given") end
  local text, e = read_file(path)
  if not text then
    return err(string.format("cannot read config file %s: %s", path, e))
  end
  local ini, perr = core.ini_parse(text)
  if not ini then return err(string.format("%s: %s", path, perr.message)) end
  local requested = name ~= nil
  if not name then
    local settings = ini.sections.__settings__
    name = settings and settings.default_profile or "DEFAULT"
  end
  local section = ini.sections[name]
  if not section or name == "__settings__" then
    local names = {}
    for _, n in ipairs(ini.order) do if n ~= "__settings__" then names[#names + 1] = n end end
    return err(string.format("profile '%s' not found in %s%s (profiles: %s)", name, path,
      requested and "" or " (the default profile)", #names > 0 and table.concat(names, ", ") or "none"))
  end
  local cfg = {}
  for k, v in pairs(section) do
    if PROFILE_KEYS[k] and v ~= "" then cfg[PROFILE_KEYS[k]] = v end
  end
  local origin = string.format("profile '%s' of %s", name, path)
  if not cfg.host then return err(origin .. " has no host") end
  local ok, merr = map_auth_type(cfg, origin)
  if not ok then return nil, merr end
  return check_methods(cfg, origin)
end

--- A config from the unified-auth environment variables (DATABRICKS_HOST,
-- DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET,
-- DATABRICKS_AUTH_TYPE, DATABRICKS_WAREHOUSE_ID, DATABRICKS_HTTP_PATH,
-- DATABRICKS_CLUSTER_ID). When DATABRICKS_CONFIG_PROFILE or
-- DATABRICKS_CONFIG_FILE is set, that profile is the base and the variables
-- override it; credentials of two methods are a conflict, not a choice.
-- @tparam[opt] function getenv for tests (default os.getenv)
-- @return config table, or nil and a `config` error
function M.from_env(getenv)
  getenv = getenv or os.getenv
  local cfg = {}
  local profile, file = getenv("DATABRICKS_CONFIG_PROFILE"), getenv("DATABRICKS_CONFIG_FILE")
  if (profile and profile ~= "") or (file and file ~= "") then
    local base, e = M.from_profile(profile ~= "" and profile or nil, file ~= "" and file or nil, getenv)
    if not base then return nil, e end
    cfg = base
  end
  local from_env = {}
  for var, key in pairs(ENV_KEYS) do
    local v = getenv(var)
    if v and v ~= "" then
      from_env[key] = v
      cfg[key] = v
    end
  end
  if next(from_env) == nil and not profile and not file then
    return err("no Databricks settings in the environment (DATABRICKS_HOST and credentials)")
  end
  if not cfg.host then return err("DATABRICKS_HOST is not set") end
  local ok, merr = map_auth_type(cfg, "environment")
  if not ok then return nil, merr end
  return check_methods(cfg, "environment")
end

return M
