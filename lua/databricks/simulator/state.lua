-- The simulator's world: settings (defaults, validation, merging), issued
-- tokens and authorization codes, statements, external links and the
-- storage's download record, the request log, programmed faults and PG hook
-- runs. Routes read and change it; the control API shows it. It does no I/O
-- (the files it names live under work_dir, which the routes own).
local socket = require "socket"
local util = require "databricks.simulator.util"

local State = {}
State.__index = State

-- Maps whose entries are replaced (not merged) one by one; `false` removes.
local ENTITY_MAPS = {
  clients = true, pats = true, tables = true, warehouses = true,
  statements = true, instances = true, endpoints = true,
  catalogs = true, schemas = true, federation = true,
}

local SCALARS = {
  token_ttl = "number", credential_ttl = "number", code_ttl = "number",
  discovery = "boolean", user = "string", display_name = "string",
  authorize_mode = "string", refresh_rotation = "boolean",
  -- Statement Execution at scale and the storage behind external links
  inline_byte_limit = "number", chunk_bytes = "number", link_ttl = "number",
  link_headers = "boolean", storage_delay = "number", storage_host = "string",
  -- paginated lists
  list_page_size = "number", files_page_size = "number",
  -- auth breadth
  expired_status = "number", workspace_id = "string", require_workspace_id = "boolean",
  account_id = "string",
}

-- Objects whose keys are merged one by one (a patch changes only what it names).
local MERGED = { github = true }

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
    account_id = util.uuid(),
    workspace_id = tostring(math.random(1000000, 9999999)) .. tostring(math.random(100000000, 999999999)),
    github_request_token = "ghrt" .. util.base62(40),
    github_issuer = "https://token.actions.githubusercontent.com",
    oidc_issuer = "https://idp.sim.example",
    volume = "main.default.files",
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
    catalogs = {},
    schemas = {},
    inline_byte_limit = 25 * 1024 * 1024,
    chunk_bytes = 16 * 1024 * 1024,
    link_ttl = 900,
    link_headers = true,
    storage_delay = 0,
    storage_host = "127.0.0.1",
    list_page_size = 100,
    files_page_size = 1000,
    expired_status = 401,
    workspace_id = d.workspace_id,
    require_workspace_id = false,
    account_id = d.account_id,
    -- Workload identity federation policies, by token issuer. A policy with
    -- client_id serves that service principal only; without, any client and
    -- account-wide (no client_id) exchanges.
    federation = {
      [d.github_issuer] = {},
      [d.oidc_issuer] = {},
    },
    github = {
      request_token = d.github_request_token, issuer = d.github_issuer,
      subject = "repo:example/pipeline:ref:refs/heads/main", token_ttl = 300,
    },
  }
end

local function check_federation(v)
  for issuer, p in pairs(v) do
    if p ~= false then
      if type(p) ~= "table" then return nil, "config federation[" .. tostring(issuer) .. "] must be an object" end
      for key, x in pairs(p) do
        if key == "audience" then
          if type(x) ~= "string" and type(x) ~= "table" then
            return nil, "config federation audience must be a string or a list"
          end
        elseif key == "subject" or key == "client_id" or key == "user" then
          if type(x) ~= "string" then return nil, "config federation " .. key .. " must be a string" end
        else
          return nil, "unknown config federation key " .. tostring(key)
        end
      end
    end
  end
  return true
end

-- Checks a settings patch; returns true or nil and a message naming the key.
local function validate(patch)
  if type(patch) ~= "table" then return nil, "config must be a JSON object" end
  for k, v in pairs(patch) do
    if SCALARS[k] then
      if type(v) ~= SCALARS[k] then return nil, string.format("config %s must be a %s", k, SCALARS[k]) end
    elseif ENTITY_MAPS[k] then
      if type(v) ~= "table" then return nil, "config " .. k .. " must be an object" end
      if k == "federation" then
        local ok, err = check_federation(v)
        if not ok then return nil, err end
      end
    elseif MERGED[k] then
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
  if patch.expired_status and patch.expired_status ~= 401 and patch.expired_status ~= 403 then
    return nil, "config expired_status must be 401 or 403"
  end
  for _, k in ipairs({ "list_page_size", "files_page_size", "chunk_bytes", "inline_byte_limit" }) do
    if patch[k] and (math.type(patch[k]) ~= "integer" or patch[k] < 1) then
      return nil, "config " .. k .. " must be a positive integer"
    end
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
    links = {},
    storage = { in_flight = 0, max_in_flight = 0, downloads = {} },
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
    elseif MERGED[k] then
      cfg[k] = cfg[k] or {}
      for name, x in pairs(v) do cfg[k][name] = util.copy(x) end
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
  self:reset_storage()
  if self.on_reset then self.on_reset() end
end

-- Clears the storage's download record (in flight, max in flight).
function State:reset_storage()
  local in_flight = self.storage.in_flight
  self.storage = { in_flight = in_flight, max_in_flight = in_flight, downloads = {} }
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
  -- error shapes
  error_code = "any", message = "string", details = "table",
  -- chunk faults (Statement Execution results and their storage)
  chunk = "number", statement = "string",
}

local ACTIONS = {
  reset = true, reset_mid_body = true, truncated = true, malformed = true, html = true,
  oversized = true, wrong_shape = true, hang = true,
  -- REST error bodies of every documented shape
  numeric_error_code = true, text_error = true, scim_error = true, details_error = true,
  empty_404 = true, private_link = true,
  -- the normal answer, with its next_page_token replaced by the page_token asked for
  repeat_page_token = true,
}

-- What a chunk fault may do: at the workspace (self_link: the chunk's next
-- link points back at itself) or at the storage.
local CHUNK_ACTIONS = {
  self_link = "link", malformed = "storage", wrong_row_count = "storage", truncated = "storage",
  expired = "storage", not_found = "storage",
}

local function check_fault(f)
  if type(f) ~= "table" then return nil, "a fault must be an object" end
  for k, v in pairs(f) do
    local want = FAULT_KEYS[k]
    if not want then return nil, "unknown fault key " .. tostring(k) end
    if want ~= "any" and type(v) ~= want then return nil, string.format("fault %s must be a %s", k, want) end
  end
  if f.chunk ~= nil or f.statement ~= nil then
    if f.action and not CHUNK_ACTIONS[f.action] then
      return nil, "unknown chunk fault action " .. f.action .. " (self_link, malformed, wrong_row_count, "
        .. "truncated, expired, not_found)"
    end
    if not f.action and not f.delay then return nil, "a chunk fault needs an action or a delay" end
    if f.status or f.path or f.method or f.query or f.match_body then
      return nil, "a chunk fault matches by chunk and statement only"
    end
  elseif f.action and not ACTIONS[f.action] then
    return nil, "unknown fault action " .. f.action
  end
  if not f.action and not f.status and not f.delay then
    return nil, "a fault needs an action, a status or a delay"
  end
  for _, k in ipairs({ "path", "query", "match_body", "statement" }) do
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
    if f.count ~= 0 and f.chunk == nil and f.statement == nil
      and (f.action ~= "repeat_page_token" or (req.query or ""):find("page_token=[^&]"))
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

-- The first live chunk fault for chunk `index` of statement `st` at `stage`
-- ("link" or "storage"); its count drops.
function State:take_chunk_fault(stage, st, index)
  for _, f in ipairs(self.faults) do
    if f.count ~= 0 and (f.chunk ~= nil or f.statement ~= nil)
      and (f.action and CHUNK_ACTIONS[f.action] or "storage") == stage
      and (f.chunk == nil or f.chunk < 0 or f.chunk == index)
      and (not f.statement or (st.statement or ""):find(f.statement)) then
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
