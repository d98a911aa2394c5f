--- Starting the local workspace simulator from Lua — for your own busted
-- specs of code that uses Databricks (README, "Develop and test offline").
-- It runs `databricks-simulator --json` as a separate process, waits for
-- the environment it prints, and hands you a connect config; `stop` ends
-- it (SIGTERM; its temporary files go with it). Like the simulator, this
-- module never loads the connector.
--
--     local launch = require "databricks.simulator.launch"
--     local sim = assert(launch.start{ data = "spec/my-data.lua" })
--     local client = assert(require("databricks").connect(sim:config()))
--     ...
--     sim:stop()
-- @module databricks.simulator.launch
local json = require "databricks.simulator.json"

local M = {}

local Sim = {}
Sim.__index = Sim

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function pause()
  local ok, socket = pcall(require, "socket")
  if ok and socket.sleep then socket.sleep(0.05) else os.execute("sleep 0.05") end
end

-- Whether the process runs (a zombie counts as gone: some containers' PID 1
-- never reaps orphans).
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if f then
    local state = (f:read("a") or ""):match("^%d+ %b() (%a)")
    f:close()
    return state ~= nil and state ~= "Z" and state ~= "X"
  end
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

--- Starts a simulator. opts: `data` (a data file, see docs/simulator.md),
-- `port`, `program` (default `databricks-simulator` on PATH), `timeout`
-- (seconds to wait until it is ready, default 30). Returns a handle with
-- `env` (DATABRICKS_HOST, SSL_CERT_FILE, DATABRICKS_TOKEN,
-- DATABRICKS_WAREHOUSE_ID), `m2m` (`client_id`, `client_secret`), `pid`,
-- `config`, `stop`; or nil and a message.
function M.start(opts)
  opts = opts or {}
  local tmp = os.tmpname()
  local argv = { opts.program or "databricks-simulator", "--json" }
  if opts.data then argv[#argv + 1] = "--data"; argv[#argv + 1] = opts.data end
  if opts.port then argv[#argv + 1] = "--port"; argv[#argv + 1] = tostring(opts.port) end
  local words = {}
  for i, a in ipairs(argv) do words[i] = quote(a) end
  local p = io.popen(string.format("%s </dev/null >%s 2>%s.err & echo $!", table.concat(words, " "), quote(tmp),
    quote(tmp)))
  local pid = tonumber(p:read("l"))
  p:close()
  if not pid then return nil, "cannot start " .. argv[1] end
  local deadline = os.time() + (opts.timeout or 30)
  local line
  repeat
    line = (read(tmp) or ""):match("^([^\n]*)\n")
    if line or not alive(pid) then break end
    pause()
  until os.time() > deadline
  local errors = read(tmp .. ".err") or ""
  os.remove(tmp)
  os.remove(tmp .. ".err")
  if not line then
    if alive(pid) then os.execute("kill " .. pid .. " 2>/dev/null") end
    return nil, argv[1] .. " did not start: " .. (errors:match("[^\n]+") or "no output (is it on PATH?)")
  end
  local ok, doc = pcall(json.decode, line)
  if not ok or type(doc) ~= "table" or not doc.DATABRICKS_HOST then
    return nil, argv[1] .. " printed something unexpected: " .. line:sub(1, 200)
  end
  local self = setmetatable({ pid = pid, m2m = doc.m2m, env = {} }, Sim)
  for _, k in ipairs({ "DATABRICKS_HOST", "SSL_CERT_FILE", "DATABRICKS_TOKEN", "DATABRICKS_WAREHOUSE_ID" }) do
    self.env[k] = doc[k]
  end
  return self
end

--- A config for `databricks.connect`: the PAT, or with `{m2m = true}` the
-- service principal (OAuth M2M); `extra` keys are added.
function Sim:config(extra)
  extra = extra or {}
  local cfg = { host = self.env.DATABRICKS_HOST, ca_bundle = self.env.SSL_CERT_FILE,
                warehouse_id = self.env.DATABRICKS_WAREHOUSE_ID }
  if extra.m2m then
    cfg.auth_type, cfg.client_id, cfg.client_secret = "oauth_m2m", self.m2m.client_id, self.m2m.client_secret
  else
    cfg.auth_type, cfg.token = "pat", self.env.DATABRICKS_TOKEN
  end
  for k, v in pairs(extra) do
    if k ~= "m2m" then cfg[k] = v end
  end
  return cfg
end

--- Stops it (SIGTERM) and waits until it is gone (at most 10 s).
function Sim:stop()
  if not self.pid then return end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  local deadline = os.time() + 10
  while alive(self.pid) and os.time() <= deadline do pause() end
  self.pid = nil
end

return M
