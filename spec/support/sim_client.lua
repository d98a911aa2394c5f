-- A small blocking HTTP/1.1 client for the spec side (sim.lua, browser.lua
-- and the simulator's own specs): plain or TLS (trusting a given CA file),
-- keep-alive connections, requests sent and responses read separately so a
-- spec can have several in flight, raw bytes when a spec needs a malformed
-- request. Never loaded by the simulator process; depends only on lua-socket,
-- lua-sec and lua-cjson so it can be loaded with dofile from anywhere.
local socket = require "socket"
local ssl = require "ssl"
local cjson = require "cjson.safe"

local M = {}

-- JSON text to Lua, with whole numbers as integers (Debian's lua-cjson
-- decodes every number as a float). nil and the error for bad JSON.
local function integers(v, depth)
  if type(v) == "number" then return math.tointeger(v) or v end
  if type(v) == "table" and depth < 64 then
    for k, x in pairs(v) do v[k] = integers(x, depth + 1) end
  end
  return v
end

function M.decode(text)
  local v, err = cjson.decode(text)
  if v == nil then return nil, err end
  return integers(v, 0)
end

local function parse_url(url)
  local scheme, host, port, target = url:match("^(https?)://([^/:?#]+):?(%d*)([^#]*)")
  if not scheme then return nil end
  if target == "" then target = "/" end
  if target:sub(1, 1) == "?" then target = "/" .. target end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, target
end
M.parse_url = parse_url

local Conn = {}
Conn.__index = Conn

-- Opens a connection to the scheme://host:port of `url`.
-- opts: ca_file (https: verify against it; default: no verification),
--       timeout (seconds, default 10), servername.
function M.connect(url, opts)
  opts = opts or {}
  local scheme, host, port = parse_url(url)
  if not scheme then return nil, "bad URL " .. tostring(url) end
  local tcp = socket.tcp()
  tcp:settimeout(opts.timeout or 10)
  local ok, err = tcp:connect(host, port)
  if not ok then
    tcp:close()
    return nil, "connect: " .. tostring(err)
  end
  tcp:setoption("tcp-nodelay", true)
  local sock = tcp
  if scheme == "https" then
    local wrapped, werr = ssl.wrap(tcp, {
      mode = "client", protocol = "any", options = { "all", "no_sslv2", "no_sslv3" },
      verify = opts.ca_file and { "peer", "fail_if_no_peer_cert" } or "none", cafile = opts.ca_file,
    })
    if not wrapped then
      tcp:close()
      return nil, "tls: " .. tostring(werr)
    end
    sock = wrapped
    if not host:match("^[%d.]+$") then sock:sni(opts.servername or host) end
    sock:settimeout(opts.timeout or 10)
    local hok, herr = sock:dohandshake()
    if not hok then
      sock:close()
      return nil, "tls handshake: " .. tostring(herr)
    end
  end
  return setmetatable({ sock = sock, host = host, port = port, scheme = scheme,
    hostport = host .. ":" .. port }, Conn)
end

function Conn:settimeout(t)
  self.sock:settimeout(t)
end

function Conn:send_raw(bytes)
  local ok, err = self.sock:send(bytes)
  if not ok then return nil, "send: " .. tostring(err) end
  return true
end

-- opts: headers (table), body (string), host (Host header value).
function Conn:send_request(method, target, opts)
  opts = opts or {}
  local lines = { string.format("%s %s HTTP/1.1", method, target) }
  local headers, seen = opts.headers or {}, {}
  for k in pairs(headers) do seen[k:lower()] = true end
  if not seen.host then lines[#lines + 1] = "Host: " .. (opts.host or self.hostport) end
  if opts.body and not seen["content-length"] then lines[#lines + 1] = "Content-Length: " .. #opts.body end
  if not seen["user-agent"] then lines[#lines + 1] = "User-Agent: sim-spec-client/1.0" end
  for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. tostring(v) end
  return self:send_raw(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (opts.body or ""))
end

local function read_chunked(sock)
  local parts = {}
  while true do
    local line, err = sock:receive("*l")
    if not line then return nil, err, table.concat(parts) end
    local size = tonumber(line:match("^%s*(%x+)"), 16)
    if not size then return nil, "bad chunk size", table.concat(parts) end
    if size == 0 then
      repeat
        local t, terr = sock:receive("*l")
        if not t then return nil, terr, table.concat(parts) end
      until t == ""
      return table.concat(parts)
    end
    local data, derr, partial = sock:receive(size)
    if not data then return nil, derr, table.concat(parts) .. (partial or "") end
    parts[#parts + 1] = data
    sock:receive("*l")
  end
end

-- Reads one response: {status, reason, headers (lower-case), body, json}, or
-- nil, an error ("closed", "Connection reset by peer", "truncated ..."), and
-- whatever part of the response arrived.
function Conn:read_response(method)
  local sock = self.sock
  local line, status, reason, headers
  repeat
    local err
    line, err = sock:receive("*l")
    if not line then return nil, err end
    status, reason = line:match("^HTTP/%d%.%d (%d%d%d) ?(.*)$")
    status = tonumber(status)
    if not status then return nil, "bad status line: " .. line end
    headers = {}
    while true do
      local h, herr = sock:receive("*l")
      if not h then return nil, herr, { status = status, headers = headers } end
      if h == "" then break end
      local name, value = h:match("^([^:]+):%s*(.-)%s*$")
      if name then
        name = name:lower()
        headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
      end
    end
  until status >= 200 or status == 101
  local res = { status = status, reason = reason, headers = headers, body = "" }
  local no_body = method == "HEAD" or status == 204 or status == 304
  if not no_body then
    local body, err, partial
    if (headers["transfer-encoding"] or ""):lower():find("chunked") then
      body, err, partial = read_chunked(sock)
    elseif headers["content-length"] then
      local n = tonumber(headers["content-length"])
      if n > 0 then body, err, partial = sock:receive(n) else body = "" end
      if not body and err == "closed" then
        err = string.format("truncated body: got %d of %d bytes", #(partial or ""), n)
      end
    else
      body, err, partial = sock:receive("*a")
    end
    if not body then
      res.body = partial or ""
      return nil, err, res
    end
    res.body = body
  end
  if (headers["content-type"] or ""):find("json") then res.json = M.decode(res.body) end
  if (headers.connection or ""):lower() == "close" then self:close() end
  return res
end

-- send_request + read_response.
function Conn:request(method, target, opts)
  local ok, err = self:send_request(method, target, opts)
  if not ok then return nil, err end
  return self:read_response(method)
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
  end
end

-- One request on a fresh connection. opts: method (default GET, or POST
-- when there is a body), headers, body, ca_file, timeout.
function M.request(url, opts)
  opts = opts or {}
  local conn, err = M.connect(url, opts)
  if not conn then return nil, err end
  local _, _, _, target = parse_url(url)
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  headers.Connection = headers.Connection or "close"
  local method = opts.method or (opts.body and "POST" or "GET")
  local res, rerr, partial = conn:request(method, target, { headers = headers, body = opts.body, host = opts.host })
  conn:close()
  return res, rerr, partial
end

function M.url_encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- `a=1&b=2` from a table (keys sorted, so requests are reproducible).
function M.form(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = M.url_encode(k) .. "=" .. M.url_encode(t[k]) end
  return table.concat(parts, "&")
end

local function url_decode(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M.parse_query(q)
  local out = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    out[url_decode(k)] = url_decode(v)
  end
  return out
end

return M
