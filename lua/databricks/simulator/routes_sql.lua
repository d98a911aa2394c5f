-- The Statement Execution API: POST /api/2.0/sql/statements (server-side
-- wait up to wait_timeout without blocking other connections, CONTINUE or
-- CANCEL on timeout), polling, cancel and result chunks, with disposition
-- INLINE (refused above inline_byte_limit, like the service's 25 MiB cap) or
-- EXTERNAL_LINKS (pre-signed links to the storage listener, storage.lua).
-- Results come from the `statements` settings (by text, whitespace-
-- insensitive; declared rows or generated ones), `SELECT 1`, `SELECT` of
-- literals and of named parameters; anything else fails with a message
-- saying what the simulator answers and how to declare a statement.
-- Statement timing uses the real clock; link expiry the token clock.
local socket = require "socket"
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"
local types = require "databricks.simulator.types"
local results = require "databricks.simulator.results"
local loop = require "databricks.simulator.loop"

local M = {}

local TERMINAL = { SUCCEEDED = true, FAILED = true, CANCELED = true, CLOSED = true }
local MAX_STATEMENT = 16 * 1024 * 1024

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

---------------------------------------------------------------- what a statement returns

local function normalize(text)
  return (text:gsub("%s+", " "):gsub("^ ", ""):gsub(" ?;? ?$", ""))
end
M.normalize = normalize

-- The declared statement for `text`: exact key first, then whitespace-
-- insensitive (so a multi-line query in a data file matches).
local function declared(cfg, text)
  local statements = cfg.statements or {}
  if type(statements[text]) == "table" then return statements[text] end
  local want = normalize(text)
  for key, spec in pairs(statements) do
    if type(spec) == "table" and normalize(key) == want then return spec end
  end
end

-- Splits a select list at top-level commas (not inside quotes or brackets).
local function split_items(list)
  local items, depth, quote, start, i = {}, 0, nil, 1, 1
  while i <= #list do
    local c = list:sub(i, i)
    if quote then
      if c == "\\" then
        i = i + 1
      elseif c == quote then
        quote = nil
      end
    elseif c == "'" or c == '"' or c == "`" then
      quote = c
    elseif c == "(" then
      depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
    elseif c == "," and depth == 0 then
      items[#items + 1] = list:sub(start, i - 1)
      start = i + 1
    end
    i = i + 1
  end
  if quote or depth ~= 0 then return nil end
  items[#items + 1] = list:sub(start)
  return items
end

local ESCAPES = { n = "\n", t = "\t", r = "\r", b = "\b", ["0"] = "\0" }

-- The text of a quoted SQL string literal ('...' or "..."), or nil.
local function string_literal(s)
  local q = s:sub(1, 1)
  if (q ~= "'" and q ~= '"') or #s < 2 or s:sub(-1) ~= q then return nil end
  local body, out, i = s:sub(2, -2), {}, 1
  while i <= #body do
    local c = body:sub(i, i)
    if c == "\\" then
      local n = body:sub(i + 1, i + 1)
      if n == "" then return nil end
      out[#out + 1] = ESCAPES[n] or n
      i = i + 2
    elseif c == q then
      if body:sub(i + 1, i + 1) ~= q then return nil end
      out[#out + 1] = q
      i = i + 2
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

local INT32 = 2147483647

-- A literal's column (name, type) and value; nil when `expr` is not one.
local function literal(expr)
  local s = expr:match("^%s*(.-)%s*$")
  local up = s:upper()
  if up == "TRUE" or up == "FALSE" then return { name = up:lower(), type = "BOOLEAN", value = up:lower() } end
  if up == "NULL" then return { name = "NULL", type = "VOID", value = json.null } end
  local str = string_literal(s)
  if str then return { name = str, type = "STRING", value = str } end
  local kw, quoted = s:match("^(%a+)%s+('.*')$")
  if kw and (kw:upper() == "DATE" or kw:upper() == "TIMESTAMP") then
    local v = string_literal(quoted)
    if v then return { name = kw:upper() .. " " .. quoted, type = kw:upper(), value = v } end
  end
  local digits, suffix = s:match("^([+-]?%d+)([LlSsYy]?)$")
  if digits then
    local n = math.tointeger(tonumber(digits))
    local t = ({ l = "BIGINT", s = "SMALLINT", y = "TINYINT" })[suffix:lower()]
    if not t then
      if n and n >= -INT32 - 1 and n <= INT32 then t = "INT"
      elseif n and tostring(n) == digits:gsub("^%+", "") then t = "BIGINT"
      else t = string.format("DECIMAL(%d,0)", math.min(38, #digits:gsub("^[+-]", "")))
      end
    end
    return { name = s, type = t, value = (digits:gsub("^%+", "")) }
  end
  local sign, int, frac = s:match("^([+-]?)(%d*)%.(%d*)$")
  if sign and (int ~= "" or frac ~= "") then
    int = int:gsub("^0+(%d)", "%1")
    local p = math.max(#(int:gsub("^0$", "")) + #frac, 1)
    local value = (sign == "-" and "-" or "") .. (int == "" and "0" or int) .. (frac ~= "" and ("." .. frac) or "")
    return { name = s, type = string.format("DECIMAL(%d,%d)", p, #frac), value = value }
  end
  local float, fsuffix = s:match("^([+-]?%d*%.?%d*[eE]?[+-]?%d*)([DdFf]?)$")
  if float and float:find("%d") and (float:find("[eE]") or fsuffix ~= "") and tonumber(float) then
    local x = tonumber(float) + 0.0
    local text = string.format("%.17g", x)
    for precision = 15, 16 do
      local t = string.format("%." .. precision .. "g", x)
      if tonumber(t) == x then
        text = t
        break
      end
    end
    if not text:find("[%.eEn]") then text = text .. ".0" end
    return { name = s, type = fsuffix:upper() == "F" and "FLOAT" or "DOUBLE", value = text }
  end
end

-- `SELECT <item>, ...` where every item is a literal or a :named parameter,
-- each with an optional `AS alias`: one row. Returns the plan, a failure
-- plan (unbound parameter), or nil when the text is not of that form.
local function select_plan(text, params)
  local list = normalize(text):match("^[Ss][Ee][Ll][Ee][Cc][Tt]%s+(.+)$")
  if not list then return nil end
  local items = split_items(list)
  if not items then return nil end
  local by_name = {}
  for _, p in ipairs(params) do by_name[p.name] = p end
  local columns, row = {}, {}
  for _, item in ipairs(items) do
    local expr, alias = item:match("^%s*(.-)%s+[Aa][Ss]%s+[`\"]?([%w_]+)[`\"]?%s*$")
    if not expr then expr = item end
    local pname = expr:match("^%s*:([%a_][%w_]*)%s*$")
    local col
    if pname then
      local p = by_name[pname]
      if not p then
        return { fail = { error_code = "BAD_REQUEST", message = string.format(
          "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: %s. Please fix `args` and provide a mapping "
          .. "of the parameter to either a SQL literal or collection constructor functions. SQLSTATE: 42P02",
          pname) } }
      end
      local t = p.type and types.type_name(p.type) and p.type or "STRING"
      col = { name = pname, type = t, value = results.cell(p.value) }
    else
      col = literal(expr)
      if not col then return nil end
    end
    columns[#columns + 1] = { name = alias or col.name, type = col.type }
    row[#row + 1] = col.value
  end
  return { columns = columns, rows = { row } }
end

local NO_RESULT = "[SIM_NO_RESULT] The workspace simulator has no result for this statement. It answers "
  .. "SELECT 1, SELECT of literals (numbers, 'strings', TRUE/FALSE, NULL, each optionally AS alias), "
  .. "SELECT of :named parameters, and the statements declared in its data file. To declare this one, "
  .. "start databricks-simulator --data FILE with FILE (Lua) holding: return { statements = { "
  .. "[\"<this statement>\"] = { columns = { { name = \"n\", type = \"INT\" } }, rows = { { 1 } } } } } "
  .. "(or generate = { rows = N, columns = {...} } for large results); see docs/simulator.md."

-- What a statement will produce: {columns, rows | generate, fail, run_seconds, ...}.
local function plan(text, params, cfg)
  local spec = declared(cfg, text)
  if spec then return spec end
  local sel = select_plan(text, params)
  if sel then return sel end
  return { fail = { error_code = "BAD_REQUEST", message = NO_RESULT } }
end

---------------------------------------------------------------- statements

local function status_of(st, now)
  if st.canceled then return "CANCELED" end
  if now >= st.done_at then return st.fail and "FAILED" or "SUCCEEDED" end
  if now >= st.running_at then return "RUNNING" end
  return "PENDING"
end

local function manifest(st)
  local res = st.result
  local chunks = json.array()
  for i = 0, res:chunk_count() - 1 do
    local offset, count = res:range(i)
    chunks[#chunks + 1] = { chunk_index = i, row_offset = offset, row_count = count }
  end
  return {
    format = st.format,
    schema = res:schema(),
    total_chunk_count = #chunks, total_row_count = res.total_rows,
    chunks = chunks, truncated = res.truncated,
  }
end

local function internal_link(st, i)
  return string.format("/api/2.0/sql/statements/%s/result/chunks/%d", st.id, i)
end

-- Chunk i as inline data (INLINE).
local function inline_chunk(st, i)
  local offset, count = st.result:range(i)
  if not offset then return nil end
  local out = { chunk_index = i, row_offset = offset, row_count = count, data_array = st.result:inline(i) }
  if i + 1 < st.result:chunk_count() then
    out.next_chunk_index = i + 1
    out.next_chunk_internal_link = internal_link(st, i + 1)
  end
  return out
end

local function yielder()
  if coroutine.isyieldable() then return function() loop.sleep(0) end end
end

-- A fresh pre-signed link to chunk i on the storage listener (EXTERNAL_LINKS).
-- Returns the external_links entry, or nil and an error.
local function external_link(ctx, st, i)
  local state, cfg = ctx.state, ctx.state.config
  local offset, count = st.result:range(i)
  if not offset then return nil end
  local path, size = st.result:file(i, nil, ctx.sleep, yielder())
  if not path then return nil, size end
  local now = math.floor(state:now())
  local expires = now + math.floor(cfg.link_ttl or 900)
  local sig = util.base62(43)
  local headers
  if cfg.link_headers ~= false then
    headers = { ["x-amz-server-side-encryption-customer-algorithm"] = "AES256",
                ["x-sim-storage-key"] = util.base62(32) }
  end
  state.links[sig] = { statement_id = st.id, chunk = i, expires = expires, headers = headers }
  state:add_token({ kind = "link", token = sig, statement_id = st.id, chunk = i, exp = expires })
  if headers then
    state:add_token({ kind = "link_header", token = headers["x-sim-storage-key"], statement_id = st.id, chunk = i })
  end
  local url = string.format("https://%s:%d/sim-storage/%s/chunk-%d.json?X-Sim-Expires=%d&X-Sim-Signature=%s",
    cfg.storage_host or "127.0.0.1", state.storage_port or 0, st.id, i, expires, sig)
  local out = {
    chunk_index = i, row_offset = offset, row_count = count, byte_count = size,
    external_link = url, expiration = util.rfc3339(expires), http_headers = headers,
  }
  if i + 1 < st.result:chunk_count() then
    out.next_chunk_index = i + 1
    out.next_chunk_internal_link = internal_link(st, i + 1)
  end
  local f = state:take_chunk_fault("link", st, i)
  if f then
    out.next_chunk_index = i
    out.next_chunk_internal_link = internal_link(st, i)
  end
  return out
end

local function chunk_answer(ctx, st, i)
  if st.disposition == "INLINE" then
    local out = inline_chunk(st, i)
    if out and ctx.state:take_chunk_fault("link", st, i) then
      out.next_chunk_index = i
      out.next_chunk_internal_link = internal_link(st, i)
    end
    return out
  end
  local link, err = external_link(ctx, st, i)
  if not link then return nil, err end
  return { external_links = json.array({ link }) }
end

local function describe(ctx, st, now)
  local state = status_of(st, now)
  local out = { statement_id = st.id, status = { state = state } }
  if state == "FAILED" then
    out.status.error = {
      error_code = st.fail.error_code or "BAD_REQUEST",
      message = st.fail.message or "Statement failed",
    }
  elseif state == "SUCCEEDED" then
    out.manifest = manifest(st)
    local first, err = chunk_answer(ctx, st, 0)
    if err then error("cannot write chunk 0 of statement " .. st.id .. ": " .. tostring(err)) end
    out.result = first or {}
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
    if p.type ~= nil and type(p.type) ~= "string" then
      return nil, "parameter " .. p.name .. ": type must be a string"
    end
  end
  return params
end

local function check_query_tags(tags)
  if tags == nil then return nil end
  if type(tags) ~= "table" or not util.is_list(tags) then return nil, "query_tags must be a list of {key, value}" end
  if #tags > 20 then return nil, "query_tags can hold at most 20 tags (got " .. #tags .. ")." end
  for _, t in ipairs(tags) do
    if type(t) ~= "table" or type(t.key) ~= "string" or t.key == "" then
      return nil, "every query tag needs a key"
    end
    if t.value ~= nil and t.value ~= json.null and type(t.value) ~= "string" then
      return nil, "query tag " .. t.key .. ": value must be a string"
    end
  end
  return tags
end

local function non_negative(body, key)
  local v = body[key]
  if v ~= nil and (math.type(v) ~= "integer" or v < 0) then return nil end
  return true
end

-- The request's options, checked; nil and the error answer otherwise.
local function check_request(body, cfg)
  if type(body.statement) ~= "string" or body.statement == "" then return nil, invalid("statement is required.") end
  if #body.statement > MAX_STATEMENT then
    return nil, invalid(string.format("statement is %d bytes; the limit is 16 MiB.", #body.statement))
  end
  if type(body.warehouse_id) ~= "string" or body.warehouse_id == "" then
    return nil, invalid("warehouse_id is required.")
  end
  local opts = { wait = parse_wait(body.wait_timeout) }
  if not opts.wait then
    return nil, invalid(string.format("wait_timeout must be 0s or between 5s and 50s (got %s).",
      tostring(body.wait_timeout)))
  end
  opts.on_wait = body.on_wait_timeout or "CONTINUE"
  if opts.on_wait ~= "CONTINUE" and opts.on_wait ~= "CANCEL" then
    return nil, invalid("on_wait_timeout must be CONTINUE or CANCEL.")
  end
  opts.disposition = body.disposition or "INLINE"
  if opts.disposition ~= "INLINE" and opts.disposition ~= "EXTERNAL_LINKS" then
    return nil, invalid("disposition must be INLINE or EXTERNAL_LINKS (got " .. tostring(body.disposition) .. ").")
  end
  opts.format = body.format or "JSON_ARRAY"
  if opts.format ~= "JSON_ARRAY" then
    if opts.format ~= "CSV" and opts.format ~= "ARROW_STREAM" then
      return nil, invalid("format must be JSON_ARRAY, CSV or ARROW_STREAM (got " .. tostring(body.format) .. ").")
    end
    if opts.disposition == "INLINE" then
      return nil, invalid("format " .. opts.format .. " is only supported with disposition EXTERNAL_LINKS.")
    end
    return nil, errors.rest(501, "NOT_IMPLEMENTED",
      "format " .. opts.format .. " is not served by the workspace simulator (JSON_ARRAY only).")
  end
  local perr
  opts.params, perr = check_parameters(body.parameters)
  if not opts.params then return nil, invalid(perr) end
  local terr
  opts.query_tags, terr = check_query_tags(body.query_tags)
  if terr then return nil, invalid(terr) end
  if not non_negative(body, "row_limit") then return nil, invalid("row_limit must be a non-negative integer.") end
  if not non_negative(body, "byte_limit") then return nil, invalid("byte_limit must be a non-negative integer.") end
  for _, k in ipairs({ "catalog", "schema" }) do
    if body[k] ~= nil and type(body[k]) ~= "string" then return nil, invalid(k .. " must be a string.") end
  end
  if not (cfg.warehouses and cfg.warehouses[body.warehouse_id]) then
    return nil, errors.rest(404, "RESOURCE_DOES_NOT_EXIST",
      string.format("Warehouse %s does not exist.", body.warehouse_id))
  end
  return opts
end

local function mib(n)
  return string.format("%.1f MiB", n / 1048576)
end

function M.execute(ctx)
  local body = json.decode(ctx.req.body)
  if type(body) ~= "table" then return errors.rest(400, "MALFORMED_REQUEST", "Request body must be a JSON object.") end
  local cfg = ctx.state.config
  local opts, status, answer = check_request(body, cfg)
  if not opts then return status, answer end

  local spec = plan(body.statement, opts.params, cfg)
  local id = util.uuid()
  local fail, result = spec.fail, nil
  if not fail then
    local err
    result, err = results.new(spec, {
      row_limit = body.row_limit, byte_limit = body.byte_limit, chunk_bytes = cfg.chunk_bytes,
      cache_dir = ctx.state.cache_dir, id = id,
    })
    if not result then
      fail = { error_code = "INTERNAL_ERROR", message = "[SIM_BAD_DATA] The simulator's declaration of this "
        .. "statement is wrong: " .. tostring(err) }
    elseif opts.disposition == "INLINE" and result:bytes() > cfg.inline_byte_limit then
      fail = { error_code = "BAD_REQUEST", message = string.format(
        "Inline byte limit exceeded: the result is about %s, above the %s allowed with disposition "
        .. "INLINE. Use disposition EXTERNAL_LINKS to fetch results of this size.",
        mib(result:bytes()), mib(cfg.inline_byte_limit)) }
    end
  end
  local now = socket.gettime()
  local run = tonumber(spec.run_seconds) or 0
  local st = {
    id = id, statement = body.statement, warehouse_id = body.warehouse_id,
    catalog = body.catalog, schema = body.schema, parameters = opts.params, row_limit = body.row_limit,
    byte_limit = body.byte_limit, query_tags = opts.query_tags, disposition = opts.disposition,
    format = opts.format, wait_timeout = body.wait_timeout, on_wait_timeout = opts.on_wait,
    identity = ctx.identity.userName,
    created = now, running_at = now + (tonumber(spec.pending_seconds) or run / 2), done_at = now + run,
    fail = fail, result = result,
  }
  ctx.state.statements[st.id] = st
  ctx.state.statement_order[#ctx.state.statement_order + 1] = st.id

  if opts.wait == 0 then
    return 200, { statement_id = st.id, status = { state = "PENDING" } }
  end
  local deadline = now + opts.wait
  while true do
    now = socket.gettime()
    if TERMINAL[status_of(st, now)] or now >= deadline then break end
    ctx.sleep(math.min(0.1, deadline - now, math.max(0, st.done_at - now)))
  end
  if not TERMINAL[status_of(st, socket.gettime())] and opts.on_wait == "CANCEL" then st.canceled = true end
  return 200, describe(ctx, st, socket.gettime())
end

local function find(ctx)
  local st = ctx.state.statements[ctx.params[1]]
  if st then return st end
  return nil, errors.rest(404, "RESOURCE_DOES_NOT_EXIST", string.format("Statement %s does not exist.", ctx.params[1]))
end

function M.get(ctx)
  local st, status, body = find(ctx)
  if not st then return status, body end
  return 200, describe(ctx, st, socket.gettime())
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
  local out, err = chunk_answer(ctx, st, tonumber(ctx.params[2]))
  if err then return errors.rest(500, "INTERNAL_ERROR", "cannot write the chunk: " .. tostring(err)) end
  if not out then
    return invalid(string.format("Chunk index %s is out of range (statement has %d chunks).",
      ctx.params[2], st.result:chunk_count()))
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
      schema = st.schema, parameters = st.parameters, row_limit = st.row_limit, byte_limit = st.byte_limit,
      query_tags = st.query_tags, disposition = st.disposition, format = st.format, state = status_of(st, now),
      wait_timeout = st.wait_timeout, on_wait_timeout = st.on_wait_timeout, identity = st.identity,
      total_row_count = st.result and st.result.total_rows,
      total_chunk_count = st.result and st.result:chunk_count(),
    }
  end
  return out
end

return M
