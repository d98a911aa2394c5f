-- Unity Catalog: table look-ups (configured tables, forbidden ones, 404
-- TABLE_DOES_NOT_EXIST for the rest) and the paginated lists of catalogs,
-- schemas and tables (max_results, page_token -> next_page_token). What
-- exists comes from the `tables` settings (catalog.schema.table) plus the
-- `catalogs` and `schemas` settings for ones without tables. Bearer
-- authentication happens in the router; ctx.identity is the caller.
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"
local types = require "databricks.simulator.types"
local paging = require "databricks.simulator.paging"

local M = {}

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
    local type_name, type_text = c.type_name or "STRING", c.type_text
    if c.type then
      local col = types.column(c, i - 1)
      if col then type_name, type_text = col.type_name, col.type_text:lower() end
    end
    type_text = type_text or type_name:lower()
    columns[i] = {
      name = c.name, type_name = type_name, type_text = type_text,
      type_json = json.encode({ name = c.name, type = type_text, nullable = c.nullable ~= false }),
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


---------------------------------------------------------------- lists

local function invalid(message)
  return errors.rest(400, "INVALID_PARAMETER_VALUE", message)
end

-- Sorted catalog names, schema full names and table full names that exist.
local function inventory(cfg)
  local catalogs, schemas, tables = {}, {}, {}
  for name, spec in pairs(cfg.catalogs or {}) do
    if spec then catalogs[name] = true end
  end
  for full, spec in pairs(cfg.schemas or {}) do
    local c = full:match("^([^.]+)%.[^.]+$")
    if spec and c then
      catalogs[c], schemas[full] = true, true
    end
  end
  for full, spec in pairs(cfg.tables or {}) do
    local c, sch = full:match("^([^.]+)%.([^.]+)%.[^.]+$")
    if spec and c then
      catalogs[c], schemas[c .. "." .. sch], tables[full] = true, true, true
    end
  end
  return catalogs, schemas, tables
end

local function sorted(set, prefix)
  local out = {}
  for k in pairs(set) do
    if not prefix or k:sub(1, #prefix) == prefix then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function created(spec)
  return type(spec) == "table" and spec.created_at or 1700000000000
end

local function catalog_info(cfg, name)
  local spec = (cfg.catalogs or {})[name]
  spec = type(spec) == "table" and spec or {}
  return {
    name = name, full_name = name, owner = spec.owner or "user@example.com", comment = spec.comment,
    catalog_type = spec.catalog_type or "MANAGED_CATALOG", metastore_id = "sim-metastore",
    id = util.stable_id("catalog:" .. name), created_at = created(spec), created_by = spec.owner or "user@example.com",
    isolation_mode = "OPEN", securable_type = "CATALOG",
  }
end

local function schema_info(cfg, full)
  local catalog, name = full:match("^([^.]+)%.(.+)$")
  local spec = (cfg.schemas or {})[full]
  spec = type(spec) == "table" and spec or {}
  return {
    name = name, catalog_name = catalog, full_name = full, owner = spec.owner or "user@example.com",
    comment = spec.comment, metastore_id = "sim-metastore", schema_id = util.stable_id("schema:" .. full),
    created_at = created(spec), created_by = spec.owner or "user@example.com", catalog_type = "MANAGED_CATALOG",
  }
end

-- One page of `names` rendered by `render`, under `key` of the answer.
local function page(ctx, key, context, names, render)
  local q = util.parse_form(ctx.req.query)
  local size, serr = paging.size(q.max_results, ctx.state.config.list_page_size or 100)
  if not size then return invalid("max_results " .. serr .. ".") end
  local names_page, token = paging.page(names, context, q.page_token, size)
  if not names_page then return invalid(token) end
  local items = json.array()
  for i, n in ipairs(names_page) do items[i] = render(n) end
  return 200, { [key] = items, next_page_token = token }
end

function M.list_catalogs(ctx)
  local cfg = ctx.state.config
  local catalogs = inventory(cfg)
  return page(ctx, "catalogs", "catalogs", sorted(catalogs), function(n) return catalog_info(cfg, n) end)
end

function M.list_schemas(ctx)
  local cfg = ctx.state.config
  local q = util.parse_form(ctx.req.query)
  if not q.catalog_name or q.catalog_name == "" then return invalid("catalog_name is required.") end
  local catalogs, schemas = inventory(cfg)
  if not catalogs[q.catalog_name] then
    return errors.rest(404, "CATALOG_DOES_NOT_EXIST", string.format("Catalog '%s' does not exist.", q.catalog_name))
  end
  return page(ctx, "schemas", "schemas:" .. q.catalog_name, sorted(schemas, q.catalog_name .. "."),
    function(n) return schema_info(cfg, n) end)
end

function M.list_tables(ctx)
  local cfg = ctx.state.config
  local q = util.parse_form(ctx.req.query)
  for _, k in ipairs({ "catalog_name", "schema_name" }) do
    if not q[k] or q[k] == "" then return invalid(k .. " is required.") end
  end
  local catalogs, schemas, tables = inventory(cfg)
  if not catalogs[q.catalog_name] then
    return errors.rest(404, "CATALOG_DOES_NOT_EXIST", string.format("Catalog '%s' does not exist.", q.catalog_name))
  end
  local full = q.catalog_name .. "." .. q.schema_name
  if not schemas[full] then
    return errors.rest(404, "SCHEMA_DOES_NOT_EXIST", string.format("Schema '%s' does not exist.", full))
  end
  local now = ctx.state:now()
  return page(ctx, "tables", "tables:" .. full, sorted(tables, full .. "."),
    function(n) return table_info(n, cfg.tables[n], now) end)
end

return M
