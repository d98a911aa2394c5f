-- Lakebase (Databricks PostgreSQL): credentials for provisioned instances
-- (/api/2.0/database/credentials), instance look-up (read_write_dns) and
-- credentials for autoscaling endpoints (/api/2.0/postgres/credentials).
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
  local rec, err = tokens.issue_credential(ctx.state, {
    subject = ctx.identity.userName, instance_names = json.array(util.copy(names)), base_url = ctx.base_url,
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
    read_only_dns = spec.read_only_dns,
    pg_version = spec.pg_version or "PG_VERSION_16",
    capacity = spec.capacity or "CU_1",
    creator = spec.creator or ctx.state.config.user,
    creation_time = spec.creation_time or "2025-01-01T00:00:00Z",
    effective_stopped = false,
  }
end

local ENDPOINT = "^projects/[^/]+/branches/[^/]+/endpoints/[^/]+$"

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
  local rec, err = tokens.issue_credential(ctx.state, {
    subject = ctx.identity.userName, endpoint = ep, base_url = ctx.base_url,
  })
  if not rec then return errors.rest(500, "INTERNAL_ERROR", err) end
  return 200, { token = rec.token, expire_time = util.rfc3339(rec.exp) }
end

return M
