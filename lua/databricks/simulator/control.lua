-- The control API on the plain-HTTP control port (127.0.0.1 only): specs
-- change settings, program faults, read the request log, the issued tokens
-- and the state, read and clear the storage's download record, mint test
-- JWTs of outside issuers, write a statement's chunks ahead of time, move
-- the token clock, and reset. JSON in, JSON out. It never appears in the
-- request log.
local http = require "databricks.simulator.http"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"
local sql = require "databricks.simulator.routes_sql"
local storage = require "databricks.simulator.storage"
local tokens = require "databricks.simulator.tokens"
local socket = require "socket"

local M = {}

local function list(t)
  local out = json.array()
  for i, v in ipairs(t) do out[i] = v end
  return out
end

local function decode_body(req)
  if req.body == "" then return {} end
  local v, err = json.decode(req.body)
  if v == nil then return nil, "body is not JSON: " .. tostring(err) end
  return v
end

local function fail(status, message)
  return status, { error = message }
end

local function state_view(state, info)
  local codes = 0
  for _ in pairs(state.codes) do codes = codes + 1 end
  local nfiles = 0
  for _, node in pairs(state.files or {}) do
    if not node.dir then nfiles = nfiles + 1 end
  end
  return {
    pid = info.pid, port = info.port, control_port = info.control_port, storage_port = info.storage_port,
    work_dir = state.work_dir, files_dir = state.files_dir, cache_dir = state.cache_dir,
    defaults = state.defaults, config = state.config, faults = list(state.faults),
    clock_offset = state.clock_offset, now = state:now(),
    counts = { requests = #state.log, tokens = #state.tokens, codes = codes, statements = #state.statement_order,
               files = nfiles },
    statements = sql.summaries(state), pg_runs = list(state.pg_runs),
  }
end

local HANDLERS = {}

HANDLERS["GET /__sim/state"] = function(state, _, info) return 200, state_view(state, info) end
HANDLERS["GET /__sim/health"] = function() return 200, { ok = true } end

HANDLERS["POST /__sim/config"] = function(state, req)
  local patch, err = decode_body(req)
  if not patch then return fail(400, err) end
  local ok, merr = state:merge_config(patch)
  if not ok then return fail(400, merr) end
  return 200, { ok = true, config = state.config }
end

HANDLERS["POST /__sim/faults"] = function(state, req)
  local faults, err = decode_body(req)
  if not faults then return fail(400, err) end
  local ok, ferr = state:add_faults(faults)
  if not ok then return fail(400, ferr) end
  return 200, { ok = true, faults = list(state.faults) }
end

HANDLERS["GET /__sim/faults"] = function(state) return 200, list(state.faults) end

HANDLERS["DELETE /__sim/faults"] = function(state)
  state.faults = {}
  return 200, { ok = true }
end

HANDLERS["GET /__sim/requests"] = function(state, req)
  local q = util.parse_form(req.query)
  if q.path and not pcall(string.find, "", q.path) then return fail(400, "path is not a valid Lua pattern") end
  return 200, list(state:requests({ path = q.path, method = q.method, since = tonumber(q.since) }))
end

HANDLERS["DELETE /__sim/requests"] = function(state)
  state.log = {}
  return 200, { ok = true }
end

HANDLERS["GET /__sim/tokens"] = function(state, req)
  local q = util.parse_form(req.query)
  local out = json.array()
  for _, t in ipairs(state.tokens) do
    if not q.kind or t.kind == q.kind then out[#out + 1] = t end
  end
  return 200, out
end

-- {advance = seconds} moves the token clock forward (or back); {offset = s}
-- sets it. Only token/credential/code expiry sees this clock.
HANDLERS["POST /__sim/clock"] = function(state, req)
  local body, err = decode_body(req)
  if not body then return fail(400, err) end
  if type(body.offset) == "number" then
    state.clock_offset = body.offset
  elseif type(body.advance) == "number" then
    state.clock_offset = state.clock_offset + body.advance
  else
    return fail(400, "give advance or offset (seconds)")
  end
  return 200, { ok = true, offset = state.clock_offset, now = state:now() }
end

-- The storage behind external links: URL, in flight, max in flight and
-- every download (seq, path, statement_id, chunk, started, finished,
-- status, bytes, in_flight_at_start).
HANDLERS["GET /__sim/storage"] = function(state) return 200, storage.view(state) end

HANDLERS["DELETE /__sim/storage"] = function(state)
  state:reset_storage()
  return 200, { ok = true }
end

-- {iss, aud, sub, exp | ttl, ...claims}: a JWT as an outside identity
-- provider would issue it, for token-exchange specs. Defaults: the
-- simulator's fake IdP issuer, the workspace token endpoint as audience.
HANDLERS["POST /__sim/jwt"] = function(state, req, info)
  local claims, err = decode_body(req)
  if not claims then return fail(400, err) end
  if type(claims) ~= "table" then return fail(400, "give the claims as an object") end
  claims.iss = claims.iss or state.defaults.oidc_issuer
  claims.aud = claims.aud or string.format("https://127.0.0.1:%d/oidc/v1/token", info.port)
  claims.sub = claims.sub or "workload@example.com"
  local rec = tokens.issue_id_token(state, claims)
  return 200, { token = rec.token, exp = rec.exp }
end

-- {statement_id}: writes every chunk body of an EXTERNAL_LINKS (or INLINE)
-- result into the cache now, so a benchmark times downloads, not generation.
HANDLERS["POST /__sim/prepare"] = function(state, req)
  local body, err = decode_body(req)
  if not body then return fail(400, err) end
  local st = state.statements[body.statement_id or ""]
  if not st or not st.result then return fail(404, "no result for statement " .. tostring(body.statement_id)) end
  local t0, bytes = socket.gettime(), 0
  for i = 0, st.result:chunk_count() - 1 do
    local path, size = st.result:file(i)
    if not path then return fail(500, tostring(size)) end
    bytes = bytes + size
  end
  return 200, { chunks = st.result:chunk_count(), bytes = bytes, seconds = socket.gettime() - t0 }
end

HANDLERS["POST /__sim/reset"] = function(state)
  state:reset()
  return 200, { ok = true }
end

local function write(stream, status, body, keep)
  local payload = json.encode(body)
  local head = http.head(status, {
    { "Content-Type", "application/json" }, { "Content-Length", #payload },
    { "Connection", keep and "keep-alive" or "close" },
  })
  return stream:send(head .. payload) ~= nil
end

-- A connection handler for the control port.
function M.handler(state, info)
  return function(stream)
    while true do
      local req, err, status, message = http.read_request(stream)
      if not req then
        if err == "bad" then write(stream, status, { error = message }, false) end
        return
      end
      local h = HANDLERS[req.method .. " " .. req.path]
      local code, body
      if h then
        local ok, c, b = pcall(h, state, req, info)
        if ok then code, body = c, b else code, body = 500, { error = tostring(c) } end
      else
        code, body = 404, { error = "no control endpoint " .. req.method .. " " .. req.path }
      end
      if not write(stream, code, body, req.keep_alive) or not req.keep_alive then return end
    end
  end
end

return M
