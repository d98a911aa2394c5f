-- The Lakebase credential rotator end to end: the real CLI against the
-- workspace simulator and a real PostgreSQL, with libpq (psql) logging in
-- through the rotated .pgpass; every source (M2M, stored U2M tokens, the
-- Databricks CLI), both Lakebase APIs, bad input, retries, secrecy of logs,
-- concurrency, kill -9 crashes and the daemon's stop and clock handling.
local Sim = require "support.sim"
local PG = require "support.pg"
local h = require "support.helpers"
local cjson = require "cjson"

local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"
local LOGIN = h.root .. "/bin/databricks-oauth-login"
local SCALE = tonumber(os.getenv("DBX_SPEC_SCALE") or "1")

describe("rotator", function()
  local sim, pg, dir, pgpass

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
    sim:config{ pg = { admin = pg.admin_argv, password_from = "token" } }
    dir = h.tmpdir("rot")
    pgpass = dir .. "/pgpass"
  end)

  local function base_args(extra)
    local argv = { ROTATOR, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file,
                   "--pgpass-file", pgpass, "--log-file", dir .. "/rotator.log",
                   "--status-file", dir .. "/status.json", "--pg-port", tostring(pg.port) }
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    return argv
  end

  local function m2m_env(extra)
    local env = { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  local function once(extra, env, opts)
    opts = opts or {}
    opts.env = env or m2m_env()
    opts.home = opts.home or dir
    local argv = base_args(extra)
    table.insert(argv, 2, "--once")
    return h.run(argv, opts)
  end

  local function login(user, database)
    return pg:psql_login{ user = user, database = database or "databricks_postgres", pgpassfile = pgpass }
  end

  local function all_secrets()
    local s = { sim.client_secret, sim.pat }
    for _, t in ipairs(sim:tokens()) do s[#s + 1] = t.token end
    return s
  end

  local function assert_no_secret(text, where)
    for _, s in ipairs(all_secrets()) do
      assert.is_nil(text:find(s, 1, true), "a secret leaked into " .. where)
    end
  end

  describe("--once with M2M", function()
    it("writes .pgpass so psql logs in without a password, and again after a second rotation", function()
      local r = once({ "--pg-host", "127.0.0.1", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local report = cjson.decode(r.stdout)
      assert.are.equal("m2m", report.source)
      assert.are.equal(sim.client_id, report.pg_username, "user defaults to the SCIM userName")
      assert.are.equal("created", report.action)
      assert.are.equal(384, h.mode(pgpass))
      local code, out = login(sim.client_id)
      assert.are.equal(0, code, out)
      assert.are.equal(sim.client_id, out:match("[^\n]+"))
      local first = h.read_file(pgpass)

      r = once({ "--pg-host", "127.0.0.1" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are_not.equal(first, h.read_file(pgpass))
      code, out = login(sim.client_id)
      assert.are.equal(0, code, out)
      -- The old password no longer works: the file really was the way in.
      h.write_file(pgpass, first, 384)
      code = login(sim.client_id)
      assert.are_not.equal(0, code)
    end)

    it("keeps every other byte of an existing .pgpass", function()
      local before = "# my databases\nother:5432:db:me:pw\n*:*:*:*:pw2\nlast-line-no-newline:1:d:u:p"
      h.write_file(pgpass, before, 384)
      local r = once({ "--pg-host", "127.0.0.1", "--pg-username", "someone" })
      assert.are.equal(0, r.code, r.stderr)
      local after = h.read_file(pgpass)
      local lines = {}
      for l in after:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.are.equal("# my databases", lines[1])
      assert.are.equal("other:5432:db:me:pw", lines[2])
      assert.matches("^127%.0%.0%.1:" .. pg.port .. ":databricks_postgres:someone:eyJ", lines[3])
      assert.are.equal("*:*:*:*:pw2", lines[4])
      assert.are.equal("last-line-no-newline:1:d:u:p", lines[5])
    end)

    it("honours PGPASSFILE, DATABRICKS_PG_HOST and DATABRICKS_PG_USERNAME; flags win", function()
      local argv = { ROTATOR, "--once", "--workspace-url", sim.url, "--ca-bundle", sim.ca_file,
                     "--log-file", dir .. "/log", "--status-file", dir .. "/s.json" }
      local r = h.run(argv, { home = dir, env = m2m_env{ PGPASSFILE = pgpass, DATABRICKS_PG_HOST = "envhost",
                                                         DATABRICKS_PG_USERNAME = "envuser" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^envhost:5432:databricks_postgres:envuser:", h.read_file(pgpass))
      argv[#argv + 1] = "--pg-host"
      argv[#argv + 1] = "flaghost"
      r = h.run(argv, { home = dir, env = m2m_env{ PGPASSFILE = pgpass, DATABRICKS_PG_HOST = "envhost",
                                                   DATABRICKS_PG_USERNAME = "envuser" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("\nflaghost:5432:databricks_postgres:envuser:", h.read_file(pgpass))
    end)

    it("takes DATABRICKS_HOST when --workspace-url is absent", function()
      local r = h.run({ ROTATOR, "--once", "--ca-bundle", sim.ca_file, "--pg-host", "h", "--pg-username", "u",
                        "--pgpass-file", pgpass, "--log-file", dir .. "/log", "--status-file", dir .. "/s" },
        { home = dir, env = m2m_env{ DATABRICKS_HOST = sim.url } })
      assert.are.equal(0, r.code, r.stderr)
    end)

    it("reads the client secret from --client-secret-file", function()
      h.write_file(dir .. "/secret", sim.client_secret .. "\n", 384)
      local r = once({ "--pg-host", "h", "--pg-username", "u", "--client-secret-file", dir .. "/secret" },
        { DATABRICKS_CLIENT_ID = sim.client_id })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stderr:match("warning") or "")
    end)

    it("still accepts --client-secret but warns that argv is visible", function()
      local r = once({ "--pg-host", "h", "--pg-username", "u", "--client-secret", sim.client_secret },
        { DATABRICKS_CLIENT_ID = sim.client_id })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("warning: %-%-client%-secret puts the secret in the process list", r.stderr)
    end)

    it("retries through 429, 503 and a reset", function()
      sim:faults{
        { path = "^/oidc/v1/token$", status = 429, headers = { ["Retry-After"] = "1" } },
        { path = "^/oidc/v1/token$", status = 503 },
        { path = "^/oidc/v1/token$", action = "reset" },
      }
      local r = once({ "--pg-host", "127.0.0.1" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(4, #sim:requests("^/oidc/v1/token$"))
      assert.are.equal(0, login(sim.client_id))
    end)

    it("logs subject, expiry, source and outcome, never a secret, in a 0600 log and status file", function()
      assert.are.equal(0, once({ "--pg-host", "127.0.0.1", "--verbose" }).code)
      local r = once({ "--pg-host", "127.0.0.1" }, m2m_env{ DATABRICKS_CLIENT_SECRET = "dose-wrong-secret-123456" })
      assert.are.equal(1, r.code)
      local log = h.read_file(dir .. "/rotator.log")
      assert.matches("INFO: rotated workspace%-token credential for " .. sim.client_id:gsub("%-", "%%-"), log)
      assert.matches("source m2m", log)
      assert.matches("expires %d+%-%d+%-%d+T", log)
      assert.matches("ERROR: rotation failed: auth error", log)
      assert.are.equal(384, h.mode(dir .. "/rotator.log"))
      assert.are.equal(384, h.mode(dir .. "/status.json"))
      local status = cjson.decode(h.read_file(dir .. "/status.json"))
      assert.are.equal("failed", status.last_result)
      assert.is_number(status.last_success)
      assert.is_number(status.expires_at)
      assert_no_secret(log, "the log")
      assert_no_secret(h.read_file(dir .. "/status.json"), "the status file")
      assert_no_secret(r.stderr .. r.stdout, "the output")
      assert.is_nil(log:find("dose-wrong-secret-123456", 1, true))
    end)
  end)

  describe("Lakebase", function()
    it("--instance-name: password from the credential API, host from the instance's DNS", function()
      sim:config{ pg = { admin = pg.admin_argv, password_from = "credential" } }
      local r = once({ "--instance-name", sim.instance, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local report = cjson.decode(r.stdout)
      assert.are.equal("127.0.0.1", report.pg_host)
      assert.are.equal(1, #sim:requests("/api/2.0/database/instances/"))
      assert.are.equal(1, #sim:requests("/api/2.0/database/credentials"))
      local cred = sim:tokens("credential")
      assert.matches(cred[#cred].token:gsub("%p", "%%%0") .. "\n?$", h.read_file(pgpass))
      assert.are.equal(0, login(sim.client_id))
    end)

    it("--endpoint: password from the autoscaling credential API", function()
      sim:config{ pg = { admin = pg.admin_argv, password_from = "credential" } }
      local r = once({ "--endpoint", sim.endpoint, "--pg-host", "127.0.0.1" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(1, #sim:requests("/api/2.0/postgres/credentials"))
      assert.are.equal(0, login(sim.client_id))
    end)

    it("never writes a credential the server states is already expiring", function()
      sim:config{ credential_ttl = 0 }
      h.write_file(pgpass, "keep:1:me:me:pw\n", 384)
      local r = once({ "--instance-name", sim.instance })
      sim:config{ credential_ttl = 3600 }
      assert.are.equal(1, r.code)
      assert.matches("too soon to be worth writing", r.stderr)
      assert.are.equal("keep:1:me:me:pw\n", h.read_file(pgpass))
    end)

    it("never writes an already expired token", function()
      sim:config{ token_ttl = 0 }
      h.write_file(pgpass, "keep:1:me:me:pw\n", 384)
      local r = once({ "--pg-host", "127.0.0.1", "--pg-username", "u" })
      sim:config{ token_ttl = 3600 }
      assert.are.equal(1, r.code)
      assert.matches("expires in %-?%d+ s", r.stderr)
      assert.are.equal("keep:1:me:me:pw\n", h.read_file(pgpass))
    end)

    it("trust #8 clock skew: with this clock two hours ahead of the workspace, it still writes and logs the skew",
      function()
      -- The workspace's clock is two hours behind this machine's: judged by
      -- this clock, everything it issues expired long ago.
      sim:advance(-7200)
      h.write_file(pgpass, "keep:1:me:me:pw\n", 384)
      local r = once({ "--instance-name", sim.instance })
      sim:advance(7200)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("clock is 7%d%d%d s ahead of the workspace's", r.stderr)
      assert.matches("keep:1:me:me:pw\n", h.read_file(pgpass), 1, true)
      local cred = sim:tokens("credential")
      assert.matches(cred[#cred].token:gsub("%p", "%%%0"), h.read_file(pgpass))
    end)

    it("reports an unknown instance and leaves .pgpass alone", function()
      h.write_file(pgpass, "keep:1:me:me:pw\n", 384)
      local r = once({ "--instance-name", "no-such-instance" })
      assert.are.equal(1, r.code)
      assert.matches("RESOURCE_DOES_NOT_EXIST", r.stderr)
      assert.are.equal("keep:1:me:me:pw\n", h.read_file(pgpass))
    end)
  end)

  describe("bad input", function()
    local ORIGINAL = "# mine\nh:5432:d:u:secretpw\n"
    before_each(function() h.write_file(pgpass, ORIGINAL, 384) end)
    after_each(function() assert.are.equal(ORIGINAL, h.read_file(pgpass), ".pgpass must be byte-identical") end)

    for _, case in ipairs({
      { { "--pg-host", "h", "--interval", "0" }, "interval must be a whole number of minutes from 1 to 1440" },
      { { "--pg-host", "h", "--interval", "1441" }, "from 1 to 1440" },
      { { "--pg-host", "h", "--interval", "abc" }, "needs a number" },
      { { "--pg-port", "5432" }, "PostgreSQL host is required" },
      { { "--pg-host", "h", "--auth", "magic" }, "%-%-auth must be m2m, u2m, cli or oidc" },
      { { "--pg-host", "h", "--pg-port", "70000" }, "1%-65535" },
      { { "--pg-host", "h", "--instance-name", "a", "--endpoint", "projects/p/branches/b/endpoints/e" }, "exclusive" },
      { { "--pg-host", "h", "--endpoint", "nonsense" }, "projects/<project>" },
      { { "--pg-host", "h", "--client-secret-file", "/nonexistent" }, "cannot read %-%-client%-secret%-file" },
      { { "--pg-host", "h", "--bogus" }, "unknown option '%-%-bogus'" },
    }) do
      it("exits 2 for " .. table.concat(case[1], " "), function()
        local r = once(case[1])
        assert.are.equal(2, r.code, r.stderr)
        assert.matches(case[2], r.stderr)
      end)
    end

    it("exits 2 without a workspace URL", function()
      local r = h.run({ ROTATOR, "--once", "--pg-host", "h", "--pgpass-file", pgpass }, { home = dir })
      assert.are.equal(2, r.code)
      assert.matches("workspace URL is required", r.stderr)
    end)

    it("exits 2 when --auth m2m has no client credentials", function()
      local r = once({ "--pg-host", "h", "--auth", "m2m" }, {})
      assert.are.equal(2, r.code)
      assert.matches("needs DATABRICKS_CLIENT_ID", r.stderr)
    end)

    it("exits 1 with a wrong secret", function()
      local r = once({ "--pg-host", "h" }, m2m_env{ DATABRICKS_CLIENT_SECRET = "wrong-secret-wrong" })
      assert.are.equal(1, r.code)
      assert.matches("invalid_client", r.stderr)
    end)

    it("exits 2 when .pgpass is a folder, and 2 when it is another user's file", function()
      local folder = dir .. "/pgpass-dir"
      os.execute("mkdir " .. h.quote(folder))
      local r = once({ "--pg-host", "h", "--pg-username", "u", "--pgpass-file", folder })
      assert.are_not.equal(0, r.code)
      assert.matches("not a regular file", r.stderr)
      local other = dir .. "/other"
      h.write_file(other, "x:1:d:u:p\n", 384)
      os.execute("chown nobody " .. h.quote(other))
      r = once({ "--pg-host", "h", "--pg-username", "u", "--pgpass-file", other })
      assert.are_not.equal(0, r.code)
      assert.matches("owned by", r.stderr)
      assert.are.equal("x:1:d:u:p\n", h.read_file(other))
    end)

    it("exits 1 when the workspace is unreachable, saying what it retries and when it gives up", function()
      local argv = { ROTATOR, "--once", "--workspace-url", "https://127.0.0.1:" .. h.free_port(),
                     "--ca-bundle", sim.ca_file, "--pg-host", "h", "--pg-username", "u", "--pgpass-file", pgpass,
                     "--log-file", dir .. "/log", "--status-file", dir .. "/s", "--retry-budget", "6", "--verbose" }
      local r = h.run(argv, { home = dir, env = m2m_env(), timeout = 120 })
      assert.are.equal(1, r.code)
      assert.matches("network error", r.stderr)
      -- Never silent: the first retry says what and until when ...
      assert.matches("INFO: network error: GET https://127%.0%.0%.1:%d+/oidc/%.well%-known/oauth%-authorization%-server: "
        .. "[^\n]*; retrying in [%d.]+ s, giving up after %d+ s more", r.stderr)
      -- ... and --verbose shows every later one with its cause and wait.
      assert.matches("DEBUG: attempt 2 failed: network error: GET [^\n]*; retrying in [%d.]+ s %(%d+ s left%)", r.stderr)
    end)
  end)

  describe("token sources", function()
    it("--auth u2m spends the stored refresh token and saves its successor first", function()
      local port = h.free_port()
      local app = "rot-app-" .. port
      sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } } }
      local store = dir .. "/store/tokens.json"
      local browser_dir = h.tmpdir("browser")
      -- The "browser": a stand-in xdg-open that follows the URL like a user would.
      h.write_script(browser_dir .. "/xdg-open", string.format("exec %s %s/spec/support/browser.lua --url \"$1\" --ca-file %s\n",
        h.lua, h.root, sim.ca_file))
      local r = h.run({ LOGIN, "--workspace-url", sim.url, "--ca-bundle", sim.ca_file, "--client-id", app,
                        "--redirect-uri", "http://localhost:" .. port, "--token-store", store, "--timeout", "20" },
        { home = dir, env = { PATH = browser_dir .. ":/usr/bin:/bin" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(384, h.mode(store))
      assert.are.equal(448, h.mode(dir .. "/store"))
      local first = cjson.decode(h.read_file(store))
      assert.are.equal(sim.url, first.host)
      assert.is_string(first.refresh_token)

      r = once({ "--auth", "u2m", "--token-store", store, "--pg-host", "127.0.0.1", "--json" }, {})
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("u2m", cjson.decode(r.stdout).source)
      assert.are.equal("user@example.com", cjson.decode(r.stdout).pg_username)
      local second = cjson.decode(h.read_file(store))
      assert.are_not.equal(first.refresh_token, second.refresh_token, "the rotated refresh token was saved")
      assert.are.equal(384, h.mode(store))
      -- Without --auth, stored tokens are the source when there are no client credentials.
      r = once({ "--token-store", store, "--pg-host", "127.0.0.1", "--json" }, {})
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("u2m", cjson.decode(r.stdout).source)

      -- Concurrent rotators never spend the same refresh token.
      local pids = {}
      for i = 1, 4 do
        local argv = base_args{ "--once", "--auth", "u2m", "--token-store", store, "--pg-host", "127.0.0.1",
                                "--pg-username", "u" .. i }
        pids[i] = h.spawn(argv, { home = dir, log = dir .. "/u2m" .. i .. ".out" })
      end
      for _, pid in ipairs(pids) do h.wait_for(function() return not h.alive(pid) end, 60) end
      for i = 1, 4 do
        assert.is_nil((h.read_file(dir .. "/u2m" .. i .. ".out") or ""):find("failed"), "rotator " .. i)
        assert.matches("\n?127%.0%.0%.1:" .. pg.port .. ":databricks_postgres:u" .. i .. ":eyJ", h.read_file(pgpass))
      end
      local bad = 0
      for _, req in ipairs(sim:requests("^/oidc/v1/token$")) do
        if req.status ~= 200 then bad = bad + 1 end
      end
      assert.are.equal(0, bad, "no refresh token was spent twice")
    end)

    it("--auth u2m without stored tokens says to run databricks-oauth-login", function()
      local r = once({ "--auth", "u2m", "--token-store", dir .. "/none.json", "--pg-host", "h" }, {})
      assert.are.equal(2, r.code)
      assert.matches("run databricks%-oauth%-login", r.stderr)
    end)

    it("--auth cli runs `databricks auth token --host`", function()
      local m2m = assert(sim:request("POST", "/oidc/v1/token", { form = { grant_type = "client_credentials",
        scope = "all-apis", client_id = sim.client_id, client_secret = sim.client_secret } }))
      local tok = cjson.decode(m2m.body).access_token
      local bin = h.tmpdir("clibin")
      h.write_script(bin .. "/databricks", string.format(
        [[printf '{"access_token":"%s","token_type":"Bearer","expiry":"%s"}']], tok,
        os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 3000)))
      local r = once({ "--pg-host", "127.0.0.1", "--json" }, { PATH = bin .. ":/usr/bin:/bin" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("cli", cjson.decode(r.stdout).source, "the CLI is the last source in the order")
      assert.are.equal(0, login(sim.client_id))
    end)
  end)

  describe("robustness", function()
    it("several concurrent rotators for different users lose nothing", function()
      h.write_file(pgpass, "# keep me\nother:1:d:u:p\n", 384)
      local n, rounds = 4, 5 * SCALE
      local pids = {}
      for i = 1, n do
        local script = string.format("for k in $(seq %d); do %s || exit 1; done", rounds, h.join(
          base_args{ "--once", "--pg-host", "127.0.0.1", "--pg-username", "user" .. i }))
        pids[i] = h.spawn({ "sh", "-c", script }, { home = dir, env = m2m_env(), log = dir .. "/c" .. i .. ".out" })
      end
      for _, pid in ipairs(pids) do assert.is_truthy(h.wait_for(function() return not h.alive(pid) end, 120)) end
      local text = h.read_file(pgpass)
      assert.matches("^# keep me\nother:1:d:u:p\n", text)
      for i = 1, n do
        local _, count = text:gsub("\n127%.0%.0%.1:" .. pg.port .. ":databricks_postgres:user" .. i .. ":eyJ[%w%-_%.]+", "")
        assert.are.equal(1, count, "exactly one entry for user" .. i)
      end
      assert.are.equal(384, h.mode(pgpass))
    end)

    it("kill -9 at random points never loses an entry or leaves a file wider than 0600", function()
      local original = "# header\na:1:d:u:p1\nb:2:d:u:p2\n"
      h.write_file(pgpass, original, 384)
      -- A simulator of its own: a client killed mid-answer can wedge
      -- Debian's lua-sec 1.2 (lunarmodules/luasec#172), and the other specs
      -- must not pay for that.
      local victim_sim = Sim.start()
      local argv = base_args{ "--once", "--pg-host", "127.0.0.1", "--pg-username", "victim" }
      argv[3] = victim_sim.url
      argv[5] = victim_sim.ca_file
      local env = { DATABRICKS_CLIENT_ID = victim_sim.client_id, DATABRICKS_CLIENT_SECRET = victim_sim.client_secret }
      local rounds = 25 * SCALE
      for i = 1, rounds do
        local pid = h.spawn(argv, { home = dir, env = env })
        h.sleep(math.random() * 0.06)
        h.kill(pid, "KILL")
        h.wait_for(function() return not h.alive(pid) end, 5)
        local text = h.read_file(pgpass)
        assert.is_truthy(text:find("# header\na:1:d:u:p1\nb:2:d:u:p2\n", 1, true), "round " .. i)
        local _, victims = text:gsub("victim", "")
        assert.is_true(victims <= 1)
        local _, out = h.sh("find " .. h.quote(dir) .. " -maxdepth 1 -type f -perm /077 -name 'pgpass*'")
        assert.are.equal("", out, "files wider than 0600 after round " .. i)
      end
      victim_sim:stop()
      -- The next normal run cleans any temp file a killed writer left behind.
      assert.are.equal(0, once({ "--pg-host", "127.0.0.1", "--pg-username", "victim" }).code)
      local _, leftovers = h.sh("ls -a " .. h.quote(dir) .. " | grep -c 'pgpass.tmp' || true")
      assert.are.equal("0", leftovers:match("%d+"))
    end)
  end)

  describe("daemon", function()
    local function daemon(extra, env)
      local argv = base_args(extra)
      return h.spawn(argv, { home = dir, env = env or m2m_env(), log = dir .. "/daemon.out" })
    end

    local function wait_rotations(n, timeout)
      return h.wait_for(function()
        local log = h.read_file(dir .. "/rotator.log") or ""
        local _, count = log:gsub("INFO: rotated", "")
        return count >= n
      end, timeout or 15)
    end

    it("rotates at start, then stops within a second of SIGTERM with exit 0", function()
      local pid = daemon{ "--pg-host", "127.0.0.1" }
      assert.is_truthy(wait_rotations(1), h.read_file(dir .. "/daemon.out"))
      assert.are.equal(0, login(sim.client_id))
      local t0 = h.now()
      h.kill(pid, "TERM")
      assert.is_truthy(h.wait_for(function() return not h.alive(pid) end, 2))
      assert.is_true(h.now() - t0 < 1, "stopped in " .. (h.now() - t0) .. " s")
      assert.matches("stopping %(SIGTERM%)", h.read_file(dir .. "/rotator.log"))
    end)

    it("exits 0 on SIGTERM (checked through a shell that reports the status)", function()
      local script = h.join(base_args{ "--pg-host", "127.0.0.1" }) .. " & p=$!; sleep 1.5; kill -TERM $p; wait $p; echo rc=$?"
      local r = h.run({ "sh", "-c", script }, { home = dir, env = m2m_env() })
      assert.matches("rc=0", r.stdout)
    end)

    it("rotates before the credential expires (short-lived tokens)", function()
      sim:config{ token_ttl = 6 }
      local pid = daemon{ "--pg-host", "127.0.0.1", "--pg-username", "u" }
      assert.is_truthy(wait_rotations(3, 20), "three rotations within the lifetime of a few short tokens")
      h.stop(pid)
    end)

    it("retries a failed rotation with back-off and recovers", function()
      sim:fault{ path = "^/oidc/v1/token$", status = 500, count = 2 }
      local pid = daemon{ "--pg-host", "127.0.0.1", "--pg-username", "u" }
      assert.is_truthy(wait_rotations(1, 40), h.read_file(dir .. "/rotator.log"))
      local log = h.read_file(dir .. "/rotator.log")
      assert.matches("retrying in %d+ s %(attempt 1 failed%)", log)
      assert.are.equal("ok", cjson.decode(h.read_file(dir .. "/status.json")).last_result)
      h.stop(pid)
    end)

    it("exits 2 when the first attempt fails on configuration", function()
      local r = h.run(base_args{ "--pg-host", "127.0.0.1", "--auth", "u2m", "--token-store", dir .. "/missing.json" },
        { home = dir, env = {}, timeout = 20 })
      assert.are.equal(2, r.code)
    end)

    it("rotates at once when the wall clock jumps forward", function()
      local offset_file = dir .. "/offset"
      h.write_file(offset_file, "0")
      local script = string.format([[
        package.path = %q .. "/lua/?.lua;" .. %q .. "/lua/?/init.lua;" .. package.path
        package.cpath = %q .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;" .. package.cpath
        local core = require "databricks.core"
        local Rotator = require "databricks.rotator"
        local function offset()
          local f = io.open(%q); local v = f and tonumber(f:read("a")) or 0; if f then f:close() end; return v
        end
        local r = assert(Rotator.new{ workspace_url = %q, ca_bundle = %q, pg_host = "127.0.0.1", pg_username = "u",
          pgpass_file = %q, log_file = %q, status_file = %q, client_id = %q, client_secret = %q,
          rotation_interval = 60, max_slice = 0.2, clock = function() return core.now() + offset() end })
        os.exit(r:run_daemon())
      ]], h.root, h.root, h.root, offset_file, sim.url, sim.ca_file, pgpass, dir .. "/rotator.log",
        dir .. "/status.json", sim.client_id, sim.client_secret)
      local pid = h.spawn({ "lua5.4", "-e", script }, { home = dir, log = dir .. "/daemon.out",
                                                        env = { DBX_BUILD = os.getenv("DBX_BUILD") } })
      assert.is_truthy(wait_rotations(1), h.read_file(dir .. "/daemon.out"))
      h.sleep(1)
      local log = h.read_file(dir .. "/rotator.log")
      local _, n = log:gsub("INFO: rotated", "")
      assert.are.equal(1, n, "no second rotation before the jump (interval is an hour)")
      local t0 = h.now()
      h.write_file(offset_file, tostring(2 * 3600)) -- the machine "slept" two hours
      assert.is_truthy(wait_rotations(2, 5), "rotated after the jump")
      assert.is_true(h.now() - t0 < 2)
      h.stop(pid)
    end)
  end)
end)
