-- HTTP/1.1 framing for the simulator: reads one request from a Stream
-- (request line, headers, Content-Length or chunked body, Expect:
-- 100-continue) and formats responses. It never decides what to answer.
local M = {}

local MAX_HEAD = 64 * 1024
local MAX_BODY = 32 * 1024 * 1024

M.REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [204] = "No Content",
  [301] = "Moved Permanently", [302] = "Found", [303] = "See Other", [304] = "Not Modified",
  [307] = "Temporary Redirect", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [413] = "Payload Too Large", [415] = "Unsupported Media Type", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local function bad(status, message)
  return nil, "bad", status, message
end

local function read_chunked(stream)
  local parts, total = {}, 0
  while true do
    local line, err = stream:read_until("\r\n", 1024)
    if not line then
      if err == "too long" then return bad(400, "chunk size line too long") end
      return nil, err
    end
    local size = tonumber(line:match("^%s*(%x+)"), 16)
    if not size then return bad(400, "bad chunk size line") end
    if size == 0 then
      -- trailers, up to the empty line
      repeat
        local trailer, terr = stream:read_until("\r\n", MAX_HEAD)
        if not trailer then return nil, terr end
      until trailer == ""
      return table.concat(parts)
    end
    total = total + size
    if total > MAX_BODY then return bad(413, "request body too large") end
    local data, derr = stream:read_n(size)
    if not data then return nil, derr end
    parts[#parts + 1] = data
    local crlf, cerr = stream:read_n(2)
    if not crlf then return nil, cerr end
    if crlf ~= "\r\n" then return bad(400, "bad chunk terminator") end
  end
end

-- Reads one request. Returns the request table, or nil and:
--   "closed"/socket error      the peer went away (before or during the request)
--   "bad", status, message     a malformed request (answer it, then close)
function M.read_request(stream)
  local head, err
  repeat
    head, err = stream:read_until("\r\n\r\n", MAX_HEAD)
    if not head then
      if err == "too long" then return bad(400, "request head too large") end
      return nil, err
    end
    head = head:gsub("^[\r\n]+", "")
  until head ~= ""
  local lines = {}
  for line in (head .. "\r\n"):gmatch("(.-)\r\n") do lines[#lines + 1] = line end
  local method, target, major, minor = lines[1]:match("^(%u+) (%S+) HTTP/(%d)%.(%d)$")
  if not method then return bad(400, "malformed request line") end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
    if not name then return bad(400, "malformed header line") end
    name = name:lower()
    if headers[name] then headers[name] = headers[name] .. ", " .. value else headers[name] = value end
  end
  local path, query = target:match("^([^?#]*)%??([^#]*)")
  local req = {
    method = method, target = target, path = path, query = query,
    version = major .. "." .. minor, headers = headers, body = "",
  }
  local conn = (headers.connection or ""):lower()
  if req.version == "1.0" then
    req.keep_alive = conn:find("keep-alive", 1, true) ~= nil
  else
    req.keep_alive = conn:find("close", 1, true) == nil
  end

  local te = (headers["transfer-encoding"] or ""):lower()
  local length
  if te ~= "" then
    if not te:find("chunked", 1, true) then return bad(501, "unsupported transfer-encoding") end
  elseif headers["content-length"] then
    length = headers["content-length"]:match("^%d+$") and tonumber(headers["content-length"])
    if not length then return bad(400, "bad content-length") end
    if length > MAX_BODY then return bad(413, "request body too large") end
  end
  local has_body = te ~= "" or (length and length > 0)
  if has_body and (headers.expect or ""):lower() == "100-continue" and req.version ~= "1.0" then
    local ok, serr = stream:send("HTTP/1.1 100 Continue\r\n\r\n")
    if not ok then return nil, serr end
  end
  if te ~= "" then
    local body, berr, status, message = read_chunked(stream)
    if not body then return nil, berr, status, message end
    req.body = body
  elseif length and length > 0 then
    local body, berr = stream:read_n(length)
    if not body then return nil, berr end
    req.body = body
  end
  return req
end

-- The status line and header block. `headers` is a list of {name, value}.
function M.head(status, headers)
  local out = { string.format("HTTP/1.1 %d %s\r\n", status, M.REASONS[status] or "Status") }
  for _, h in ipairs(headers) do
    out[#out + 1] = h[1] .. ": " .. tostring(h[2]) .. "\r\n"
  end
  out[#out + 1] = "\r\n"
  return table.concat(out)
end

return M
