-- The first hour's CLI frictions (issue 15 #3 and #5), pinned across every
-- program the rock installs: -h works everywhere, --json answers usage
-- errors with a JSON error object too, configuration errors name flags
-- (never a library key) and come before any network call, the installer's
-- warnings carry its name, and the sign-in says what it waits for and for
-- how long.
local h = require "support.helpers"
local Sim = require "support.sim"
local cjson = require "cjson"

local PROGRAMS = {
  "databricks-oauth-install", "databricks-oauth-login", "databricks-oauth-psql", "databricks-oauth-restart",
  "databricks-oauth-rotator", "databricks-oauth-status", "databricks-oauth-uninstall", "databricks-simulator",
}
local TAKES_JSON = { ["databricks-oauth-install"] = true, ["databricks-oauth-rotator"] = true,
                     ["databricks-oauth-status"] = true, ["databricks-simulator"] = true }
-- Library keys a CLI message must never show.
local LIBRARY_KEYS = { "login_timeout", "redirect_uri", "ca_bundle", "auth_type", "client_id", "client_secret",
                       "workspace_url", "pg_username" }

local function no_library_key(text)
  for _, key in ipairs(LIBRARY_KEYS) do
    assert.is_nil(text:find(key, 1, true), "a library key (" .. key .. ") in: " .. text)
  end
end

describe("first hour", function()
  local sim

  setup(function() sim = Sim.start() end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function run(program, argv, env)
    local full = { h.root .. "/bin/" .. program }
    for _, a in ipairs(argv) do full[#full + 1] = a end
    return h.run(full, { env = env, timeout = 60 })
  end

  for _, program in ipairs(PROGRAMS) do
    it(program .. " -h prints its usage and exits 0", function()
      local r = run(program, { "-h" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^Usage: " .. program:gsub("%-", "%%-"), r.stdout)
      local long = run(program, { "--help" })
      assert.are.equal(r.stdout, long.stdout)
    end)

    it(program .. " --json reports a usage error as a JSON object (exit 2)", function()
      local r = run(program, { "--json", "--no-such-flag" })
      assert.are.equal(2, r.code, r.stdout .. r.stderr)
      local ok, doc = pcall(cjson.decode, r.stdout)
      assert.is_true(ok, "not one JSON object on stdout: " .. r.stdout .. r.stderr)
      assert.are.equal("usage", doc.error.kind)
      -- Programs without a --json mode name --json itself as the unknown option.
      local unknown = TAKES_JSON[program] and "%-%-no%-such%-flag" or "%-%-json"
      assert.matches("unknown option '" .. unknown .. "'", doc.error.message)
      assert.matches(program:gsub("%-", "%%-") .. " %-%-help", doc.error.message)
    end)
  end

  describe("databricks-oauth-login", function()
    local CASES = {
      { { "--timeout", "0" }, "%-%-timeout must be between 1 and 3600" },
      { { "--redirect-uri", "ftp://example.com" }, "%-%-redirect%-uri" },
      { { "--ca-bundle", "/nonexistent/ca.pem" }, "%-%-ca%-bundle" },
      { { "--client-id", "" }, "%-%-client%-id is empty" },
      { { "--scopes", "all\tapis" }, "%-%-scopes" },
      { { "--client-secret-file", "/nonexistent/secret" }, "%-%-client%-secret%-file" },
    }
    for _, case in ipairs(CASES) do
      it("rejects " .. table.concat(case[1], " ") .. " in flag words before any network call (exit 2)", function()
        local argv = { "--workspace-url", sim.url, "--no-browser" }
        for _, a in ipairs(case[1]) do argv[#argv + 1] = a end
        local r = run("databricks-oauth-login", argv)
        assert.are.equal(2, r.code, r.stderr)
        assert.matches("^databricks%-oauth%-login: ", r.stderr)
        assert.matches(case[2], r.stderr)
        no_library_key(r.stderr)
        assert.are.same({}, sim:requests(), "the workspace was called")
      end)
    end

    it("says what it waits for and for how long once the URL is out", function()
      local r = run("databricks-oauth-login", { "--workspace-url", sim.url, "--ca-bundle", sim.ca_file,
                                                "--no-browser", "--timeout", "1" })
      assert.are.equal(1, r.code, r.stderr)
      assert.matches("Open this URL in a browser on this machine to sign in:\n\n  https://", r.stderr)
      assert.matches("Waiting up to 1 s for the sign%-in to finish in the browser %(Ctrl%-C to stop; "
                     .. "%-%-timeout SEC to wait longer%)", r.stderr)
      assert.matches("timeout error", r.stderr)
      -- (The authorize URL above carries client_id= and redirect_uri=: the
      -- OAuth protocol's words, not ours.)
      local failed = r.stderr:match("databricks%-oauth%-login: sign%-in failed: [^\n]*")
      assert.matches("raise %-%-timeout", failed)
      no_library_key(failed)
    end)
  end)

  it("databricks-oauth-rotator names its flags in configuration errors", function()
    local r = run("databricks-oauth-rotator", { "--once", "--workspace-url", sim.url, "--auth", "bogus",
                                                "--pg-host", "h", "--pg-username", "u" })
    assert.are.equal(2, r.code, r.stderr)
    assert.matches("%-%-auth", r.stderr)
    no_library_key(r.stderr)
  end)

  it("databricks-oauth-install's warnings carry its name", function()
    local r = run("databricks-oauth-install", { "--platform", "systemd", "--dry-run", "--workspace-url", sim.url,
                                                "--ca-bundle", sim.ca_file, "--pg-host", "127.0.0.1",
                                                "--pg-username", "u" },
      { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret,
        HTTPS_PROXY = "http://someone:pw@proxy.example.com:3128" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("databricks%-oauth%-install: HTTPS_PROXY holds a user name or password", r.stderr)
    assert.is_nil(r.stderr:find("pw@", 1, true))
  end)
end)
