-- The "cloud storage" behind EXTERNAL_LINKS results: a second HTTPS listener
-- on 127.0.0.1 that serves chunk bodies by pre-signed link, the way S3, ADLS
-- or GCS do. It refuses (403) any request that carries an Authorization
-- header or a cookie (a client must never send workspace credentials here),
-- requires each link's http_headers verbatim, checks the link's signature
-- and expiry (on the token clock), and serves the chunk's cache file in
-- large blocks. Programmed faults (generic ones by path, chunk faults by
-- chunk) expire links, answer 404, delay, or send malformed, short or
-- truncated bodies. Every request goes into the request log (listener
-- "storage", headers included) and every download into the storage record
-- (in flight, max in flight, bytes) the control API shows.
local socket = require "socket"
local http = require "databricks.simulator.http"
local util = require "databricks.simulator.util"
local loop = require "databricks.simulator.loop"
local faults = require "databricks.simulator.faults"
local json = require "databricks.simulator.json"

local M = {}

local function xml_error(code, message)
  return string.format('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
    .. '<RequestId>%s</RequestId></Error>', code, message, util.hex(16))
end

-- Writes a response; body is a string or an http.file_body. opts: keep,
-- content_length (declared length when fewer bytes are sent), limit (bytes
-- of a file body to send). Returns whether it went out, and the bytes of
-- body sent.
local function write(stream, entry, status, body, headers, opts)
  opts = opts or {}
  local list, seen = {}, {}
  for name, value in pairs(headers or {}) do
    list[#list + 1] = { name, value }
    seen[name:lower()] = true
  end
  local is_file = getmetatable(body) == http.FILE
  local length = is_file and body.length or #(body or "")
  if not seen["content-type"] then
    list[#list + 1] = { "Content-Type", is_file and "application/json" or "application/xml" }
  end
  list[#list + 1] = { "Content-Length", opts.content_length or length }
  list[#list + 1] = { "x-amz-request-id", util.hex(16):upper() }
  list[#list + 1] = { "Server", "sim-storage" }
  list[#list + 1] = { "Date", os.date("!%a, %d %b %Y %H:%M:%S GMT") }
  list[#list + 1] = { "Connection", opts.keep == false and "close" or "keep-alive" }
  entry.status = status
  if not stream:send(http.head(status, list)) then return false, 0 end
  if entry.method == "HEAD" then return true, 0 end
  if is_file then
    local sent, err = http.send_file(stream, body, opts.limit)
    return err == nil, sent
  end
  if length > 0 and not stream:send(body) then return false, 0 end
  return true, length
end

local function deny(code, message)
  return 403, xml_error(code, message)
end

-- The link a request names, or nil and the error answer.
local function check_link(state, req)
  if req.headers.authorization then
    return nil, deny("AccessDenied", "Only one auth mechanism allowed: this pre-signed URL carries its own "
      .. "signature, and the request also has an Authorization header.")
  end
  if req.headers.cookie then
    return nil, deny("AccessDenied", "Cookies are not accepted by this storage.")
  end
  local id, index = req.path:match("^/sim%-storage/([%w%-]+)/chunk%-(%d+)%.json$")
  local q = util.parse_form(req.query)
  local link = q["X-Sim-Signature"] and state.links[q["X-Sim-Signature"]]
  if not id or not link or link.statement_id ~= id or link.chunk ~= tonumber(index)
    or tostring(link.expires) ~= q["X-Sim-Expires"] then
    return nil, deny("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
      .. "you provided.")
  end
  if state:now() >= link.expires then
    return nil, deny("AccessDenied", "Request has expired")
  end
  local missing = {}
  for name, value in pairs(link.headers or {}) do
    if req.headers[name:lower()] ~= value then missing[#missing + 1] = name end
  end
  if #missing > 0 then
    table.sort(missing)
    return nil, deny("AccessDenied", "The request lacks the header(s) " .. table.concat(missing, ", ")
      .. " (or has other values) that this pre-signed URL requires.")
  end
  local st = state.statements[id]
  if not st or not st.result then return nil, 404, xml_error("NoSuchKey", "The specified key does not exist.") end
  return link, st
end

local function begin_download(state, entry)
  local s = state.storage
  s.in_flight = s.in_flight + 1
  if s.in_flight > s.max_in_flight then s.max_in_flight = s.in_flight end
  local d = { seq = entry.seq, path = entry.path, started = socket.gettime(), in_flight_at_start = s.in_flight }
  s.downloads[#s.downloads + 1] = d
  return d, s
end

-- One request, start to finish; returns whether the connection may be kept.
local function handle(state, stream, req)
  local entry = state:log_request(req, stream.id)
  entry.listener = "storage"
  local d, record = begin_download(state, entry)
  local keep = req.keep_alive
  local function finish(ok, status, bytes)
    if record == state.storage then record.in_flight = record.in_flight - 1 end
    d.finished, d.status, d.bytes = socket.gettime(), status, bytes or 0
    return ok and keep
  end
  local function respond(status, body, headers, opts)
    opts = opts or {}
    if opts.content_length then keep = false end
    opts.keep = keep
    local ok, sent = write(stream, entry, status, body, headers, opts)
    d.bytes = sent
    return ok
  end

  local f = state:take_fault(req)
  if f then
    entry.fault = faults.name(f)
    if f.delay and f.delay > 0 then loop.sleep(f.delay) end
    if f.status and not f.action and f.body == nil then
      local code = f.status == 404 and "NoSuchKey" or f.status == 403 and "AccessDenied" or "InternalError"
      return finish(respond(f.status, xml_error(code, "Injected fault: HTTP " .. f.status), f.headers), f.status, 0)
    elseif f.action or f.status then
      local ok = faults.perform(f, stream, req, respond)
      return finish(ok, entry.status, d.bytes)
    end
  end
  if req.method ~= "GET" and req.method ~= "HEAD" then
    return finish(respond(405, xml_error("MethodNotAllowed", "The specified method is not allowed."), nil),
      405, 0)
  end
  local link, st, message = check_link(state, req)
  if not link then
    local status, body = st, message
    entry.denied = true
    return finish(respond(status, body), status, 0)
  end
  d.statement_id, d.chunk = link.statement_id, link.chunk
  local cf = state:take_chunk_fault("storage", st, link.chunk)
  local delay = (cf and cf.delay) or state.config.storage_delay or 0
  if cf then entry.fault = cf.action or "delay" end
  if delay > 0 then loop.sleep(delay) end
  local action = cf and cf.action
  if action == "expired" then
    return finish(respond(403, xml_error("AccessDenied", "Request has expired")), 403, 0)
  elseif action == "not_found" then
    return finish(respond(404, xml_error("NoSuchKey", "The specified key does not exist.")), 404, 0)
  elseif action == "malformed" then
    local body = '[["1","two",'
    return finish(respond(200, body, { ["Content-Type"] = "application/json" }), 200, #body)
  end
  local path, size = st.result:file(link.chunk, action == "wrong_row_count" and "short" or nil, loop.sleep)
  if not path then
    return finish(respond(500, xml_error("InternalError", tostring(size))), 500, 0)
  end
  local body = http.file_body(path, size)
  if action == "truncated" then
    respond(200, body, nil, { content_length = size, limit = size // 2 })
    stream:close()
    return finish(false, 200, d.bytes)
  end
  local ok = respond(200, body, { ["Last-Modified"] = os.date("!%a, %d %b %Y %H:%M:%S GMT"),
    ETag = '"' .. util.hex(32) .. '"' })
  return finish(ok, 200, d.bytes)
end

-- A connection handler for the storage listener.
function M.handler(state)
  return function(stream)
    while true do
      local req, err, status, message = http.read_request(stream)
      if not req then
        if err == "bad" then
          local entry = state:log_request({ headers = {}, body = "" }, stream.id)
          entry.listener, entry.error = "storage", message
          write(stream, entry, status, xml_error("InvalidRequest", message), nil, { keep = false })
        end
        return
      end
      if not handle(state, stream, req) then return end
    end
  end
end

-- The record the control API shows.
function M.view(state)
  local s = state.storage
  local downloads = {}
  for i, d in ipairs(s.downloads) do downloads[i] = d end
  return {
    url = string.format("https://%s:%d", state.config.storage_host or "127.0.0.1", state.storage_port or 0),
    port = state.storage_port, in_flight = s.in_flight, max_in_flight = s.max_in_flight,
    downloads = json.array(downloads),
  }
end

return M
