-- The Statement Execution API: POST /api/2.0/sql/statements (server-side
-- wait up to wait_timeout without blocking other connections, CONTINUE or
-- CANCEL on timeout), polling, cancel and result chunks. Results come from the
-- `statements` settings keyed by exact text, or the built-ins `SELECT 1` and
-- parameter echo (`SELECT :a AS x, :b AS y`). Statement timing uses the real
-- clock, never the simulated token clock.
local socket = require "socket"
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"

local M = {}

local TERMINAL = { SUCCEEDED = true, FAILED = true, CANCELED = true, CLOSED = true }

local function invalid(message)
  return errors.rest(400, "INVALID_PARAMETER_VALUE", message)
end

-- wait_timeout: "0s" or "5s".."50s"; default 10 s.
local function parse_wait(v)
  if v == nil then return 10 end
  if type(v) ~= "string" then return nil end
  local n = tonumber(v:match("^(%d+)s$"))
  if n and (n == 0 or (n >= 5 and n <= 50)) then return n end
end

local function type_name_of(t)
  return ((t or "STRING"):match("^%a+") or "STRING"):upper()
end

local function column(c)
  if type(c) == "string" then c = { name = c } end
  local tn = type_name_of(c.type_name or c.type_text)
  return { name = tostring(c.name), type_name = tn, type_text = c.type_text or tn }
end

local function cell(v)
  if v == nil or v == json.null then return json.null end
  if type(v) == "boolean" then return v and "true" or "false" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  return tostring(v)
end

local SELECT_ONE = "^%s*[Ss][Ee][Ll][Ee][Cc][Tt]%s+1%s*;?%s*$"
local SELECT_LIST = "^%s*[Ss][Ee][Ll][Ee][Cc][Tt]%s+(.-)%s*;?%s*$"

-- `SELECT :a AS x, :b` echoes the parameters as one row; nil when the text
-- is not of that form.
local function echo_plan(text, params)
  local list = text:match(SELECT_LIST)
  if not list then return nil end
  local by_name = {}
  for _, p in ipairs(params) do by_name[p.name] = p end
  local columns, row = {}, {}
  for item in (list .. ","):gmatch("([^,]*),") do
    local pname, alias = item:match("^%s*:([%a_][%w_]*)%s+[Aa][Ss]%s+[`\"]?([%w_]+)[`\"]?%s*$")
    if not pname then
      pname = item:match("^%s*:([%a_][%w_]*)%s*$")
      alias = pname
    end
    if not pname then return nil end
    local p = by_name[pname]
    if not p then
      return { fail = { error_code = "BAD_REQUEST", message = string.format(
        "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: %s. Please fix `args` and provide a mapping "
        .. "of the parameter to either a SQL literal or collection constructor functions. SQLSTATE: 42P02",
        pname) } }
    end
    columns[#columns + 1] = { name = alias, type_name = type_name_of(p.type), type_text = p.type or "STRING" }
    row[#row + 1] = cell(p.value)
  end
  return { columns = columns, rows = { row } }
end

-- What a statement will produce: {columns, rows, fail, run_seconds, ...}.
local function plan(text, params, cfg)
  local spec = cfg.statements and cfg.statements[text]
  if type(spec) == "table" then return spec end
  if text:match(SELECT_ONE) then
    return { columns = { { name = "1", type_name = "INT" } }, rows = { { "1" } } }
  end
  local echo = echo_plan(text, params)
  if echo then return echo end
  return { fail = { error_code = "BAD_REQUEST", message =
    "[SIM_NO_RESULT] The workspace simulator has no result configured for this statement." } }
end

local function build(spec, row_limit)
  local columns = {}
  for i, c in ipairs(spec.columns or {}) do columns[i] = column(c) end
  local rows, truncated = {}, false
  for i, r in ipairs(spec.rows or {}) do
    if row_limit and i > row_limit then
      truncated = true
      break
    end
    local out = json.array()
    local n = #columns > 0 and #columns or #r
    for j = 1, n do out[j] = cell(r[j]) end
    rows[i] = out
  end
  return columns, rows, truncated
end

local function status_of(st, now)
  if st.canceled then return "CANCELED" end
  if now >= st.done_at then return st.fail and "FAILED" or "SUCCEEDED" end
  if now >= st.running_at then return "RUNNING" end
  return "PENDING"
end

local function chunk_count(st)
  return (#st.rows + st.chunk_size - 1) // st.chunk_size
end

local function manifest(st)
  local cols = json.array()
  for i, c in ipairs(st.columns) do
    cols[i] = { name = c.name, type_text = c.type_text, type_name = c.type_name, position = i - 1 }
  end
  local chunks = json.array()
  for i = 0, chunk_count(st) - 1 do
    local offset = i * st.chunk_size
    chunks[#chunks + 1] = { chunk_index = i, row_offset = offset,
      row_count = math.min(st.chunk_size, #st.rows - offset) }
  end
  return {
    format = "JSON_ARRAY",
    schema = { column_count = #st.columns, columns = cols },
    total_chunk_count = #chunks, total_row_count = #st.rows,
    chunks = chunks, truncated = st.truncated,
  }
end

local function chunk(st, i)
  local count = chunk_count(st)
  if i < 0 or i >= count then return nil end
  local offset = i * st.chunk_size
  local data = json.array()
  for r = offset + 1, math.min(offset + st.chunk_size, #st.rows) do data[#data + 1] = st.rows[r] end
  local out = { chunk_index = i, row_offset = offset, row_count = #data, data_array = data }
  if i + 1 < count then
    out.next_chunk_index = i + 1
    out.next_chunk_internal_link = string.format("/api/2.0/sql/statements/%s/result/chunks/%d", st.id, i + 1)
  end
  return out
end

local function describe(st, now)
  local state = status_of(st, now)
  local out = { statement_id = st.id, status = { state = state } }
  if state == "FAILED" then
    out.status.error = {
      error_code = st.fail.error_code or "BAD_REQUEST",
      message = st.fail.message or "Statement failed",
    }
  elseif state == "SUCCEEDED" then
    out.manifest = manifest(st)
    out.result = chunk(st, 0) or {}
  end
  return out
end

local function check_parameters(params)
  if params == nil then return {} end
  if type(params) ~= "table" or not util.is_list(params) then return nil, "parameters must be a list" end
  for _, p in ipairs(params) do
    if type(p) ~= "table" or type(p.name) ~= "string" or p.name == "" then
      return nil, "every parameter needs a name"
    end
    if p.value ~= nil and p.value ~= json.null and type(p.value) ~= "string" then
      return nil, "parameter " .. p.name .. ": value must be a string"
    end
  end
  return params
end

function M.execute(ctx)
  local body = json.decode(ctx.req.body)
  if type(body) ~= "table" then return errors.rest(400, "MALFORMED_REQUEST", "Request body must be a JSON object.") end
  if type(body.statement) ~= "string" or body.statement == "" then return invalid("statement is required.") end
  if type(body.warehouse_id) ~= "string" or body.warehouse_id == "" then
    return invalid("warehouse_id is required.")
  end
  local wait = parse_wait(body.wait_timeout)
  if not wait then
    return invalid(string.format("wait_timeout must be 0s or between 5s and 50s (got %s).",
      tostring(body.wait_timeout)))
  end
  local on_wait = body.on_wait_timeout or "CONTINUE"
  if on_wait ~= "CONTINUE" and on_wait ~= "CANCEL" then
    return invalid("on_wait_timeout must be CONTINUE or CANCEL.")
  end
  if (body.format or "JSON_ARRAY") ~= "JSON_ARRAY" then
    return invalid("format " .. tostring(body.format) .. " is not supported by the simulator (JSON_ARRAY only).")
  end
  if (body.disposition or "INLINE") ~= "INLINE" then
    return invalid("disposition " .. tostring(body.disposition) .. " is not supported by the simulator (INLINE only).")
  end
  local params, perr = check_parameters(body.parameters)
  if not params then return invalid(perr) end
  local row_limit = body.row_limit
  if row_limit ~= nil and (math.type(row_limit) ~= "integer" or row_limit < 0) then
    return invalid("row_limit must be a non-negative integer.")
  end
  local cfg = ctx.state.config
  if not (cfg.warehouses and cfg.warehouses[body.warehouse_id]) then
    return errors.rest(404, "RESOURCE_DOES_NOT_EXIST", string.format("Warehouse %s does not exist.", body.warehouse_id))
  end

  local spec = plan(body.statement, params, cfg)
  local columns, rows, truncated = build(spec, row_limit)
  local now = socket.gettime()
  local run = tonumber(spec.run_seconds) or 0
  local st = {
    id = util.uuid(), statement = body.statement, warehouse_id = body.warehouse_id,
    catalog = body.catalog, schema = body.schema, parameters = params, row_limit = row_limit,
    wait_timeout = body.wait_timeout, on_wait_timeout = on_wait, identity = ctx.identity.userName,
    created = now, running_at = now + (tonumber(spec.pending_seconds) or run / 2), done_at = now + run,
    fail = spec.fail, columns = columns, rows = rows, truncated = truncated,
    chunk_size = math.max(1, math.floor(tonumber(spec.chunk_size) or math.max(#rows, 1))),
  }
  ctx.state.statements[st.id] = st
  ctx.state.statement_order[#ctx.state.statement_order + 1] = st.id

  if wait == 0 then
    return 200, { statement_id = st.id, status = { state = "PENDING" } }
  end
  local deadline = now + wait
  while true do
    now = socket.gettime()
    if TERMINAL[status_of(st, now)] or now >= deadline then break end
    ctx.sleep(math.min(0.1, deadline - now, math.max(0, st.done_at - now)))
  end
  if not TERMINAL[status_of(st, socket.gettime())] and on_wait == "CANCEL" then st.canceled = true end
  return 200, describe(st, socket.gettime())
end

local function find(ctx)
  local st = ctx.state.statements[ctx.params[1]]
  if st then return st end
  return nil, errors.rest(404, "RESOURCE_DOES_NOT_EXIST", string.format("Statement %s does not exist.", ctx.params[1]))
end

function M.get(ctx)
  local st, status, body = find(ctx)
  if not st then return status, body end
  return 200, describe(st, socket.gettime())
end

function M.cancel(ctx)
  local st, status, body = find(ctx)
  if not st then return status, body end
  if not TERMINAL[status_of(st, socket.gettime())] then st.canceled = true end
  return 200, {}
end

function M.chunk(ctx)
  local st, status, body = find(ctx)
  if not st then return status, body end
  local state = status_of(st, socket.gettime())
  if state ~= "SUCCEEDED" then
    return errors.rest(400, "BAD_REQUEST", string.format("Statement %s is %s; no result to fetch.", st.id, state))
  end
  local out = chunk(st, tonumber(ctx.params[2]))
  if not out then
    return invalid(string.format("Chunk index %s is out of range (statement has %d chunks).",
      ctx.params[2], chunk_count(st)))
  end
  return 200, out
end

-- A summary for the control API.
function M.summaries(state)
  local out = json.array()
  local now = socket.gettime()
  for _, id in ipairs(state.statement_order) do
    local st = state.statements[id]
    out[#out + 1] = {
      statement_id = id, statement = st.statement, warehouse_id = st.warehouse_id, catalog = st.catalog,
      schema = st.schema, parameters = st.parameters, row_limit = st.row_limit, state = status_of(st, now),
      wait_timeout = st.wait_timeout, on_wait_timeout = st.on_wait_timeout, identity = st.identity,
    }
  end
  return out
end

return M
