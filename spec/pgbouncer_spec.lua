-- The credential agent with real consumers: a real pgbouncer (Debian's
-- package, started on loopback by this spec and stopped by PID) that
-- authenticates a client through the auth_file the rotator writes, after
-- the RELOAD the rotator's --on-rotate hook sends it, rotation after
-- rotation; and databricks-oauth-psql running a query against a real
-- PostgreSQL with a fresh credential and nothing written to disk.
--
-- pgbouncer refuses to run as root, so as root (CI) it runs as the postgres
-- user, and so does the rotator feeding it: its auth_file is private to the
-- user who writes it, as it must be.
local Sim = require "support.sim"
local PG = require "support.pg"
local h = require "support.helpers"
local cjson = require "cjson"

local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"
local PSQL = h.root .. "/bin/databricks-oauth-psql"

local function have(program)
  return h.sh("command -v " .. program) == 0
end

local function is_root()
  local _, out = h.sh("id -u")
  return out:match("^0") ~= nil
end

describe("real consumers", function()
  local sim, pg

  setup(function()
    pg = PG.start()
    pg:sql("CREATE DATABASE databricks_postgres")
    sim = Sim.start()
  end)
  teardown(function()
    if sim then sim:stop() end
    if pg then pg:stop() end
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    -- The simulator makes each credential it issues the PostgreSQL password
    -- of the caller's role. Its credentials are 1000-1100 bytes like real
    -- ones; Debian 12's pgbouncer 1.18 fails every login with a password
    -- over 1024 bytes (measured: SCRAM clients refused, md5 clients crash
    -- its server login), so the pgbouncer case asks for 1000-byte ones.
    sim:config{ pg = { admin = pg.admin_argv, password_from = "credential" }, credential_length = 1000 }
  end)

  it("pgbouncer authenticates a client through the rotated auth_file after the hook's RELOAD, rotation after rotation",
    function()
      if not have("pgbouncer") then
        pending("pgbouncer is not installed (spec/support/deps.sh test)")
        return
      end
      -- A folder the pgbouncer user (postgres when we are root) owns.
      local _, out = h.sh("mktemp -d /tmp/dbx-pgb.XXXXXX")
      local dir = out:gsub("%s+$", "")
      local as = {}
      if is_root() then
        assert(os.execute("chown postgres " .. h.quote(dir)))
        as = { "runuser", "-u", "postgres", "--" }
      end
      local function cleanup()
        local pid = tonumber(h.read_file(dir .. "/pgbouncer.pid") or "")
        if pid then h.stop(pid) end
        os.execute("rm -rf " .. h.quote(dir))
      end
      local ok, err = pcall(function()
        local port = h.free_port()
        local function put(name, text, mode)
          h.write_file(dir .. "/" .. name, text, mode)
          if is_root() then assert(os.execute("chown postgres " .. h.quote(dir .. "/" .. name))) end
        end
        put("ca.pem", h.read_file(sim.ca_file), 420)
        put("secret", sim.client_secret .. "\n", 384)
        -- pgbouncer's own admin, a line the rotator must keep byte for byte.
        put("userlist.txt", '; pgbouncer users\n"pgbadmin" "admin-pw"\n"appclient" "app-pw"\n', 384)
        put("pgbouncer.ini", table.concat({
          "[databases]",
          "databricks_postgres = host=127.0.0.1 port=" .. pg.port .. " dbname=databricks_postgres",
          -- The README's recipe: clients log in as themselves, the pool logs
          -- in to the server as the Lakebase user with the rotated token.
          "orders = host=127.0.0.1 port=" .. pg.port .. " dbname=databricks_postgres user=" .. sim.client_id,
          "[pgbouncer]",
          "listen_addr = 127.0.0.1", "listen_port = " .. port, "unix_socket_dir =",
          "auth_type = scram-sha-256", "auth_file = " .. dir .. "/userlist.txt", "admin_users = pgbadmin",
          "pidfile = " .. dir .. "/pgbouncer.pid", "logfile = " .. dir .. "/pgbouncer.log",
          "pool_mode = session", "server_tls_sslmode = disable", "",
        }, "\n"), 384)
        local started = {}
        for _, a in ipairs(as) do started[#started + 1] = a end
        for _, a in ipairs({ "pgbouncer", "-d", dir .. "/pgbouncer.ini" }) do started[#started + 1] = a end
        local r = h.run(started, { home = dir })
        assert.are.equal(0, r.code, r.stdout .. r.stderr .. (h.read_file(dir .. "/pgbouncer.log") or ""))
        assert.is_truthy(h.wait_for(function() return h.read_file(dir .. "/pgbouncer.pid") end, 10))

        local reload = string.format("PGPASSWORD=admin-pw psql -X -q -h 127.0.0.1 -p %d -U pgbadmin pgbouncer -c RELOAD",
          port)
        local function rotate()
          local argv = {}
          for _, a in ipairs(as) do argv[#argv + 1] = a end
          for _, a in ipairs({ "env", "-i", "PATH=/usr/bin:/bin", "HOME=" .. dir, h.lua, ROTATOR, "--once",
                               "--workspace-url", sim.url, "--ca-bundle", dir .. "/ca.pem",
                               "--client-id", sim.client_id, "--client-secret-file", dir .. "/secret",
                               "--instance-name", sim.instance, "--pg-port", tostring(pg.port),
                               "--output", "pgbouncer:" .. dir .. "/userlist.txt",
                               "--output", "json:" .. dir .. "/db.json",
                               "--on-rotate", reload,
                               "--log-file", dir .. "/rotator.log", "--status-file", dir .. "/status.json" }) do
            argv[#argv + 1] = a
          end
          return h.run(argv, { home = dir, timeout = 60 })
        end
        local function login(password)
          return h.run({ "psql", "-X", "-qAt", "-h", "127.0.0.1", "-p", tostring(port), "-U", sim.client_id,
                         "-d", "databricks_postgres", "-c", "select current_user" },
            { env = { PGPASSWORD = password, PGCONNECT_TIMEOUT = "10" }, timeout = 30 })
        end

        local previous
        for round = 1, 2 do
          r = rotate()
          assert.are.equal(0, r.code, r.stderr .. (h.read_file(dir .. "/rotator.log") or ""))
          assert.matches("on%-rotate command exited 0", h.read_file(dir .. "/rotator.log"))
          local doc = cjson.decode(h.read_file(dir .. "/db.json"))
          local text = h.read_file(dir .. "/userlist.txt")
          assert.matches('^; pgbouncer users\n"pgbadmin" "admin%-pw"\n"appclient" "app%-pw"\n', text)
          assert.matches('"' .. sim.client_id:gsub("%-", "%%-") .. '" "' .. doc.password:gsub("%p", "%%%0") .. '"\n',
            text)
          local lr = login(doc.password)
          assert.are.equal(0, lr.code, string.format("round %d (password of %d bytes): %s%s", round, #doc.password,
            lr.stderr, h.read_file(dir .. "/pgbouncer.log") or ""))
          assert.are.equal(sim.client_id, (lr.stdout:gsub("%s+$", "")))
          if previous then
            -- The old password is refused by pgbouncer once it has reloaded.
            assert.are_not.equal(0, login(previous).code)
          end
          previous = doc.password
          h.note_secrets({ doc.password })
          if round == 1 then
            local fr = h.run({ "psql", "-X", "-qAt", "-h", "127.0.0.1", "-p", tostring(port), "-U", "appclient",
                               "-d", "orders", "-c", "select current_user" },
              { env = { PGPASSWORD = "app-pw", PGCONNECT_TIMEOUT = "10" }, timeout = 30 })
            assert.are.equal(0, fr.code, fr.stderr .. (h.read_file(dir .. "/pgbouncer.log") or ""))
            assert.are.equal(sim.client_id, (fr.stdout:gsub("%s+$", "")))
          end
        end
      end)
      cleanup()
      if not ok then error(err, 0) end
    end)

  it("databricks-oauth-psql runs psql with a fresh credential, writes nothing and passes psql's exit status", function()
    local home = h.tmpdir("psql")
    local env = { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret }
    local argv = { PSQL, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file, "--instance-name", sim.instance,
                   "--pg-port", tostring(pg.port), "--", "-X", "-qAt", "-c",
                   "select current_user || '|' || ssl from pg_stat_ssl where pid = pg_backend_pid()" }
    local r = h.run(argv, { home = home, env = env })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(sim.client_id .. "|true\n", r.stdout, "logged in as the caller, over TLS")
    -- Nothing on disk: no .pgpass, no log, no status file in HOME.
    local _, files = h.sh("find " .. h.quote(home) .. " -mindepth 1")
    assert.are.equal("", files)
    -- psql's own failure is the command's exit status (real psql: 1 for a
    -- failed statement; a stand-in shows any status passes through).
    r = h.run({ PSQL, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file, "--instance-name", sim.instance,
                "--pg-port", tostring(pg.port), "--", "-X", "-v", "ON_ERROR_STOP=1", "-c", "select no_such_column" },
      { home = home, env = env })
    assert.are.equal(1, r.code, r.stderr)
    assert.matches('column "no_such_column" does not exist', r.stderr)
    local other = h.tmpdir("psql-other")
    h.write_script(other .. "/psql", "exit 7")
    r = h.run({ PSQL, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file, "--instance-name", sim.instance,
                "--psql", other .. "/psql" }, { home = home, env = env })
    assert.are.equal(7, r.code, r.stderr)
    h.note_secrets({ sim.client_secret })
  end)

  it("databricks-oauth-psql reports a missing credential with exit 1 and runs no psql", function()
    local home = h.tmpdir("psql")
    sim:fault{ path = "^/api/2%.0/database/credentials$", status = 403, count = -1 }
    local r = h.run({ PSQL, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file, "--instance-name", sim.instance,
                      "--psql", "/bin/false-never-run" },
      { home = home, env = { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret } })
    assert.are.equal(1, r.code)
    assert.matches("no credential", r.stderr)
  end)
end)
