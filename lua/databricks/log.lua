--- Human log lines for the command-line tools and the rotator daemon:
-- timestamped, to stderr (journald and launchd capture it) and to a private,
-- size-rotated log file (0600; 10 MiB x 5 by default). Every line is
-- scrubbed by the core before it goes anywhere: control characters (a
-- server cannot forge a line), every secret the process knows (the core's
-- registry, which `secret` adds to) and the generic secret patterns.
-- @module databricks.log
local core = require "databricks.core"

local Log = {}
Log.__index = Log

--- Creates a logger. Opens nothing until the first line.
-- @tparam table opts `file` (path or nil), `stderr` (default true),
-- `verbose`, `program` (name in each line), `max_bytes`, `keep`
function Log.new(opts)
  opts = opts or {}
  return setmetatable({
    file = opts.file, stderr = opts.stderr ~= false, verbose = opts.verbose,
    program = opts.program or "lua-databricks", max_bytes = opts.max_bytes or 10 * 1024 * 1024,
    keep = opts.keep or 5, handle = nil, file_error = nil,
  }, Log)
end

--- Registers a secret that must never appear in a line (nor in any other
-- message of this process: it joins the core's registry).
function Log:secret(s) -- luacheck: no unused args
  if type(s) == "string" then core.add_secret(s) end
end

local function timestamp()
  local t = core.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. string.format(".%03dZ", math.floor((t % 1) * 1000))
end

function Log:_emit(level, fmt, ...)
  local ok, msg = pcall(string.format, fmt, ...)
  if not ok then msg = fmt end
  local line = core.redact(string.format("%s %s[%d] %s: %s", timestamp(), self.program, core.getpid(), level, msg))
  if self.stderr then
    io.stderr:write(line, "\n")
    io.stderr:flush()
  end
  if self.file and not self.file_error then
    if not self.handle then
      local h, err = core.logfile_open(self.file, self.max_bytes, self.keep)
      if not h then
        self.file_error = err
        io.stderr:write(core.redact(string.format("%s %s: cannot write the log file: %s\n",
          timestamp(), self.program, err.message)))
        return
      end
      self.handle = h
    end
    local ok2, err = self.handle:write(line)
    if not ok2 then
      self.file_error = err
      io.stderr:write(string.format("%s %s: log file write failed: %s\n", timestamp(), self.program, err.message))
    end
  end
end

function Log:info(fmt, ...) self:_emit("INFO", fmt, ...) end
function Log:warn(fmt, ...) self:_emit("WARN", fmt, ...) end
function Log:error(fmt, ...) self:_emit("ERROR", fmt, ...) end
function Log:debug(fmt, ...) if self.verbose then self:_emit("DEBUG", fmt, ...) end end

function Log:close()
  if self.handle then self.handle:close() end
  self.handle = nil
end

return Log
