-- Lakebase (Databricks PostgreSQL): credentials for provisioned instances
-- (/api/2.0/database/credentials, optionally with UC-scoped `claims`),
-- instance look-up (read_write_dns, read_only_dns, state), credentials for
-- autoscaling endpoints (/api/2.0/postgres/credentials, `ttl` 300-3600 s or
-- `expire_time`) and endpoint look-up (status.hosts, status.current_state).
-- Issuing a credential runs the PG hook (see pg_hook.lua) for the caller.
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local tokens = require "databricks.simulator.tokens"
local util = require "databricks.simulator.util"

local M = {}

local function not_found(what)
  return errors.rest(404, "RESOURCE_DOES_NOT_EXIST", what)
end

local function invalid(message)
  return errors.rest(400, "INVALID_PARAMETER_VALUE", message)
end

function M.database_credential(ctx)
  local body = json.decode(ctx.req.body)
  if type(body) ~= "table" then return errors.rest(400, "MALFORMED_REQUEST", "Request body must be a JSON object.") end
  local names = body.instance_names
  if type(names) ~= "table" or #names == 0 then return invalid("instance_names is required.") end
  local instances = ctx.state.config.instances or {}
  for _, n in ipairs(names) do
    if type(n) ~= "string" then return invalid("instance_names must be a list of names.") end
    if not instances[n] then return not_found(string.format("Database instance '%s' does not exist.", n)) end
  end
  if body.request_id ~= nil and type(body.request_id) ~= "string" then
    return invalid("request_id must be a string.")
  end
  if body.claims ~= nil and (type(body.claims) ~= "table" or not util.is_list(body.claims)) then
    return invalid("claims must be a list of {permission_set, resources}.")
  end
  local rec, err = tokens.issue_credential(ctx.state, {
    subject = ctx.identity.userName, instance_names = json.array(util.copy(names)), base_url = ctx.base_url,
    claims = body.claims and json.array(util.copy(body.claims)),
  })
  if not rec then return errors.rest(500, "INTERNAL_ERROR", err) end
  rec.request_id = body.request_id
  return 200, { token = rec.token, expiration_time = util.rfc3339(rec.exp) }
end

function M.instance(ctx)
  local name = util.url_decode(ctx.params[1])
  local spec = (ctx.state.config.instances or {})[name]
  if not spec then return not_found(string.format("Database instance '%s' does not exist.", name)) end
  spec = type(spec) == "table" and spec or {}
  local dns = spec.read_write_dns or "127.0.0.1"
  return 200, {
    name = name,
    uid = util.stable_id("instance:" .. name),
    state = spec.state or "AVAILABLE",
    read_write_dns = dns,
    read_only_dns = spec.read_only_dns or dns,
    pg_version = spec.pg_version or "PG_VERSION_16",
    capacity = spec.capacity or "CU_1",
    creator = spec.creator or ctx.state.config.user,
    creation_time = spec.creation_time or "2025-01-01T00:00:00Z",
    effective_stopped = false,
  }
end

local ENDPOINT = "^projects/[^/]+/branches/[^/]+/endpoints/[^/]+$"

local function parse_rfc3339(s)
  local y, mo, d, h, mi, sec, frac, zone = tostring(s):match(
    "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
  if not y or not (zone == "Z" or zone:match("^[+-]%d%d:%d%d$")) then return nil end
  local t = util.days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) + (tonumber("0" .. frac) or 0)
  if zone ~= "Z" then
    local sign, zh, zm = zone:match("^([+-])(%d%d):(%d%d)$")
    local off = tonumber(zh) * 3600 + tonumber(zm) * 60
    t = sign == "+" and t - off or t + off
  end
  return t
end

-- The credential lifetime asked for: `ttl` ("3600s", 300-3600 s) or
-- `expire_time` (RFC 3339, the same range from now); nil for the default.
-- nil and a message when out of range or malformed.
local function lifetime(state, body)
  if body.ttl ~= nil and body.expire_time ~= nil then return nil, "give ttl or expire_time, not both." end
  local seconds
  if body.ttl ~= nil then
    seconds = type(body.ttl) == "string" and tonumber(body.ttl:match("^(%d+%.?%d*)s$"))
    if not seconds then return nil, "ttl must be a duration such as \"3600s\"." end
  elseif body.expire_time ~= nil then
    local at = parse_rfc3339(body.expire_time)
    if not at then return nil, "expire_time must be an RFC 3339 time." end
    seconds = at - state:now()
  else
    return state.config.credential_ttl
  end
  if seconds < 300 or seconds > 3600 then
    return nil, string.format("The credential lifetime must be between 300s and 3600s (got %ds).", math.floor(seconds))
  end
  return math.floor(seconds)
end

function M.postgres_credential(ctx)
  local body = json.decode(ctx.req.body)
  if type(body) ~= "table" then return errors.rest(400, "MALFORMED_REQUEST", "Request body must be a JSON object.") end
  local ep = body.endpoint
  if type(ep) ~= "string" or ep == "" then return invalid("endpoint is required.") end
  if not ep:match(ENDPOINT) then
    return invalid("endpoint must look like projects/{project}/branches/{branch}/endpoints/{endpoint}.")
  end
  if not (ctx.state.config.endpoints or {})[ep] then
    return not_found(string.format("Endpoint '%s' does not exist.", ep))
  end
  local ttl, terr = lifetime(ctx.state, body)
  if not ttl then return invalid(terr) end
  local rec, err = tokens.issue_credential(ctx.state, {
    subject = ctx.identity.userName, endpoint = ep, base_url = ctx.base_url, ttl = ttl,
  })
  if not rec then return errors.rest(500, "INTERNAL_ERROR", err) end
  rec.ttl_asked = body.ttl or body.expire_time
  return 200, { token = rec.token, expire_time = util.rfc3339(rec.exp) }
end

function M.endpoint(ctx)
  local name = util.url_decode(ctx.params[1])
  local spec = (ctx.state.config.endpoints or {})[name]
  if not spec then return not_found(string.format("Endpoint '%s' does not exist.", name)) end
  spec = type(spec) == "table" and spec or {}
  local host = spec.host or "127.0.0.1"
  local project, branch = name:match("^projects/([^/]+)/branches/([^/]+)/")
  local hosts = { host = host, read_write_pooled_host = spec.read_write_pooled_host,
                  read_only_host = spec.read_only_host }
  return 200, {
    name = name, uid = util.stable_id("endpoint:" .. name),
    parent = string.format("projects/%s/branches/%s", project, branch),
    create_time = spec.create_time or "2025-01-01T00:00:00Z", update_time = spec.update_time or "2025-01-01T00:00:00Z",
    spec = { endpoint_type = spec.endpoint_type or "ENDPOINT_TYPE_READ_WRITE",
             autoscaling_limit_min_cu = spec.min_cu or 0.5, autoscaling_limit_max_cu = spec.max_cu or 4 },
    status = { current_state = spec.state or "ACTIVE", hosts = hosts,
               endpoint_type = spec.endpoint_type or "ENDPOINT_TYPE_READ_WRITE" },
  }
end

return M
