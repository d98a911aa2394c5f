-- HTTP/1.1 framing for the simulator: reads one request from a Stream
-- (request line, headers, Content-Length or chunked body, Expect:
-- 100-continue), whole or as a stream of pieces for uploads, and formats
-- responses, bodies served from files included. It never decides what to
-- answer.
local M = {}

local MAX_HEAD = 64 * 1024
local MAX_BODY = 32 * 1024 * 1024
local READ_PIECE = 1024 * 1024

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

-- Reads one request's head (request line and headers). Returns the request
-- table (body still unread: req.body is ""), or nil and:
--   "closed"/socket error      the peer went away (before or during the request)
--   "bad", status, message     a malformed request (answer it, then close)
function M.read_head(stream)
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
  if te ~= "" then
    if not te:find("chunked", 1, true) then return bad(501, "unsupported transfer-encoding") end
    req.chunked = true
  elseif headers["content-length"] then
    local length = headers["content-length"]:match("^%d+$") and tonumber(headers["content-length"])
    if not length then return bad(400, "bad content-length") end
    req.length = length
  end
  req.has_body = req.chunked or (req.length or 0) > 0
  return req
end

local function continue(stream, req)
  if req.has_body and not req.continued and (req.headers.expect or ""):lower() == "100-continue"
    and req.version ~= "1.0" then
    req.continued = true
    return stream:send("HTTP/1.1 100 Continue\r\n\r\n")
  end
  return true
end

-- An iterator over the pieces of the request body as they arrive (for
-- uploads streamed to disk): each call returns the next piece, false at the
-- end, or nil and an error ("closed", or "bad", status, message).
function M.body_reader(stream, req)
  local left, done = req.length or 0, not req.has_body
  local chunk_left = 0
  return function()
    if done then return false end
    local ok, serr = continue(stream, req)
    if not ok then return nil, serr end
    if not req.chunked then
      if left == 0 then
        done = true
        return false
      end
      local got, err = stream:read_upto(math.min(left, READ_PIECE))
      if not got then return nil, err end
      left = left - #got
      if left == 0 then req.consumed = true end
      return got
    end
    if chunk_left == 0 then
      local line, err = stream:read_until("\r\n", 1024)
      if not line then
        if err == "too long" then return bad(400, "chunk size line too long") end
        return nil, err
      end
      local size = tonumber(line:match("^%s*(%x+)"), 16)
      if not size then return bad(400, "bad chunk size line") end
      if size == 0 then
        repeat
          local trailer, terr = stream:read_until("\r\n", MAX_HEAD)
          if not trailer then return nil, terr end
        until trailer == ""
        done, req.consumed = true, true
        return false
      end
      chunk_left = size
    end
    local got, err = stream:read_upto(math.min(chunk_left, READ_PIECE))
    if not got then return nil, err end
    chunk_left = chunk_left - #got
    if chunk_left == 0 then
      local crlf, cerr = stream:read_n(2)
      if not crlf then return nil, cerr end
      if crlf ~= "\r\n" then return bad(400, "bad chunk terminator") end
    end
    return got
  end
end

-- Reads the whole body into req.body (at most 32 MiB). Returns true, or nil
-- and the error as read_head does.
function M.read_body(stream, req)
  if not req.has_body then
    req.consumed = true
    return true
  end
  if req.length and req.length > MAX_BODY then return bad(413, "request body too large") end
  local ok, serr = continue(stream, req)
  if not ok then return nil, serr end
  if req.chunked then
    local body, berr, status, message = read_chunked(stream)
    if not body then return nil, berr, status, message end
    req.body = body
  else
    local body, berr = stream:read_n(req.length)
    if not body then return nil, berr end
    req.body = body
  end
  req.consumed = true
  return true
end

-- Reads one request, body included.
function M.read_request(stream)
  local req, err, status, message = M.read_head(stream)
  if not req then return nil, err, status, message end
  local ok, berr, bstatus, bmessage = M.read_body(stream, req)
  if not ok then return nil, berr, bstatus, bmessage end
  return req
end

-- A response body served from a file: length bytes from offset.
local FILE = { __name = "http.file_body" }
M.FILE = FILE

function M.file_body(path, length, offset)
  return setmetatable({ path = path, length = length, offset = offset or 0 }, FILE)
end

local SEND_BLOCK = 1024 * 1024

-- Sends `length` bytes of the file (or fewer: `limit`) in large blocks.
-- Returns the bytes sent, and an error when the file or the peer failed.
function M.send_file(stream, body, limit)
  local f, err = io.open(body.path, "rb")
  if not f then return 0, err end
  if body.offset > 0 then f:seek("set", body.offset) end
  local left, sent = math.min(body.length, limit or body.length), 0
  while left > 0 do
    local block = f:read(math.min(left, SEND_BLOCK))
    if not block then
      f:close()
      return sent, "file ended early"
    end
    local ok, serr = stream:send(block)
    if not ok then
      f:close()
      return sent, serr
    end
    sent, left = sent + #block, left - #block
  end
  f:close()
  return sent
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
