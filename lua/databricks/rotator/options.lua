--- Every option of the Lakebase credential rotator, in one table.
-- One row per option: its `Rotator.new` key, its command-line flag, its
-- environment variable, its type and range, and its help line. Everything
-- that knows about rotator options reads this table and nothing else: the
-- command-line parser and `--help` of `databricks-oauth-rotator`,
-- `databricks-oauth-install` and `databricks-oauth-psql`, the validation
-- of `Rotator.new`, the keys of a `--config` file, the service's command
-- line written by the installer, the man pages and the shell completion.
-- Adding an option is one row here (CONTRIBUTING.md, "Adding a rotator
-- option"); its behaviour then goes where the row's `scope` says.
--
-- Row fields:
--   key      the Rotator.new key (also the config-file key unless `config`)
--   flag     the long flag without "--" (nil: API only)
--   config   the config-file key when it differs from `key` (false: none)
--   env      environment variable read when the flag is absent
--   type     "string" | "number" | "integer" | "boolean" | "list" (a
--            repeatable string) | "table" | "function" (API only)
--   min/max  range of a number; choices: the allowed strings
--   check    a further check: function(value) -> nil or "must ..." text
--   scope    "target": one target's setting (CLI, [rotator] defaults,
--              [target NAME] sections, Rotator.new)
--            "daemon": the process's (CLI, [rotator], Rotator.new)
--            "cli": a command-line mode of one program (not in a file)
--            "install": databricks-oauth-install's own
--            "api": Rotator.new only
--   service  false: never written into the service's command line
--   secret   the value is a secret: never in argv, a unit or a log
--   path     a file path (the installer makes it absolute)
--   metavar  the value's name in --help; help: the help text
--   programs which command lines take it (default: rotator, install, psql
--            for target/daemon scopes)
-- @module databricks.rotator.options
local M = {}

local function positive_seconds(max)
  return function(v)
    if not (v > 0 and v <= max) then return "must be between 0 and " .. max .. " seconds" end
  end
end

local core = require "databricks.core"

-- The output kinds are the core's (src/outputs.c): a kind added there is
-- accepted, listed in --help and completed without a change here.
local OUTPUT_KINDS, KIND_NAMES = {}, {}
for _, k in ipairs(core.output_kinds()) do
  OUTPUT_KINDS[k.name] = k.summary
  KIND_NAMES[#KIND_NAMES + 1] = k.name
end
M.OUTPUT_KINDS = OUTPUT_KINDS
M.OUTPUT_KIND_NAMES = KIND_NAMES

local function kinds_text()
  return table.concat(KIND_NAMES, ", ", 1, #KIND_NAMES - 1) .. " or " .. KIND_NAMES[#KIND_NAMES]
end

local function output_check(v)
  local kind = v:match("^(%w+):.")
  if not kind then return "must be KIND:PATH (" .. kinds_text() .. "), e.g. pgbouncer:/etc/pgbouncer/userlist.txt" end
  if not OUTPUT_KINDS[kind] then
    return "has an unknown kind '" .. kind .. "' (" .. kinds_text() .. ")"
  end
end

local function endpoint_check(v)
  if not v:match("^projects/[^/]+/branches/[^/]+/endpoints/[^/]+$") then
    return "must look like projects/<project>/branches/<branch>/endpoints/<endpoint>"
  end
end

-- Options of the rotator and the installer only (not of databricks-oauth-psql,
-- which writes nothing and runs no schedule).
local RI = { rotator = true, install = true }

--- The rows, in the order the service's command line lists them.
M.ROWS = {
  { key = "workspace_url", flag = "workspace-url", env = "DATABRICKS_HOST", type = "string", scope = "target",
    metavar = "URL", help = "workspace URL" },
  { key = "pg_host", flag = "pg-host", env = "DATABRICKS_PG_HOST", type = "string", scope = "target",
    metavar = "HOST", help = "PostgreSQL host (default: the instance's or endpoint's host)" },
  { key = "pg_port", flag = "pg-port", type = "integer", min = 1, max = 65535, range = "a port number 1-65535",
    scope = "target",
    metavar = "PORT", help = "PostgreSQL port (default 5432)" },
  { key = "pg_database", flag = "pg-database", type = "string", scope = "target",
    metavar = "NAME", help = "database (default databricks_postgres)" },
  { key = "pg_username", flag = "pg-username", env = "DATABRICKS_PG_USERNAME", type = "string", scope = "target",
    metavar = "USER", help = "PostgreSQL user (default: your Databricks userName)" },
  { key = "pgpass_file", flag = "pgpass-file", env = "PGPASSFILE", type = "string", scope = "target", path = true,
    programs = RI, metavar = "PATH", help = ".pgpass to update (default ~/.pgpass)" },
  { key = "log_file", flag = "log-file", type = "string", scope = "daemon", path = true, programs = RI,
    metavar = "PATH", help = "log file (default ~/.databricks_oauth_rotator.log)" },
  { key = "status_file", flag = "status-file", type = "string", scope = "daemon", path = true, programs = RI,
    metavar = "PATH", help = "status file read by databricks-oauth-status "
      .. "(default ~/.local/state/lua-databricks/rotator-status.json)" },
  { key = "rotation_interval", flag = "interval", config = "interval", type = "integer", min = 1, max = 1440,
    programs = RI,
    range = "a whole number of minutes from 1 to 1440",
    scope = "target", metavar = "MIN",
    help = "minutes between rotations, 1-1440 (default 50); also rotates before the credential expires" },
  { key = "instance_name", flag = "instance-name", type = "string", scope = "target",
    metavar = "NAME", help = "Lakebase provisioned instance: password from the credential API" },
  { key = "endpoint", flag = "endpoint", type = "string", scope = "target", check = endpoint_check,
    metavar = "ENDPOINT", help = "Lakebase autoscaling endpoint (projects/P/branches/B/endpoints/E)" },
  { key = "ttl", flag = "ttl", type = "integer", min = 300, max = 3600, range = "seconds from 300 to 3600",
    scope = "target", metavar = "SECONDS", help = "credential lifetime to ask an autoscaling endpoint for" },
  { key = "output", flag = "output", type = "list", check = output_check, scope = "target", path = "after-colon",
    programs = RI,
    metavar = "KIND:PATH", help = "write the credential to PATH as KIND: " .. kinds_text()
      .. "; repeatable (default: pgpass at --pgpass-file)" },
  { key = "on_rotate", flag = "on-rotate", type = "list", scope = "target", metavar = "COMMAND", programs = RI,
    help = "run COMMAND (/bin/sh -c) after each successful rotation, with DBX_TARGET, DBX_OUTPUTS and "
      .. "DBX_EXPIRES_AT set (never a secret); repeatable" },
  { key = "auth", flag = "auth", type = "string", choices = { "m2m", "u2m", "cli", "oidc" }, scope = "target",
    metavar = "m2m|u2m|cli|oidc", help = "force a token source (default: m2m when client credentials are set, "
      .. "else oidc when an OIDC token file or variable is given, else tokens stored by databricks-oauth-login, "
      .. "else the Databricks CLI)" },
  { key = "ca_bundle", flag = "ca-bundle", type = "string", scope = "target", path = true,
    metavar = "PATH", help = "CA bundle for TLS (default: SSL_CERT_FILE, else CURL_CA_BUNDLE, else the system's)" },
  { key = "timeout", flag = "timeout", type = "number", check = positive_seconds(3600), scope = "target",
    metavar = "SEC", help = "seconds per HTTP attempt (default 30)" },
  { key = "retry_budget", flag = "retry-budget", type = "number", check = positive_seconds(3600), scope = "target",
    metavar = "SEC", help = "seconds of retries per call (default 60)" },
  { key = "client_id", flag = "client-id", env = "DATABRICKS_CLIENT_ID", type = "string", scope = "target",
    service = false, metavar = "ID", help = "OAuth client (service principal application) id" },
  { key = "client_secret_file", flag = "client-secret-file", type = "string", scope = "target", path = true,
    metavar = "FILE",
    help = "read the client secret from FILE (mode 0600): the secret alone, or DATABRICKS_CLIENT_SECRET= / "
      .. "DATABRICKS_TOKEN_STORE= lines" },
  { key = "client_secret", flag = "client-secret", env = "DATABRICKS_CLIENT_SECRET", type = "string",
    scope = "target", secret = true, config = false, service = false, hidden = true, metavar = "SECRET",
    help = "the client secret (visible to every user in the process list: prefer the variable or the file)" },
  { key = "token_store", flag = "token-store", env = "DATABRICKS_TOKEN_STORE", type = "string", scope = "target",
    path = true, service = false, metavar = "PATH",
    help = "tokens stored by databricks-oauth-login (default ~/.config/lua-databricks/oauth/<host>.json)" },
  { key = "oidc_token_file", flag = "oidc-token-file", env = "DATABRICKS_OIDC_TOKEN_FILEPATH", type = "string",
    scope = "target", path = true, metavar = "PATH",
    help = "oidc: a file holding the workload's ID token (e.g. a Kubernetes projected service account token), "
      .. "read afresh at every exchange" },
  { key = "oidc_token_env", flag = "oidc-token-env", env = "DATABRICKS_OIDC_TOKEN_ENV", type = "string",
    scope = "target", metavar = "NAME",
    help = "oidc: the variable holding the ID token (default DATABRICKS_OIDC_TOKEN; GitHub Actions' own token "
      .. "is used inside a workflow)" },
  { key = "token_audience", flag = "token-audience", env = "DATABRICKS_TOKEN_AUDIENCE", type = "string",
    scope = "target", metavar = "AUD", help = "oidc: the audience of the ID token (default: the token endpoint, "
      .. "or the account id)" },
  { key = "account_id", flag = "account-id", env = "DATABRICKS_ACCOUNT_ID", type = "string", scope = "target",
    metavar = "ID", help = "use the account's OAuth endpoints (account-wide federation)" },
  { key = "profile", flag = "profile", type = "string", scope = "target", metavar = "NAME",
    help = "cli: the Databricks CLI profile (databricks auth token --profile NAME)" },
  { key = "verbose", flag = "verbose", type = "boolean", scope = "daemon", help = "more detail in the log" },
  { key = "config", flag = "config", type = "string", scope = "cli", programs = { rotator = true, install = true },
    path = true, service = true, metavar = "FILE",
    help = "INI file: [rotator] defaults and one [target NAME] section per credential to keep fresh" },
  { key = "once", flag = "once", type = "boolean", scope = "cli", programs = { rotator = true },
    help = "rotate once and exit (default: run as a daemon)" },
  { key = "json", flag = "json", type = "boolean", scope = "cli", programs = { rotator = true },
    help = "print the rotation report as JSON (with --once or --check)" },
  { key = "check", flag = "check", type = "boolean", scope = "cli", programs = { rotator = true },
    help = "rotate nothing, write nothing: say which token source would be used and why, which files would be "
      .. "written with which modes, then try the token endpoint and the credential API (exit 0: a rotation would "
      .. "succeed, 1: it would fail)" },
  -- API only
  { key = "databricks_cli", type = "string", scope = "target", config = false,
    help = "the Databricks CLI program (API only; default databricks on PATH)" },
  { key = "min_validity", type = "number", scope = "target", config = false, check = positive_seconds(86400),
    help = "refuse a password that expires sooner (seconds, default 120)" },
  { key = "workers", type = "integer", min = 0, max = 64, scope = "api",
    help = "rotations the daemon runs at once, each in a child process so a slow target never delays "
      .. "another (default one per target, at most 64; 0: one at a time in this process)" },
  { key = "hook_timeout", type = "number", scope = "target", config = false, check = positive_seconds(3600),
    help = "seconds an --on-rotate command may run before it is killed (API only; default 60)" },
  { key = "vocabulary", type = "string", choices = { "api", "cli" }, scope = "api",
    help = "the words of configuration errors: API keys (default) or command-line flags" },
  { key = "log", type = "table", scope = "api", help = "a databricks.log logger" },
  { key = "stderr", type = "boolean", scope = "api", help = "log to stderr (default true)" },
  { key = "clock", type = "function", scope = "api", help = "wall-clock function (tests)" },
  { key = "max_slice", type = "number", scope = "api", help = "longest sleep in seconds (tests)" },
  { key = "random", type = "function", scope = "api", help = "random number function in [0,1) (tests)" },
}

local function index()
  M.by_key, M.by_flag, M.by_config = {}, {}, {}
  for _, row in ipairs(M.ROWS) do
    M.by_key[row.key] = row
    if row.flag then M.by_flag[row.flag] = row end
    if row.config ~= false and row.scope ~= "cli" and row.scope ~= "install" and row.scope ~= "api" then
      M.by_config[row.config or row.key] = row
    end
  end
end
index()

--- Adds a row (for options defined elsewhere, and for specs proving that
-- one row is all an option takes). Returns the row.
function M.add(row, before)
  local at = #M.ROWS + 1
  for i, r in ipairs(M.ROWS) do
    if r.key == before then at = i end
  end
  table.insert(M.ROWS, at, row)
  index()
  return row
end

--- Removes the row of `key` (the inverse of `add`).
function M.remove(key)
  for i, r in ipairs(M.ROWS) do
    if r.key == key then table.remove(M.ROWS, i) end
  end
  index()
end

local function for_program(row, program)
  if row.programs then return row.programs[program] end
  if row.scope == "target" or row.scope == "daemon" then return true end
  return false
end

--- The argument spec of `databricks.cli.args` for a program ("rotator",
-- "install", "psql"): flag -> "string" | "number" | "flag" | "list".
function M.cli_spec(program, extra)
  local spec = { help = "flag", version = "flag" }
  for _, row in ipairs(M.ROWS) do
    if row.flag and for_program(row, program) then
      spec[row.flag] = row.type == "boolean" and "flag" or row.type == "list" and "list"
        or (row.type == "number" or row.type == "integer") and "number" or "string"
    end
  end
  for k, v in pairs(extra or {}) do spec[k] = v end
  return spec
end

--- A library message in other words: each key of `words` (e.g.
-- `{login_timeout = "--timeout"}`) is replaced where it stands as a word.
-- Command lines never show a library key.
function M.reword(message, words)
  for key, word in pairs(words) do
    -- A placeholder such as <account_id> stays as it is.
    message = message:gsub("(<?)%f[%w_]" .. key:gsub("%p", "%%%0") .. "%f[^%w_]", function(lt)
      if lt == "<" then return nil end
      return word
    end)
  end
  return message
end

--- The rotator's keys as its command line names them (every row with a
-- flag, and the connect keys the config builder may name).
function M.cli_words()
  local words = { auth_type = "--auth", client_secret = "--client-secret-file" }
  for _, row in ipairs(M.ROWS) do
    if row.flag and row.key:find("_", 1, true) then words[row.key] = "--" .. row.flag end
  end
  return words
end

--- The names of an option in each vocabulary: "cli" ("--auth"), "config"
-- ("auth", as a file key), "api" ("auth").
function M.name(row, vocabulary)
  if vocabulary == "cli" and row.flag then return "--" .. row.flag end
  if vocabulary == "config" then return row.config or row.key end
  return row.key
end

local function describe(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

--- Checks one value against its row. Returns the value (numbers from
-- strings converted for the cli/config vocabularies), or nil and a message
-- naming the option in `vocabulary`.
function M.check(row, v, vocabulary)
  local name = M.name(row, vocabulary)
  local want = row.type
  if vocabulary ~= "api" and (want == "number" or want == "integer") and type(v) == "string" then
    v = tonumber(v) or v
  end
  if vocabulary ~= "api" and want == "boolean" and type(v) == "string" then
    local b = ({ ["true"] = true, yes = true, ["1"] = true, ["false"] = false, no = false, ["0"] = false })[v:lower()]
    if b ~= nil then v = b end
  end
  if want == "list" and type(v) == "string" then v = { v } end
  local lua_type = (want == "integer" and "number") or (want == "list" and "table") or want
  if type(v) ~= lua_type then
    local what = ({ list = "list of strings", integer = "number" })[want] or want
    return nil, string.format("%s must be a %s (got %s)", name, what, type(v) == "string" and describe(v) or type(v))
  end
  if want == "integer" and math.type(v) ~= "integer" and v ~= math.floor(v) then
    return nil, string.format("%s must be %s (got %s)", name, row.range or "a whole number", describe(v))
  end
  if want == "integer" then v = math.tointeger(v) or v end
  if row.min and (v < row.min or v > row.max) then
    return nil, string.format("%s must be %s (got %s)", name,
      row.range or string.format("from %s to %s", row.min, row.max), describe(v))
  end
  if row.choices then
    local ok = false
    for _, c in ipairs(row.choices) do ok = ok or c == v end
    if not ok then
      local list = table.concat(row.choices, ", ", 1, #row.choices - 1) .. " or " .. row.choices[#row.choices]
      return nil, string.format("%s must be %s (got %s)", name, list, describe(v))
    end
  end
  local items = want == "list" and v or { v }
  for i, item in ipairs(items) do
    if want == "list" and type(item) ~= "string" then
      return nil, string.format("%s must be a list of strings (item %d is a %s)", name, i, type(item))
    end
    if want == "string" or want == "list" then
      if item == "" then return nil, name .. " must not be empty" end
      if item:find("%z") then return nil, name .. " must not contain a NUL byte" end
    end
    local why = row.check and row.check(item)
    if why then return nil, string.format("%s %s (got %s)", name, why, describe(item)) end
  end
  return v
end

--- Validates an options table keyed by Rotator.new keys: every key known
-- and allowed in `scopes` (a set; default all), every value of the right
-- type and range. Returns a new table of checked values, or nil and a
-- message naming the first bad option in `vocabulary` ("api" by default).
function M.validate(t, vocabulary, scopes)
  vocabulary = vocabulary or "api"
  local out = {}
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local row = M.by_key[k]
    if not row or (scopes and not scopes[row.scope]) then
      return nil, string.format("unknown rotator option '%s'", tostring(k))
    end
    local v, err = M.check(row, t[k], vocabulary)
    if v == nil then return nil, err end
    out[k] = v
  end
  return out
end

--- The checks that involve several options of one target (after each
-- value passed `check`). `t` is keyed by Rotator.new keys; messages name
-- the options in `vocabulary`. Returns true, or nil and a message.
function M.check_target(t, vocabulary)
  local function n(key) return M.name(M.by_key[key], vocabulary) end
  local cli = vocabulary == "cli"
  if not t.workspace_url then
    return nil, cli and "the workspace URL is required: --workspace-url URL or DATABRICKS_HOST"
      or "the workspace URL is required (" .. n("workspace_url") .. ")"
  end
  local ok, herr = core.normalize_host(t.workspace_url)
  if not ok then return nil, n("workspace_url") .. ": " .. herr.message end
  local has_secret = t.client_secret or t.client_secret_file
  if t.auth == "m2m" and not (t.client_id and has_secret) then
    return nil, cli and "--auth m2m needs DATABRICKS_CLIENT_ID (or --client-id) and a client secret "
      .. "(DATABRICKS_CLIENT_SECRET or --client-secret-file)"
      or "auth m2m needs client_id and client_secret (or client_secret_file)"
  end
  if t.client_secret and not t.client_id then
    return nil, "a client secret was given without " .. (cli and "DATABRICKS_CLIENT_ID (or --client-id)" or "client_id")
  end
  if t.instance_name and t.endpoint then
    return nil, n("instance_name") .. " and " .. n("endpoint") .. " are exclusive: give one"
  end
  if not (t.pg_host or t.instance_name or t.endpoint) then
    return nil, string.format("the PostgreSQL host is required (%s%s), unless %s or %s names a Lakebase "
      .. "instance or endpoint", n("pg_host"), cli and " or DATABRICKS_PG_HOST" or "", n("instance_name"),
      n("endpoint"))
  end
  if t.ttl and not t.endpoint then return nil, n("ttl") .. " applies to an autoscaling " .. n("endpoint") .. " only" end
  return true
end

--- The options given as flags (`opts` as parsed, keyed by flag), keyed by
-- Rotator.new keys (unchecked).
function M.from_flags(opts, program)
  local out = {}
  for _, row in ipairs(M.ROWS) do
    if row.flag and for_program(row, program or "rotator") then out[row.key] = opts[row.flag] end
  end
  return out
end

--- The options the environment gives (`getenv`; empty variables count as
-- unset), keyed by Rotator.new keys (unchecked strings).
function M.from_env(getenv, program)
  local out = {}
  for _, row in ipairs(M.ROWS) do
    if row.env and for_program(row, program or "rotator") then
      local v = getenv(row.env)
      if v ~= nil and v ~= "" then out[row.key] = v end
    end
  end
  return out
end

--- Options from parsed flags and the environment: flags win. Returns a
-- table keyed by Rotator.new keys (unchecked).
function M.from_cli(opts, getenv, program)
  local out = M.from_env(getenv, program)
  for k, v in pairs(M.from_flags(opts, program)) do out[k] = v end
  return out
end

--- The service's command line for resolved options `cfg`: every option
-- the service needs, as flags in table order. Secrets and options marked
-- `service = false` are left out.
function M.argv(cfg)
  local argv = {}
  local function int(n) return string.format("%d", math.tointeger(n) or math.floor(n)) end
  for _, row in ipairs(M.ROWS) do
    local v = cfg[row.key]
    if row.flag and v ~= nil and not row.secret
        and (row.service == true or (row.service ~= false and (row.scope == "target" or row.scope == "daemon"))) then
      if row.type == "boolean" then
        if v then argv[#argv + 1] = "--" .. row.flag end
      elseif row.type == "list" then
        for _, item in ipairs(v) do
          argv[#argv + 1] = "--" .. row.flag
          argv[#argv + 1] = item
        end
      else
        argv[#argv + 1] = "--" .. row.flag
        argv[#argv + 1] = row.type == "integer" and int(v) or tostring(v)
      end
    end
  end
  return argv
end

local function wrap(text, width, indent)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if #line > 0 and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line = word
    else
      line = #line > 0 and (line .. " " .. word) or word
    end
  end
  if #line > 0 then lines[#lines + 1] = line end
  return table.concat(lines, "\n" .. string.rep(" ", indent))
end

--- The options part of a program's --help: one line per flag (the flag,
-- its metavar, the help text wrapped, and the environment variable).
function M.help(program, filter)
  local out = {}
  for _, row in ipairs(M.ROWS) do
    if row.flag and not row.hidden and for_program(row, program) and (not filter or filter(row)) then
      local left = "  --" .. row.flag .. (row.metavar and (" " .. row.metavar) or "")
      local text = row.help .. (row.env and (" (env " .. row.env .. ")") or "")
      if #left > 26 then
        out[#out + 1] = left
        left = ""
      end
      out[#out + 1] = string.format("%-27s%s", left, wrap(text, 52, 27))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

--- The environment variables the options read, for help texts.
function M.env_names(program)
  local names = {}
  for _, row in ipairs(M.ROWS) do
    if row.env and for_program(row, program) then names[#names + 1] = row.env end
  end
  return names
end

return M
