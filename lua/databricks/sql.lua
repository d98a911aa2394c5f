--- Statements through the Statement Execution API: the options of
-- `client:execute` and `client:sql`, checked and put into the shape the C
-- core takes. The work — submission, polling, cancelling, the parallel
-- download of EXTERNAL_LINKS chunks, typed rows — is in C
-- (`src/statement.c`, `src/fetch.c`, `src/cloudfetch.c`,
-- `src/l_statement.c`); this module holds no request of its own.
-- Loaded on first use by the client methods.
-- @module databricks.sql
local core = require "databricks.core"
local null = require("cjson").null

local M = {}

local KNOWN = {
  parameters = true, catalog = true, schema = true, warehouse_id = true, row_limit = true, byte_limit = true,
  query_tags = true, disposition = true, typed = true, decimal = true, prefetch = true, timeout = true,
  wait_timeout = true, on_progress = true,
  _batch_bytes = true, _batch_rows = true, -- undocumented: batch-size tuning runs (bench/inproc.lua)
}

local function config_error(message)
  return nil, core.error{ kind = "config", message = message }
end

-- Parameters: a list of {name=, value=, type=} or a map name -> value.
local function parameters(p, what)
  if p == nil then return nil end
  if type(p) ~= "table" then error(what .. ": opts.parameters must be a table", 4) end
  local out = {}
  if #p > 0 then
    for i, v in ipairs(p) do
      if type(v) ~= "table" or type(v.name) ~= "string" then
        error(what .. ": parameter " .. i .. " must be a table with a name", 4)
      end
      out[i] = { name = v.name, type = v.type,
                 value = v.value ~= nil and v.value ~= null and tostring(v.value) or nil }
    end
    return out
  end
  local names = {}
  for k in pairs(p) do
    if type(k) ~= "string" then error(what .. ": parameter names must be strings", 4) end
    names[#names + 1] = k
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local v, t = p[name], nil
    if math.type(v) == "integer" then t = "BIGINT"
    elseif type(v) == "number" then t = "DOUBLE"
    elseif type(v) == "boolean" then t = "BOOLEAN"
    elseif type(v) ~= "string" then
      error(what .. ": parameter '" .. name .. "' must be a string, number or boolean", 4)
    end
    out[#out + 1] = { name = name, value = tostring(v), type = t }
  end
  return out
end

-- Query tags: a map key -> value, or a list of {key=, value=}.
local function query_tags(t, what)
  if t == nil then return nil end
  if type(t) ~= "table" then error(what .. ": opts.query_tags must be a table", 4) end
  local out = {}
  if #t > 0 then
    for i, v in ipairs(t) do
      if type(v) ~= "table" or type(v.key) ~= "string" then
        error(what .. ": query tag " .. i .. " must be a table with a key", 4)
      end
      out[i] = { key = v.key, value = v.value ~= nil and tostring(v.value) or nil }
    end
  else
    local keys = {}
    for k in pairs(t) do
      if type(k) ~= "string" then error(what .. ": query tag keys must be strings", 4) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = { key = k, value = tostring(t[k]) } end
  end
  if #out > 20 then return nil, "at most 20 query tags (got " .. #out .. ")" end
  return out
end

local function whole(v, lo, hi)
  return math.type(v) == "integer" and v >= lo and (not hi or v <= hi)
end

-- The options for client:_execute, or nil and a config error. `defaults`:
-- disposition, typed, timeout, wait_timeout (a function of the timeout).
function M.options(client, opts, defaults, what)
  if opts ~= nil and type(opts) ~= "table" then error(what .. ": opts must be a table", 3) end
  opts = opts or {}
  for k in pairs(opts) do
    if not KNOWN[k] then return config_error(what .. ": unknown option '" .. tostring(k) .. "'") end
  end
  local info = client:_info()
  local out = {
    warehouse_id = opts.warehouse_id or info.warehouse_id,
    disposition = opts.disposition or defaults.disposition,
    catalog = opts.catalog, schema = opts.schema, on_progress = opts.on_progress,
    decimal = opts.decimal or "string", prefetch = opts.prefetch or 4,
    row_limit = opts.row_limit, byte_limit = opts.byte_limit,
    _batch_bytes = opts._batch_bytes, _batch_rows = opts._batch_rows,
  }
  if not out.warehouse_id then
    return config_error(what .. " needs a warehouse: pass opts.warehouse_id, or warehouse_id / http_path to connect")
  end
  for _, k in ipairs({ "warehouse_id", "catalog", "schema" }) do
    if out[k] ~= nil and type(out[k]) ~= "string" then error(what .. ": opts." .. k .. " must be a string", 3) end
  end
  if out.on_progress ~= nil and type(out.on_progress) ~= "function" then
    error(what .. ": opts.on_progress must be a function", 3)
  end
  if out.disposition ~= "INLINE" and out.disposition ~= "EXTERNAL_LINKS" then
    return config_error(what .. ": disposition must be \"INLINE\" or \"EXTERNAL_LINKS\"")
  end
  if opts.typed ~= nil and type(opts.typed) ~= "boolean" then error(what .. ": opts.typed must be a boolean", 3) end
  out.typed = opts.typed
  if out.typed == nil then out.typed = defaults.typed end
  if out.decimal ~= "string" and out.decimal ~= "number" then
    return config_error(what .. ": decimal must be \"string\" or \"number\"")
  end
  if not whole(out.prefetch, 0, 64) then return config_error(what .. ": prefetch must be a whole number from 0 to 64") end
  for _, k in ipairs({ "row_limit", "byte_limit" }) do
    if out[k] ~= nil and not whole(out[k], 0) then
      return config_error(what .. ": " .. k .. " must be a whole number of at least 0")
    end
  end
  local timeout = opts.timeout or defaults.timeout
  if type(timeout) ~= "number" or timeout <= 0 then return config_error(what .. ": timeout must be a positive number") end
  out.timeout = timeout
  local wait = opts.wait_timeout or defaults.wait_timeout(timeout)
  if wait ~= 0 and (wait ~= math.floor(wait) or wait < 5 or wait > 50) then
    return config_error(what .. ": wait_timeout must be 0 or a whole number of seconds from 5 to 50")
  end
  out.wait_timeout = math.tointeger(wait)
  out.parameters = parameters(opts.parameters, what)
  local tags, terr = query_tags(opts.query_tags, what)
  if terr then return config_error(what .. ": " .. terr) end
  out.query_tags = tags
  return out
end

local EXECUTE = {
  disposition = "EXTERNAL_LINKS", typed = true, timeout = 600,
  wait_timeout = function() return 0 end,
}

--- Submits a statement and returns at once; see `databricks.client.Client:execute`.
function M.execute(client, statement, opts)
  if type(statement) ~= "string" then error("execute: statement must be a string", 3) end
  local o, err = M.options(client, opts, EXECUTE, "execute")
  if not o then return nil, err end
  return client:_execute(statement, o)
end

--- Runs a statement to the end; see `databricks.client.Client:sql`.
function M.sql(client, statement, opts)
  if type(statement) ~= "string" then error("sql: statement must be a string", 3) end
  local info = client:_info()
  local o, err = M.options(client, opts, {
    disposition = "INLINE", typed = false, timeout = info.timeout,
    wait_timeout = function(timeout) return math.max(5, math.min(50, math.floor(timeout))) end,
  }, "sql")
  if not o then return nil, err end
  local st
  st, err = client:_execute(statement, o)
  if not st then return nil, err end
  local res
  res, err = st:fetch_all()
  st:close()
  return res, err
end

return M
