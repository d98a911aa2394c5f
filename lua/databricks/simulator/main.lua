-- The entry module of bin/databricks-simulator: a local Databricks workspace
-- for development and tests.
--
--   databricks-simulator [--data FILE] [--port N] [--json]
--
-- Starts the workspace API over HTTPS on 127.0.0.1:PORT (0 or absent: a
-- free port), the "cloud storage" of external links on a second HTTPS port
-- and the control API over plain HTTP on a third, all with a per-run CA,
-- then prints the environment to use (export lines, or one JSON object with
-- --json) and serves until SIGTERM/SIGINT. Its temporary folder (CA, chunk
-- cache, uploaded files) is removed however it ends, by a small watcher
-- process that waits for this one to be gone.
--
-- Spec-only flags (spec/support/sim.lua): --ready-file F (write
-- {"pid","port","control_port","storage_port","defaults"} there when ready,
-- print no exports), --cert C --key K (use this TLS pair instead of a
-- per-run CA), --config JSON-FILE (settings), --watch-pid PID (exit within
-- about a second once PID is gone), --control-port N, --work-dir DIR (its
-- files go there; the caller removes it).
--
-- It must never load the code under test (`databricks`, `databricks.core`).
local ssl = require "ssl"
local args = require "databricks.cli.args"
local json = require "databricks.simulator.json"
local loop_mod = require "databricks.simulator.loop"
local State = require "databricks.simulator.state"
local App = require "databricks.simulator.app"
local control = require "databricks.simulator.control"
local storage = require "databricks.simulator.storage"
local files = require "databricks.simulator.routes_files"
local certs = require "databricks.simulator.certs"
local datafile = require "databricks.simulator.datafile"
local util = require "databricks.simulator.util"

local M = {}

local PROGRAM = "databricks-simulator"

local OPTIONS = {
  data = "string", port = "number", json = "flag", help = "flag",
  ["ready-file"] = "string", cert = "string", key = "string", config = "string",
  ["watch-pid"] = "number", ["control-port"] = "number", ["work-dir"] = "string",
}

M.HELP = [[
Usage: databricks-simulator [--data FILE] [--port N] [--json]

A local Databricks workspace for development: OAuth (M2M, U2M, token
exchange), SCIM Me, Unity Catalog, Statement Execution (INLINE and
EXTERNAL_LINKS, with a local "cloud storage"), the Files API on volumes and
Lakebase credentials, on 127.0.0.1 over HTTPS with a CA made for this run.

Once ready it prints the environment to use:

  export DATABRICKS_HOST=https://127.0.0.1:PORT
  export SSL_CERT_FILE=/tmp/databricks-simulator.XXXXXX/tls/ca.pem
  export DATABRICKS_TOKEN=dapi...
  export DATABRICKS_WAREHOUSE_ID=abc123
  # DATABRICKS_CLIENT_ID=...       (the service principal it accepts, for M2M)
  # DATABRICKS_CLIENT_SECRET=...

then serves until SIGTERM or SIGINT (Ctrl-C) and removes its temporary files.
In the background:

  databricks-simulator --data FILE > sim.env &
  until [ -s sim.env ]; do sleep 0.1; done; . ./sim.env

Options:
  --data FILE   declare tables, statements and their results (also generated
                large ones), Lakebase instances and endpoints, files and
                faults; JSON or Lua returning a table (see docs/simulator.md)
  --port N      the workspace port (default: any free port)
  --json        print one JSON object instead: {"DATABRICKS_HOST", "SSL_CERT_FILE",
                "DATABRICKS_TOKEN", "DATABRICKS_WAREHOUSE_ID", "m2m": {"client_id",
                "client_secret"}}; usage errors too, as {"error": {...}}
  -h, --help    this text

Exit status: 0 stopped by a signal or after --help, 2 usage error.
]]

local function quote(s)
  s = tostring(s)
  if s:match("^[%w%._/:=,+%-@]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
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

local function mktemp_dir()
  local base = os.getenv("TMPDIR")
  if not base or base == "" then base = "/tmp" end
  local p = io.popen("mktemp -d " .. quote(base .. "/databricks-simulator.XXXXXX") .. " 2>/dev/null")
  local dir = p and p:read("l")
  if p then p:close() end
  if not dir or dir == "" then return nil, "cannot make a temporary folder under " .. base end
  return dir
end

-- A watcher that removes `dir` once this process is gone, however it ends
-- (SIGTERM, SIGINT, SIGKILL, an error): it reads its stdin, a pipe whose
-- only writer is this process, until EOF, then removes the folder. It
-- ignores the signals a terminal sends to the whole group, so Ctrl-C stops
-- the simulator and the clean-up still happens. Lua cannot catch signals;
-- this needs none.
local function remove_on_exit(dir)
  local script = "trap '' INT TERM HUP; cat >/dev/null; rm -rf " .. quote(dir)
  return io.popen("exec sh -c " .. quote(script) .. " >/dev/null 2>&1", "w")
end

-- The entry of `map` to show: `preferred` when it is still there, else the
-- first key in order.
local function pick(map, preferred)
  map = map or {}
  if preferred and map[preferred] then return preferred end
  local keys = {}
  for k, v in pairs(map) do
    if v then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys[1]
end

local function environment(state, port, ca_file)
  local cfg, d = state.config, state.defaults
  local client = pick(cfg.clients, d.client_id)
  local spec = client and cfg.clients[client]
  return {
    host = "https://127.0.0.1:" .. port, ca_file = ca_file, token = pick(cfg.pats, d.pat),
    warehouse_id = pick(cfg.warehouses, d.warehouse_id), client_id = client,
    client_secret = type(spec) == "table" and spec.secret or nil,
  }
end

local function print_environment(env, as_json)
  if as_json then
    io.stdout:write(json.encode({
      DATABRICKS_HOST = env.host, SSL_CERT_FILE = env.ca_file, DATABRICKS_TOKEN = env.token,
      DATABRICKS_WAREHOUSE_ID = env.warehouse_id,
      m2m = { client_id = env.client_id, client_secret = env.client_secret },
    }), "\n")
  else
    local lines = {
      "export DATABRICKS_HOST=" .. quote(env.host),
      "export SSL_CERT_FILE=" .. quote(env.ca_file),
      "export DATABRICKS_TOKEN=" .. quote(env.token or ""),
      "export DATABRICKS_WAREHOUSE_ID=" .. quote(env.warehouse_id or ""),
      "# DATABRICKS_CLIENT_ID=" .. quote(env.client_id or ""),
      "# DATABRICKS_CLIENT_SECRET=" .. quote(env.client_secret or ""),
    }
    io.stdout:write(table.concat(lines, "\n"), "\n")
  end
  io.stdout:flush()
end

-- Loads --config (JSON settings) and --data into `state`; returns the
-- files to seed, or nil and a message.
local function load_settings(state, opts)
  local seed
  if opts.data then
    local data, err = datafile.load(opts.data)
    if not data then return nil, "--data: " .. err end
    local patch, faults, declared = datafile.split(data)
    if not patch then return nil, "--data " .. opts.data .. ": " .. faults end
    local ok, merr = state:merge_config(patch)
    if not ok then return nil, "--data " .. opts.data .. ": " .. merr end
    if faults then
      state.initial_faults = util.copy(faults)
      local fok, ferr = state:add_faults(faults)
      if not fok then return nil, "--data " .. opts.data .. ": " .. ferr end
    end
    seed = declared
  end
  if opts.config then
    local text, err = read_file(opts.config)
    if not text then return nil, "cannot read --config: " .. tostring(err) end
    local cfg, jerr = json.decode(text)
    if type(cfg) ~= "table" then return nil, "--config is not a JSON object: " .. tostring(jerr) end
    local ok, merr = state:merge_config(cfg)
    if not ok then return nil, "--config: " .. merr end
  end
  state:commit_initial()
  return seed or {}
end

local Run = {}
Run.__index = Run

function Run:usage(message)
  if self.json then
    io.stdout:write(json.encode({ error = { kind = "usage", message = message } }), "\n")
  else
    io.stderr:write(message, "\n")
  end
  return 2
end

local function parse_args(argv)
  local list = {}
  for i, a in ipairs(argv or {}) do list[i] = (a == "-h") and "--help" or a end
  local opts, rest = args.parse(list, OPTIONS, PROGRAM)
  if not opts then return nil, rest end
  if #rest > 0 then
    return nil, PROGRAM .. ": unexpected argument '" .. rest[1] .. "' (see " .. PROGRAM .. " --help)"
  end
  if (opts.cert == nil) ~= (opts.key == nil) then
    return nil, PROGRAM .. ": --cert and --key go together"
  end
  for _, k in ipairs({ "port", "control-port" }) do
    local v = opts[k]
    if v and (math.tointeger(v) == nil or v < 0 or v > 65535) then
      return nil, PROGRAM .. ": --" .. k .. " must be a port number (0-65535)"
    end
  end
  return opts
end

-- Sets up the run's folder, TLS material and state; returns the pieces or
-- nil and a message.
function Run:prepare(opts)
  local dir = opts["work-dir"]
  if dir then
    os.execute("mkdir -p " .. quote(dir))
  else
    local err
    dir, err = mktemp_dir()
    if not dir then return nil, err end
    self.watcher = remove_on_exit(dir)
    self.temp_dir = dir
  end
  os.execute("mkdir -p " .. quote(dir .. "/cache") .. " " .. quote(dir .. "/files"))
  local tls
  if opts.cert then
    tls = { cert_file = opts.cert, key_file = opts.key }
  else
    os.execute("mkdir -p " .. quote(dir .. "/tls") .. " && chmod 700 " .. quote(dir .. "/tls"))
    local ok, made = pcall(certs.make, dir .. "/tls")
    if not ok then return nil, tostring(made) end
    tls = made
  end
  local state = State.new()
  state.work_dir, state.cache_dir, state.files_dir = dir, dir .. "/cache", dir .. "/files"
  local seed, err = load_settings(state, opts)
  if not seed then return nil, err end
  state.files = {}
  local ok, serr = files.seed(state, seed)
  if not ok then return nil, "--data: " .. serr end
  state.on_reset = function()
    files.reset(state)
    files.seed(state, seed)
    if state.initial_faults then state:add_faults(util.copy(state.initial_faults)) end
  end
  return state, tls
end

local function listen_all(loop, state, tls, opts)
  local ctx, cerr = ssl.newcontext({
    mode = "server", protocol = "any", key = tls.key_file, certificate = tls.cert_file,
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" },
  })
  if not ctx then return nil, "TLS setup failed: " .. tostring(cerr) end
  local app = App.new(state, nil)
  local info = { pid = own_pid() }
  local port, perr = loop:listen("127.0.0.1", math.tointeger(opts.port or 0),
    function(stream) app:serve(stream) end, ctx)
  if not port then return nil, "cannot listen on port " .. tostring(opts.port) .. ": " .. tostring(perr) end
  app.port = port
  local sport, serr = loop:listen("127.0.0.1", 0, storage.handler(state), ctx)
  if not sport then return nil, "cannot listen for the storage: " .. tostring(serr) end
  state.storage_port = sport
  local cport, cperr = loop:listen("127.0.0.1", math.tointeger(opts["control-port"] or 0),
    control.handler(state, info))
  if not cport then
    return nil, "cannot listen on control port " .. tostring(opts["control-port"]) .. ": " .. tostring(cperr)
  end
  info.port, info.control_port, info.storage_port = port, cport, sport
  return info
end

local function write_ready(path, info, state)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(json.encode({ pid = info.pid, port = info.port, control_port = info.control_port,
    storage_port = info.storage_port, work_dir = state.work_dir, defaults = state.defaults }))
  f:close()
  assert(os.rename(tmp, path))
end

--- Runs the simulator; returns the exit status (2 for usage errors; a
-- signal ends it otherwise).
function M.main(argv)
  local run = setmetatable({}, Run)
  for _, a in ipairs(argv or {}) do
    if a == "--json" then run.json = true end
  end
  local opts, err = parse_args(argv)
  if not opts then return run:usage(err) end
  if opts.help then
    io.stdout:write(M.HELP)
    return 0
  end
  local state, tls = run:prepare(opts)
  if not state then return run:usage(PROGRAM .. ": " .. tostring(tls)) end

  local loop = loop_mod.new()
  local info, lerr = listen_all(loop, state, tls, opts)
  if not info then return run:usage(PROGRAM .. ": " .. lerr) end
  if opts["watch-pid"] then
    local watched = math.tointeger(opts["watch-pid"])
    loop:every(1.0, function()
      if not alive(watched) then
        loop_mod.report("watched process %d is gone; exiting", watched)
        os.exit(0)
      end
    end)
  end
  if opts["ready-file"] then
    write_ready(opts["ready-file"], info, state)
  else
    print_environment(environment(state, info.port, tls.ca_file), run.json)
  end
  loop_mod.report("listening on https://127.0.0.1:%d (storage https://127.0.0.1:%d, control http://127.0.0.1:%d),"
    .. " pid %d%s", info.port, info.storage_port, info.control_port, info.pid,
    opts.data and (", data from " .. opts.data) or "")
  loop:run()
  return 0
end

return M
