--- The client returned by `databricks.connect`: its methods written in Lua.
-- The client is one object; its methods come from two places. The C core
-- (`src/l_client.c`, `l_request.c`, `l_workspace.c`) implements the ones
-- that need it: `token`, `headers`, `request`, `current_user`, `get_table`,
-- `database_credential`, `validate_connection`, `close`. This module adds
-- every other endpoint, each a few lines over `client:request`, which gives
-- it auth, token refresh, the User-Agent, retries and error shaping. A new
-- REST endpoint goes here (CONTRIBUTING.md, "Adding an endpoint"), and
-- nowhere else.
--
-- Every method returns one value on success and `nil, err` on failure
-- (`request` alone adds the response metadata as a second value).
-- @module databricks.client
local core = require "databricks.core"

local Client = core.client_methods

--- A Spark Connect URL for this workspace: the configured cluster, or a
-- serverless session when `serverless_compute_id` is set.
-- @return `sc://host:443/;token=...;x-databricks-cluster-id=...` (or
-- `;x-databricks-session-id=<uuid>`), or nil and a `config` error
function Client:spark_connect_url()
  local info = self:_info()
  local token, err = self:token()
  if not token then return nil, err end
  local host = info.host:gsub("^https?://", ""):gsub(":%d+$", "")
  local base = string.format("sc://%s:443/;token=%s", host, token)
  if info.cluster_id then
    return base .. ";x-databricks-cluster-id=" .. info.cluster_id
  elseif info.serverless_compute_id then
    local id, uerr = core.uuid4()
    if not id then return nil, uerr end
    return base .. ";x-databricks-session-id=" .. id
  end
  return nil, core.error{ kind = "config",
    message = "spark_connect_url needs cluster_id (or a cluster http_path) or serverless_compute_id in connect" }
end

--- Runs SQL on the Statement Execution API; see `databricks.sql.sql`
-- (loaded on first use).
function Client:sql(...)
  return require("databricks.sql").sql(self, ...)
end

return Client
