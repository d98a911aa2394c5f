-- Local Databricks workspace simulator: the entry module of
-- bin/databricks-simulator.
--   databricks-simulator --ready-file F --cert C --key K
--          [--config JSON-FILE] [--watch-pid PID] [--port N] [--control-port N]
-- Serves the workspace API over HTTPS on 127.0.0.1:PORT and the control API
-- over plain HTTP on 127.0.0.1:CONTROL-PORT (0 = any free port), then writes
-- {"pid","port","control_port","defaults"} to the ready file. Exits on
-- SIGTERM, or within about a second once the --watch-pid process is gone.
-- It must never load the code under test (`databricks`).
local ssl = require "ssl"
local json = require "databricks.simulator.json"
local loop_mod = require "databricks.simulator.loop"
local State = require "databricks.simulator.state"
local App = require "databricks.simulator.app"
local control = require "databricks.simulator.control"

local function usage(msg)
  io.stderr:write("simulator: ", msg, "\n",
    "usage: databricks-simulator --ready-file F --cert C --key K [--config JSON-FILE]",
    " [--watch-pid PID] [--port N] [--control-port N]\n")
  os.exit(2)
end

local function parse_args(argv)
  local opts, i = { port = 0, control_port = 0 }, 1
  local names = {
    ["--ready-file"] = "ready_file", ["--cert"] = "cert", ["--key"] = "key", ["--config"] = "config",
    ["--watch-pid"] = "watch_pid", ["--port"] = "port", ["--control-port"] = "control_port",
  }
  while i <= #argv do
    local key = names[argv[i]]
    if not key then usage("unknown argument " .. argv[i]) end
    if argv[i + 1] == nil then usage(argv[i] .. " needs a value") end
    opts[key] = argv[i + 1]
    i = i + 2
  end
  for _, k in ipairs({ "ready_file", "cert", "key" }) do
    if not opts[k] then usage("--" .. k:gsub("_", "-") .. " is required") end
  end
  opts.port, opts.control_port = tonumber(opts.port), tonumber(opts.control_port)
  if not opts.port or not opts.control_port then usage("ports must be numbers") end
  return opts
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function own_pid()
  local stat = read_file("/proc/self/stat")
  local pid = stat and tonumber(stat:match("^(%d+)"))
  if pid then return pid end
  local p = io.popen("echo $PPID")
  pid = tonumber(p:read("l"))
  p:close()
  return pid
end

-- True while `pid` exists and is not a zombie.
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then return not stat:match("^%d+ %b() Z") end
  if read_file("/proc/self/stat") then return false end
  return os.execute("kill -0 " .. math.floor(pid) .. " 2>/dev/null") == true
end

local M = {}

function M.main(argv)
  local opts = parse_args(argv)
  local state = State.new()
  if opts.config then
    local text, err = read_file(opts.config)
    if not text then usage("cannot read --config: " .. tostring(err)) end
    local cfg, jerr = json.decode(text)
    if type(cfg) ~= "table" then usage("--config is not a JSON object: " .. tostring(jerr)) end
    local ok, merr = state:merge_config(cfg)
    if not ok then usage("--config: " .. merr) end
    state:commit_initial()
  end

  local ctx, cerr = ssl.newcontext({
    mode = "server", protocol = "any", key = opts.key, certificate = opts.cert,
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" },
  })
  if not ctx then usage("TLS setup failed: " .. tostring(cerr)) end

  local loop = loop_mod.new()
  local info = { pid = own_pid() }
  local app = App.new(state, nil)
  local port, perr = loop:listen("127.0.0.1", opts.port, function(stream) app:serve(stream) end, ctx)
  if not port then usage("cannot listen on port " .. opts.port .. ": " .. tostring(perr)) end
  app.port = port
  local cport, cperr = loop:listen("127.0.0.1", opts.control_port, control.handler(state, info))
  if not cport then usage("cannot listen on control port " .. opts.control_port .. ": " .. tostring(cperr)) end
  info.port, info.control_port = port, cport

  if opts.watch_pid then
    local watched = tonumber(opts.watch_pid)
    loop:every(1.0, function()
      if not alive(watched) then
        loop_mod.report("watched process %d is gone; exiting", watched)
        os.exit(0)
      end
    end)
  end

  local tmp = opts.ready_file .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(json.encode({ pid = info.pid, port = port, control_port = cport, defaults = state.defaults }))
  f:close()
  assert(os.rename(tmp, opts.ready_file))
  loop_mod.report("listening on https://127.0.0.1:%d (control http://127.0.0.1:%d), pid %d",
    port, cport, info.pid)
  loop:run()
  return 0
end

return M
