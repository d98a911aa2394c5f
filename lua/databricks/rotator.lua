--- The Lakebase credential rotator: keeps any number of credentials fresh
-- in any number of files (mirrors the Python tool's API for one target).
-- `Rotator.new` only validates: it installs no signal handler and opens no
-- file. `run_once` rotates every target once, in the C core (client, token,
-- credential, outputs written atomically only after the credential was
-- obtained). `run_daemon` rotates each target on its own schedule — at the
-- earlier of the interval and "expiry minus a safety margin", jittered, on
-- the wall clock, sleeping in bounded slices so a machine that slept or
-- whose clock jumped rotates at once; failures back off per target (capped,
-- jittered) while the current credential is still valid; SIGHUP reloads,
-- SIGTERM/SIGINT or `stop()` end it within a second.
--
-- Options are the rows of `databricks.rotator.options` (one table for the
-- command line, the config file and this API); targets share one workspace
-- client (and so one OAuth token) when they share its settings.
-- @module databricks.rotator
local core = require "databricks.core"
local Log = require "databricks.log"
local options = require "databricks.rotator.options"
local paths = require "databricks.paths"
local Status = require "databricks.rotator.status"

local Rotator = {}
Rotator.__index = Rotator

local function config_error(message)
  return nil, core.error{ kind = "config", message = message }
end

--- The default status file (read by databricks-oauth-status).
function Rotator.default_status_file()
  return paths.status_file()
end

--- The default log file (as the Python tool).
function Rotator.default_log_file()
  return paths.log_file()
end

local TARGET_SCOPES = { target = true, api = true }
local TOP_SCOPES = { target = true, daemon = true, api = true }
local MAX_WORKERS = 64 -- the most rotations the daemon runs at once by default

-- The settings of one target: the top-level target options, then the
-- target's own. Returns the checked table, or nil and a message.
local function build_target(defaults, own, where)
  local t = {}
  for k, v in pairs(defaults) do
    local row = options.by_key[k]
    if row and row.scope == "target" then t[k] = v end
  end
  for k, v in pairs(own or {}) do
    if k ~= "name" then t[k] = v end
  end
  local checked, err = options.validate(t, "api", TARGET_SCOPES)
  if not checked then return nil, where .. err end
  local ok, cerr = options.check_target(checked, "api")
  if not ok then return nil, where .. cerr end
  return checked
end

--- Creates a rotator. Options: every row of `databricks.rotator.options`
-- with an API key — for one target `workspace_url`, `pg_host`,
-- `pg_username`, `pg_port` (5432), `pg_database` ("databricks_postgres"),
-- `pgpass_file`, `instance_name`, `endpoint`, `ttl`, `output` (list of
-- "KIND:PATH"), `on_rotate` (list of commands), `rotation_interval`
-- (minutes, 1-1440, default 50), `client_id`, `client_secret`,
-- `client_secret_file`, `auth` ("m2m"|"u2m"|"cli"|"oidc"), `ca_bundle`,
-- `token_store`, `oidc_token_file`, `oidc_token_env`, `token_audience`,
-- `account_id`, `profile`, `timeout`, `retry_budget`; for the process `log_file`,
-- `status_file`, `verbose`; advanced: `log` (a databricks.log logger),
-- `stderr` (log to stderr, default true), `clock`, `max_slice`, `random`.
-- Several targets: `targets = {{name = "a", ...target options}, ...}`, the
-- top-level target options being their defaults.
-- @return rotator, or nil and a `config` error naming the option
function Rotator.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("Rotator.new expects an options table", 2) end
  local top = {}
  for k, v in pairs(opts) do
    if k ~= "targets" then top[k] = v end
  end
  local checked, err = options.validate(top, "api", TOP_SCOPES)
  if not checked then return config_error(err) end
  local targets = {}
  if opts.targets ~= nil then
    if type(opts.targets) ~= "table" or #opts.targets == 0 then
      return config_error("targets must be a non-empty list of target tables")
    end
    local seen = {}
    for i, own in ipairs(opts.targets) do
      if type(own) ~= "table" or type(own.name) ~= "string" or own.name == "" then
        return config_error(string.format("targets[%d] must be a table with a name", i))
      end
      if seen[own.name] then return config_error("two targets are named '" .. own.name .. "'") end
      seen[own.name] = true
      local t, terr = build_target(checked, own, "target '" .. own.name .. "': ")
      if not t then return config_error(terr) end
      targets[#targets + 1] = { name = own.name, o = t }
    end
  else
    local t, terr = build_target(checked, nil, "")
    if not t then return config_error(terr) end
    targets[1] = { name = "default", o = t }
  end
  local self = setmetatable({}, Rotator)
  self.targets = targets
  self.single = opts.targets == nil
  self.status = Status.new(checked.status_file or Rotator.default_status_file())
  self.status_file = self.status.path
  self.log = checked.log or Log.new{ file = checked.log_file or Rotator.default_log_file(), verbose = checked.verbose,
                                     program = "databricks-oauth-rotator", stderr = checked.stderr }
  self.status.log = self.log
  if checked.client_secret then self.log:secret(checked.client_secret) end
  for _, t in ipairs(targets) do self.log:secret(t.o.client_secret) end
  self.clock = checked.clock or core.now
  self.max_slice = checked.max_slice or 30
  self.random = checked.random or math.random
  self.clients = {}
  self.secrets = {}
  self.workers = checked.workers -- nil: one per target (see run_daemon)
  self.vocabulary = checked.vocabulary or "api"
  -- Kept for the 0.1 shape of `r.opts` / `r.interval` (one target).
  self.opts = targets[1].o
  self.interval = (targets[1].o.rotation_interval or 50) * 60
  return self
end

-- The client secret of a target: given, or read from its credentials file
-- (once per file until a reload). Returns secret (or nil), token store (or
-- nil), or nil, nil, message.
function Rotator:_secret(o)
  if o.client_secret then return o.client_secret, o.token_store end
  local path = o.client_secret_file
  if not path then return nil, o.token_store end
  local creds = self.secrets[path]
  if not creds then
    local err
    creds, err = require("databricks.rotator.credentials").read(path, "client_secret_file")
    if not creds then return nil, nil, err end
    self.secrets[path] = creds
  end
  return creds.client_secret, o.token_store or creds.token_store
end

-- The workspace client of a target, shared by every target with the same
-- source settings (so they share one OAuth token). Returns client, source.
function Rotator:_client(o)
  local secret, store, serr = self:_secret(o)
  if serr then return nil, core.error{ kind = "config", message = serr } end
  local log = self.log
  local source = {
    workspace_url = o.workspace_url, auth = o.auth, client_id = o.client_id, client_secret = secret,
    token_store = store, ca_bundle = o.ca_bundle, databricks_cli = o.databricks_cli, profile = o.profile,
    oidc_token_file = o.oidc_token_file, oidc_token_env = o.oidc_token_env, token_audience = o.token_audience,
    account_id = o.account_id, timeout = o.timeout, retry_budget = o.retry_budget,
    -- Retries are never silent: the first of a call says what and until
    -- when; with --verbose every one says its cause and wait.
    on_retry = function(info)
      local cause = tostring(info.cause)
      if info.attempt == 1 then
        log:info("%s; retrying in %.1f s, giving up after %.0f s more", cause, info.wait, info.left)
      else
        log:debug("attempt %d failed: %s; retrying in %.1f s (%.0f s left)", info.attempt, cause, info.wait, info.left)
      end
    end,
  }
  if not source.token_store then
    source.token_store = paths.token_store(assert(core.normalize_host(o.workspace_url)))
  end
  local key = {}
  for i, k in ipairs({ "workspace_url", "auth", "client_id", "token_store", "ca_bundle", "databricks_cli",
                       "profile", "oidc_token_file", "oidc_token_env", "token_audience", "account_id", "timeout",
                       "retry_budget" }) do
    key[i] = tostring(source[k])
  end
  key[#key + 1] = secret or ""
  key = table.concat(key, "\0")
  local cached = self.clients[key]
  if cached then return cached.client, cached.source end
  local client, src = core.rotator_client(source)
  if not client then return nil, src end
  self.clients[key] = { client = client, source = src }
  return client, src
end

-- The outputs of a target as the core takes them.
local function outputs_of(o)
  local list = {}
  for _, spec in ipairs(o.output or {}) do
    local kind, path = spec:match("^(%w+):(.+)$")
    list[#list + 1] = { kind = kind, path = path }
  end
  if #list == 0 then list[1] = { kind = "pgpass", path = o.pgpass_file } end
  return list
end

local function iso(t)
  return t and core.format_rfc3339(t) or nil
end

-- The outputs of a target ({kind=, path=}; path nil: the default .pgpass).
function Rotator:_outputs(o) -- luacheck: no unused args
  return outputs_of(o)
end

--- The first-run check: which token source each target would use and why,
-- which files would be written with which modes, then a real token and a
-- real credential (discarded) — nothing is written. See
-- `databricks.rotator.check`.
-- @return `{ok =, targets = {{name =, source =, source_reason =, files =, steps =, ok =}}}`
function Rotator:check()
  return require("databricks.rotator.check").run(self)
end

--- Checks, without touching them, that every file this rotator would write
-- — the log, the status file, each target's outputs — can be written under
-- the one policy of private files (a symlink is followed to a regular file
-- of yours; another user's file, a folder or a FIFO is refused). Run before
-- the first rotation, so a refused file is a configuration error that
-- changes nothing. Returns true, or nil and a `config` error whose `key`
-- is the option at fault.
function Rotator:check_files()
  local function fail(key, message)
    local e = core.error{ kind = "config", message = message }
    e.key = key
    return nil, e
  end
  -- {path, option, explicit}: only a default location's folder is created;
  -- a path the user gave must be in a folder that exists (a typo must not
  -- silently create a tree somewhere).
  local files = { { self.log.file, "log_file", self.log.file ~= Rotator.default_log_file() },
                  { self.status_file, "status_file", self.status_file ~= Rotator.default_status_file() } }
  for _, t in ipairs(self.targets) do
    for _, out in ipairs(outputs_of(t.o)) do
      local path = out.path or (out.kind == "pgpass" and core.pgpass_default_path())
      files[#files + 1] = { path, t.o.output and "output" or "pgpass_file", out.path ~= nil }
    end
  end
  for _, f in ipairs(files) do
    local path, key, explicit = f[1], f[2], f[3]
    if path then
      local folder = path:match("^(.*)/[^/]*$")
      if explicit and folder and folder ~= "" and not core.file_mode(folder) then
        return fail(key, string.format("the folder %s of %s does not exist: create it (mkdir -p %s) or choose "
          .. "another path", folder, path, folder))
      end
      local ok, err = core.check_private(path)
      if not ok then return fail(key, err.message) end
    end
  end
  return true
end

-- Runs the target's --on-rotate commands (no secret in their environment;
-- 60 s each; a failure is logged and changes nothing).
function Rotator:_hooks(target, report)
  local o = target.o
  if not o.on_rotate then return end
  local files = {}
  for _, out in ipairs(report.outputs) do files[#files + 1] = out.path end
  local env = { "DBX_TARGET=" .. target.name, "DBX_OUTPUTS=" .. table.concat(files, " "),
                "DBX_EXPIRES_AT=" .. tostring(math.floor(report.expires_at or 0)) }
  for _, command in ipairs(o.on_rotate) do
    local started = core.monotonic()
    local r, err = core.run({ "/bin/sh", "-c", command }, { env = env, timeout = o.hook_timeout or 60 })
    local took = core.monotonic() - started
    if not r then
      self.log:warn("%son-rotate command failed: %s", self:_prefix(target), tostring(err))
    else
      local first = (r.stderr:match("[^\r\n]+")) or ""
      if r.status == 0 then
        self.log:info("%son-rotate command exited 0 in %.1f s%s", self:_prefix(target), took,
          first ~= "" and (": " .. first) or "")
      else
        self.log:warn("%son-rotate command exited %d in %.1f s%s", self:_prefix(target), r.status, took,
          first ~= "" and (": " .. first) or "")
      end
    end
  end
end

function Rotator:_prefix(target)
  return self.single and "" or ("[" .. target.name .. "] ")
end

local STATE_NOTES = {
  STOPPED = "is stopped: start it in the workspace (the credential was written, but logins fail until it runs)",
  STARTING = "is starting", IDLE = "is idle: waking up on the first connection",
  SUSPENDED = "is suspended: waking up on the first connection",
}

-- One rotation of one target, in this process. Returns the report, or nil
-- and an error (and the report when only outputs failed).
function Rotator:_rotate(target)
  local o = target.o
  local started = self.clock()
  self.log:debug("%srotation starting (workspace %s)", self:_prefix(target), o.workspace_url)
  local client, source = self:_client(o)
  local report, err, partial
  if not client then
    err = source
  else
    report, err, partial = core.rotate_target(client, {
      instance_name = o.instance_name, endpoint = o.endpoint, ttl = o.ttl, pg_host = o.pg_host,
      pg_port = o.pg_port, pg_database = o.pg_database, pg_username = o.pg_username,
      min_validity = o.min_validity, outputs = outputs_of(o),
    })
  end
  report = report or partial
  local now = self.clock()
  if report then
    report.source = source
    report.pgpass_file = report.outputs[1] and report.outputs[1].path
    report.action = report.outputs[1] and report.outputs[1].action
    report.mode_fixed = false
    for _, out in ipairs(report.outputs) do report.mode_fixed = report.mode_fixed or out.mode_fixed end
    self:_state_note(target, report)
    if math.abs(report.clock_skew or 0) > 60 then
      self.log:warn("this machine's clock is %d s %s the workspace's; the credential's lifetime was taken from "
        .. "what the server stated, so rotation goes on (fix the clock: NTP)", math.floor(math.abs(report.clock_skew)),
        report.clock_skew > 0 and "ahead of" or "behind")
    end
    for _, out in ipairs(report.outputs) do
      if out.ok and out.mode_fixed then self.log:warn("%s was readable by other users; it is now 0600", out.path) end
      if out.ok and out.warning then self.log:warn("%s: %s", out.path, out.warning) end
      if not out.ok then self.log:error("%scould not write %s: %s", self:_prefix(target), out.path, tostring(out.error)) end
    end
  end
  err = self:_in_words(err)
  if err and report then err.outputs_failed = true end -- the credential was obtained and written elsewhere
  self:_record(target, report, err, now - started)
  if err then
    self.log:error("%srotation failed: %s", self:_prefix(target), tostring(err))
    return nil, err, report, now - started
  end
  local files = {}
  for _, out in ipairs(report.outputs) do files[#files + 1] = out.path .. " [" .. out.action .. "]" end
  self.log:info("%srotated %s credential for %s@%s:%d/%s (subject %s, source %s) into %s; expires %s (in %d min)",
    self:_prefix(target), (o.instance_name or o.endpoint) and "Lakebase" or "workspace-token",
    report.pg_username, report.pg_host, report.pg_port, report.pg_database, report.subject, report.source,
    table.concat(files, ", "), iso(report.expires_at) or "?", math.floor((report.expires_at - now) / 60))
  self:_hooks(target, report)
  return report, nil, nil, now - started
end

-- A configuration error in the caller's words (`vocabulary = "cli"`: the
-- command line's flags, never a library key).
function Rotator:_in_words(err)
  if not err or err.kind ~= "config" or self.vocabulary ~= "cli" then return err end
  local fresh = core.error{ kind = "config", message = options.reword(err.message, options.cli_words()) }
  for k, v in pairs(err) do
    if fresh[k] == nil and k ~= "message" then fresh[k] = v end
  end
  return fresh
end

--- A fresh credential for the (first) target, written nowhere (what
-- databricks-oauth-psql runs psql with): `{password=, pg_host=, pg_port=,
-- pg_database=, pg_username=, expires_at=, state=}`, or nil and an error.
-- The instance's or endpoint's state is logged when it is not available.
function Rotator:credential()
  local target = self.targets[1]
  local o = target.o
  local client, source = self:_client(o)
  if not client then return nil, self:_in_words(source) end
  local report, err = core.rotate_target(client, {
    instance_name = o.instance_name, endpoint = o.endpoint, ttl = o.ttl, pg_host = o.pg_host, pg_port = o.pg_port,
    pg_database = o.pg_database, pg_username = o.pg_username, min_validity = o.min_validity, no_write = true,
  })
  if not report then return nil, self:_in_words(err) end
  core.add_secret(report.password)
  self:_state_note(target, report)
  return report
end

function Rotator:_state_note(target, report)
  local o = target.o
  if report.state and report.state ~= "" and report.state ~= "AVAILABLE" and report.state ~= "ACTIVE" then
    self.log:warn("%sLakebase %s %s %s", self:_prefix(target), o.instance_name and "instance" or "endpoint",
      o.instance_name or o.endpoint, STATE_NOTES[report.state] or ("is " .. report.state))
  end
end

-- Records an attempt in the status file (before the log says it is done,
-- so whoever reads the log and then the status agrees with it).
function Rotator:_record(target, report, err, took)
  local now = self.clock()
  local fields = { last_attempt = now, last_attempt_at = iso(now), duration_ms = math.floor(took * 1000 + 0.5) }
  if report and not err then
    fields.last_success, fields.last_success_at, fields.last_result = now, iso(now), "ok"
    fields.last_error, fields.last_error_kind = require("cjson").null, require("cjson").null
  else
    fields.last_result, fields.last_error, fields.last_error_kind = "failed", tostring(err), err.kind
  end
  if report then
    fields.expires_at, fields.expires_at_iso = report.expires_at, iso(report.expires_at)
    fields.subject, fields.source, fields.pg_host, fields.pg_username = report.subject, report.source,
      report.pg_host, report.pg_username
    fields.pgpass_file = report.pgpass_file
    local files = {}
    for _, out in ipairs(report.outputs) do files[#files + 1] = out.path end
    fields.outputs = files
  end
  self:_status(target, fields)
end

function Rotator:_status(target, fields)
  local names = {}
  for _, t in ipairs(self.targets) do names[t.name] = true end
  self.status:update(target.name, fields, self.single, names)
end

--- One rotation of every target. With one target: the report
-- `{subject=, expires_at=, pgpass_file=, source=, pg_host=, pg_port=,
-- pg_database=, pg_username=, action=, outputs={...}}` or nil and an error.
-- With several: a table target name -> report, and an error when any
-- failed (the table then holds the error under that name).
function Rotator:run_once()
  local all, first_err = {}, nil
  for _, target in ipairs(self.targets) do
    local report, err = self:_rotate(target)
    all[target.name] = report or err
    first_err = first_err or err
    if self.single then return report, err end
  end
  return all, first_err
end

--- When the next rotation is due after a success (wall-clock seconds).
function Rotator:next_after_success(now, expires_at, interval)
  local at = now + (interval or self.interval)
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

--- How much earlier than `at` a rotation runs, so that a fleet of rotators
-- does not hit the workspace in step: up to 5% of the wait, at most 5 min.
function Rotator:jitter(wait)
  return math.min(300, math.max(0, wait) * 0.05) * self.random()
end

--- Asks a running daemon (in this process) to stop: run_daemon returns 0
-- within its current wait. (The stop flag is process-wide, as a signal is.)
function Rotator:stop() -- luacheck: no unused args
  core.request_stop(15)
end

local function notify(state)
  core.sd_notify(state)
end

--- Replaces the targets and daemon settings with those of `opts` (as for
-- `new`), keeping the schedule of targets that keep their name. Returns
-- true, or nil and the error (the old configuration stays).
function Rotator:reconfigure(opts)
  local fresh, err = Rotator.new(opts)
  if not fresh then return nil, err end
  for _, t in ipairs(fresh.targets) do
    for _, old in ipairs(self.targets) do
      if old.name == t.name then t.state = old.state end
    end
  end
  self.targets, self.single, self.opts, self.interval = fresh.targets, fresh.single, fresh.opts, fresh.interval
  self.secrets, self.clients = {}, {}
  return true
end

-- The schedule of a target after an attempt.
function Rotator:_schedule(target, report, err, now)
  local st = target.state
  if report and not err then
    st.failures, st.expires_at = 0, report.expires_at
    local at = self:next_after_success(now, report.expires_at, (target.o.rotation_interval or 50) * 60)
    st.next_at = at - self:jitter(at - now)
  else
    st.failures = st.failures + 1
    if report then st.expires_at = report.expires_at end
    local delay = self:retry_delay(st.failures, now, st.expires_at)
    st.next_at = now + delay
    self.log:warn("%sretrying in %.0f s (attempt %d failed)", self:_prefix(target), delay, st.failures)
  end
  st.mono_next = core.monotonic() + (st.next_at - now)
  return st.next_at
end

-- A plain table of an error (for a worker's result).
local function plain(err)
  if not err then return nil end
  local t = {}
  for _, k in ipairs({ "kind", "message", "status", "error_code", "request_id", "retry_after" }) do t[k] = err[k] end
  return t
end

-- Starts one attempt of `target` in a worker process. The child inherits
-- the shared clients and their tokens, rotates, runs the hooks, reports
-- back (the report, the error, the client's token for the others) and
-- exits. Returns the worker (parent side), or nil and an error.
function Rotator:_spawn(target)
  local client, cerr = self:_client(target.o)
  if not client then return nil, cerr end
  local w, err = core.worker_spawn()
  if not w then return nil, err end
  if not w.child then return w end
  local ok, payload = pcall(function()
    local report, rerr, partial, took = self:_rotate(target)
    report = report or partial
    if report then
      for _, out in ipairs(report.outputs) do out.error = plain(out.error) end
    end
    local result = { report = report, err = plain(rerr), took = took }
    local access, exp, obtained, refresh = client:_current_token()
    if access then result.token = { access, exp, obtained, refresh } end
    return require("cjson").encode(result)
  end)
  w:finish(ok and payload or require("cjson").encode{ err = { kind = "io", message = "worker: " .. tostring(payload) } })
end

-- Starts a worker that only gets a token for `client` (shared by the
-- targets waiting for it). Returns the worker, or nil and an error.
function Rotator:_spawn_token(client) -- luacheck: no unused args
  local w, err = core.worker_spawn()
  if not w then return nil, err end
  if not w.child then return w end
  local ok, payload = pcall(function()
    local tok, terr = client:token()
    local result = { err = not tok and plain(terr) or nil }
    local access, exp, obtained, refresh = client:_current_token()
    if access and tok then result.token = { access, exp, obtained, refresh } end
    return require("cjson").encode(result)
  end)
  w:finish(ok and payload or require("cjson").encode{ err = { kind = "io", message = "worker: " .. tostring(payload) } })
end

-- A worker's result, back in the parent.
function Rotator:_collect(job)
  local cjson = require "cjson.safe"
  local result = cjson.decode(job.w.output) or {}
  if type(result) ~= "table" then result = {} end
  local report, err = result.report, result.err
  if job.client then -- a token job
    if type(err) == "table" then err = core.error(err)
    elseif not (type(result.token) == "table" and result.token[1]) then
      err = core.error{ kind = "io", message = "getting a workspace token: the worker ended without a result" }
    end
    if type(result.token) == "table" and result.token[1] then
      job.client:_adopt_token(result.token[1], result.token[2], result.token[3], result.token[4])
    end
    return nil, err
  end
  if type(report) == "table" then
    for _, out in ipairs(report.outputs or {}) do
      if type(out.error) == "table" then out.error = core.error(out.error) end
    end
  else
    report = nil
  end
  if type(err) == "table" then
    err = core.error(err)
  elseif not report then
    err = core.error{ kind = "io", message = job.killed
      and string.format("the rotation did not finish within %d s and was stopped", job.budget)
      or string.format("the rotation worker ended without a result (exit %d)", job.w.status) }
  end
  local t = result.token
  if type(t) == "table" and t[1] then
    local client = job.client or self:_client(job.target.o)
    if client then client:_adopt_token(t[1], t[2], t[3], t[4]) end
  end
  return report, err, tonumber(result.took) or 0
end

-- The longest a rotation may take before its worker is stopped: every call
-- it makes may use its retry budget, and every hook its 60 s.
local function budget_of(o)
  return 4 * (o.retry_budget or 60) + (o.hook_timeout or 60) * #(o.on_rotate or {}) + (o.timeout or 30)
end

-- Starts a rotation worker for `target` (the parent's side).
function Rotator:_start(running, target, client)
  local w, serr = self:_spawn(target)
  if not w then
    self.log:error("%scannot start a rotation: %s", self:_prefix(target), tostring(serr))
    target.state.next_at = self.clock() + self:retry_delay(1, self.clock(), target.state.expires_at)
    return
  end
  running[#running + 1] = { w = w, target = target, client_of = client, started = core.monotonic(),
                            budget = budget_of(target.o) }
  target.state.running = true
end

--- Runs until SIGTERM/SIGINT or stop(); SIGHUP calls `reload()` (when
-- given) for new options and reconfigures. Each attempt runs in a worker
-- process (`workers` at once, default one per target up to 64), so a slow
-- or failing target never delays another. Returns the exit code: 0 when stopped, 2 when the
-- very first attempt of every target failed on configuration.
function Rotator:run_daemon(reload)
  local ok, err = core.install_signals()
  if not ok then
    self.log:error("%s", err.message)
    return 1
  end
  local wd = core.watchdog_usec()
  local slice = self.max_slice
  if wd > 0 then slice = math.min(slice, wd / 2e6) end
  self.log:info("daemon started (lua-databricks %s): %d target%s, status %s", core.VERSION, #self.targets,
    #self.targets == 1 and "" or "s", self.status_file)
  local running = {}
  local first_round, config_failures, ready = {}, 0, false

  local function finish(target, report, rerr, recorded)
    local now = self.clock()
    if rerr and rerr.kind == "config" and not first_round[target.name] then config_failures = config_failures + 1 end
    first_round[target.name] = true
    local at = self:_schedule(target, report, rerr, now)
    if not recorded then
      self:_record(target, report, rerr, 0)
      if rerr then self.log:error("%srotation failed: %s", self:_prefix(target), tostring(rerr)) end
    end
    self:_status(target, { next_rotation_at = at, next_rotation_at_iso = iso(at) })
    self.log:info("%snext rotation at %s", self:_prefix(target), iso(at))
    if report and not rerr then
      notify(string.format("STATUS=%scredential valid until %s", self:_prefix(target), iso(report.expires_at) or "?"))
    else
      notify(string.format("STATUS=%slast rotation failed; retrying at %s", self:_prefix(target), iso(at)))
    end
  end

  while not core.stop_requested() do
    if core.hup_requested(true) then
      if reload then
        local opts, rerr = reload()
        local fine, cerr = false, rerr
        if opts then fine, cerr = self:reconfigure(opts) end
        if fine then
          self.log:info("reloaded the configuration: %d target%s", #self.targets, #self.targets == 1 and "" or "s")
        else
          self.log:error("reload failed, keeping the running configuration: %s", tostring(cerr))
        end
      else
        self.log:info("SIGHUP: nothing to reload (no --config)")
      end
    end
    -- One worker per target unless told otherwise (at most 64), so targets
    -- stuck on a slow or failing instance cannot hold every slot.
    local max_workers = self.workers or math.min(#self.targets, MAX_WORKERS)
    local now = self.clock()
    -- Start what is due: by the wall clock (which keeps counting while the
    -- machine sleeps) or by the monotonic clock (immune to the wall clock
    -- stepping backwards).
    local fetching = {}
    for _, job in ipairs(running) do
      if job.client then fetching[job.client] = job end
    end
    for _, target in ipairs(self.targets) do
      target.state = target.state or { next_at = now, mono_next = core.monotonic(), failures = 0 }
      local st = target.state
      local due = (now >= st.next_at or core.monotonic() >= st.mono_next) and not st.running
      if due and max_workers == 0 then
        local report, rerr, partial = self:_rotate(target)
        finish(target, report or partial, rerr, true)
        now = self.clock()
      elseif due and #running < max_workers then
        -- Targets that share a client share its token: when it must be
        -- fetched, one worker fetches only it, and the targets wait for it
        -- (so a slow target cannot hold the others' token hostage).
        local client, cerr = self:_client(target.o)
        local state = client and client:_token_state()
        if not client then
          finish(target, nil, cerr, false)
        elseif state ~= "fresh" and not target.o.instance_name and not target.o.endpoint then
          -- The token itself is this target's password: its worker gets a new one anyway.
          self:_start(running, target, client)
        elseif state ~= "fresh" then
          if not fetching[client] then
            local w, serr = self:_spawn_token(client)
            if w then
              local job = { w = w, client = client, started = core.monotonic(), budget = budget_of(target.o),
                            waiting = {} }
              running[#running + 1] = job
              fetching[client] = job
            else
              finish(target, nil, serr, false)
            end
          end
          if fetching[client] then fetching[client].waiting[target] = true end
        else
          self:_start(running, target, client)
        end
      end
      if core.stop_requested() then break end
    end
    -- Wait for a worker, the next due time, a signal, or the slice.
    local next_at, mono_due
    for _, target in ipairs(self.targets) do
      local st = target.state
      if not st.running then
        next_at = (not next_at or st.next_at < next_at) and st.next_at or next_at
        mono_due = (not mono_due or st.mono_next < mono_due) and st.mono_next or mono_due
      end
    end
    if not ready and #running == 0 then
      ready = true
      if config_failures == #self.targets then
        core.sd_notify("STATUS=configuration error")
        self.log:error("stopping: the configuration cannot work as given")
        return 2
      end
      notify("READY=1")
    end
    -- systemd's watchdog runs once the service is up (READY=1); pings go
    -- on while workers rotate, so a slow target never trips it.
    if wd > 0 and ready then notify("WATCHDOG=1") end
    local wait = slice
    if next_at then wait = math.min(wait, math.max(0, next_at - self.clock()), math.max(0, mono_due - core.monotonic())) end
    if core.stop_requested() then break end
    if #running > 0 then
      local ws = {}
      for i, job in ipairs(running) do
        ws[i] = job.w
        wait = math.min(wait, math.max(0, job.started + job.budget - core.monotonic()))
      end
      core.worker_wait(ws, math.max(0.01, wait))
      local still = {}
      for _, job in ipairs(running) do
        if job.w.done and job.client then
          local _, terr = self:_collect(job)
          -- The token is the client's now; a failure is each waiting target's.
          if terr then
            for target in pairs(job.waiting) do
              if self:_configured(target) then finish(target, nil, terr, false) end
            end
          end
        elseif job.w.done then
          job.target.state.running = false
          local report, rerr = self:_collect(job)
          -- A worker that ended without recording (killed) is recorded here.
          if self:_configured(job.target) then finish(job.target, report, rerr, job.w.status == 0 and not job.killed) end
        else
          if core.monotonic() > job.started + job.budget and not job.killed then
            job.killed = true
            job.w:kill(9)
          end
          still[#still + 1] = job
        end
      end
      running = still
    elseif self.clock == core.now and next_at then
      core.sleep_until(next_at, math.max(0.01, wait))
    else
      core.sleep(math.max(0.01, wait))
    end
  end
  -- Stop: the workers get SIGTERM (their transfers end at once) and a
  -- moment to write what they hold; then they are killed.
  local sig = core.stop_requested()
  local deadline = core.monotonic() + 2
  for _, job in ipairs(running) do job.w:kill(15) end
  while #running > 0 and core.monotonic() < deadline do
    local ws = {}
    for i, job in ipairs(running) do ws[i] = job.w end
    core.request_stop(0)
    core.worker_wait(ws, 0.1)
    local still = {}
    for _, job in ipairs(running) do
      if not job.w.done then still[#still + 1] = job end
    end
    running = still
  end
  for _, job in ipairs(running) do job.w:kill(9) end
  core.request_stop(sig)
  notify("STOPPING=1")
  self.log:info("stopping (%s)", sig == 2 and "SIGINT" or sig == 15 and "SIGTERM" or "stop requested")
  self.log:close()
  return 0
end

-- Whether `target` (the object) is still configured (a reload may have
-- replaced it by another of the same name, which keeps the state).
function Rotator:_configured(target)
  for _, t in ipairs(self.targets) do
    if t == target or t.name == target.name then
      if t ~= target then t.state = target.state end
      return true
    end
  end
  return false
end

return Rotator
