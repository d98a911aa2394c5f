-- The spec-side handle of the workspace simulator (bin/databricks-simulator,
-- modules databricks.simulator.*). Starts it as a separate process, talks to its control API, and offers a
-- few conveniences for specs (HTTPS requests trusting the test CA, PKCE
-- pairs, a background "browser" for U2M sign-in). Plain Lua: it does not
-- depend on busted and never loads the code under test.
--
--   local Sim = require "support.sim"
--   local s = Sim.start{config = {token_ttl = 60}}
--   s.url, s.localhost_url, s.host, s.port, s.control_port, s.pid, s.ca_file, s.log_file
--   s.pat, s.client_id, s.client_secret, s.user, s.u2m_client_id, s.warehouse_id,
--   s.table, s.instance, s.endpoint, s.account_id, s.workspace_id, s.volume
--   s.storage_url, s.storage_port (the "cloud storage" of external links)
--   s.github_token_url, s.github_request_token (ACTIONS_ID_TOKEN_REQUEST_*),
--   s.oidc_issuer (the fake IdP the token exchange trusts), s.work_dir
--   s:config(t) s:fault(f) s:faults{...} s:clear_faults() s:requests{path=, method=}
--   s:clear_requests() s:tokens(kind) s:state() s:reset() s:advance(seconds)
--   s:storage() s:clear_storage() s:jwt(claims) s:prepare(statement_id)
--   s:request(method, path, opts) s:connect() s:browser(url, opts) s:log() s:stop()
--   Sim.browser(url, opts) Sim.pkce([verifier]) Sim.running(pid) Sim.client (HTTP client)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
if here:sub(1, 1) ~= "/" then
  -- absolute, so spawned processes find their scripts whatever their cwd
  local p = io.popen("pwd")
  here = p:read("l") .. "/" .. here:gsub("^%./", "")
  p:close()
end

local function sibling(file, modname)
  if modname then
    local ok, m = pcall(require, modname)
    if ok then return m end
  end
  return dofile(here .. file)
end

local cjson = require "cjson"
local helpers = sibling("helpers.lua", "support.helpers")
local certs = require "databricks.simulator.certs"
local client = dofile(here .. "sim_client.lua")
local sha256 = require "databricks.simulator.sha256"

local json = cjson.new()
json.encode_sparse_array(true)

local Sim = {}
Sim.__index = Sim
Sim.client = client
Sim.script = (here:gsub("spec/support/$", "")) .. "bin/databricks-simulator"

local function mktemp_dir(prefix)
  local base = os.getenv("TMPDIR") or "/tmp"
  local p = io.popen("mktemp -d " .. helpers.quote(base .. "/" .. prefix .. ".XXXXXX"))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "sim: mktemp failed")
  return dir
end

local function own_pid()
  local p = io.popen("echo $PPID")
  local pid = tonumber(p:read("l"))
  p:close()
  return pid
end

-- True while `pid` runs. Unlike helpers.alive it does not count a zombie
-- (on Linux, /proc says "Z"), which a slow-reaping init can leave for seconds.
function Sim.running(pid)
  if not pid then return false end
  local f = io.open("/proc/" .. math.tointeger(pid) .. "/stat", "rb")
  if f then
    local stat = f:read("a") or ""
    f:close()
    return stat:match("^%d+ %b() (%a)") ~= "Z"
  end
  if io.open("/proc/self/stat", "rb") then return false end
  return helpers.alive(pid)
end

local function tail(path, n)
  local text = helpers.read_file(path) or ""
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n", math.max(1, #lines - (n or 20) + 1))
end

local function b64url(s)
  local mime = require "mime"
  return ((mime.b64(s)):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }))
end

-- A PKCE pair: verifier (given or random 43 chars) and its S256 challenge.
function Sim.pkce(verifier)
  if not verifier then
    local f = assert(io.open("/dev/urandom", "rb"))
    verifier = b64url(f:read(32))
    f:close()
  end
  return verifier, b64url(sha256(verifier))
end

-- Starts a simulator. opts: config (settings table), certs ({ca_file,
-- cert_file, key_file}; default certs.shared()), port, control_port,
-- watch_pid (default: this process; false: none), timeout (ready wait, 10 s).
function Sim.start(opts)
  opts = opts or {}
  local c = opts.certs or certs.shared()
  local dir = mktemp_dir("dbx-sim")
  local ready, log = dir .. "/ready.json", dir .. "/simulator.log"
  local argv = {
    helpers.lua, Sim.script, "--ready-file", ready, "--cert", c.cert_file, "--key", c.key_file,
    "--port", tostring(opts.port or 0), "--control-port", tostring(opts.control_port or 0),
    "--work-dir", dir .. "/work",
  }
  if opts.config then
    local cfg = dir .. "/config.json"
    helpers.write_file(cfg, json.encode(opts.config))
    argv[#argv + 1] = "--config"
    argv[#argv + 1] = cfg
  end
  if opts.watch_pid ~= false then
    argv[#argv + 1] = "--watch-pid"
    argv[#argv + 1] = tostring(opts.watch_pid or own_pid())
  end
  local spawned = helpers.spawn(argv, { log = log, home = dir })
  local exited = false
  local info = helpers.wait_for(function()
    local text = helpers.read_file(ready)
    if text then return client.decode(text) end
    exited = not Sim.running(spawned)
    return exited
  end, opts.timeout or 10)
  if type(info) ~= "table" then
    if Sim.running(spawned) then helpers.kill(spawned, "KILL") end
    local log_tail = tail(log)
    os.execute("rm -rf " .. helpers.quote(dir))
    error(string.format("simulator %s (pid %s); log tail:\n%s",
      exited and "exited before it was ready" or ("was not ready within " .. (opts.timeout or 10) .. " s"),
      tostring(spawned), log_tail), 2)
  end
  local d = info.defaults
  local self = setmetatable({
    pid = info.pid, port = info.port, control_port = info.control_port,
    url = "https://127.0.0.1:" .. info.port, localhost_url = "https://localhost:" .. info.port,
    host = "127.0.0.1:" .. info.port, control_url = "http://127.0.0.1:" .. info.control_port,
    ca_file = c.ca_file, log_file = log, dir = dir, defaults = d,
    pat = d.pat, client_id = d.client_id, client_secret = d.client_secret, user = d.user,
    u2m_client_id = d.u2m_client_id, warehouse_id = d.warehouse_id, table = d.table,
    instance = d.instance, endpoint = d.endpoint, account_id = d.account_id, workspace_id = d.workspace_id,
    volume = d.volume, oidc_issuer = d.oidc_issuer, github_request_token = d.github_request_token,
    github_token_url = "https://127.0.0.1:" .. info.port .. "/github/idtoken?api-version=2.0",
    storage_port = info.storage_port, storage_url = "https://127.0.0.1:" .. info.storage_port,
    work_dir = info.work_dir,
  }, Sim)
  return self
end

function Sim:log(n)
  return tail(self.log_file, n or 40)
end

-- A control API call; raises with the simulator's answer on failure.
function Sim:control(method, path, body)
  assert(not self.stopped, "sim: the simulator was stopped")
  local res, err = client.request(self.control_url .. path, {
    method = method, body = body ~= nil and json.encode(body) or nil,
    headers = { ["Content-Type"] = "application/json" }, timeout = 10,
  })
  if not res then
    error(string.format("sim: control %s %s failed: %s\nsimulator log:\n%s", method, path, err, self:log(10)), 3)
  end
  local decoded = client.decode(res.body)
  if res.status ~= 200 then
    error(string.format("sim: control %s %s -> %d: %s", method, path, res.status,
      type(decoded) == "table" and tostring(decoded.error) or res.body), 3)
  end
  return decoded
end

function Sim:config(t)
  return self:control("POST", "/__sim/config", t).config
end

function Sim:faults(list)
  return self:control("POST", "/__sim/faults", list).faults
end

function Sim:fault(f)
  return self:faults({ f })
end

function Sim:clear_faults()
  self:control("DELETE", "/__sim/faults")
end

-- Logged requests, oldest first. filter: {path = Lua pattern, method =,
-- since = seq} or a path pattern string.
function Sim:requests(filter)
  if type(filter) == "string" then filter = { path = filter } end
  filter = filter or {}
  local q = {}
  for _, k in ipairs({ "path", "method", "since" }) do
    if filter[k] then q[#q + 1] = k .. "=" .. client.url_encode(filter[k]) end
  end
  return self:control("GET", "/__sim/requests" .. (#q > 0 and ("?" .. table.concat(q, "&")) or ""))
end

function Sim:clear_requests()
  self:control("DELETE", "/__sim/requests")
end

-- Every issued token (optionally of one kind: access, refresh, credential).
function Sim:tokens(kind)
  return self:control("GET", "/__sim/tokens" .. (kind and ("?kind=" .. kind) or ""))
end

function Sim:state()
  return self:control("GET", "/__sim/state")
end

-- Back to the startup settings; faults and the request log cleared.
function Sim:reset()
  self:control("POST", "/__sim/reset")
end

-- The storage's download record: {url, port, in_flight, max_in_flight,
-- downloads = {{seq, path, statement_id, chunk, started, finished, status,
-- bytes, in_flight_at_start}}}.
function Sim:storage()
  return self:control("GET", "/__sim/storage")
end

function Sim:clear_storage()
  self:control("DELETE", "/__sim/storage")
end

-- A JWT from an outside issuer (default: the simulator's fake IdP, audience
-- the workspace token endpoint), for token exchange. Returns the token.
function Sim:jwt(claims)
  return self:control("POST", "/__sim/jwt", claims or {}).token
end

-- Writes every chunk of a statement's result into the cache now.
function Sim:prepare(statement_id)
  return self:control("POST", "/__sim/prepare", { statement_id = statement_id })
end

-- Moves the simulator's token clock (expiry checks) by `seconds`.
function Sim:advance(seconds)
  return self:control("POST", "/__sim/clock", { advance = seconds })
end

-- An HTTPS request to the simulator. opts: token (Bearer), headers, body,
-- json (table, sent as JSON), form (table, sent form-encoded), base (URL),
-- timeout. Returns the response {status, headers, body, json} or nil, err.
function Sim:request(method, path, opts)
  opts = opts or {}
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  if opts.token then headers.Authorization = "Bearer " .. opts.token end
  local body = opts.body
  if opts.json ~= nil then
    body = json.encode(opts.json)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  elseif opts.form then
    body = client.form(opts.form)
    headers["Content-Type"] = headers["Content-Type"] or "application/x-www-form-urlencoded"
  end
  return client.request((opts.base or self.url) .. path, {
    method = method, headers = headers, body = body, ca_file = self.ca_file, timeout = opts.timeout,
  })
end

-- A keep-alive connection to the simulator (client.lua Conn).
function Sim:connect(opts)
  opts = opts or {}
  return client.connect(opts.base or self.url, { ca_file = self.ca_file, timeout = opts.timeout })
end

function Sim:stop()
  if self.stopped then return end
  -- Hand everything this simulator issued to the suite's secret scan.
  if helpers.note_secrets then
    pcall(function()
      local list = { self.pat, self.client_secret }
      for _, t in ipairs(self:tokens()) do list[#list + 1] = t.token end
      for _, c in pairs((self:state().config or {}).clients or {}) do list[#list + 1] = c.secret end
      helpers.note_secrets(list)
    end)
  end
  self.stopped = true
  if Sim.running(self.pid) then
    helpers.kill(self.pid, "TERM")
    if not helpers.wait_for(function() return not Sim.running(self.pid) end, 3) then
      helpers.kill(self.pid, "KILL")
      helpers.wait_for(function() return not Sim.running(self.pid) end, 2)
    end
  end
  os.execute("rm -rf " .. helpers.quote(self.dir))
end

-- Spawns spec/support/browser.lua in the background: it GETs the authorize
-- URL over HTTPS (trusting opts.ca_file, default the simulator's or the
-- shared test CA) and follows the 302 to the loopback redirect URI with a
-- plain HTTP GET, retrying the connection until the listener accepts.
-- opts: ca_file, result_file (JSON of what happened), log, timeout (default
-- 15), delay. Returns the browser's PID. Also callable as s:browser(url, opts).
function Sim.browser(a, b, c)
  local self, url, opts
  if getmetatable(a) == Sim then self, url, opts = a, b, c else url, opts = a, b end
  opts = opts or {}
  local ca = opts.ca_file or (self and self.ca_file) or certs.shared().ca_file
  local argv = { helpers.lua, here .. "browser.lua", "--url", url,
    "--ca-file", ca, "--timeout", tostring(opts.timeout or 15) }
  if opts.result_file then
    argv[#argv + 1] = "--result-file"
    argv[#argv + 1] = opts.result_file
  end
  if opts.delay then
    argv[#argv + 1] = "--delay"
    argv[#argv + 1] = tostring(opts.delay)
  end
  return helpers.spawn(argv, { log = opts.log, home = opts.home })
end

return Sim
