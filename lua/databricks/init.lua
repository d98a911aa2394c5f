--- lua-databricks: a Databricks connector for Lua 5.4 with a C core.
-- The public API (DESIGN.md §3). This file is sugar over `databricks.core`:
-- argument shapes and conveniences live here, the work is in C.
--
-- Failures never raise for bad input or remote trouble: they return `nil, err`
-- where `err` is a table with `kind` ("config", "auth", "http", "network",
-- "timeout", "protocol", "io", "sql"), `message`, and where known `status`,
-- `error_code`, `request_id`, `retry_after`; `tostring(err)` is one line.
-- @module databricks
local core = require "databricks.core"

local M = {}

--- The connector's version ("0.1.0").
M.VERSION = core.VERSION

--- JSON null as it appears in decoded responses and SQL rows.
M.null = require("cjson").null

--- The User-Agent sent on every request, e.g.
-- `"LuaDatabricks_Connector/0.1.0 lua/5.4 os/linux"`.
-- @function user_agent
-- @treturn string
M.user_agent = core.user_agent

--- Sets the host application's product (code-level, never from end users).
-- The User-Agent then starts with `<isv>_<product>/<version>`, followed by
-- the connector's own token. Clients created afterwards use it.
-- @function set_product
-- @tparam string isv partner name, `^[A-Za-z0-9_.+-]+$`
-- @tparam string product product name, same rule
-- @tparam string version semver such as "1.2.3"
-- @return true, or nil and a `config` error
M.set_product = core.set_product

--- Builds an error value (for Lua code that reports errors like the core).
-- @function error
M.error = core.error

--- Decodes a JWT's claims without verifying it.
-- @function jwt_claims
-- @tparam string token
-- @return claims table, or nil and a `protocol` error
M.jwt_claims = core.jwt_claims

--- The warehouse id of an HTTP path such as "/sql/1.0/warehouses/abc123".
-- @function warehouse_id_from_http_path
-- @return id, or nil and a `config` error
M.warehouse_id_from_http_path = core.warehouse_id_from_http_path

--- Normalises a workspace host ("x.cloud.databricks.com/?o=1" becomes
-- "https://x.cloud.databricks.com").
-- @function normalize_host
M.normalize_host = core.normalize_host

--- A connect() config from the unified-auth environment variables; see
-- `databricks.config.from_env`.
-- @function config_from_env
function M.config_from_env(...) return require("databricks.config").from_env(...) end

--- A connect() config from a profile of `~/.databrickscfg`; see
-- `databricks.config.from_profile`.
-- @function config_from_profile
function M.config_from_profile(...) return require("databricks.config").from_profile(...) end

--- Connects to a workspace (or an account). See the README's configuration
-- reference for every key and the auth types (`pat`, `oauth_m2m`,
-- `oauth_u2m`, `token`, `databricks_cli`, `env_oidc`, `file_oidc`,
-- `github_oidc`). Validates the whole config before any network call; with
-- `auth_type = "oauth_u2m"` and no token it runs the browser sign-in.
-- @tparam table cfg
-- @return client, or nil and an error
function M.connect(cfg)
  if type(cfg) ~= "table" then
    error("databricks.connect expects a config table", 2)
  end
  return core.connect(cfg)
end

--- Runs the OAuth U2M browser sign-in (authorization code + PKCE) and
-- returns the tokens `{access_token=, refresh_token=, expires_at=}`.
-- @tparam table opts `host` (required), `client_id` (default
-- "databricks-cli"), `client_secret`, `redirect_uri` (default
-- "http://localhost:8020", or the first free port of 8021-8040 when 8020 is
-- busy), `scopes` (`offline_access` is always added), `open_browser`
-- (function(url); default prints the URL and runs xdg-open/open), `timeout`
-- (seconds, default 300), `ca_bundle`, `account_id` (sign in at the account).
-- Someone is waiting: its network calls (discovery before the browser opens,
-- the code exchange after) retry transient failures for at most 30 s.
local LOGIN_RETRY_BUDGET = 30
function M.login(opts)
  if type(opts) ~= "table" then error("databricks.login expects an options table", 2) end
  local tokens
  local cfg = {
    host = opts.host, auth_type = "oauth_u2m",
    client_id = opts.client_id, client_secret = opts.client_secret,
    redirect_uri = opts.redirect_uri, scopes = opts.scopes,
    open_browser = opts.open_browser, login_timeout = opts.timeout,
    ca_bundle = opts.ca_bundle, account_id = opts.account_id, retry_timeout = LOGIN_RETRY_BUDGET,
    on_tokens = function(t) tokens = t end,
  }
  for k in pairs(opts) do
    if cfg[k] == nil and k ~= "timeout" then
      return nil, core.error{ kind = "config", message = "login: unknown option '" .. tostring(k) .. "'" }
    end
  end
  local client, err = core.connect(cfg)
  if not client then return nil, err end
  client:close()
  return tokens
end

-- The client's Lua-side methods (REST conveniences over client:request).
require "databricks.client"

--- The `.pgpass` writer and reader (`update`, `lookup`, `escape`); see
-- `databricks.pgpass`.
-- @table pgpass
M.pgpass = require "databricks.pgpass"

return M
