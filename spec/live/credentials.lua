-- The live runner's credentials file and what each auth mode is given.
--
-- The file is INI (see credentials.example.ini): a [workspace] section
-- shared by every mode, one section per auth mode, and an optional
-- [lakebase] section for the rotation step. `plan` turns it into one entry
-- per mode: skipped (no section), failed (incomplete section), or the exact
-- environment its child process gets. That environment is the whole
-- isolation contract: the child starts from `env -i` with these variables
-- and nothing else. Plain Lua 5.4: it never loads the code under test.
local M = {}

M.MODES = { "pat", "oauth_m2m", "oauth_u2m_token", "databricks_cli" }

-- Keys each section accepts; `true` marks a secret (redacted from reports).
local KEYS = {
  workspace = { host = false, warehouse_id = false, http_path = false, table = false, statement = false,
                ca_bundle = false, timeout = false },
  pat = { token = true },
  oauth_m2m = { client_id = false, client_secret = true },
  oauth_u2m_token = { access_token = true, refresh_token = true, client_id = false },
  databricks_cli = { cli = false, databricks_dir = false },
  lakebase = { instance_name = false, endpoint = false, pg_host = false, pg_port = false,
               pg_database = false, pg_username = false },
}
-- Any mode section may also override a [workspace] key.
for _, mode in ipairs(M.MODES) do
  for k in pairs(KEYS.workspace) do KEYS[mode][k] = false end
end

local REQUIRED = {
  pat = { "token" },
  oauth_m2m = { "client_id", "client_secret" },
  oauth_u2m_token = { "access_token" },
  databricks_cli = {},
}

--- Parses INI text: `[section]`, `key = value`, `#`/`;` comment lines, an
-- inline ` ;`/` #` comment after a value. Unknown sections and keys and
-- control characters in values are errors (a typo must not silently skip a
-- mode). Returns {section = {key = value}}, or nil and a message.
function M.parse(text, name)
  local out, section = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    local where = string.format("%s:%d", name or "credentials", n)
    local blank = line == "" or line:match("^[#;]")
    if blank then
      goto continue
    elseif line:match("^%[.*%]$") then
      section = line:match("^%[%s*([%w_]+)%s*%]$")
      if not section or not KEYS[section] then
        return nil, string.format("%s: unknown section %s (known: workspace, lakebase, %s)", where, line,
          table.concat(M.MODES, ", "))
      end
      if out[section] then return nil, where .. ": section [" .. section .. "] appears twice" end
      out[section] = {}
    else
      local key, value = line:match("^([%w_]+)%s*=%s*(.-)$")
      if not key then return nil, where .. ": expected key = value" end
      if not section then return nil, where .. ": " .. key .. " is outside any [section]" end
      if KEYS[section][key] == nil then
        return nil, string.format("%s: unknown key %s in [%s]", where, key, section)
      end
      value = value:gsub("%s+[#;].*$", "")
      if value:find("[%c]") then return nil, where .. ": control character in the value of " .. key end
      out[section][key] = value ~= "" and value or nil
    end
    ::continue::
  end
  return out
end

--- The values of secret keys, for redaction.
function M.secrets(creds)
  local out = {}
  for section, keys in pairs(KEYS) do
    for k, secret in pairs(keys) do
      local v = creds[section] and creds[section][k]
      if secret and v and #v >= 4 then out[#out + 1] = v end
    end
  end
  table.sort(out, function(a, b) return #a > #b end)
  return out
end

-- [workspace] merged with the mode's own section (the mode wins).
local function merged(creds, mode)
  local m = {}
  for k, v in pairs(creds.workspace or {}) do m[k] = v end
  for k, v in pairs(creds[mode] or {}) do m[k] = v end
  return m
end

--- One entry per mode, in M.MODES order: {mode=, status="skip", reason=}
-- or {mode=, status="fail", reason=} or {mode=, status="run", env={...}}.
-- `opts.resolve(program)` finds a program on the runner's PATH (for `cli`).
function M.plan(creds, opts)
  opts = opts or {}
  local out = {}
  for _, mode in ipairs(M.MODES) do
    local entry = { mode = mode }
    out[#out + 1] = entry
    if not creds or not creds[mode] then
      entry.status = "skip"
      entry.reason = creds and ("no [" .. mode .. "] section in the credentials file") or
        "no credentials file (set DBX_LIVE_CREDENTIALS or create spec/live/credentials.ini)"
    else
      local m = merged(creds, mode)
      local missing = {}
      for _, k in ipairs(REQUIRED[mode]) do
        if not m[k] then missing[#missing + 1] = k end
      end
      if not m.host then table.insert(missing, 1, "host") end
      if #missing > 0 then
        entry.status = "fail"
        entry.reason = string.format("[%s] is incomplete: %s missing", mode, table.concat(missing, ", "))
      else
        entry.status = "run"
        entry.env, entry.reason = M.environment(mode, m, creds.lakebase, opts)
        if not entry.env then entry.status = "fail" end
        -- The CLI keeps its tokens under ~/.databricks: that one folder may
        -- be made visible in the fresh HOME, by a link the runner creates.
        if mode == "databricks_cli" and m.databricks_dir then
          entry.home_links = { [".databricks"] = m.databricks_dir }
        end
      end
    end
  end
  return out
end

--- The environment of one mode's child (besides PATH, HOME, TMPDIR, LANG,
-- LUA_PATH, LUA_CPATH and the runner's DBX_LIVE_MODE / DBX_LIVE_RESULT):
-- the unified-auth names for what config_from_env understands, DBX_LIVE_*
-- for the rest. Returns the table, or nil and a reason.
function M.environment(mode, m, lakebase, opts)
  local env = { DATABRICKS_HOST = m.host }
  env.DATABRICKS_WAREHOUSE_ID = m.warehouse_id
  env.DATABRICKS_HTTP_PATH = m.http_path
  env.SSL_CERT_FILE = m.ca_bundle
  env.DBX_LIVE_TABLE = m.table
  env.DBX_LIVE_STATEMENT = m.statement
  env.DBX_LIVE_TIMEOUT = m.timeout
  if mode == "pat" then
    env.DATABRICKS_AUTH_TYPE = "pat"
    env.DATABRICKS_TOKEN = m.token
  elseif mode == "oauth_m2m" then
    env.DATABRICKS_AUTH_TYPE = "oauth-m2m"
    env.DATABRICKS_CLIENT_ID = m.client_id
    env.DATABRICKS_CLIENT_SECRET = m.client_secret
  elseif mode == "oauth_u2m_token" then
    env.DBX_LIVE_ACCESS_TOKEN = m.access_token
    env.DBX_LIVE_REFRESH_TOKEN = m.refresh_token
    env.DBX_LIVE_CLIENT_ID = m.client_id
  elseif mode == "databricks_cli" then
    env.DATABRICKS_AUTH_TYPE = "databricks-cli"
    local cli = m.cli or "databricks"
    if not cli:find("/") then
      cli = opts.resolve and opts.resolve(cli)
      if not cli then
        return nil, "the Databricks CLI (`" .. (m.cli or "databricks") ..
          "`) is not on PATH; install it or set cli = /path/to/databricks in [databricks_cli]"
      end
    end
    env.DBX_LIVE_CLI = cli
  end
  if lakebase then
    if lakebase.instance_name and lakebase.endpoint then
      return nil, "[lakebase]: give instance_name or endpoint, not both"
    end
    env.DBX_LIVE_PG_INSTANCE = lakebase.instance_name
    env.DBX_LIVE_PG_ENDPOINT = lakebase.endpoint
    env.DBX_LIVE_PG_HOST = lakebase.pg_host
    env.DBX_LIVE_PG_PORT = lakebase.pg_port
    env.DBX_LIVE_PG_DATABASE = lakebase.pg_database
    env.DBX_LIVE_PG_USERNAME = lakebase.pg_username
  end
  return env
end

return M
