--- The Lakebase credential rotator (mirrors the Python tool's API).
-- `Rotator.new` only validates: it installs no signal handler and opens no
-- file. `run_once` performs one rotation in the C core (token -> password ->
-- .pgpass, atomically; a failure leaves .pgpass untouched). `run_daemon`
-- rotates at the earlier of the interval and "expiry minus a safety margin",
-- on the wall clock, sleeping in bounded slices so a machine that slept or
-- whose clock jumped rotates at once; failures are retried with capped,
-- jittered back-off; SIGTERM/SIGINT or `stop()` end it within a second.
-- @module databricks.rotator
local core = require "databricks.core"
local Log = require "databricks.log"
local cjson = require "cjson.safe"

local Rotator = {}
Rotator.__index = Rotator

local function config_error(message)
  return nil, core.error{ kind = "config", message = message }
end

local function home()
  return os.getenv("HOME") or ""
end

--- The default status file (read by databricks-oauth-status).
function Rotator.default_status_file()
  local state = os.getenv("XDG_STATE_HOME")
  if not state or state:sub(1, 1) ~= "/" then state = home() .. "/.local/state" end
  return state .. "/lua-databricks/rotator-status.json"
end

--- The default log file (as the Python tool).
function Rotator.default_log_file()
  return home() .. "/.databricks_oauth_rotator.log"
end

local OPTIONS = {
  workspace_url = "string", pg_host = "string", pg_username = "string", pg_port = "number",
  pg_database = "string", pgpass_file = "string", log_file = "string", rotation_interval = "number",
  instance_name = "string", endpoint = "string", client_id = "string", client_secret = "string",
  auth = "string", ca_bundle = "string", status_file = "string", verbose = "boolean",
  token_store = "string", databricks_cli = "string", min_validity = "number", timeout = "number",
  retry_budget = "number",
  log = "table", stderr = "boolean", clock = "function", max_slice = "number", random = "function",
}

--- Creates a rotator. Options: `workspace_url`, `pg_host`, `pg_username`,
-- `pg_port` (5432), `pg_database` ("databricks_postgres"), `pgpass_file`,
-- `log_file`, `rotation_interval` (minutes, 1-1440, default 50),
-- `instance_name`, `endpoint`, `client_id`, `client_secret`, `auth`
-- ("m2m"|"u2m"|"cli"), `ca_bundle`, `status_file`, `verbose`, `token_store`,
-- `timeout` (seconds per HTTP attempt, default 30), `retry_budget` (seconds
-- of retries per call, default 60); advanced:
-- `log` (a databricks.log logger), `stderr` (log to stderr, default true),
-- `clock` (wall-clock function), `max_slice` (longest sleep, seconds).
-- @return rotator, or nil and a `config` error
function Rotator.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("Rotator.new expects an options table", 2) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then return config_error("unknown rotator option '" .. tostring(k) .. "'") end
    if type(v) ~= want then
      return config_error(string.format("rotator option '%s' must be a %s (got %s)", k, want, type(v)))
    end
  end
  for _, k in ipairs({ "timeout", "retry_budget" }) do
    local v = opts[k]
    if v and not (v > 0 and v <= 3600) then
      return config_error(string.format("rotator option '%s' must be between 0 and 3600 seconds (got %s)", k, v))
    end
  end
  local interval = opts.rotation_interval or 50
  if interval < 1 or interval > 1440 or interval ~= math.floor(interval) then
    return config_error(string.format("the rotation interval must be a whole number of minutes from 1 to 1440 (got %s)",
      tostring(interval)))
  end
  local self = setmetatable({}, Rotator)
  self.opts = {
    workspace_url = opts.workspace_url, pg_host = opts.pg_host, pg_username = opts.pg_username,
    pg_port = opts.pg_port or 5432, pg_database = opts.pg_database or "databricks_postgres",
    pgpass_file = opts.pgpass_file, instance_name = opts.instance_name, endpoint = opts.endpoint,
    client_id = opts.client_id, client_secret = opts.client_secret, auth = opts.auth,
    ca_bundle = opts.ca_bundle, token_store = opts.token_store, databricks_cli = opts.databricks_cli,
    min_validity = opts.min_validity, timeout = opts.timeout, retry_budget = opts.retry_budget,
  }
  local ok, err = core.rotate_check(self.opts)
  if not ok then return nil, err end
  self.interval = interval * 60
  self.status_file = opts.status_file or Rotator.default_status_file()
  self.log = opts.log or Log.new{ file = opts.log_file or Rotator.default_log_file(), verbose = opts.verbose,
                                  program = "databricks-oauth-rotator", stderr = opts.stderr }
  self.log:secret(opts.client_secret)
  self.clock = opts.clock or core.now
  self.max_slice = opts.max_slice or 30
  self.random = opts.random or math.random
  self.status = { version = core.VERSION }
  return self
end

local function iso(t)
  return t and core.format_rfc3339(t) or nil
end

-- The status file keeps history across runs (a failed --once run must not
-- hide when the last success was): the first write starts from what is
-- already there.
function Rotator:_load_status()
  if self.status_loaded then return end
  self.status_loaded = true
  local f = io.open(self.status_file, "rb")
  if not f then return end
  local old = cjson.decode(f:read("a") or "")
  f:close()
  if type(old) ~= "table" then return end
  for k, v in pairs(old) do
    if self.status[k] == nil then self.status[k] = v end
  end
  self.status.version = core.VERSION
end

function Rotator:_write_status(fields)
  self:_load_status()
  for k, v in pairs(fields) do self.status[k] = v end
  self.status.pid = core.getpid()
  self.status.pgpass_file = self.status.pgpass_file or self.opts.pgpass_file
  local doc = cjson.encode(self.status)
  -- Atomic and private, but not fsync'ed: the status file is advisory, and
  -- the durable write that matters is the one of .pgpass.
  local ok, err = core.write_private(self.status_file, doc .. "\n", { durable = false })
  if not ok then self.log:warn("cannot write the status file: %s", err.message) end
end

--- One rotation. Returns the report `{subject=, expires_at=, pgpass_file=,
-- source=, pg_host=, pg_port=, pg_database=, pg_username=, action=}` or nil
-- and an error; .pgpass is unchanged on failure.
function Rotator:run_once()
  local started = self.clock()
  self.log:debug("rotation starting (workspace %s)", self.opts.workspace_url)
  local report, err = core.rotate_once(self.opts)
  local now = self.clock()
  if not report then
    self.log:error("rotation failed: %s", tostring(err))
    self:_write_status{ last_attempt = now, last_attempt_at = iso(now), last_result = "failed",
                        last_error = tostring(err), last_error_kind = err.kind }
    return nil, err
  end
  self.log:info("rotated %s credential for %s@%s:%d/%s (subject %s, source %s) into %s [%s]; expires %s (in %d min)",
    (self.opts.instance_name or self.opts.endpoint) and "Lakebase" or "workspace-token",
    report.pg_username, report.pg_host, report.pg_port, report.pg_database, report.subject, report.source,
    report.pgpass_file, report.action, iso(report.expires_at) or "?",
    math.floor((report.expires_at - now) / 60))
  if math.abs(report.clock_skew or 0) > 60 then
    self.log:warn("this machine's clock is %d s %s the workspace's; the credential's lifetime was taken from "
      .. "what the server stated, so rotation goes on (fix the clock: NTP)", math.floor(math.abs(report.clock_skew)),
      report.clock_skew > 0 and "ahead of" or "behind")
  end
  if report.mode_fixed then
    self.log:warn("%s was readable by other users; it is now 0600", report.pgpass_file)
  end
  self:_write_status{ last_attempt = now, last_attempt_at = iso(now), last_success = now,
                      last_success_at = iso(now), last_result = "ok", last_error = cjson.null,
                      last_error_kind = cjson.null, expires_at = report.expires_at,
                      expires_at_iso = iso(report.expires_at), subject = report.subject, source = report.source,
                      pgpass_file = report.pgpass_file, pg_host = report.pg_host, pg_username = report.pg_username,
                      duration_ms = math.floor((now - started) * 1000 + 0.5) }
  return report
end

--- When the next rotation is due after a success (wall-clock seconds).
function Rotator:next_after_success(now, expires_at)
  local at = now + self.interval
  if expires_at and expires_at > 0 then
    local ttl = expires_at - now
    local margin = math.min(600, math.max(1, ttl * 0.2))
    at = math.min(at, expires_at - margin)
  end
  return math.max(at, now + 1)
end

--- The pause after the n-th consecutive failure: 5 s doubling, jittered
-- into [1/2, 1] of itself, capped at a quarter of the current credential's
-- remaining life (so retries get denser as it nears expiry), and at 5 min;
-- once the credential has expired, at 1 min: keep trying.
function Rotator:retry_delay(n, now, expires_at)
  local base = 5 * 2 ^ math.min(n - 1, 10)
  local cap = 300
  if expires_at and expires_at > now then
    cap = math.max(5, math.min(cap, (expires_at - now) / 4))
  elseif expires_at then
    cap = 60
  end
  base = math.min(base, cap)
  return base * (0.5 + 0.5 * self.random())
end

--- Asks a running daemon (in this process) to stop: run_daemon returns 0
-- within its current wait. (The stop flag is process-wide, as a signal is.)
function Rotator:stop() -- luacheck: no unused args
  core.request_stop(15)
end

local function notify(state)
  core.sd_notify(state)
end

--- Runs until SIGTERM/SIGINT or stop(). Returns the exit code: 0 when
-- stopped, 2 when the very first attempt failed on configuration.
function Rotator:run_daemon()
  local ok, err = core.install_signals()
  if not ok then
    self.log:error("%s", err.message)
    return 1
  end
  local wd = core.watchdog_usec()
  local slice = self.max_slice
  if wd > 0 then slice = math.min(slice, wd / 2e6) end
  self.log:info("daemon started (lua-databricks %s): interval %d min, status %s", core.VERSION,
    self.interval // 60, self.status_file)
  local next_at, mono_next = self.clock(), core.monotonic()
  local failures, expires_at, first = 0, nil, true
  while not core.stop_requested() do
    local now = self.clock()
    -- Due by the wall clock (which keeps counting while the machine
    -- sleeps), or by the monotonic clock (immune to the wall clock stepping
    -- backwards).
    if now >= next_at or core.monotonic() >= mono_next then
      local report, rerr = self:run_once()
      now = self.clock()
      if core.stop_requested() then break end
      if report then
        failures, expires_at = 0, report.expires_at
        next_at = self:next_after_success(now, expires_at)
        notify(string.format("STATUS=credential valid until %s", iso(expires_at) or "?"))
      else
        if first and rerr.kind == "config" then
          notify("STATUS=configuration error: " .. tostring(rerr))
          self.log:error("stopping: the configuration cannot work as given")
          return 2
        end
        failures = failures + 1
        local delay = self:retry_delay(failures, now, expires_at)
        next_at = now + delay
        self.log:warn("retrying in %.0f s (attempt %d failed)", delay, failures)
        notify(string.format("STATUS=last rotation failed; retrying in %.0f s", delay))
      end
      mono_next = core.monotonic() + (next_at - now)
      if first then
        notify("READY=1")
        first = false
      end
    end
    if wd > 0 then notify("WATCHDOG=1") end
    local cap = math.max(0.01, math.min(slice, mono_next - core.monotonic()))
    if self.clock == core.now then
      core.sleep_until(next_at, cap)
    else
      core.sleep(math.max(0, math.min(cap, next_at - self.clock())))
    end
  end
  local sig = core.stop_requested()
  notify("STOPPING=1")
  self.log:info("stopping (%s)", sig == 2 and "SIGINT" or sig == 15 and "SIGTERM" or "stop requested")
  self.log:close()
  return 0
end

return Rotator
