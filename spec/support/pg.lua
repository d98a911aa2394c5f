-- A throw-away real PostgreSQL 15 for the specs that need one (libpq reading
-- our .pgpass, the demo). Plain Lua 5.4 + lua-socket: no busted, no code
-- under test.
--
--   local PG = require "support.pg"
--   local pg = PG.start()              -- or: local pg <close> = PG.start()
--   pg:create_role("a.b@example.com", "s3cret")
--   local code, out = pg:psql_login{ user = "a.b@example.com", pgpassfile = path }
--   pg:stop()
--
-- What it does: `mktemp -d /tmp/dbx-pg.XXXXXX` (always under /tmp: the
-- spec's TMPDIR may not be traversable by the postgres user), owned by
-- postgres, mode 0700; initdb as postgres (`runuser -u postgres --`) with
-- local trust and host scram-sha-256; a postmaster listening on 127.0.0.1 at a
-- port the kernel picked (retried on a collision) with its Unix socket in
-- that folder, TLS with a throw-away self-signed certificate, scram-sha-256
-- password hashing and fsync off.
--
-- Cost (2-core Debian 12 VM): start ~1.5 s (initdb ~1.3 s with --no-sync,
-- pg_ctl start ~0.2 s), stop ~0.2 s, ~40 MB in /tmp while it runs. Start one
-- per spec file (setup/teardown), not one per test.
--
-- Every command runs with a scrubbed environment (env -i) and a time limit;
-- stop() stops only the postmaster of its own data folder, then removes the
-- folder; it is idempotent and also runs on `<close>` and garbage collection.
local socket = require "socket"
local helpers = require "support.helpers"
local quote, join, slurp = helpers.quote, helpers.join, helpers.read_file

local PG = {}
PG.__index = PG

-- The newest installed server binaries (Debian: /usr/lib/postgresql/<major>/bin).
local function find_bin()
  local p = io.popen("ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1")
  local dir = p and p:read("l")
  if p then p:close() end
  return dir ~= "" and dir or "/usr/lib/postgresql/15/bin"
end
PG.bin = os.getenv("DBX_PG_BIN") or find_bin()

-- initdb refuses root: as root the server runs as the `postgres` user; as
-- anyone else it runs as that user (the demo works without root too).
local function is_root()
  local p = io.popen("id -u")
  local uid = p and p:read("l")
  if p then p:close() end
  return uid == "0"
end
local AS_ROOT = is_root()
local PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
local START_TIMEOUT = 30 -- seconds pg_ctl waits for the server
local PORT_TRIES = 5




local function spit(path, data, mode)
  local f = assert(io.open(path, mode or "wb"))
  f:write(data)
  f:close()
end

local function sh_ok(cmd)
  return os.execute(cmd .. " >/dev/null 2>&1") == true
end

-- Runs argv in `dir` (used for the captured output) with only the given
-- environment; returns exit code, stdout, stderr.
local function run(dir, argv, opts)
  opts = opts or {}
  local env = { "env", "-i", "PATH=" .. PATH }
  local keys = {}
  for k in pairs(opts.env or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do env[#env + 1] = k .. "=" .. opts.env[k] end
  local out, err, inp = dir .. "/.out", dir .. "/.err", dir .. "/.in"
  spit(inp, opts.stdin or "")
  local cmd = string.format("cd %s && %s timeout -k 5 %d %s <%s >%s 2>%s",
    quote(opts.cwd or dir), join(env), opts.timeout or 60, join(argv), quote(inp), quote(out), quote(err))
  local _, _, code = os.execute(cmd)
  local o, e = slurp(out) or "", slurp(err) or ""
  os.remove(inp); os.remove(out); os.remove(err)
  return code, o, e
end

-- A port nobody listens on right now (the kernel's choice for port 0).
local function free_port()
  local s = assert(socket.tcp())
  assert(s:bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return assert(tonumber(port))
end

-- A zombie counts as gone: in containers PID 1 may never reap the
-- daemonised postmaster after it exits.
local function alive(pid)
  if not pid or not sh_ok("kill -0 " .. pid) then return false end
  local stat = slurp("/proc/" .. pid .. "/stat")
  if not stat then return true end -- no procfs (macOS): trust kill -0
  return stat:match("^%d+ %b() (%a)") ~= "Z"
end
PG.alive = alive

--- SQL quoting (standard_conforming_strings on, which the fixture sets).
function PG.ident(s)
  assert(not s:find("\0", 1, true), "identifier with a NUL byte")
  return '"' .. s:gsub('"', '""') .. '"'
end

function PG.literal(s)
  assert(not s:find("\0", 1, true), "literal with a NUL byte")
  return "'" .. s:gsub("'", "''") .. "'"
end

local function as_postgres(argv)
  if not AS_ROOT then return argv end
  local out = { "runuser", "-u", "postgres", "--" }
  for _, a in ipairs(argv) do out[#out + 1] = a end
  return out
end

--- Starts a fresh cluster; raises (after cleaning up) when it cannot.
-- @return the fixture: `host`, `port`, `socket_dir`, `pid`, `admin_argv`,
--   `dir` (the folder removed by stop), `data_dir`
function PG.start()
  local p = io.popen("mktemp -d /tmp/dbx-pg.XXXXXX")
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "support.pg: mktemp failed")
  local self = setmetatable({ dir = dir, data_dir = dir .. "/data", socket_dir = dir,
    host = "127.0.0.1", log = dir .. "/postgres.log", home = dir .. "/home" }, PG)
  local ok, err = pcall(function()
    assert(not AS_ROOT or sh_ok("chown postgres:postgres " .. quote(dir) .. " && chmod 0700 " .. quote(dir)),
      "support.pg: cannot chown " .. dir .. " to postgres")
    assert(sh_ok("mkdir -m 0700 " .. quote(self.home)))
    local code, out, errout = run(dir, as_postgres {
      PG.bin .. "/initdb", "-D", self.data_dir, "-U", "postgres", "--auth-local=trust",
      "--auth-host=scram-sha-256", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C",
    }, { env = { LANG = "C" }, timeout = 120 })
    assert(code == 0, "support.pg: initdb failed: " .. out .. errout)
    -- TLS too (a throw-away self-signed certificate), as Lakebase requires
    -- it and databricks-oauth-psql sets PGSSLMODE=require.
    code, out, errout = run(dir, as_postgres {
      "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
      "-keyout", self.data_dir .. "/server.key", "-out", self.data_dir .. "/server.crt",
    }, { env = { LANG = "C", RANDFILE = "/dev/null" }, timeout = 60 })
    assert(code == 0, "support.pg: cannot make a server certificate: " .. out .. errout)
    spit(self.data_dir .. "/postgresql.conf", table.concat({
      "",
      "# support.pg",
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = '" .. dir .. "'",
      "password_encryption = 'scram-sha-256'",
      "standard_conforming_strings = on",
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = off",
      "max_connections = 30",
      "shared_buffers = 16MB",
      "ssl = on",
      "",
    }, "\n"), "ab")
    for try = 1, PORT_TRIES do
      self.port = free_port()
      code, out, errout = run(dir, as_postgres {
        PG.bin .. "/pg_ctl", "-D", self.data_dir, "-l", self.log, "-w", "-t", tostring(START_TIMEOUT),
        "-o", "-p " .. self.port, "start",
      }, { env = { LANG = "C" }, timeout = START_TIMEOUT + 10 })
      if code == 0 then break end
      local log = slurp(self.log) or ""
      if try == PORT_TRIES or not (log:find("could not bind", 1, true) or log:find("already in use", 1, true)) then
        error("support.pg: pg_ctl start failed: " .. out .. errout .. "\n" .. log:sub(-2000))
      end
    end
    local pidfile = slurp(self.data_dir .. "/postmaster.pid") or ""
    self.pid = assert(tonumber(pidfile:match("^(%d+)")), "support.pg: no postmaster.pid")
    self.admin_argv = as_postgres { "psql", "-X", "-h", self.socket_dir, "-U", "postgres",
      "-p", tostring(self.port), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt" }
  end)
  if not ok then
    self:stop()
    error(err, 2)
  end
  return self
end

--- Runs SQL as the superuser (fed on stdin, so secrets stay off the process
-- list); returns psql's output, raises on failure.
function PG:sql(statement)
  local code, out, err = run(self.dir, self.admin_argv, { stdin = statement, env = { LANG = "C" } })
  if code ~= 0 then
    error(string.format("support.pg: SQL failed (exit %s): %s", tostring(code), err), 2)
  end
  return out
end

--- Creates a LOGIN role with a SCRAM-SHA-256 password; names may be e-mails.
function PG:create_role(name, password)
  self:sql(string.format("SET password_encryption = 'scram-sha-256';\nCREATE ROLE %s LOGIN PASSWORD %s;\n",
    PG.ident(name), PG.literal(password)))
end

--- Logs in over TCP with psql the way a user would: no PGPASSWORD, `-w` so
-- it never prompts, an environment holding only PATH, HOME and PGPASSFILE.
-- @tparam table o `user`, `database` (default "postgres"), `pgpassfile`
--   (optional: without it libpq reads HOME/.pgpass), `home` (default: a
--   folder of the fixture)
-- @return exit code, stdout, stderr
function PG:psql_login(o)
  local env = { HOME = o.home or self.home, PGPASSFILE = o.pgpassfile }
  return run(self.dir, { "psql", "-X", "-h", "127.0.0.1", "-p", tostring(self.port), "-U", o.user,
    "-d", o.database or "postgres", "-w", "-qAt", "-c", "select current_user" }, { env = env, timeout = 30 })
end

--- Stops the postmaster of this fixture (fast shutdown) and removes its
-- folder. Idempotent.
function PG:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid and alive(self.pid) then
    run(self.dir, as_postgres { PG.bin .. "/pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "-t", "30", "stop" },
      { env = { LANG = "C" }, timeout = 40 })
    -- Still there (pg_ctl failed)? Kill it, but only if it is our postmaster.
    local cmdline = slurp("/proc/" .. self.pid .. "/cmdline") or ""
    if alive(self.pid) and cmdline:find(self.data_dir, 1, true) then
      sh_ok("kill -KILL " .. self.pid)
    end
  end
  if self.dir:match("^/tmp/dbx%-pg%.[%w]+$") then
    sh_ok("rm -rf " .. quote(self.dir))
  end
end

PG.__close = PG.stop
PG.__gc = function(self) pcall(PG.stop, self) end

return PG
