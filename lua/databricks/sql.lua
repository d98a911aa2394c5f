--- SQL through the Statement Execution API (`client:sql`).
-- The first request waits server-side (`wait_timeout`); a statement still
-- running is then polled with growing pauses (no busy loop) until it ends or
-- the timeout passes, when it is cancelled. All result chunks are followed.
-- @module databricks.sql
local core = require "databricks.core"

local M = {}

local TERMINAL = { SUCCEEDED = true, FAILED = true, CANCELED = true, CLOSED = true }

local function sql_error(kind, message, extra)
  local e = { kind = kind, message = message }
  for k, v in pairs(extra or {}) do e[k] = v end
  return core.error(e)
end

-- Parameters: a list of {name=, value=, type=} or a map name -> value.
local function parameters(p)
  if p == nil then return nil end
  if type(p) ~= "table" then error("sql: opts.parameters must be a table", 3) end
  local out = {}
  if #p > 0 then
    for i, v in ipairs(p) do
      if type(v) ~= "table" or type(v.name) ~= "string" then
        error("sql: parameter " .. i .. " must be a table with a name", 3)
      end
      out[i] = { name = v.name, type = v.type,
                 value = v.value ~= nil and tostring(v.value) or nil }
    end
    return out
  end
  local names = {}
  for k in pairs(p) do
    if type(k) ~= "string" then error("sql: parameter names must be strings", 3) end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local v, t = p[name], nil
    if math.type(v) == "integer" then t = "BIGINT"
    elseif type(v) == "number" then t = "DOUBLE"
    elseif type(v) == "boolean" then t = "BOOLEAN"
    elseif type(v) ~= "string" then
      error("sql: parameter '" .. name .. "' must be a string, number or boolean", 3)
    end
    out[#out + 1] = { name = name, value = tostring(v), type = t }
  end
  return out
end

local function failure(resp)
  local status = resp.status or {}
  local e = status.error or {}
  local state = status.state or "?"
  if state == "FAILED" then
    return sql_error("sql", e.message or "statement failed",
      { error_code = e.error_code, statement_id = resp.statement_id })
  end
  return sql_error("sql", "statement ended " .. state .. (e.message and (": " .. e.message) or ""),
    { error_code = e.error_code, statement_id = resp.statement_id })
end

-- Appends the rows of one chunk.
local function add_rows(rows, chunk)
  for _, r in ipairs(chunk.data_array or {}) do rows[#rows + 1] = r end
end

local function fetch_all(client, resp)
  local manifest = resp.manifest or {}
  local schema = manifest.schema and manifest.schema.columns or {}
  local columns = {}
  for i, c in ipairs(schema) do columns[i] = c.name end
  local rows = {}
  local chunk = resp.result
  if (not chunk or (not chunk.data_array and not chunk.next_chunk_internal_link))
      and (manifest.total_chunk_count or 0) > 0 then
    local err
    chunk, err = client:request("GET", "/api/2.0/sql/statements/" .. resp.statement_id .. "/result/chunks/0")
    if not chunk then return nil, err end
  end
  while chunk do
    add_rows(rows, chunk)
    local link = chunk.next_chunk_internal_link
    if not link and chunk.next_chunk_index then
      link = "/api/2.0/sql/statements/" .. resp.statement_id .. "/result/chunks/" .. chunk.next_chunk_index
    end
    if not link then break end
    local err
    chunk, err = client:request("GET", link)
    if not chunk then return nil, err end
  end
  return { columns = columns, schema = schema, rows = rows, statement_id = resp.statement_id,
           total_row_count = manifest.total_row_count or #rows, truncated = manifest.truncated }
end

--- Runs a statement and returns `{columns={names}, schema={column info},
-- rows={{...}}, statement_id=}`; values are strings or `databricks.null`.
-- Installed as the client method `client:sql(statement, opts)`.
-- @param client a connected client
-- @tparam string statement SQL text; named markers `:name`
-- @tparam[opt] table opts `parameters` (map name -> value, or list of
-- {name,value,type}), `catalog`, `schema`, `warehouse_id`, `row_limit`,
-- `timeout` (seconds for the whole statement, default the client's timeout),
-- `wait_timeout` (seconds the first request waits server-side: 0 or 5-50;
-- default min(timeout, 50))
function M.sql(client, statement, opts)
  if type(statement) ~= "string" then error("sql: statement must be a string", 2) end
  opts = opts or {}
  local info = client:_info()
  local warehouse = opts.warehouse_id or info.warehouse_id
  if not warehouse then
    return nil, sql_error("config", "sql needs a warehouse: pass opts.warehouse_id, or warehouse_id / http_path to connect")
  end
  local timeout = opts.timeout or info.timeout
  local deadline = core.monotonic() + timeout
  local wait = opts.wait_timeout or math.max(5, math.min(50, math.floor(timeout)))
  if wait ~= 0 and (wait < 5 or wait > 50 or wait ~= math.floor(wait)) then
    return nil, sql_error("config", "sql: wait_timeout must be 0 or a whole number of seconds from 5 to 50")
  end
  local resp, err = client:request("POST", "/api/2.0/sql/statements", { body = {
    statement = statement, warehouse_id = warehouse,
    wait_timeout = wait .. "s", on_wait_timeout = "CONTINUE",
    format = "JSON_ARRAY", disposition = "INLINE",
    parameters = parameters(opts.parameters), catalog = opts.catalog, schema = opts.schema,
    row_limit = opts.row_limit,
  } })
  if not resp then return nil, err end
  if type(resp) ~= "table" or not resp.statement_id or type(resp.status) ~= "table" then
    return nil, sql_error("protocol", "statement answer has no statement_id/status")
  end
  local pause = 0.05
  while not TERMINAL[resp.status.state] do
    local left = deadline - core.monotonic()
    if left <= 0 or core.stop_requested() then
      client:request("POST", "/api/2.0/sql/statements/" .. resp.statement_id .. "/cancel")
      return nil, sql_error("timeout", string.format("statement did not finish within %g s and was cancelled", timeout),
        { statement_id = resp.statement_id })
    end
    core.sleep(math.min(pause, left))
    pause = math.min(pause * 2, 2)
    resp, err = client:request("GET", "/api/2.0/sql/statements/" .. resp.statement_id)
    if not resp then return nil, err end
  end
  if resp.status.state ~= "SUCCEEDED" then return nil, failure(resp) end
  return fetch_all(client, resp)
end

return M
