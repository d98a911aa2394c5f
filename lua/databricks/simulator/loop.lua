-- The simulator's event loop: one process, socket.select over the listening
-- sockets and every open connection, one coroutine per connection, timers for
-- sleeps. Connection code reads and writes through a Stream that yields to the
-- loop whenever the socket would block, so a slow, delayed or hanging request
-- never holds up another connection. It owns sockets and scheduling only and
-- knows nothing about HTTP or Databricks.
local socket = require "socket"
local ssl = require "ssl"

local READ_SIZE = 262144

-- lua-sec has no way to drop its file descriptor once a session is set up, so
-- after a forced reset (close with SO_LINGER 0 behind its back) the SSL object
-- is parked here for the life of the process: its finalizer would otherwise
-- close a descriptor number the kernel may already have handed to a newer
-- connection. Resets are rare test events; the cost is a few bytes each.
local parked = {}

local Stream = {}
Stream.__index = Stream

local function new_stream(sock, id, tls, peer)
  return setmetatable({ sock = sock, id = id, tls = tls, peer = peer, buf = "", closed = false }, Stream)
end

-- Yields to the loop until the socket is ready for what `err` asks for.
-- Returns false when `err` is a real error rather than "would block".
local function wait(sock, err)
  if err == "timeout" or err == "wantread" then
    coroutine.yield("read", sock)
  elseif err == "wantwrite" then
    coroutine.yield("write", sock)
  else
    return false
  end
  return true
end

-- Some bytes from the peer, or nil and "closed" / the socket error.
function Stream:read_some()
  if self.closed then return nil, "closed" end
  while true do
    local data, err, partial = self.sock:receive(READ_SIZE)
    local got = data or partial
    if got and got ~= "" then return got end
    if not wait(self.sock, err) then return nil, err end
  end
end

-- Everything up to `delim` (consumed, not returned); nil, "too long" when
-- more than `max` bytes arrive without it.
function Stream:read_until(delim, max)
  local from = 1
  while true do
    local s, e = self.buf:find(delim, from, true)
    if s then
      local out = self.buf:sub(1, s - 1)
      self.buf = self.buf:sub(e + 1)
      return out
    end
    if #self.buf > max then return nil, "too long" end
    from = math.max(1, #self.buf - #delim + 2)
    local got, err = self:read_some()
    if not got then return nil, err end
    self.buf = self.buf .. got
  end
end

-- Exactly n bytes; on failure nil, the error and what did arrive.
function Stream:read_n(n)
  if #self.buf >= n then
    local out = self.buf:sub(1, n)
    self.buf = self.buf:sub(n + 1)
    return out
  end
  local parts, have = { self.buf }, #self.buf
  self.buf = ""
  while have < n do
    local got, err = self:read_some()
    if not got then return nil, err, table.concat(parts) end
    parts[#parts + 1] = got
    have = have + #got
  end
  local all = table.concat(parts)
  self.buf = all:sub(n + 1)
  return all:sub(1, n)
end

-- Between 1 and n bytes (whatever is buffered or arrives next); nil and the
-- error when the peer went away first.
function Stream:read_upto(n)
  if self.buf == "" then
    local got, err = self:read_some()
    if not got then return nil, err end
    self.buf = got
  end
  local out = self.buf:sub(1, n)
  self.buf = self.buf:sub(n + 1)
  return out
end

-- Is the peer still there? A client waiting for its answer sends nothing,
-- so a readable socket here means either a pipelined request (kept in the
-- buffer) or the peer closing (EOF/RST). Checked before every write because
-- Debian's lua-sec 1.2 with OpenSSL 3 can spin forever inside send() on a
-- connection the peer has dropped (lunarmodules/luasec#172, fixed in 1.3).
function Stream:peer_alive()
  if self.closed then return false end
  local readable = socket.select({ self.sock }, nil, 0)
  if not readable or #readable == 0 then return true end
  local data, err, partial = self.sock:receive(READ_SIZE)
  local got = data or partial
  if got and got ~= "" then
    self.buf = self.buf .. got
    return true
  end
  if err == "timeout" or err == "wantread" or err == "wantwrite" then return true end
  self:reset()
  return false
end

-- Sends all of `data` (optionally bytes i..j); nil and the error if the peer
-- went away.
function Stream:send(data, i, j)
  if self.closed then return nil, "closed" end
  if self.tls and not self:peer_alive() then return nil, "closed" end
  i, j = i or 1, j or #data
  while i <= j do
    local last, err, partial = self.sock:send(data, i, j)
    if last then
      i = last + 1
    else
      if partial and partial >= i then i = partial + 1 end
      if i <= j and not wait(self.sock, err) then
        -- The peer is gone. Never write to this TLS connection again:
        -- Debian's lua-sec 1.2 with OpenSSL 3 can spin forever inside
        -- send() after a failed write (lunarmodules/luasec#172, fixed in
        -- 1.3), which would freeze the whole simulator. Drop the socket
        -- without another TLS call.
        self:reset()
        return nil, err
      end
    end
  end
  return true
end

function Stream:close()
  if self.closed then return end
  self.closed = true
  self.sock:close()
end

-- Closes with a TCP RST (SO_LINGER on, timeout 0) and no TLS close_notify.
function Stream:reset()
  if self.closed then return end
  self.closed = true
  local fd = self.sock:getfd()
  if self.tls then
    local t = socket.tcp()
    t:close()
    t:setfd(fd)
    t:setoption("linger", { on = true, timeout = 0 })
    t:close()
    parked[#parked + 1] = self.sock
  else
    self.sock:setoption("linger", { on = true, timeout = 0 })
    self.sock:close()
  end
end

-- Suspends the calling connection for `seconds` without blocking the loop.
local function sleep(seconds)
  coroutine.yield("sleep", socket.gettime() + math.max(0, seconds))
end

local Loop = {}
Loop.__index = Loop

local function new_loop()
  return setmetatable({
    rd = {}, wr = {}, timers = {}, listeners = {}, ticks = {},
    next_conn = 0, stopped = false,
  }, Loop)
end

local function report(fmt, ...)
  io.stderr:write(os.date("!%H:%M:%S "), "simulator: ", string.format(fmt, ...), "\n")
  io.stderr:flush()
end

function Loop:resume(co, ...)
  local ok, what, arg = coroutine.resume(co, ...)
  if not ok then
    report("task failed: %s", debug.traceback(co, tostring(what)))
    return
  end
  if coroutine.status(co) == "dead" then return end
  if what == "read" then
    self.rd[arg] = co
  elseif what == "write" then
    self.wr[arg] = co
  elseif what == "sleep" then
    self.timers[#self.timers + 1] = { at = arg, co = co }
  else
    report("task yielded %s; dropped", tostring(what))
  end
end

function Loop:spawn(fn, ...)
  self:resume(coroutine.create(fn), ...)
end

-- Runs `fn` about every `interval` seconds from the loop.
function Loop:every(interval, fn)
  self.ticks[#self.ticks + 1] = { interval = interval, at = socket.gettime() + interval, fn = fn }
end

-- One connection: optional TLS handshake, then `handler(stream)`. Whatever
-- happens (handshake failure, error in the handler) ends here, never in the
-- loop.
local function connection_task(raw, id, tls_ctx, handler)
  raw:settimeout(0)
  raw:setoption("tcp-nodelay", true)
  local peer = raw:getpeername()
  local sock = raw
  if tls_ctx then
    local ok, wrapped, err = pcall(ssl.wrap, raw, tls_ctx)
    if not ok or not wrapped then
      report("conn %d: TLS setup failed: %s", id, tostring(err or wrapped))
      raw:close()
      return
    end
    sock = wrapped
    sock:settimeout(0)
    while true do
      local done, herr = sock:dohandshake()
      if done then break end
      if not wait(sock, herr) then
        report("conn %d: TLS handshake failed: %s", id, tostring(herr))
        sock:close()
        return
      end
    end
  end
  local stream = new_stream(sock, id, tls_ctx ~= nil, peer)
  local ok, err = xpcall(handler, debug.traceback, stream)
  if not ok then report("conn %d: handler failed: %s", id, tostring(err)) end
  stream:close()
end

-- Listens on host:port (0 picks a free port); `handler(stream)` serves each
-- connection. Returns the port.
function Loop:listen(host, port, handler, tls_ctx)
  local server, err = socket.bind(host, port, 128)
  if not server then return nil, err end
  server:settimeout(0)
  self.listeners[server] = function()
    while true do
      local raw = server:accept()
      if not raw then break end
      self.next_conn = self.next_conn + 1
      self:spawn(connection_task, raw, self.next_conn, tls_ctx, handler)
    end
  end
  local _, bound = server:getsockname()
  return tonumber(bound)
end

function Loop:step(max_wait)
  local now = socket.gettime()
  local timeout = max_wait
  for _, t in ipairs(self.timers) do
    if t.at - now < timeout then timeout = t.at - now end
  end
  for _, t in ipairs(self.ticks) do
    if t.at - now < timeout then timeout = t.at - now end
  end
  if timeout < 0 then timeout = 0 end
  local rlist, wlist = {}, {}
  for s in pairs(self.listeners) do rlist[#rlist + 1] = s end
  for s in pairs(self.rd) do rlist[#rlist + 1] = s end
  for s in pairs(self.wr) do wlist[#wlist + 1] = s end
  local readable, writable = socket.select(rlist, wlist, timeout)
  for _, s in ipairs(writable or {}) do
    local co = self.wr[s]
    if co then
      self.wr[s] = nil
      self:resume(co)
    end
  end
  for _, s in ipairs(readable or {}) do
    local accept = self.listeners[s]
    if accept then
      accept()
    else
      local co = self.rd[s]
      if co then
        self.rd[s] = nil
        self:resume(co)
      end
    end
  end
  if #self.timers > 0 then
    now = socket.gettime()
    local due, keep = {}, {}
    for _, t in ipairs(self.timers) do
      if t.at <= now then due[#due + 1] = t else keep[#keep + 1] = t end
    end
    self.timers = keep
    for _, t in ipairs(due) do self:resume(t.co) end
  end
  now = socket.gettime()
  for _, t in ipairs(self.ticks) do
    if t.at <= now then
      t.at = now + t.interval
      t.fn()
    end
  end
end

function Loop:run()
  while not self.stopped do self:step(1.0) end
end

function Loop:stop()
  self.stopped = true
end

return { new = new_loop, sleep = sleep, report = report }
