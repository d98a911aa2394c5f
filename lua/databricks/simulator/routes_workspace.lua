-- Workspace REST endpoints that identify the caller and its data: SCIM `Me`
-- and Unity Catalog table look-ups (configured tables, forbidden ones, 404
-- TABLE_DOES_NOT_EXIST for the rest). Bearer authentication happens in the
-- router before these run; ctx.identity is the caller.
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"

local M = {}

function M.me(ctx)
  local id = ctx.identity
  local name = id.userName
  local client = ctx.state.config.clients and ctx.state.config.clients[name]
  local body = {
    schemas = json.array({
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:workspace:2.0:User",
    }),
    id = util.stable_id(name),
    userName = name,
    active = true,
    emails = json.array(),
    groups = json.array({ { display = "users", type = "direct", value = util.stable_id("users") } }),
  }
  if id.kind == "m2m" then
    body.displayName = type(client) == "table" and client.name or ("service principal " .. name)
    body.applicationId = name
  else
    body.displayName = (ctx.state.config.display_name and name == ctx.state.config.user)
      and ctx.state.config.display_name or (name:match("^([^@]+)@") or name)
    body.emails = json.array({ { value = name, type = "work", primary = true } })
    body.name = { givenName = body.displayName }
  end
  return 200, body
end

local function is_forbidden(cfg, name)
  local f = cfg.forbidden_tables or {}
  if f[name] then return true end
  for _, n in ipairs(f) do
    if n == name then return true end
  end
  return false
end

local function table_info(name, spec, now)
  local catalog, schema, tbl = name:match("^([^.]+)%.([^.]+)%.([^.]+)$")
  spec = type(spec) == "table" and spec or {}
  local columns = json.array()
  for i, c in ipairs(spec.columns or {}) do
    if type(c) == "string" then c = { name = c } end
    local type_name = c.type_name or "STRING"
    columns[i] = {
      name = c.name, type_name = type_name, type_text = c.type_text or type_name:lower(),
      type_json = json.encode({ name = c.name, type = (c.type_text or type_name:lower()), nullable = true }),
      position = i - 1, nullable = c.nullable ~= false, comment = c.comment,
    }
  end
  local created = spec.created_at or 1700000000000
  return {
    name = tbl, catalog_name = catalog, schema_name = schema, full_name = name,
    table_type = spec.table_type or "MANAGED",
    data_source_format = spec.data_source_format or "DELTA",
    columns = columns,
    owner = spec.owner or "user@example.com",
    comment = spec.comment,
    storage_location = spec.storage_location
      or string.format("s3://sim-metastore/%s/tables/%s", catalog, util.stable_id(name)),
    table_id = util.stable_id(name),
    created_at = created, created_by = spec.owner or "user@example.com",
    updated_at = spec.updated_at or math.max(created, math.floor(now * 1000) - 3600 * 1000),
    updated_by = spec.owner or "user@example.com",
    metastore_id = "sim-metastore",
  }
end

function M.get_table(ctx)
  local name = util.url_decode(ctx.params[1])
  local cfg = ctx.state.config
  if not name:match("^[^.]+%.[^.]+%.[^.]+$") then
    return errors.rest(400, "INVALID_PARAMETER_VALUE",
      string.format("Invalid table name '%s': expected catalog.schema.table.", name))
  end
  if is_forbidden(cfg, name) then
    return errors.rest(403, "PERMISSION_DENIED",
      string.format("User does not have USE SCHEMA and SELECT on Table '%s'.", name))
  end
  local spec = cfg.tables and cfg.tables[name]
  if spec == nil then
    return errors.rest(404, "TABLE_DOES_NOT_EXIST", string.format("Table '%s' does not exist.", name))
  end
  return 200, table_info(name, spec, ctx.state:now())
end

return M
