-- The live-workspace test runner (spec/live/, `make live-test`) specified
-- against the simulator: every auth mode runs connect, validate, SQL and a
-- rotation in its own child, in parallel; each child sees exactly its own
-- variables, in a fresh HOME, whatever the runner's own environment holds;
-- failures, skips and bad files are reported per mode; no secret reaches the
-- report. (Named without "live": .busted excludes such files from `make test`.)
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local RUN = h.root .. "/spec/live/run.sh"

describe("live-workspace runner", function()
  local sim, u2m, u2m_app, cli_token

  setup(function()
    sim = Sim.start()
    local databricks = require "databricks"
    -- A genuine U2M token pair, signed in once through the simulator.
    local port = h.free_port()
    u2m_app = "live-runner-" .. port
    sim:config{ clients = { [u2m_app] = { redirect_uris = { "http://localhost:" .. port } } } }
    u2m = assert(databricks.login{ host = sim.url, ca_bundle = sim.ca_file, client_id = u2m_app,
      redirect_uri = "http://localhost:" .. port, timeout = 20,
      open_browser = function(url) Sim.browser(url, { ca_file = sim.ca_file }) end })
    -- What the stand-in Databricks CLI hands out: a service principal's token.
    local c = assert(databricks.connect{ host = sim.url, ca_bundle = sim.ca_file, auth_type = "oauth_m2m",
                                         client_id = sim.client_id, client_secret = sim.client_secret })
    cli_token = assert(c:token())
    c:close()
  end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)

  -- A stand-in `databricks` CLI that also records the environment it ran in.
  local function fake_cli(dir)
    local path = dir .. "/databricks"
    h.write_script(path, string.format([[
echo "$HOME" > %s/cli-home
env | cut -d= -f1 | sort > %s/cli-env
printf '{"access_token":"%s","token_type":"Bearer","expiry":"2099-01-01T00:00:00Z"}\n'
]], dir, dir, cli_token))
    return path
  end

  local function ini(sections)
    local out = {}
    for _, s in ipairs(sections) do
      out[#out + 1] = "[" .. s[1] .. "]"
      for i = 2, #s do out[#out + 1] = s[i][1] .. " = " .. s[i][2] end
      out[#out + 1] = ""
    end
    return table.concat(out, "\n")
  end

  -- Everything a developer's shell could leak into a careless runner.
  local function poisoned_home(dir)
    local home = dir .. "/parent-home"
    assert(os.execute("mkdir -p " .. h.quote(home)))
    h.write_file(home .. "/.databrickscfg", "[DEFAULT]\nhost = https://poison.invalid\ntoken = dapipoisonpoisonpoison\n")
    h.write_file(home .. "/.pgpass", "poison:5432:*:*:keep-me\n", 384)
    return home, {
      DATABRICKS_HOST = "https://poison.invalid", DATABRICKS_TOKEN = "dapipoisonpoisonpoison",
      DATABRICKS_CLIENT_ID = "poison-id", DATABRICKS_CLIENT_SECRET = "dosepoisonpoison",
      DATABRICKS_AUTH_TYPE = "pat", DATABRICKS_CONFIG_PROFILE = "DEFAULT",
      DATABRICKS_CONFIG_FILE = home .. "/.databrickscfg", DATABRICKS_WAREHOUSE_ID = "poison",
      PGPASSFILE = home .. "/.pgpass", SSL_CERT_FILE = "/nonexistent/ca.pem", CURL_CA_BUNDLE = "/nonexistent/ca.pem",
      HTTPS_PROXY = "http://127.0.0.1:9", https_proxy = "http://127.0.0.1:9", XDG_CONFIG_HOME = home,
      DBX_LIVE_ACCESS_TOKEN = "poison", LUA_INIT = "error('LUA_INIT leaked')",
    }
  end

  local function run(dir, creds_text, extra_env, args)
    local creds = dir .. "/credentials.ini"
    if creds_text then h.write_file(creds, creds_text, 384) end
    local tmp = dir .. "/tmp"
    assert(os.execute("mkdir -p " .. h.quote(tmp)))
    local home, env = poisoned_home(dir)
    for k, v in pairs(extra_env or {}) do env[k] = v end
    if creds_text then env.DBX_LIVE_CREDENTIALS = creds end
    env.TMPDIR = tmp
    env.DBX_BUILD = os.getenv("DBX_BUILD")
    local argv = { RUN, "--report", dir .. "/report", "--timeout", "60" }
    for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
    local r = h.run(argv, { home = home, env = env, timeout = 120 })
    local ok, report = pcall(cjson.decode, h.read_file(dir .. "/report.json") or "")
    r.report = ok and report or nil
    r.markdown = h.read_file(dir .. "/report.md")
    -- The reports join the suite-wide secret scan (spec/zz_secret_scan_spec.lua).
    h.note("live runner report.md", r.markdown or "")
    h.note("live runner report.json", h.read_file(dir .. "/report.json") or "")
    r.home, r.tmp = home, tmp
    return r
  end

  local function by_mode(report)
    local out = {}
    for _, m in ipairs(report.modes) do out[m.mode] = m end
    return out
  end

  local function names(list)
    local copy = {}
    for i, v in ipairs(list) do copy[i] = v end
    table.sort(copy)
    return copy
  end

  local function secrets()
    local s = { sim.pat, sim.client_secret, u2m.access_token, u2m.refresh_token, cli_token }
    for _, t in ipairs(sim:tokens()) do s[#s + 1] = t.token end
    return s
  end

  local function assert_no_secret(text, where)
    for _, s in ipairs(secrets()) do
      assert.is_nil((text or ""):find(s, 1, true), "a secret reached " .. where)
    end
  end

  describe("with every mode's credentials (pointing at the simulator)", function()
    local dir, r

    setup(function()
      sim:clear_requests() -- (no reset: it would forget the U2M app)
      -- Every child waits half a second in its identity check: their runs
      -- must overlap to finish in time.
      sim:fault{ path = "^/api/2.0/preview/scim/v2/Me$", delay = 0.5, count = 4 }
      dir = h.tmpdir("live-all")
      r = run(dir, ini{
        { "workspace", { "host", sim.url }, { "warehouse_id", sim.warehouse_id }, { "table", sim.table },
          { "ca_bundle", sim.ca_file } },
        { "pat", { "token", sim.pat } },
        { "oauth_m2m", { "client_id", sim.client_id }, { "client_secret", sim.client_secret } },
        { "oauth_u2m_token", { "access_token", u2m.access_token }, { "refresh_token", u2m.refresh_token },
          { "client_id", u2m_app } },
        { "databricks_cli", { "cli", fake_cli(dir) } },
        { "lakebase", { "instance_name", sim.instance } },
      })
    end)

    it("passes every step of every mode and exits 0", function()
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.is_table(r.report, "no JSON report")
      assert.are.same({ pass = 4, fail = 0, skip = 0 }, r.report.summary)
      for _, m in ipairs(r.report.modes) do
        assert.are.equal("pass", m.status, m.mode .. ": " .. cjson.encode(m))
        local steps = {}
        for _, s in ipairs(m.steps) do steps[#steps + 1] = s.name .. "=" .. s.status end
        assert.are.same({ "connect=pass", "validate=pass", "sql=pass", "rotate=pass" }, steps, m.mode)
      end
      assert.matches("4 passed, 0 failed, 0 skipped", r.stdout)
    end)

    it("gives each mode's child exactly its own variables, nothing from the runner's environment", function()
      local common = { "DATABRICKS_HOST", "DATABRICKS_WAREHOUSE_ID", "DBX_LIVE_MODE", "DBX_LIVE_PG_INSTANCE",
                       "DBX_LIVE_RESULT", "DBX_LIVE_TABLE", "HOME", "LANG", "LUA_CPATH", "LUA_PATH", "PATH",
                       "SSL_CERT_FILE", "TMPDIR" }
      local own = {
        pat = { "DATABRICKS_AUTH_TYPE", "DATABRICKS_TOKEN" },
        oauth_m2m = { "DATABRICKS_AUTH_TYPE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET" },
        oauth_u2m_token = { "DBX_LIVE_ACCESS_TOKEN", "DBX_LIVE_CLIENT_ID", "DBX_LIVE_REFRESH_TOKEN" },
        databricks_cli = { "DATABRICKS_AUTH_TYPE", "DBX_LIVE_CLI" },
      }
      for mode, m in pairs(by_mode(r.report)) do
        local want = {}
        for _, n in ipairs(common) do want[#want + 1] = n end
        for _, n in ipairs(own[mode]) do want[#want + 1] = n end
        assert.are.same(names(want), m.isolation.env, mode)
      end
    end)

    it("gives each mode a fresh, empty, private HOME of its own", function()
      local seen = {}
      for mode, m in pairs(by_mode(r.report)) do
        local home = m.isolation.home
        assert.are_not.equal(r.home, home, mode)
        assert.is_nil(seen[home], mode .. " shares a HOME")
        seen[home] = true
        assert.are.same({}, m.isolation.home_entries, mode)
      end
    end)

    it("scrubs what the children run too (the Databricks CLI sees the mode's HOME, no stray variable)", function()
      local cli_home = h.read_file(dir .. "/cli-home"):gsub("%s+$", "")
      assert.are.equal(by_mode(r.report).databricks_cli.isolation.home, cli_home)
      local env = h.read_file(dir .. "/cli-env")
      for _, poison in ipairs({ "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "HTTPS_PROXY", "https_proxy",
                                "PGPASSFILE", "DATABRICKS_CONFIG_FILE", "LUA_INIT" }) do
        assert.is_nil(env:find("\n" .. poison .. "\n", 1, true), poison .. " reached the CLI")
      end
    end)

    it("runs the modes in parallel", function()
      local last_start, first_end = 0, math.huge
      for _, m in ipairs(r.report.modes) do
        last_start = math.max(last_start, m.started_at)
        first_end = math.min(first_end, m.finished_at)
      end
      assert.is_true(last_start < first_end, "every mode had started before the first one finished")
    end)

    it("rotates through the rotator for the OAuth sources and the library for a PAT", function()
      local modes = by_mode(r.report)
      assert.matches("rotator %(source m2m%): Lakebase credential", modes.oauth_m2m.steps[4].detail)
      assert.matches("rotator %(source u2m%)", modes.oauth_u2m_token.steps[4].detail)
      assert.matches("rotator %(source cli%)", modes.databricks_cli.steps[4].detail)
      assert.matches("database_credential %+ pgpass%.update: user@example%.com@127%.0%.0%.1:5432",
        modes.pat.steps[4].detail)
      assert.are.equal(4, #sim:requests("^/api/2.0/database/credentials$"))
    end)

    it("leaves the runner's own HOME, .pgpass and TMPDIR as they were", function()
      assert.are.equal("poison:5432:*:*:keep-me\n", h.read_file(r.home .. "/.pgpass"))
      local _, left = h.sh("ls -A " .. h.quote(r.tmp))
      assert.are.equal("", left, "temporary folders left behind")
    end)

    it("writes a Markdown and a JSON report without any secret", function()
      assert.matches("| pat | **pass** | pass | pass | pass | pass |", r.markdown, 1, true)
      assert.matches("## databricks_cli — pass", r.markdown, 1, true)
      assert_no_secret(r.markdown, "report.md")
      assert_no_secret(h.read_file(dir .. "/report.json"), "report.json")
      assert_no_secret(r.stdout .. r.stderr, "the runner's output")
    end)
  end)

  describe("with failures and missing sections", function()
    local dir, r

    setup(function()
      sim:reset()
      dir = h.tmpdir("live-mixed")
      r = run(dir, ini{
        { "workspace", { "host", sim.url }, { "http_path", "/sql/1.0/warehouses/" .. sim.warehouse_id },
          { "ca_bundle", sim.ca_file } },
        { "pat", { "token", "dapi00000000000000000000000000000000" } },
        { "oauth_m2m", { "client_id", sim.client_id } },
        { "databricks_cli", { "cli", fake_cli(dir) } },
      })
    end)

    it("exits 1 and reports each mode's own outcome", function()
      assert.are.equal(1, r.code, r.stdout .. r.stderr)
      assert.are.same({ pass = 1, fail = 2, skip = 1 }, r.report.summary)
      local modes = by_mode(r.report)
      assert.are.equal("fail", modes.pat.status)
      assert.are.equal("fail", modes.pat.steps[2].status)
      assert.matches("authentication FAILED 401", modes.pat.steps[2].detail)
      assert.are.equal("fail", modes.oauth_m2m.status)
      assert.matches("%[oauth_m2m%] is incomplete: client_secret missing", modes.oauth_m2m.reason)
      assert.are.equal("skip", modes.oauth_u2m_token.status)
      assert.matches("no %[oauth_u2m_token%] section", modes.oauth_u2m_token.reason)
      assert.are.equal("pass", modes.databricks_cli.status)
    end)

    it("without [lakebase], rotates the workspace token, and skips rotation for a PAT", function()
      local modes = by_mode(r.report)
      assert.matches("workspace token %(no %[lakebase%] section%)", modes.databricks_cli.steps[4].detail)
      assert.are.equal("skip", modes.pat.steps[4].status)
    end)

    it("keeps even a wrong token out of the report", function()
      local text = r.markdown .. h.read_file(dir .. "/report.json") .. r.stdout .. r.stderr
      assert.is_nil(text:find("dapi00000000000000000000000000000000", 1, true))
    end)
  end)

  describe("without credentials", function()
    it("reports every mode as skipped and exits 0 (an empty credentials file)", function()
      local dir = h.tmpdir("live-empty")
      local r = run(dir, "# nothing yet\n")
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ pass = 0, fail = 0, skip = 4 }, r.report.summary)
      for _, m in ipairs(r.report.modes) do assert.are.equal("skip", m.status) end
    end)

    it("reports every mode as skipped and exits 0 (no file at all)", function()
      if h.exists(h.root .. "/spec/live/credentials.ini") then
        pending("this checkout has spec/live/credentials.ini")
        return
      end
      local dir = h.tmpdir("live-none")
      local r = run(dir, nil)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ pass = 0, fail = 0, skip = 4 }, r.report.summary)
      assert.matches("no credentials file", r.report.modes[1].reason)
      assert.matches("0 passed, 0 failed, 4 skipped", r.markdown, 1, true)
    end)
  end)

  describe("credentials files", function()
    it("accepts the documented example (spec/live/credentials.example.ini), one section per mode", function()
      local credentials = dofile(h.root .. "/spec/live/credentials.lua")
      local creds = assert(credentials.parse(h.read_file(h.root .. "/spec/live/credentials.example.ini"), "example"))
      for _, mode in ipairs(credentials.MODES) do assert.is_table(creds[mode], mode) end
      assert.is_table(creds.workspace)
      assert.is_table(creds.lakebase)
    end)

    it("exits 2 for a misspelt section, an unknown key, a missing file and an unknown mode", function()
      local dir = h.tmpdir("live-bad")
      local r = run(dir, "[oauth_m2n]\nclient_id = x\n")
      assert.are.equal(2, r.code)
      assert.matches("unknown section %[oauth_m2n%]", r.stderr)
      r = run(dir, "[pat]\ntoken = x\ntokn = y\n")
      assert.are.equal(2, r.code)
      assert.matches("unknown key tokn in %[pat%]", r.stderr)
      r = run(dir, nil, { DBX_LIVE_CREDENTIALS = dir .. "/missing.ini" })
      assert.are.equal(2, r.code)
      assert.matches("cannot read the credentials file", r.stderr)
      r = run(dir, "", nil, { "--modes", "pat,bogus" })
      assert.are.equal(2, r.code)
      assert.matches("unknown mode 'bogus'", r.stderr)
    end)
  end)
end)
