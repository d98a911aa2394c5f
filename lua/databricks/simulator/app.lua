-- The workspace front door: serves one HTTPS connection at a time per
-- coroutine (keep-alive), records every request in the log, fires programmed
-- faults, routes to the endpoint modules, checks Bearer auth (and, when
-- asked, the X-Databricks-Workspace-Id header) for REST routes and writes
-- responses (always with x-request-id and, unless a fault says otherwise, a
-- JSON Content-Type; file bodies in large blocks; HEAD without a body).
-- Upload routes get their body as a stream instead of a string. A bug in a
-- route answers 500; it never takes the server down.
local http = require "databricks.simulator.http"
local json = require "databricks.simulator.json"
local loop = require "databricks.simulator.loop"
local util = require "databricks.simulator.util"
local errors = require "databricks.simulator.errors"
local faults = require "databricks.simulator.faults"
local tokens = require "databricks.simulator.tokens"
local oauth = require "databricks.simulator.routes_oauth"
local workspace = require "databricks.simulator.routes_workspace"
local sql = require "databricks.simulator.routes_sql"
local lakebase = require "databricks.simulator.routes_lakebase"
local catalog = require "databricks.simulator.routes_catalog"
local files = require "databricks.simulator.routes_files"
local idp = require "databricks.simulator.routes_idp"

local ACCOUNT = "^/oidc/accounts/([^/]+)"
local FILES, DIRS = "^/api/2%.0/fs/files(/.*)$", "^/api/2%.0/fs/directories(/.*)$"

local ROUTES = {
  { "GET", "^/oidc/%.well%-known/oauth%-authorization%-server/?$", oauth.discovery },
  { "GET", "^/oidc/v1/authorize/?$", oauth.authorize },
  { "POST", "^/oidc/v1/token/?$", oauth.token },
  { "GET", ACCOUNT .. "/%.well%-known/oauth%-authorization%-server/?$", oauth.discovery, account = true },
  { "GET", ACCOUNT .. "/v1/authorize/?$", oauth.authorize, account = true },
  { "POST", ACCOUNT .. "/v1/token/?$", oauth.token, account = true },
  { "GET", "^/github/idtoken/?$", idp.github_token },
  { "GET", "^/api/2%.0/preview/scim/v2/Me/?$", workspace.me, auth = true, scim = true },
  { "GET", "^/api/2%.1/unity%-catalog/tables/([^/]+)/?$", catalog.get_table, auth = true },
  { "GET", "^/api/2%.1/unity%-catalog/catalogs/?$", catalog.list_catalogs, auth = true },
  { "GET", "^/api/2%.1/unity%-catalog/schemas/?$", catalog.list_schemas, auth = true },
  { "GET", "^/api/2%.1/unity%-catalog/tables/?$", catalog.list_tables, auth = true },
  { "POST", "^/api/2%.0/sql/statements/?$", sql.execute, auth = true },
  { "GET", "^/api/2%.0/sql/statements/([^/]+)/?$", sql.get, auth = true },
  { "POST", "^/api/2%.0/sql/statements/([^/]+)/cancel/?$", sql.cancel, auth = true },
  { "GET", "^/api/2%.0/sql/statements/([^/]+)/result/chunks/(%d+)/?$", sql.chunk, auth = true },
  { "PUT", FILES, files.put, auth = true, stream_body = true },
  { "GET", FILES, files.get, auth = true },
  { "HEAD", FILES, files.get, auth = true },
  { "DELETE", FILES, files.delete, auth = true },
  { "PUT", DIRS, files.mkdir, auth = true },
  { "GET", DIRS, files.list, auth = true },
  { "HEAD", DIRS, files.dir_head, auth = true },
  { "DELETE", DIRS, files.rmdir, auth = true },
  { "POST", "^/api/2%.0/database/credentials/?$", lakebase.database_credential, auth = true },
  { "GET", "^/api/2%.0/database/instances/([^/]+)/?$", lakebase.instance, auth = true },
  { "POST", "^/api/2%.0/postgres/credentials/?$", lakebase.postgres_credential, auth = true },
  { "GET", "^/api/2%.0/postgres/(projects/[^/]+/branches/[^/]+/endpoints/[^/]+)/?$", lakebase.endpoint,
    auth = true },
}

local AUTH_MESSAGES = {
  missing = "Missing credentials: the request has no Authorization header.",
  invalid = "Invalid access token.",
  expired = "Invalid access token: the token is expired.",
}

local App = {}
App.__index = App

-- The simulated server clock (one app per simulator process).
local server_now = os.time

local function new_app(state, port)
  server_now = function() return state:now() end
  return setmetatable({ state = state, port = port }, App)
end

-- Writes one response. opts: keep (bool), content_length (declared length
-- when the body sent is not the whole body).
local function write(stream, entry, status, body, headers, opts)
  opts = opts or {}
  local file = getmetatable(body) == http.FILE and body or nil
  local payload = file and "" or (type(body) == "table" and json.encode(body) or body or "")
  local list, seen = {}, {}
  for name, value in pairs(headers or {}) do
    list[#list + 1] = { name, value }
    seen[name:lower()] = true
  end
  if not seen["content-type"] then list[#list + 1] = { "Content-Type", "application/json" } end
  local rid = util.uuid()
  list[#list + 1] = { "Content-Length", opts.content_length or (file and file.length) or #payload }
  list[#list + 1] = { "x-request-id", rid }
  list[#list + 1] = { "Server", "databricks-sim" }
  -- The server clock is the simulated one (s:advance moves it), as a real
  -- server's Date and the expiries it issues come from one clock.
  list[#list + 1] = { "Date", os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(server_now())) }
  list[#list + 1] = { "Connection", opts.keep == false and "close" or "keep-alive" }
  if entry then
    entry.status = status
    entry.request_id = rid
  end
  if opts.head_only then payload, file = "", nil end
  if not stream:send(http.head(status, list) .. payload) then return false end
  if file then
    local _, err = http.send_file(stream, file)
    return err == nil
  end
  return true
end

local function find_route(req)
  local path_known = false
  for _, r in ipairs(ROUTES) do
    local caps = { req.path:match(r[2]) }
    if caps[1] ~= nil then
      if r[1] == req.method then return r, caps end
      path_known = true
    end
  end
  return nil, path_known
end

function App:dispatch(req, entry, stream)
  local route, caps = find_route(req)
  if not route then
    if caps then
      return errors.rest(405, "BAD_REQUEST", string.format("Method %s is not allowed on %s.", req.method, req.path))
    end
    return errors.rest(404, "ENDPOINT_NOT_FOUND", string.format("No API found for '%s %s'", req.method, req.path))
  end
  local ctx = {
    state = self.state, req = req, entry = entry, params = caps, stream = stream,
    base_url = "https://" .. (req.headers.host or ("127.0.0.1:" .. self.port)),
    sleep = loop.sleep, account = route.account, body_reader = req.body_reader,
  }
  if route.auth then
    local status, body, headers = self:authorize(req, entry, route, ctx)
    if status then return status, body, headers end
  end
  return route[3](ctx)
end

-- Bearer auth and the workspace id header of a REST call; an error answer,
-- or nothing (ctx.identity is then the caller).
function App:authorize(req, entry, route, ctx)
  local cfg = self.state.config
  local wsid = req.headers["x-databricks-workspace-id"]
  entry.workspace_id = wsid
  if cfg.require_workspace_id then
    if not wsid then
      return errors.rest(400, "INVALID_PARAMETER_VALUE", "This host serves several workspaces: the "
        .. "X-Databricks-Workspace-Id header is required.")
    elseif wsid ~= cfg.workspace_id then
      return errors.rest(403, "PERMISSION_DENIED", string.format("Workspace %s is not served by this host "
        .. "for this caller.", wsid))
    end
  end
  local identity, why = tokens.authenticate(self.state, req)
  if not identity then
    entry.auth_error = why
    local status = (why == "expired" and cfg.expired_status == 403) and 403 or 401
    local body
    if route.scim then
      status, body = errors.scim(status, AUTH_MESSAGES[why])
    else
      status, body = errors.rest(status, status == 403 and "PERMISSION_DENIED" or "UNAUTHENTICATED",
        AUTH_MESSAGES[why])
    end
    return status, body, { ["WWW-Authenticate"] = 'Bearer realm="databricks"' }
  end
  ctx.identity = identity
  entry.identity = identity.userName
end

local DRAIN_LIMIT = 8 * 1024 * 1024

-- Reads and drops what is left of an upload answered without its body, so
-- the answer is not lost to a TCP reset (closing a socket with unread data
-- resets it). A client waiting for 100-continue has sent nothing: nothing
-- to drain. Large bodies are not drained; the connection is closed instead.
local function drain(req)
  if not req.body_reader or req.consumed then return end
  if (req.headers.expect or ""):lower() == "100-continue" and not req.continued then return end
  if req.length and req.length > DRAIN_LIMIT then return end
  local seen = 0
  while seen <= DRAIN_LIMIT do
    local piece = req.body_reader()
    if not piece then return end
    seen = seen + #piece
  end
end

-- One request, start to finish. Returns whether the connection may be kept.
function App:handle(stream, req)
  local entry = self.state:log_request(req, stream.id)
  local f = self.state:take_fault(req)
  local repeat_token
  if f then
    entry.fault = faults.name(f)
    if f.delay and f.delay > 0 then loop.sleep(f.delay) end
    if f.action == "repeat_page_token" then
      repeat_token = util.parse_form(req.query).page_token
    elseif f.action or f.status then
      if not f.action then drain(req) end
      local keep = req.keep_alive and not (req.body_reader and not req.consumed)
      local sent = faults.perform(f, stream, req, function(status, body, headers, opts)
        opts = opts or {}
        if opts.content_length then keep = false end
        opts.keep = keep
        return write(stream, entry, status, body, headers, opts)
      end)
      return sent and keep
    end
  end
  local ok, status, body, headers = xpcall(self.dispatch, debug.traceback, self, req, entry, stream)
  if not ok then
    loop.report("route %s %s failed: %s", req.method, req.path, tostring(status))
    status, body, headers = errors.rest(500, "INTERNAL_ERROR", "simulator bug: " .. tostring(status):match("[^\n]*"))
  end
  if repeat_token and type(body) == "table" and getmetatable(body) == nil and status == 200 then
    body.next_page_token = repeat_token
  end
  drain(req)
  -- An upload answered before its body was read: the connection cannot be reused.
  local keep = req.keep_alive and not (req.body_reader and not req.consumed)
  return write(stream, entry, status, body, headers, { keep = keep, head_only = req.method == "HEAD" }) and keep
end

-- Serves a connection until the peer closes it or asks to.
function App:serve(stream)
  while true do
    local req, err, status, message = http.read_head(stream)
    if req then
      local route = find_route(req)
      if route and route.stream_body then
        req.body_reader = http.body_reader(stream, req)
        req.consumed = not req.has_body
      else
        local ok
        ok, err, status, message = http.read_body(stream, req)
        if not ok then req = nil end
      end
    end
    if not req then
      if err == "bad" then
        local entry = self.state:log_request({ headers = {}, body = "" }, stream.id)
        entry.error = message
        write(stream, entry, status, select(2, errors.rest(status, "BAD_REQUEST", message)), nil, { keep = false })
      end
      return
    end
    if not self:handle(stream, req) then return end
  end
end

return { new = new_app }
