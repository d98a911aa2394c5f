-- The rotator as a credential agent (DESIGN.md §8): outputs of every kind,
-- --on-rotate hooks, --config with many targets, endpoint and instance
-- look-ups, per-target status, SIGHUP reloads, and the trust rules that
-- concern the rotator's process (SIGPIPE, SIGHUP, core dumps, the
-- credentials file, children's environments, the CA bundle).
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"

describe("credential agent", function()
  local sim, dir

  setup(function() sim = Sim.start() end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    dir = h.tmpdir("agent")
  end)
  after_each(function()
    local t = { sim.client_secret }
    for _, tok in ipairs(sim:tokens()) do t[#t + 1] = tok.token end
    h.note_secrets(t)
  end)

  local function m2m_env(extra)
    local env = { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret,
                  DATABRICKS_HOST = sim.url }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  local function run(args, env, opts)
    opts = opts or {}
    local argv = { ROTATOR, "--ca-bundle", sim.ca_file, "--log-file", dir .. "/rotator.log",
                   "--status-file", dir .. "/status.json" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    opts.env = env or m2m_env()
    opts.home = opts.home or dir
    return h.run(argv, opts)
  end

  local function last_credential()
    local cred = sim:tokens("credential")
    return cred[#cred].token
  end

  describe("outputs", function()
    it("writes one credential as pgpass, pgbouncer, env and json, each 0600", function()
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "app@example.com",
                      "--output", "pgpass:" .. dir .. "/pgpass", "--output", "pgbouncer:" .. dir .. "/userlist.txt",
                      "--output", "env:" .. dir .. "/db.env", "--output", "json:" .. dir .. "/db.json" })
      assert.are.equal(0, r.code, r.stderr)
      local token = last_credential()
      assert.are.equal("127.0.0.1:5432:databricks_postgres:app@example.com:" .. token .. "\n",
        h.read_file(dir .. "/pgpass"))
      assert.are.equal('"app@example.com" "' .. token .. '"\n', h.read_file(dir .. "/userlist.txt"))
      assert.are.equal(table.concat({ "PGHOST='127.0.0.1'", "PGPORT='5432'", "PGDATABASE='databricks_postgres'",
        "PGUSER='app@example.com'", "PGPASSWORD='" .. token .. "'", "PGSSLMODE='require'", "" }, "\n"),
        h.read_file(dir .. "/db.env"))
      local doc = cjson.decode(h.read_file(dir .. "/db.json"))
      assert.are.same({ "127.0.0.1", 5432, "databricks_postgres", "app@example.com", token },
        { doc.host, doc.port, doc.database, doc.user, doc.password })
      assert.is_true(doc.expires_at > os.time())
      for _, f in ipairs({ "pgpass", "userlist.txt", "db.env", "db.json" }) do
        assert.are.equal(384, h.mode(dir .. "/" .. f), f)
      end
    end)

    it("replaces only this user's line of a pgbouncer auth_file, keeping every other byte", function()
      local before = '; pgbouncer users\r\n"admin" "md5abc"\r\n"app@example.com" "old"  ; trailing\r\n"z" "q"'
      h.write_file(dir .. "/userlist.txt", before, 384)
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "app@example.com",
                      "--output", "pgbouncer:" .. dir .. "/userlist.txt" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(before:gsub('"old"', '"' .. last_credential() .. '"'), h.read_file(dir .. "/userlist.txt"))
    end)

    it("leaves the other outputs' new content valid when one fails, and exits 1 naming it", function()
      -- A file that passes the checks made before rotating but cannot be
      -- rewritten: larger than any credential file may be (sparse: instant).
      h.write_file(dir .. "/huge.json", "", 384)
      os.execute("truncate -s 65M " .. h.quote(dir .. "/huge.json"))
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "json:" .. dir .. "/huge.json", "--output", "pgpass:" .. dir .. "/pgpass" })
      assert.are.equal(1, r.code, r.stderr)
      assert.matches("huge%.json", r.stderr)
      assert.matches(last_credential():gsub("%p", "%%%0"), h.read_file(dir .. "/pgpass"))
    end)

    it("refuses an explicit path in a folder that does not exist (exit 2, naming the folder), changing nothing",
      function()
      local missing = dir .. "/no-such-folder"
      for _, case in ipairs({
        { { "--output", "env:" .. missing .. "/db.env" }, nil, "%-%-output" },
        { { "--pgpass-file", missing .. "/pgpass" }, nil, "%-%-pgpass%-file" },
        { {}, { PGPASSFILE = missing .. "/pgpass" }, "%-%-pgpass%-file" },
        { { "--output", "pgpass:" .. dir .. "/pgpass", "--log-file", missing .. "/r.log" }, nil, "%-%-log%-file" },
      }) do
        local argv = { "--once", "--instance-name", sim.instance, "--pg-username", "u" }
        for _, a in ipairs(case[1]) do argv[#argv + 1] = a end
        local r = run(argv, m2m_env(case[2]))
        assert.are.equal(2, r.code, r.stderr)
        assert.matches(case[3] .. ": the folder " .. missing:gsub("%p", "%%%0") .. " of .* does not exist: create it",
          r.stderr)
        assert.is_false(h.exists(missing))
      end
      assert.are.equal(0, #sim:requests("/api/2.0/database/credentials"))
    end)

    it("writes nothing when the credential cannot be obtained", function()
      sim:fault{ path = "^/api/2%.0/database/credentials$", status = 403, count = -1 }
      h.write_file(dir .. "/db.env", "PGPASSWORD='old'\n", 384)
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "env:" .. dir .. "/db.env", "--output", "json:" .. dir .. "/db.json" })
      assert.are.equal(1, r.code)
      assert.are.equal("PGPASSWORD='old'\n", h.read_file(dir .. "/db.env"))
      assert.is_false(h.exists(dir .. "/db.json"))
    end)

    it("refuses an unknown output kind with exit 2", function()
      local r = run({ "--once", "--pg-host", "h", "--output", "yaml:" .. dir .. "/x" })
      assert.are.equal(2, r.code)
      assert.matches("%-%-output has an unknown kind 'yaml'", r.stderr)
    end)
  end)

  describe("Lakebase resources", function()
    it("takes an endpoint's host from the API when --pg-host is not given, and asks for --ttl", function()
      local r = run({ "--once", "--endpoint", sim.endpoint, "--ttl", "900", "--pg-username", "u",
                      "--output", "json:" .. dir .. "/db.json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(1, #sim:requests{ method = "GET", path = "^/api/2%.0/postgres/projects/" })
      local posted = sim:requests{ method = "POST", path = "^/api/2%.0/postgres/credentials$" }
      assert.are.equal("900s", cjson.decode(posted[1].body).ttl)
      assert.are.equal("127.0.0.1", cjson.decode(h.read_file(dir .. "/db.json")).host)
    end)

    it("reports a stopped instance clearly and still writes the credential", function()
      sim:config{ instances = { [sim.instance] = { read_write_dns = "127.0.0.1", state = "STOPPED" } } }
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "pgpass:" .. dir .. "/pgpass" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("Lakebase instance " .. sim.instance:gsub("%-", "%%-") .. " is stopped", r.stderr)
      assert.is_truthy(h.read_file(dir .. "/pgpass"))
    end)

    it("reports an idle endpoint as waking up", function()
      sim:config{ endpoints = { [sim.endpoint] = { host = "127.0.0.1", state = "IDLE" } } }
      local r = run({ "--once", "--endpoint", sim.endpoint, "--pg-username", "u",
                      "--output", "pgpass:" .. dir .. "/pgpass" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("is idle: waking up", r.stderr)
    end)
  end)

  describe("--on-rotate", function()
    it("runs after a rotation with DBX_TARGET, DBX_OUTPUTS and DBX_EXPIRES_AT, and no secret in its environment", function()
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "pgpass:" .. dir .. "/pgpass", "--output", "env:" .. dir .. "/db.env",
                      "--on-rotate", "env > " .. h.quote(dir .. "/hook.env") })
      assert.are.equal(0, r.code, r.stderr)
      local env = h.read_file(dir .. "/hook.env")
      assert.matches("\nDBX_TARGET=default\n", "\n" .. env)
      assert.matches("DBX_OUTPUTS=" .. (dir .. "/pgpass " .. dir .. "/db.env"):gsub("%p", "%%%0") .. "\n", env)
      local exp = tonumber(env:match("DBX_EXPIRES_AT=(%d+)"))
      assert.is_true(exp > os.time())
      assert.is_nil(env:find("DATABRICKS_CLIENT_SECRET", 1, true))
      assert.is_nil(env:find(sim.client_secret, 1, true))
      assert.is_nil(env:find(last_credential(), 1, true))
      assert.matches("on%-rotate command exited 0", h.read_file(dir .. "/rotator.log"))
    end)

    it("logs a failing command's status and first stderr line, changing no output and failing nothing", function()
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "pgpass:" .. dir .. "/pgpass",
                      "--on-rotate", "echo 'reload refused' >&2; exit 3" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("on%-rotate command exited 3 in [%d.]+ s: reload refused", h.read_file(dir .. "/rotator.log"))
      assert.matches(last_credential():gsub("%p", "%%%0"), h.read_file(dir .. "/pgpass"))
    end)

    it("kills a command that outlives its time limit", function()
      local script = string.format([[
        local Rotator = require "databricks.rotator"
        local r = assert(Rotator.new{ workspace_url = %q, ca_bundle = %q, client_id = %q, client_secret = %q,
          instance_name = %q, pg_username = "u", output = { "pgpass:" .. %q }, on_rotate = { "sleep 30" },
          hook_timeout = 1, log_file = %q, status_file = %q, stderr = false })
        local t0 = require("databricks.core").monotonic()
        local report = assert(r:run_once())
        print(string.format("took %%.1f", require("databricks.core").monotonic() - t0))
      ]], sim.url, sim.ca_file, sim.client_id, sim.client_secret, sim.instance, dir .. "/pgpass",
        dir .. "/rotator.log", dir .. "/status.json")
      local r = h.run({ h.lua, "-e", "package.path = " .. string.format("%q", h.root .. "/lua/?.lua;" .. h.root
        .. "/lua/?/init.lua;") .. " .. package.path; package.cpath = " .. string.format("%q", h.root .. "/"
        .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;") .. " .. package.cpath " .. script }, { home = dir })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_true(tonumber(r.stdout:match("took ([%d.]+)")) < 10, r.stdout)
      assert.matches("on%-rotate command failed: timeout error", h.read_file(dir .. "/rotator.log"))
    end)
  end)

  describe("--check", function()
    local function nothing_written()
      for _, f in ipairs({ "pgpass", "rotator.log", "status.json", "db.env" }) do
        assert.is_false(h.exists(dir .. "/" .. f), f .. " was written")
      end
    end

    it("says which source and why, which files with which modes, tries both APIs, and writes nothing", function()
      local r = run({ "--check", "--instance-name", sim.instance, "--pg-username", "u",
                      "--output", "pgpass:" .. dir .. "/pgpass", "--output", "env:" .. dir .. "/db.env" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("token source +m2m %(a client id and a client secret are set", r.stdout)
      assert.matches("pgpass +" .. (dir .. "/pgpass"):gsub("%p", "%%%0") .. ": will be created, mode 0600", r.stdout)
      assert.matches("env +" .. (dir .. "/db.env"):gsub("%p", "%%%0") .. ": will be created, mode 0600", r.stdout)
      assert.matches("token endpoint +ok", r.stdout)
      assert.matches("credential API +ok +instance " .. sim.instance:gsub("%p", "%%%0") .. ": a credential for u@",
        r.stdout)
      assert.matches("A rotation would succeed%.", r.stdout)
      assert.are.equal(1, #sim:requests("/api/2.0/database/credentials"))
      nothing_written()
      assert.is_nil(r.stdout:find(last_credential(), 1, true), "the credential is never shown")
    end)

    it("exits 1 naming the failing step, and reports a file it would refuse", function()
      h.write_file(dir .. "/theirs", "x\n", 384)
      os.execute("chown nobody " .. h.quote(dir .. "/theirs"))
      local r = run({ "--check", "--instance-name", "no-such-instance", "--pg-username", "u",
                      "--output", "json:" .. dir .. "/theirs" })
      assert.are.equal(1, r.code, r.stdout .. r.stderr)
      assert.matches("json +" .. (dir .. "/theirs"):gsub("%p", "%%%0") .. ": REFUSED: refusing to write", r.stdout)
      assert.matches("credential API +FAIL +.*RESOURCE_DOES_NOT_EXIST", r.stdout)
      assert.matches("A rotation would fail", r.stdout)
      assert.are.equal("x\n", h.read_file(dir .. "/theirs"))
    end)

    it("--json gives the same report as one object", function()
      local r = run({ "--check", "--json", "--instance-name", sim.instance, "--pg-username", "u",
                      "--pgpass-file", dir .. "/pgpass" })
      assert.are.equal(0, r.code, r.stderr)
      local doc = cjson.decode(r.stdout)
      assert.is_true(doc.ok)
      assert.are.equal("m2m", doc.targets[1].source)
      assert.are.same({ "token endpoint", "credential API" },
        { doc.targets[1].steps[1].step, doc.targets[1].steps[2].step })
      nothing_written()
    end)

    it("a failing token endpoint is a failed step, exit 1", function()
      sim:fault{ path = "^/oidc/v1/token$", status = 401, body = { error = "invalid_client" }, count = -1 }
      local r = run({ "--check", "--instance-name", sim.instance, "--pg-username", "u" })
      assert.are.equal(1, r.code)
      assert.matches("token endpoint +FAIL +.*invalid_client", r.stdout)
      nothing_written()
    end)
  end)

  describe("secretless token sources", function()
    it("--auth oidc --oidc-token-file: a Kubernetes-style projected token, no secret anywhere", function()
      local subject = sim:jwt()
      h.write_file(dir .. "/sa-token", subject .. "\n", 384)
      local r = run({ "--once", "--oidc-token-file", dir .. "/sa-token", "--client-id", sim.client_id,
                      "--instance-name", sim.instance, "--pgpass-file", dir .. "/pgpass" },
        { DATABRICKS_HOST = sim.url })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("source oidc", h.read_file(dir .. "/rotator.log"))
      assert.matches(last_credential():gsub("%p", "%%%0"), h.read_file(dir .. "/pgpass"))
      local log = h.read_file(dir .. "/rotator.log") .. r.stderr .. r.stdout
      assert.is_nil(log:find(subject, 1, true), "the subject token is never logged")
      h.note_secrets({ subject })
    end)

    it("--auth oidc reads the token from DATABRICKS_OIDC_TOKEN by default, or the variable --oidc-token-env names",
      function()
      local subject = sim:jwt()
      local r = run({ "--once", "--auth", "oidc", "--instance-name", sim.instance, "--pgpass-file", dir .. "/a" },
        { DATABRICKS_HOST = sim.url, DATABRICKS_OIDC_TOKEN = subject })
      assert.are.equal(0, r.code, r.stderr)
      r = run({ "--once", "--auth", "oidc", "--oidc-token-env", "MY_ID_TOKEN", "--instance-name", sim.instance,
                "--pgpass-file", dir .. "/b" }, { DATABRICKS_HOST = sim.url, MY_ID_TOKEN = subject })
      assert.are.equal(0, r.code, r.stderr)
      h.note_secrets({ subject })
    end)

    it("--auth cli --profile runs databricks auth token --profile", function()
      local c = assert(require("databricks").connect{ host = sim.url, ca_bundle = sim.ca_file,
        auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local tok = assert(c:token())
      c:close()
      h.write_script(dir .. "/databricks", string.format([[
echo "$@" >> %s/cli.args
printf '{"access_token":"%s","token_type":"Bearer","expiry":"2099-01-01T00:00:00Z"}\n'
]], dir, tok))
      local r = run({ "--once", "--auth", "cli", "--profile", "staging", "--instance-name", sim.instance,
                      "--pgpass-file", dir .. "/pgpass" }, { DATABRICKS_HOST = sim.url, PATH = dir .. ":/usr/bin:/bin" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("auth token .*%-%-profile staging", h.read_file(dir .. "/cli.args"))
      h.note_secrets({ tok })
    end)
  end)

  describe("--config", function()
    local function write_config(text)
      h.write_file(dir .. "/agent.ini", text, 384)
      return dir .. "/agent.ini"
    end

    it("rotates every [target] with the [rotator] defaults, flags winning over [rotator]", function()
      local config = write_config(table.concat({
        "[rotator]",
        "workspace_url = https://wrong.invalid",
        "pg_username = app",
        "",
        "[target orders]",
        "instance_name = " .. sim.instance,
        "output = pgpass:" .. dir .. "/orders.pgpass",
        "output = json:" .. dir .. "/orders.json",
        "",
        "[target reports]",
        "endpoint = " .. sim.endpoint,
        "pg_username = reporter",
        "output = env:" .. dir .. "/reports.env",
        "",
      }, "\n"))
      local r = run({ "--once", "--config", config, "--workspace-url", sim.url })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches(":app:", h.read_file(dir .. "/orders.pgpass"))
      assert.are.equal("app", cjson.decode(h.read_file(dir .. "/orders.json")).user)
      assert.matches("PGUSER='reporter'", h.read_file(dir .. "/reports.env"))
      assert.are.equal(1, #sim:requests("^/oidc/v1/token$"), "one M2M token shared by both targets")
      local status = cjson.decode(h.read_file(dir .. "/status.json"))
      assert.are.equal("ok", status.targets.orders.last_result)
      assert.are.equal("ok", status.targets.reports.last_result)
    end)

    for _, case in ipairs({
      { "[rotator]\nbogus = 1\n", "line 2: unknown key 'bogus' in %[rotator%]" },
      { "[rotator]\npg_port = 99999\n", "line 2: pg_port must be a port number 1%-65535" },
      { "[somewhere]\nx = 1\n", "line 1: unknown section %[somewhere%]" },
      { "[target a]\nlog_file = /tmp/x\n", "line 2: 'log_file' belongs in %[rotator%]" },
      { "[target a]\n[target a]\n", "section %[target a%] appears twice" },
    }) do
      it("exits 2 naming the line: " .. case[2], function()
        local r = run({ "--once", "--config", write_config(case[1]) })
        assert.are.equal(2, r.code, r.stderr)
        assert.matches(case[2], r.stderr)
      end)
    end
  end)

  describe("the daemon", function()
    local daemons = {}
    after_each(function()
      for i = #daemons, 1, -1 do h.stop(daemons[i]); daemons[i] = nil end
    end)
    local function spawn(args, env)
      local argv = { ROTATOR, "--ca-bundle", sim.ca_file, "--log-file", dir .. "/rotator.log",
                     "--status-file", dir .. "/status.json" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local pid = h.spawn(argv, { home = dir, env = env or m2m_env(), log = dir .. "/daemon.out" })
      daemons[#daemons + 1] = pid
      return pid
    end
    local function log_count(pattern)
      local _, n = (h.read_file(dir .. "/rotator.log") or ""):gsub(pattern, "")
      return n
    end

    it("shows every target and its next rotation in the status file", function()
      h.write_file(dir .. "/agent.ini", table.concat({
        "[rotator]", "pg_username = app", "pg_host = 127.0.0.1",
        "[target a]", "output = pgpass:" .. dir .. "/a.pgpass",
        "[target b]", "output = pgpass:" .. dir .. "/b.pgpass", "" }, "\n"), 384)
      local pid = spawn{ "--config", dir .. "/agent.ini" }
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 2 end, 20),
        h.read_file(dir .. "/daemon.out"))
      h.stop(pid)
      local status = cjson.decode(h.read_file(dir .. "/status.json"))
      for _, name in ipairs({ "a", "b" }) do
        local t = status.targets[name]
        assert.are.equal("ok", t.last_result)
        assert.is_true(t.next_rotation_at > os.time() and t.next_rotation_at < t.expires_at)
      end
      assert.is_truthy(status.next_rotation_at)
    end)

    it("databricks-oauth-status --status-file reports on a rotator started by hand, target by target", function()
      h.write_file(dir .. "/agent.ini", table.concat({
        "[rotator]", "pg_username = app", "pg_host = 127.0.0.1",
        "[target alpha]", "output = pgpass:" .. dir .. "/a.pgpass",
        "[target beta]", "output = pgpass:" .. dir .. "/b.pgpass", "" }, "\n"), 384)
      local pid = spawn{ "--config", dir .. "/agent.ini" }
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 2 end, 20))
      local status = h.root .. "/bin/databricks-oauth-status"
      local r = h.run({ status, "--platform", "systemd", "--status-file", dir .. "/status.json" }, { home = dir })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("healthy", r.stdout)
      assert.matches("running, pid " .. pid .. "  %[started by hand", r.stdout)
      assert.matches("\n%s+alpha%s+ok%s+%d%d%d%d%-", r.stdout)
      assert.matches("\n%s+beta%s+ok%s+%d%d%d%d%-", r.stdout)
      r = h.run({ status, "--platform", "systemd", "--status-file", dir .. "/status.json", "--json" }, { home = dir })
      local doc = cjson.decode(r.stdout)
      assert.is_true(doc.by_hand and doc.healthy)
      assert.are.equal("ok", doc.status.targets.alpha.last_result)
      h.stop(pid)
      r = h.run({ status, "--platform", "systemd", "--status-file", dir .. "/status.json" }, { home = dir })
      assert.are.equal(1, r.code)
      assert.matches("UNHEALTHY", r.stdout)
    end)

    it("databricks-oauth-status --status-file calls a finished --once run healthy, a stopped daemon not", function()
      local r = run({ "--once", "--instance-name", sim.instance, "--pg-username", "app",
                      "--pgpass-file", dir .. "/pgpass" })
      assert.are.equal(0, r.code, r.stderr)
      local status = h.root .. "/bin/databricks-oauth-status"
      r = h.run({ status, "--platform", "systemd", "--status-file", dir .. "/status.json" }, { home = dir })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("healthy", r.stdout)
      assert.matches("finished %(a %-%-once run%)", r.stdout)
    end)

    it("never lets a slow target delay another", function()
      -- The endpoint's credential call hangs for 8 s; the instance's answers at once.
      sim:fault{ path = "^/api/2%.0/postgres/credentials$", delay = 8 }
      h.write_file(dir .. "/agent.ini", table.concat({
        "[rotator]", "pg_username = app",
        "[target slow]", "endpoint = " .. sim.endpoint, "output = pgpass:" .. dir .. "/slow.pgpass",
        "[target fast]", "instance_name = " .. sim.instance, "output = pgpass:" .. dir .. "/fast.pgpass",
        "" }, "\n"), 384)
      local t0 = h.now()
      local pid = spawn{ "--config", dir .. "/agent.ini" }
      assert.is_truthy(h.wait_for(function() return h.exists(dir .. "/fast.pgpass") end, 6),
        (h.read_file(dir .. "/rotator.log") or "") .. (h.read_file(dir .. "/daemon.out") or ""))
      local fast = h.now() - t0
      assert.is_false(h.exists(dir .. "/slow.pgpass"), "the slow target is still waiting")
      assert.is_true(fast < 5, string.format("the fast target took %.1f s", fast))
      assert.is_truthy(h.wait_for(function() return h.exists(dir .. "/slow.pgpass") end, 15))
      h.stop(pid)
    end)

    it("re-reads --config on SIGHUP, and keeps running the old one when the new file is bad", function()
      local function config(targets)
        local lines = { "[rotator]", "pg_username = app", "pg_host = 127.0.0.1" }
        for _, t in ipairs(targets) do
          lines[#lines + 1] = "[target " .. t .. "]"
          lines[#lines + 1] = "output = pgpass:" .. dir .. "/" .. t .. ".pgpass"
        end
        h.write_file(dir .. "/agent.ini", table.concat(lines, "\n") .. "\n", 384)
      end
      config{ "one" }
      local pid = spawn{ "--config", dir .. "/agent.ini" }
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 1 end, 20))
      config{ "one", "two" }
      h.kill(pid, "HUP")
      assert.is_truthy(h.wait_for(function() return h.exists(dir .. "/two.pgpass") end, 15),
        h.read_file(dir .. "/rotator.log"))
      assert.matches("reloaded the configuration: 2 targets", h.read_file(dir .. "/rotator.log"))
      h.write_file(dir .. "/agent.ini", "[rotator]\nnonsense = 1\n", 384)
      h.kill(pid, "HUP")
      assert.is_truthy(h.wait_for(function() return log_count("reload failed") >= 1 end, 10))
      assert.matches("reload failed, keeping the running configuration: .*unknown key 'nonsense'",
        h.read_file(dir .. "/rotator.log"))
      assert.is_true(h.alive(pid))
      h.stop(pid)
    end)

    it("trust #6 SIGHUP without --config does not kill the daemon", function()
      local pid = spawn{ "--pg-host", "127.0.0.1", "--pg-username", "u", "--pgpass-file", dir .. "/pgpass" }
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 1 end, 20))
      h.kill(pid, "HUP")
      assert.is_truthy(h.wait_for(function() return log_count("nothing to reload") >= 1 end, 5))
      assert.is_true(h.alive(pid))
      h.stop(pid)
    end)

    it("trust #6 SIGPIPE never kills the daemon when whoever reads its stderr goes away", function()
      local fifo = dir .. "/stderr.fifo"
      os.execute("mkfifo " .. h.quote(fifo))
      local script = h.join({ ROTATOR, "--ca-bundle", sim.ca_file, "--log-file", dir .. "/rotator.log",
                              "--status-file", dir .. "/status.json", "--pg-host", "127.0.0.1", "--pg-username",
                              "u", "--pgpass-file", dir .. "/pgpass" })
        .. " 2>" .. h.quote(fifo) .. " & echo $! > " .. h.quote(dir .. "/pid")
        .. "; head -c 1 < " .. h.quote(fifo) .. " > /dev/null"
      local r = h.run({ "sh", "-c", script }, { home = dir, env = m2m_env(), timeout = 30 })
      assert.are.equal(0, r.code, r.stderr)
      local pid = tonumber(h.read_file(dir .. "/pid"))
      -- The reader is gone; the daemon's next lines (a reload message) hit a closed pipe.
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 1 end, 20))
      h.kill(pid, "HUP")
      assert.is_truthy(h.wait_for(function() return log_count("nothing to reload") >= 1 end, 5))
      h.kill(pid, "HUP")
      assert.is_truthy(h.wait_for(function() return log_count("nothing to reload") >= 2 end, 5))
      assert.is_true(h.alive(pid), "the daemon died of SIGPIPE")
      h.stop(pid)
    end)

    it("trust #10 never dumps core: the daemon runs with a zero core-size limit", function()
      local pid = spawn{ "--pg-host", "127.0.0.1", "--pg-username", "u", "--pgpass-file", dir .. "/pgpass" }
      assert.is_truthy(h.wait_for(function() return log_count("next rotation at") >= 1 end, 20))
      local limits = h.read_file("/proc/" .. pid .. "/limits") or ""
      assert.matches("Max core file size%s+0%s+0", limits)
      h.stop(pid)
    end)
  end)

  describe("trust", function()
    it("trust #10 refuses a credentials file others can read, naming chmod 600 (exit 2)", function()
      h.write_file(dir .. "/secret", sim.client_secret .. "\n", 420) -- 0644
      local r = run({ "--once", "--pg-host", "h", "--pg-username", "u", "--client-secret-file", dir .. "/secret" },
        { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_HOST = sim.url })
      assert.are.equal(2, r.code)
      assert.matches("chmod 600 " .. (dir .. "/secret"):gsub("%p", "%%%0"), r.stderr)
      assert.are.equal(0, #sim:requests())
    end)

    it("trust #10 refuses a credentials file owned by another user (exit 2)", function()
      h.write_file(dir .. "/secret", sim.client_secret .. "\n", 384)
      os.execute("chown nobody " .. h.quote(dir .. "/secret"))
      local r = run({ "--once", "--pg-host", "h", "--pg-username", "u", "--client-secret-file", dir .. "/secret" },
        { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_HOST = sim.url })
      assert.are.equal(2, r.code)
      assert.matches("belongs to another user", r.stderr)
    end)

    it("trust #10 one symlink policy: the log, the status file and every output follow a link to a file of ours",
      function()
      local real = dir .. "/real"
      os.execute("mkdir -p " .. h.quote(real))
      local names = { "rotator.log", "status.json", "pgpass", "db.env" }
      for _, n in ipairs(names) do
        h.write_file(real .. "/" .. n, n == "status.json" and "{}" or "", 384)
        os.execute(string.format("ln -s %s %s", h.quote(real .. "/" .. n), h.quote(dir .. "/link-" .. n)))
      end
      local r = h.run({ ROTATOR, "--once", "--ca-bundle", sim.ca_file, "--pg-host", "127.0.0.1", "--pg-username", "u",
                        "--instance-name", sim.instance, "--log-file", dir .. "/link-rotator.log",
                        "--status-file", dir .. "/link-status.json",
                        "--output", "pgpass:" .. dir .. "/link-pgpass", "--output", "env:" .. dir .. "/link-db.env" },
        { env = m2m_env(), home = dir })
      assert.are.equal(0, r.code, r.stderr)
      for _, n in ipairs(names) do
        assert.are.equal(0, (h.sh("test -L " .. h.quote(dir .. "/link-" .. n))), n .. " is still a link")
        assert.are.equal(384, h.mode(real .. "/" .. n), n)
      end
      assert.matches("rotated", h.read_file(real .. "/rotator.log"))
      assert.are.equal("ok", cjson.decode(h.read_file(real .. "/status.json")).last_result)
      assert.matches(":u:" .. last_credential(), h.read_file(real .. "/pgpass"), 1, true)
      assert.matches("PGPASSWORD=", h.read_file(real .. "/db.env"))
    end)

    for _, case in ipairs({ { "--log-file", "rotator.log" }, { "--status-file", "status.json" },
                            { "--pgpass-file", "pgpass" } }) do
      it("trust #10 one symlink policy: " .. case[1] .. " through a link to another user's file is refused",
        function()
        local target = dir .. "/theirs-" .. case[2]
        h.write_file(target, "theirs\n", 384)
        os.execute("chown nobody " .. h.quote(target))
        os.execute(string.format("ln -s %s %s", h.quote(target), h.quote(dir .. "/link")))
        local argv = { ROTATOR, "--once", "--ca-bundle", sim.ca_file, "--pg-host", "127.0.0.1", "--pg-username", "u",
                       "--log-file", dir .. "/rotator.log", "--status-file", dir .. "/status.json",
                       "--pgpass-file", dir .. "/pgpass" }
        for i = 1, #argv do
          if argv[i] == case[1] then argv[i + 1] = dir .. "/link" end
        end
        local r = h.run(argv, { env = m2m_env(), home = dir })
        assert.are.equal(2, r.code, r.stderr)
        assert.matches(case[1]:gsub("%-", "%%-") .. ": refusing to write " .. target:gsub("%p", "%%%0")
          .. ": it is owned by uid %d+, "
          .. "not by this user", r.stderr)
        assert.are.equal("theirs\n", h.read_file(target))
        assert.are.equal(0, #sim:requests(), "nothing was asked of the workspace")
      end)
    end

    it("trust #10 the Databricks CLI child gets no DATABRICKS_CLIENT_SECRET and no token", function()
      local cli = dir .. "/databricks"
      local c = assert(require("databricks").connect{ host = sim.url, ca_bundle = sim.ca_file,
        auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local tok = assert(c:token())
      c:close()
      h.write_script(cli, string.format([[
env > %s/cli.env
printf '{"access_token":"%s","token_type":"Bearer","expiry":"2099-01-01T00:00:00Z"}\n'
]], dir, tok))
      local r = run({ "--once", "--auth", "cli", "--pg-host", "127.0.0.1", "--pg-username", "u",
                      "--pgpass-file", dir .. "/pgpass" },
        { DATABRICKS_HOST = sim.url, DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret,
          PATH = dir .. ":/usr/bin:/bin",
          DATABRICKS_TOKEN = "dapi-not-for-children-0000000000" })
      assert.are.equal(0, r.code, r.stderr)
      local env = h.read_file(dir .. "/cli.env")
      assert.is_nil(env:find("DATABRICKS_CLIENT_SECRET", 1, true))
      assert.is_nil(env:find(sim.client_secret, 1, true))
      assert.is_nil(env:find("DATABRICKS_TOKEN=", 1, true))
      assert.matches("DATABRICKS_HOST=", env)
    end)

    for _, var in ipairs({ "SSL_CERT_FILE", "CURL_CA_BUNDLE" }) do
      it("trust #4 the rotator trusts the CA bundle in " .. var .. " as connect does", function()
        local argv = { ROTATOR, "--once", "--log-file", dir .. "/rotator.log", "--status-file", dir .. "/s.json",
                       "--pg-host", "127.0.0.1", "--pg-username", "u", "--pgpass-file", dir .. "/pgpass" }
        local r = h.run(argv, { home = dir, env = m2m_env{ [var] = sim.ca_file } })
        assert.are.equal(0, r.code, r.stderr)
        r = h.run(argv, { home = dir, env = m2m_env() })
        assert.are.equal(1, r.code)
        assert.matches("TLS certificate verification failed", r.stderr)
      end)
    end
  end)
end)
