-- The simulator's world: settings (defaults, validation, merging), issued
-- tokens and authorization codes, statements, the request log, programmed
-- faults and PG hook runs. Routes read and change it; the control API shows
-- it. It does no I/O.
local socket = require "socket"
local util = require "databricks.simulator.util"

local State = {}
State.__index = State

-- Maps whose entries are replaced (not merged) one by one; `false` removes.
local ENTITY_MAPS = {
  clients = true, pats = true, tables = true, warehouses = true,
  statements = true, instances = true, endpoints = true,
}

local SCALARS = {
  token_ttl = "number", credential_ttl = "number", code_ttl = "number",
  discovery = "boolean", user = "string", display_name = "string",
  authorize_mode = "string", refresh_rotation = "boolean",
}

local AUTHORIZE_MODES = { approve = true, deny = true, wrong_state = true }

local DEFAULT_TABLE = {
  table_type = "MANAGED",
  data_source_format = "DELTA",
  owner = "user@example.com",
  comment = "NYC taxi trips (simulated)",
  columns = {
    { name = "trip_id", type_name = "LONG", type_text = "bigint" },
    { name = "tpep_pickup_datetime", type_name = "TIMESTAMP", type_text = "timestamp" },
    { name = "trip_distance", type_name = "DOUBLE", type_text = "double" },
    { name = "fare_amount", type_name = "DOUBLE", type_text = "double" },
    { name = "pickup_zip", type_name = "INT", type_text = "int" },
  },
}

local function make_defaults()
  return {
    pat = "dapi" .. util.hex(32),
    client_id = util.uuid(),
    client_secret = "dose" .. util.hex(32),
    user = "user@example.com",
    u2m_client_id = "databricks-cli",
    warehouse_id = "abc123",
    table = "main.default.trips",
    instance = "test-instance",
    endpoint = "projects/demo/branches/main/endpoints/primary",
  }
end

local function base_config(d)
  return {
    token_ttl = 3600,
    credential_ttl = 3600,
    code_ttl = 300,
    discovery = true,
    user = d.user,
    authorize_mode = "approve",
    refresh_rotation = true,
    clients = { [d.client_id] = { secret = d.client_secret, name = "sim-service-principal" } },
    pats = { [d.pat] = true },
    tables = { [d.table] = util.copy(DEFAULT_TABLE) },
    forbidden_tables = {},
    warehouses = { [d.warehouse_id] = { name = "Simulated SQL warehouse" } },
    statements = {},
    instances = { [d.instance] = { read_write_dns = "127.0.0.1" } },
    endpoints = { [d.endpoint] = { host = "127.0.0.1" } },
  }
end

-- Checks a settings patch; returns true or nil and a message naming the key.
local function validate(patch)
  if type(patch) ~= "table" then return nil, "config must be a JSON object" end
  for k, v in pairs(patch) do
    if SCALARS[k] then
      if type(v) ~= SCALARS[k] then return nil, string.format("config %s must be a %s", k, SCALARS[k]) end
    elseif ENTITY_MAPS[k] then
      if type(v) ~= "table" then return nil, "config " .. k .. " must be an object" end
    elseif k == "forbidden_tables" then
      if type(v) ~= "table" then return nil, "config forbidden_tables must be a list or object" end
    elseif k == "pg" then
      if v ~= false and type(v) ~= "table" then return nil, "config pg must be an object or false" end
      if type(v) == "table" then
        if type(v.admin) ~= "table" or #v.admin == 0 then
          return nil, "config pg.admin must be a non-empty argv list"
        end
        local from = v.password_from or "credential"
        if from ~= "credential" and from ~= "token" then
          return nil, "config pg.password_from must be \"credential\" or \"token\""
        end
      end
    else
      return nil, "unknown config key " .. tostring(k)
    end
  end
  if patch.authorize_mode and not AUTHORIZE_MODES[patch.authorize_mode] then
    return nil, "config authorize_mode must be approve, deny or wrong_state"
  end
  return true
end

function State.new()
  local d = make_defaults()
  local self = setmetatable({
    defaults = d,
    clock_offset = 0,
    seq = 0,
    log = {},
    faults = {},
    tokens = {},
    by_token = {},
    codes = {},
    statements = {},
    statement_order = {},
    pg_runs = {},
  }, State)
  self.config = base_config(d)
  self.initial_config = util.copy(self.config)
  return self
end

function State:now()
  return socket.gettime() + self.clock_offset
end

function State:merge_config(patch)
  local ok, err = validate(patch)
  if not ok then return nil, err end
  local cfg = self.config
  for k, v in pairs(patch) do
    if ENTITY_MAPS[k] then
      cfg[k] = cfg[k] or {}
      for name, entry in pairs(v) do
        if entry == false then cfg[k][name] = nil else cfg[k][name] = util.copy(entry) end
      end
    elseif k == "pg" then
      cfg.pg = v and util.copy(v) or nil
    else
      cfg[k] = util.copy(v)
    end
  end
  return true
end

-- Makes the current settings the ones `reset` returns to (startup --config).
function State:commit_initial()
  self.initial_config = util.copy(self.config)
end

function State:reset()
  self.config = util.copy(self.initial_config)
  self.faults = {}
  self.log = {}
  self.clock_offset = 0
end

---------------------------------------------------------------- request log

function State:log_request(req, conn)
  self.seq = self.seq + 1
  local entry = {
    seq = self.seq, conn = conn, method = req.method, path = req.path,
    query = req.query, headers = req.headers, body = req.body,
    time = socket.gettime(),
  }
  self.log[#self.log + 1] = entry
  return entry
end

function State:requests(filter)
  filter = filter or {}
  local out = {}
  for _, e in ipairs(self.log) do
    if (not filter.method or e.method == filter.method)
      and (not filter.path or (e.path or ""):find(filter.path))
      and (not filter.since or e.seq > filter.since) then
      out[#out + 1] = e
    end
  end
  return out
end

---------------------------------------------------------------- faults

local FAULT_KEYS = {
  path = "string", method = "string", count = "number", status = "number", body = "any",
  headers = "table", delay = "number", action = "string", size = "number",
  query = "string", match_body = "string",
}

local ACTIONS = {
  reset = true, reset_mid_body = true, truncated = true, malformed = true, html = true,
  oversized = true, wrong_shape = true, hang = true,
}

local function check_fault(f)
  if type(f) ~= "table" then return nil, "a fault must be an object" end
  for k, v in pairs(f) do
    local want = FAULT_KEYS[k]
    if not want then return nil, "unknown fault key " .. tostring(k) end
    if want ~= "any" and type(v) ~= want then return nil, string.format("fault %s must be a %s", k, want) end
  end
  if f.action and not ACTIONS[f.action] then return nil, "unknown fault action " .. f.action end
  if not f.action and not f.status and not f.delay then
    return nil, "a fault needs an action, a status or a delay"
  end
  for _, k in ipairs({ "path", "query", "match_body" }) do
    if f[k] and not pcall(string.find, "", f[k]) then return nil, "fault " .. k .. " is not a valid Lua pattern" end
  end
  return true
end

-- Appends faults (a list or one); all or nothing.
function State:add_faults(list)
  if type(list) ~= "table" then return nil, "faults must be a list" end
  if list[1] == nil and next(list) ~= nil then list = { list } end
  for _, f in ipairs(list) do
    local ok, err = check_fault(f)
    if not ok then return nil, err end
  end
  for _, f in ipairs(list) do
    local copy = util.copy(f)
    copy.count = copy.count or 1
    copy.method = copy.method and copy.method:upper()
    copy.fired = 0
    self.faults[#self.faults + 1] = copy
  end
  return true
end

-- The first live fault matching the request; its count drops (count < 0 is
-- "every time").
function State:take_fault(req)
  for _, f in ipairs(self.faults) do
    if f.count ~= 0
      and (not f.method or f.method == req.method)
      and (not f.path or req.path:find(f.path))
      and (not f.query or (req.query or ""):find(f.query))
      and (not f.match_body or (req.body or ""):find(f.match_body)) then
      if f.count > 0 then f.count = f.count - 1 end
      f.fired = f.fired + 1
      return f
    end
  end
end

---------------------------------------------------------------- tokens

function State:add_token(rec)
  self.tokens[#self.tokens + 1] = rec
  self.by_token[rec.token] = rec
  return rec
end

function State:find_token(value)
  return value and self.by_token[value]
end

return State
