-- One auth mode of the live runner, in its own scrubbed process (started by
-- spec/live/runner.lua with `env -i`): connect, validate_connection, one SQL
-- statement, one rotation. Everything it knows comes from its environment
-- (see credentials.lua for the names); it writes a JSON result to
-- $DBX_LIVE_RESULT and prints nothing secret: details are built from
-- connector errors (already redacted) and non-secret facts only.
local cjson = require "cjson"
local databricks = require "databricks"
local core = require "databricks.core"
local Rotator = require "databricks.rotator"

local function env(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

local MODE, HOME = env("DBX_LIVE_MODE"), env("HOME")
local result = { mode = MODE, started_at = core.now(), steps = {}, version = databricks.VERSION,
                 user_agent = databricks.user_agent() }

-- What this process was given: variable names (never values) and what its
-- HOME held at start. The isolation spec checks these.
local function environment_names()
  local names = {}
  local f = io.open("/proc/self/environ", "rb")
  if f then
    for entry in f:read("a"):gmatch("([^%z]+)") do names[#names + 1] = entry:match("^([^=]*)") end
    f:close()
  else
    local p = io.popen("env")
    for line in p:lines() do
      local n = line:match("^([%w_]+)=")
      if n and n ~= "PWD" and n ~= "SHLVL" and n ~= "_" then names[#names + 1] = n end
    end
    p:close()
  end
  table.sort(names)
  return names
end

local function home_entries()
  local out = {}
  local p = io.popen("ls -A " .. string.format("'%s'", (HOME or ""):gsub("'", "'\\''")) .. " 2>/dev/null")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end
result.isolation = { env = environment_names(), home = HOME, home_entries = home_entries() }

local function finish()
  result.finished_at = core.now()
  result.duration_ms = math.floor((result.finished_at - result.started_at) * 1000 + 0.5)
  result.status = "pass"
  for _, s in ipairs(result.steps) do
    if s.status == "fail" and result.status == "pass" then
      result.status, result.reason = "fail", s.name .. " failed: " .. tostring(s.detail)
    end
  end
  local f = assert(io.open(assert(env("DBX_LIVE_RESULT"), "DBX_LIVE_RESULT is not set"), "wb"))
  f:write(cjson.encode(result))
  f:close()
  os.exit(result.status == "pass" and 0 or 1, true)
end

-- Runs one step: fn returns "pass"|"fail"|"skip" and a detail line.
local function step(name, fn)
  local t0 = core.monotonic()
  local ok, status, detail = pcall(fn)
  if not ok then status, detail = "fail", "raised: " .. core.redact(tostring(status)) end
  result.steps[#result.steps + 1] = { name = name, status = status, detail = detail,
                                      ms = math.floor((core.monotonic() - t0) * 1000 + 0.5) }
  return status == "pass"
end

local function skip_rest(from, why)
  local started = false
  for _, name in ipairs({ "connect", "validate", "sql", "rotate" }) do
    if name == from then started = true end
    if started then result.steps[#result.steps + 1] = { name = name, status = "skip", detail = why, ms = 0 } end
  end
end

-- The latest OAuth tokens (a rotating refresh token must be kept).
local tokens = {}

local function config()
  local timeout = tonumber(env("DBX_LIVE_TIMEOUT") or "")
  if MODE == "oauth_u2m_token" then
    tokens = { access_token = env("DBX_LIVE_ACCESS_TOKEN"), refresh_token = env("DBX_LIVE_REFRESH_TOKEN") }
    return {
      host = env("DATABRICKS_HOST"), auth_type = "token", access_token = tokens.access_token,
      refresh_token = tokens.refresh_token, client_id = env("DBX_LIVE_CLIENT_ID"),
      warehouse_id = env("DATABRICKS_WAREHOUSE_ID"), http_path = env("DATABRICKS_HTTP_PATH"), timeout = timeout,
      on_tokens = function(t) tokens = t end,
    }
  end
  -- The unified-auth variables, exactly as a user's pipeline reads them.
  local cfg, err = databricks.config_from_env()
  if not cfg then return nil, err end
  cfg.timeout = timeout
  if MODE == "databricks_cli" then cfg.databricks_cli = env("DBX_LIVE_CLI") end
  return cfg
end

local client
local ok = step("connect", function()
  local cfg, err = config()
  if not cfg then return "fail", tostring(err) end
  local c, cerr = databricks.connect(cfg)
  if not c then return "fail", tostring(cerr) end
  client = c
  local info = c:_info()
  return "pass", string.format("auth %s, %s", info.auth_type, info.host)
end)
if not ok then
  skip_rest("validate", "connect failed")
  finish()
end

step("validate", function()
  local v = client:validate_connection{ table = env("DBX_LIVE_TABLE") }
  local parts = {}
  for _, name in ipairs({ "authentication", "unity_catalog", "statement_execution" }) do
    local c = v.checks[name]
    if c.skipped then
      parts[#parts + 1] = name .. " skipped"
    else
      parts[#parts + 1] = string.format("%s %s %s %.0f ms%s", name, c.ok and "ok" or "FAILED", c.status or "-",
        c.ms or 0, c.error and (" (" .. tostring(c.error) .. ")") or "")
    end
  end
  return v.ok and "pass" or "fail", table.concat(parts, "; ") .. (v.user and ("; user " .. v.user) or "")
end)

step("sql", function()
  local info = client:_info()
  if not info.warehouse_id then return "skip", "no warehouse_id or http_path given" end
  local statement = env("DBX_LIVE_STATEMENT") or "SELECT 1"
  local res, err = client:sql(statement, { timeout = tonumber(env("DBX_LIVE_TIMEOUT") or "") or 300 })
  if not res then return "fail", tostring(err) end
  if #res.rows == 0 then return "fail", "`" .. statement .. "` returned no row" end
  return "pass", string.format("`%s`: %d row(s), %d column(s), statement %s", statement, #res.rows, #res.columns,
    res.statement_id)
end)

-- Rotation ----------------------------------------------------------------

local PG = {
  instance = env("DBX_LIVE_PG_INSTANCE"), endpoint = env("DBX_LIVE_PG_ENDPOINT"), host = env("DBX_LIVE_PG_HOST"),
  port = tonumber(env("DBX_LIVE_PG_PORT") or "5432"), database = env("DBX_LIVE_PG_DATABASE") or "databricks_postgres",
  username = env("DBX_LIVE_PG_USERNAME"),
}
local PGPASS = HOME .. "/.pgpass"
local lakebase = PG.instance or PG.endpoint

local function check_pgpass(host, user)
  local pw, err = databricks.pgpass.lookup{ path = PGPASS, host = host, port = PG.port, database = PG.database,
                                            username = user }
  if not pw or pw == "" then return false, "no entry in .pgpass afterwards: " .. tostring(err) end
  if (core.file_mode(PGPASS) or 0) & 63 ~= 0 then return false, ".pgpass is wider than 0600" end
  return true
end

-- The rotator itself (token source -> password -> .pgpass) for the OAuth
-- sources it has; without [lakebase] the workspace token is the password.
local function rotate_with_rotator(source, extra)
  local opts = {
    workspace_url = env("DATABRICKS_HOST"), auth = source, pgpass_file = PGPASS,
    log_file = HOME .. "/rotator.log", status_file = HOME .. "/rotator-status.json", stderr = false,
    ca_bundle = env("SSL_CERT_FILE"), instance_name = PG.instance, endpoint = PG.endpoint,
    pg_host = PG.host or (not lakebase and "lakebase.invalid" or nil), pg_port = PG.port,
    pg_database = PG.database, pg_username = PG.username,
  }
  for k, v in pairs(extra) do opts[k] = v end
  local r, err = Rotator.new(opts)
  if not r then return "fail", tostring(err) end
  local report, rerr = r:run_once()
  if not report then return "fail", tostring(rerr) end
  local fine, why = check_pgpass(report.pg_host, report.pg_username)
  if not fine then return "fail", why end
  return "pass", string.format("rotator (source %s): %s for %s@%s:%d/%s into ~/.pgpass [%s], expires in %d min",
    report.source, lakebase and "Lakebase credential" or "workspace token (no [lakebase] section)",
    report.pg_username, report.pg_host, report.pg_port, report.pg_database, report.action,
    math.floor((report.expires_at - core.now()) / 60))
end

-- The library's pieces for sources the rotator does not have (a PAT, a bare
-- access token): database_credential, then pgpass.update.
local function rotate_with_library()
  if not lakebase then
    return "skip", "the rotator's token sources are OAuth; with this mode, rotation needs a [lakebase] section"
  end
  local cred, err = client:database_credential(PG.instance and { instance_names = { PG.instance } } or
                                               { endpoint = PG.endpoint })
  if not cred then return "fail", tostring(err) end
  local host = PG.host
  if not host then
    if not PG.instance then return "fail", "[lakebase] pg_host is needed with an endpoint" end
    local inst, ierr = client:request("GET", "/api/2.0/database/instances/" .. PG.instance)
    if not inst then return "fail", tostring(ierr) end
    host = inst.read_write_dns
  end
  local user = PG.username
  if not user then
    local me, merr = client:current_user()
    if not me then return "fail", tostring(merr) end
    user = me.userName
  end
  local rep, uerr = databricks.pgpass.update{ path = PGPASS, host = host, port = PG.port, database = PG.database,
                                              username = user, password = cred.token }
  if not rep then return "fail", tostring(uerr) end
  local fine, why = check_pgpass(host, user)
  if not fine then return "fail", why end
  return "pass", string.format("database_credential + pgpass.update: %s@%s:%d/%s [%s], expires in %d min",
    user, host, PG.port, PG.database, rep.action, math.floor((cred.expires_at - core.now()) / 60))
end

step("rotate", function()
  if MODE == "oauth_m2m" then
    return rotate_with_rotator("m2m", { client_id = env("DATABRICKS_CLIENT_ID"),
                                        client_secret = env("DATABRICKS_CLIENT_SECRET") })
  elseif MODE == "databricks_cli" then
    return rotate_with_rotator("cli", { databricks_cli = env("DBX_LIVE_CLI") })
  elseif MODE == "oauth_u2m_token" and tokens.refresh_token then
    -- What databricks-oauth-login would have stored, from the newest tokens
    -- (the refresh token may have rotated during the steps above).
    client:close()
    local store = HOME .. "/oauth-tokens.json"
    local saved, err = core.store_save(store, { host = env("DATABRICKS_HOST"),
      client_id = env("DBX_LIVE_CLIENT_ID") or "databricks-cli" }, tokens)
    if not saved then return "fail", tostring(err) end
    return rotate_with_rotator("u2m", { token_store = store })
  end
  return rotate_with_library()
end)

if client then client:close() end
finish()
