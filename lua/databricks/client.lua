--- The client returned by `databricks.connect`: its methods written in Lua.
-- The client is one object; its methods come from two places. The C core
-- (`src/l_client.c`, `l_request.c`, `l_workspace.c`) implements the ones
-- that need it: `token`, `headers`, `request`, `current_user`, `get_table`,
-- `database_credential`, `validate_connection`, `close`. This module adds
-- every other endpoint, each a few lines over `client:request`, which gives
-- it auth, token refresh, the User-Agent, retries and error shaping. A new
-- REST endpoint goes here (CONTRIBUTING.md, "Adding an endpoint"), and
-- nowhere else.
--
-- Every method returns one value on success and `nil, err` on failure
-- (`request` alone adds the response metadata as a second value).
-- @module databricks.client
local core = require "databricks.core"
local null = require("cjson").null

local Client = core.client_methods

local function protocol_error(message)
  return core.error{ kind = "protocol", message = message }
end

--- A Spark Connect URL for this workspace: the configured cluster, or a
-- serverless session when `serverless_compute_id` is set.
-- @return `sc://host:443/;token=...;x-databricks-cluster-id=...` (or
-- `;x-databricks-session-id=<uuid>`), or nil and a `config` error
function Client:spark_connect_url()
  local info = self:_info()
  local token, err = self:token()
  if not token then return nil, err end
  local host = info.host:gsub("^https?://", ""):gsub(":%d+$", "")
  local base = string.format("sc://%s:443/;token=%s", host, token)
  if info.cluster_id then
    return base .. ";x-databricks-cluster-id=" .. info.cluster_id
  elseif info.serverless_compute_id then
    local id, uerr = core.uuid4()
    if not id then return nil, uerr end
    return base .. ";x-databricks-session-id=" .. id
  end
  return nil, core.error{ kind = "config",
    message = "spark_connect_url needs cluster_id (or a cluster http_path) or serverless_compute_id in connect" }
end

--- Submits a SQL statement (Statement Execution API) and returns at once
-- with a statement object (`databricks.statement`): `st.id`, `st:status()`,
-- `st:wait()`, `st:columns()`, `for row in st:rows() do ... end`,
-- `st:fetch_all()`, `st:cancel()`, `st:close()` (also `__close`/`__gc`,
-- which cancel a statement that has not finished).
--
-- With `disposition = "EXTERNAL_LINKS"` (the default) the rows stream from
-- cloud storage: `rows()` decodes chunk N while chunks N+1 .. N+prefetch
-- download in parallel in the C core, so memory stays bounded by the
-- prefetch window (about (prefetch + 1) x the chunk size), not by the
-- result. The links are fetched without the workspace's Authorization
-- header, with exactly their own http_headers, over https only; they are
-- redacted everywhere.
-- @tparam string statement SQL text; named markers `:name`
-- @tparam[opt] table opts `parameters` (map name -> value, or list of
-- {name=, value=, type=}), `catalog`, `schema`, `warehouse_id` (default the
-- client's), `row_limit`, `byte_limit`, `query_tags` (map, or list of
-- {key=, value=}; at most 20), `disposition` ("EXTERNAL_LINKS" or "INLINE"),
-- `typed` (default true: BYTE/SHORT/INT/LONG become integers, FLOAT/DOUBLE
-- floats, BOOLEAN booleans, DECIMAL an exact string; the rest stay strings;
-- SQL NULL is `databricks.null`), `decimal` ("string" or "number"),
-- `prefetch` (chunks downloaded ahead, 0-64, default 4), `timeout` (seconds
-- for the whole statement, fetch included, default 600; it is cancelled when
-- it passes), `wait_timeout` (seconds the submission waits server-side: 0,
-- the default, or 5-50), `on_progress` (function(chunks_done, chunks_total)
-- while rows are read, at most ~10 times a second)
-- @return the statement, or nil and an error (`config` for bad options)
function Client:execute(statement, opts)
  return require("databricks.sql").execute(self, statement, opts)
end

--- Runs SQL on the Statement Execution API to the end and returns every
-- row: `client:execute` + `st:fetch_all()`, with the 0.1 defaults
-- (`disposition = "INLINE"`, `typed = false`: values are strings or
-- `databricks.null`; `timeout` the client's; the submission waits
-- server-side up to min(timeout, 50) s). Takes every option of `execute`.
-- @tparam string statement SQL text; named markers `:name`
-- @tparam[opt] table opts as `execute`
-- @return `{columns={names}, schema={column info}, rows={{...}},
-- statement_id=, total_row_count=, truncated=}`, or nil and an error (a
-- failed statement: kind "sql" with the server's `error_code` and `statement_id`)
function Client:sql(statement, opts)
  return require("databricks.sql").sql(self, statement, opts)
end

-- The pages of a listing, element by element (see Client:paginate); `map`
-- reshapes each element.
local function pages(client, path, query0, items, map)
  local query = {}
  for k, v in pairs(query0 or {}) do query[k] = v end
  local page, i, done, token, seen = nil, 0, false, nil, {}
  return function()
    while true do
      if page and i < #page then
        i = i + 1
        return map and map(page[i]) or page[i]
      end
      if done then return nil end
      query.page_token = token
      local body, err = client:request("GET", path, { query = query })
      if not body then error(err, 0) end
      if type(body) ~= "table" then error(protocol_error("GET " .. path .. ": the answer is not a JSON object"), 0) end
      page, i = body[items], 0
      if page == nil or page == null then page = {} end
      if type(page) ~= "table" then
        error(protocol_error("GET " .. path .. ": '" .. items .. "' in the answer is not a list"), 0)
      end
      local nxt = body.next_page_token
      if nxt == nil or nxt == null or nxt == "" then
        done = true
      elseif type(nxt) ~= "string" then
        error(protocol_error("GET " .. path .. ": next_page_token is not a string"), 0)
      elseif seen[nxt] then
        error(protocol_error("GET " .. path .. ": the server sent a page token it had sent before; the listing "
          .. "would never end"), 0)
      else
        seen[nxt], token = true, nxt
      end
    end
  end
end

--- Iterates over a paginated REST collection: each answer's list under
-- `items` is handed out one element at a time, and the next page is asked
-- for with `page_token` set to the answer's `next_page_token` until that is
-- absent or empty. A token that repeats is a `protocol` error (no server
-- answer can make the loop endless). Errors raise the `err` table (so
-- `pcall` sees `kind`, `status`, ...).
-- @tparam string path e.g. "/api/2.1/unity-catalog/tables"
-- @tparam table opts `items` (the name of the list in each answer, required),
-- `query` (table of query parameters sent with every page)
-- @return an iterator
-- @usage for t in client:paginate("/api/2.1/unity-catalog/tables",
--   {query = {catalog_name = "main", schema_name = "default"}, items = "tables"}) do print(t.full_name) end
function Client:paginate(path, opts)
  if type(path) ~= "string" then error("paginate: path must be a string", 2) end
  if type(opts) ~= "table" or type(opts.items) ~= "string" then
    error("paginate: opts.items must name the list in each answer", 2)
  end
  if opts.query ~= nil and type(opts.query) ~= "table" then error("paginate: opts.query must be a table", 2) end
  return pages(self, path, opts.query, opts.items)
end

--- Iterates over the Unity Catalog catalogs (`paginate` over
-- /api/2.1/unity-catalog/catalogs).
-- @return an iterator over catalog info objects
function Client:list_catalogs()
  return self:paginate("/api/2.1/unity-catalog/catalogs", { items = "catalogs" })
end

--- Iterates over the schemas of a catalog.
-- @tparam string catalog
-- @return an iterator over schema info objects
function Client:list_schemas(catalog)
  if type(catalog) ~= "string" then error("list_schemas: catalog must be a string", 2) end
  return self:paginate("/api/2.1/unity-catalog/schemas", { query = { catalog_name = catalog }, items = "schemas" })
end

--- Iterates over the tables of a schema.
-- @tparam string catalog
-- @tparam string schema
-- @return an iterator over table info objects
function Client:list_tables(catalog, schema)
  if type(catalog) ~= "string" or type(schema) ~= "string" then
    error("list_tables: catalog and schema must be strings", 2)
  end
  return self:paginate("/api/2.1/unity-catalog/tables",
    { query = { catalog_name = catalog, schema_name = schema }, items = "tables" })
end

local DIRECTORIES = "/api/2.0/fs/directories"

--- Creates a directory on a volume, with its missing parents.
-- @tparam string remote "/Volumes/catalog/schema/volume/dir"
-- @return true, or nil and an error
function Client:create_directory(remote)
  if type(remote) ~= "string" then error("create_directory: remote must be a string", 2) end
  local path, err = core.volume_path(remote)
  if not path then return nil, err end
  local body
  body, err = self:request("PUT", DIRECTORIES .. path)
  if body == nil then return nil, err end
  return true
end

local function entry(e)
  local t = { path = e.path, name = e.name, is_directory = e.is_directory == true }
  if type(e.file_size) == "number" then t.file_size = math.tointeger(e.file_size) or e.file_size end
  if type(e.last_modified) == "number" then t.last_modified = e.last_modified // 1000 end
  return t
end

--- Iterates over a directory of a volume, page after page (`paginate`
-- over /api/2.0/fs/directories).
-- @tparam string remote "/Volumes/catalog/schema/volume/dir"
-- @return an iterator over `{path=, name=, is_directory=, file_size=, last_modified=}`
-- (last_modified in epoch seconds); a bad path or a failed page raises the `err` table
function Client:list_directory(remote)
  if type(remote) ~= "string" then error("list_directory: remote must be a string", 2) end
  local path, err = core.volume_path(remote)
  if not path then return function() error(err, 0) end end
  return pages(self, DIRECTORIES .. path, nil, "contents", entry)
end

return Client
