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

--- Submits a SQL statement (Statement Execution API) and returns at once
-- with a statement object (`databricks.statement`): `st.id`, `st:status()`,
-- `st:wait()`, `st:columns()`, `for row in st:rows() do ... end`,
-- `st:fetch_all()`, `st:cancel()`, `st:close()` (also `__close`/`__gc`,
-- which cancel a statement that has not finished).
--
-- With `disposition = "EXTERNAL_LINKS"` (the default) the rows stream from
-- cloud storage: `rows()` decodes chunk N while chunks N+1 .. N+prefetch
-- download in parallel in the C core, so memory stays bounded by the
-- prefetch window (about (prefetch + 1) x the chunk size), not by the
-- result. The links are fetched without the workspace's Authorization
-- header, with exactly their own http_headers, over https only; they are
-- redacted everywhere.
-- @tparam string statement SQL text; named markers `:name`
-- @tparam[opt] table opts `parameters` (map name -> value, or list of
-- {name=, value=, type=}), `catalog`, `schema`, `warehouse_id` (default the
-- client's), `row_limit`, `byte_limit`, `query_tags` (map, or list of
-- {key=, value=}; at most 20), `disposition` ("EXTERNAL_LINKS" or "INLINE"),
-- `typed` (default true: BYTE/SHORT/INT/LONG become integers, FLOAT/DOUBLE
-- floats, BOOLEAN booleans, DECIMAL an exact string; the rest stay strings;
-- SQL NULL is `databricks.null`), `decimal` ("string" or "number"),
-- `prefetch` (chunks downloaded ahead, 0-64, default 4), `timeout` (seconds
-- for the whole statement, fetch included, default 600; it is cancelled when
-- it passes), `wait_timeout` (seconds the submission waits server-side: 0,
-- the default, or 5-50), `on_progress` (function(chunks_done, chunks_total)
-- while rows are read, at most ~10 times a second)
-- @return the statement, or nil and an error (`config` for bad options)
function Client:execute(statement, opts)
  return require("databricks.sql").execute(self, statement, opts)
end

--- Runs SQL on the Statement Execution API to the end and returns every
-- row: `client:execute` + `st:fetch_all()`, with the 0.1 defaults
-- (`disposition = "INLINE"`, `typed = false`: values are strings or
-- `databricks.null`; `timeout` the client's; the submission waits
-- server-side up to min(timeout, 50) s). Takes every option of `execute`.
-- @tparam string statement SQL text; named markers `:name`
-- @tparam[opt] table opts as `execute`
-- @return `{columns={names}, schema={column info}, rows={{...}},
-- statement_id=, total_row_count=, truncated=}`, or nil and an error (a
-- failed statement: kind "sql" with the server's `error_code` and `statement_id`)
function Client:sql(statement, opts)
  return require("databricks.sql").sql(self, statement, opts)
end

return Client
