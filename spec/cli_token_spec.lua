-- The Databricks CLI token source (auth_type databricks_cli), as the Go and
-- Python SDKs run it: `auth token --profile P` or `--host H [--account-id
-- A]`, `--force-refresh` when the installed CLI has it (asked once of
-- `auth token --help`), the expiry forms the CLI prints, one CLI at a time
-- across processes (its refresh token may be single-use), and a child
-- environment without our secrets. A stand-in CLI (a shell script) records
-- what it was asked.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

describe("databricks_cli token source", function()
  local sim, token, dir, cli

  setup(function()
    sim = Sim.start()
    local m2m = assert(databricks.connect{ host = sim.url, ca_bundle = sim.ca_file, auth_type = "oauth_m2m",
                                           client_id = sim.client_id, client_secret = sim.client_secret })
    token = assert(m2m:token())
  end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function()
    dir = h.tmpdir("cli")
    cli = dir .. "/databricks"
  end)

  -- A stand-in CLI: `auth token --help` prints a help text (with or without
  -- --force-refresh); `auth token ...` appends its argv to calls and prints
  -- the JSON answer `json` (a shell printf format over $expiry).
  local function fake_cli(opts)
    opts = opts or {}
    h.write_script(cli, string.format([[
if [ "$3" = "--help" ]; then
  echo help >> %s/help
  printf 'Get authentication token\n\nFlags:\n  -h, --help   help for token\n%s\n'
  exit 0
fi
echo "$@" >> %s/calls
expiry=$(date -u -d "+%d seconds" +%%Y-%%m-%%dT%%H:%%M:%%S.123456789Z)
%s
printf '{"access_token":"%s","token_type":"Bearer","expiry":"%%s"}\n' "$expiry"
]], dir, opts.force_refresh and "      --force-refresh   Force a refresh of the token" or "", dir,
      opts.ttl or 3600, opts.extra or "", token))
  end

  local function calls()
    local out = {}
    for line in (h.read_file(dir .. "/calls") or ""):gmatch("[^\n]+") do out[#out + 1] = line end
    return out
  end

  local function connect(cfg)
    cfg.host = cfg.host or sim.url
    cfg.ca_bundle = sim.ca_file
    cfg.auth_type = "databricks_cli"
    cfg.databricks_cli = cli
    return databricks.connect(cfg)
  end

  it("runs `auth token --profile P` for a profile, `--host` otherwise", function()
    fake_cli()
    local c = assert(connect{ profile = "my-profile" })
    assert.are.equal(sim.client_id, assert(c:current_user()).userName)
    assert(connect{}):token()
    assert.are.same({ "auth token --profile my-profile", "auth token --host " .. sim.url }, calls())
  end)

  it("adds --force-refresh when the installed CLI has it, asking its help once per client", function()
    fake_cli{ force_refresh = true, ttl = 4 }
    local c = assert(connect{ profile = "p" })
    local first = assert(c:token())
    assert.is_string(first)
    -- Stale after half the lifetime: the CLI is asked again.
    assert.is_truthy(h.wait_for(function() c:token() return #calls() >= 2 end, 10))
    assert.are.same({ "auth token --profile p --force-refresh", "auth token --profile p --force-refresh" }, calls())
    assert.are.equal("help\n", h.read_file(dir .. "/help"))
  end)

  it("leaves --force-refresh out for a CLI without it", function()
    fake_cli{ force_refresh = false }
    assert(assert(connect{}):token())
    assert.are.same({ "auth token --host " .. sim.url }, calls())
  end)

  it("passes --account-id on account console hosts", function()
    fake_cli()
    local acc = "0d0e4a55-1111-2222-3333-444455556666"
    local c = assert(connect{ host = "https://accounts.cloud.databricks.com", account_id = acc })
    assert(c:token())
    assert.are.same({ "auth token --host https://accounts.cloud.databricks.com --account-id " .. acc }, calls())
    c = assert(connect{ account_id = acc }) -- a workspace (unified) host: no --account-id, as the SDKs
    assert(c:token())
    assert.are.equal("auth token --host " .. sim.url, calls()[2])
  end)

  it("calls the CLI once per token lifetime (cached), again when stale (refreshed)", function()
    fake_cli{ ttl = 4 }
    local c = assert(connect{})
    for _ = 1, 50 do assert(c:token()) end
    assert.are.equal(1, #calls())
    assert.is_truthy(h.wait_for(function() c:token() return #calls() == 2 end, 10))
  end)

  it("reads the expiry forms the CLI prints (nanoseconds, offsets, no zone: local time)", function()
    local cases = {
      { "2099-01-01T10:00:00.123456789Z", 4070944800 },
      { "2099-01-01T12:00:00.5+02:00", 4070944800 },
      { "2099-01-01T04:30:00-05:30", 4070944800 },
      { "2099-01-01 10:00:00", 4070944800 - 2 * 3600 }, -- TZ=XYZ-2 below: local is UTC+2
      { "2099-01-01 10:00:00.250", 4070944800 - 2 * 3600 },
      { "2099-01-01T10:00:00", 4070944800 - 2 * 3600 },
    }
    for _, case in ipairs(cases) do
      h.write_script(cli, string.format([[
[ "$3" = "--help" ] && exit 0
printf '{"access_token":"%s","expiry":"%s"}'
]], token, case[1]))
      local r = h.run({ "lua5.4", "-e", string.format([[
        local d = require "databricks"
        local c = assert(d.connect{ host = %q, auth_type = "databricks_cli", databricks_cli = %q, ca_bundle = %q })
        local _, exp = assert(c:token())
        io.write(exp)
      ]], sim.url, cli, sim.ca_file) }, { cwd = h.root, env = {
        LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
        TZ = "XYZ-2" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(tostring(case[2]), r.stdout, case[1])
    end
  end)

  it("prefers expires_in when the CLI prints it", function()
    h.write_script(cli, string.format([[
[ "$3" = "--help" ] && exit 0
printf '{"access_token":"%s","expiry":"2099-01-01T00:00:00Z","expires_in":120}'
]], token))
    local _, exp = assert(connect{}):token()
    assert.is_true(math.abs(exp - (os.time() + 120)) <= 2)
  end)

  it("refuses an unreadable expiry as a protocol error", function()
    h.write_script(cli, string.format([[printf '{"access_token":"%s","expiry":"next tuesday"}']], token))
    local tok, err = assert(connect{}):token()
    assert.is_nil(tok)
    assert.are.equal("protocol", err.kind)
    assert.matches("unreadable expiry", err.message)
  end)

  it("names the profile to sign in again when the CLI fails for it", function()
    h.write_script(cli, [[
[ "$3" = "--help" ] && exit 0
echo "Error: cache: databricks OAuth is not configured for this host" >&2
exit 1
]])
    local tok, err = assert(connect{ profile = "prod" }):token()
    assert.is_nil(tok)
    assert.are.equal("auth", err.kind)
    assert.matches("databricks auth login %-%-profile prod", err.message)
    assert.matches("not configured for this host", err.message)
  end)

  it("refuses a profile that the CLI could read as a flag", function()
    local c, err = connect{ profile = "--debug" }
    assert.is_nil(c)
    assert.are.equal("config", err.kind)
  end)

  it("serialises CLI calls from concurrent processes under a lock in the state folder", function()
    local home = h.tmpdir("clihome")
    h.write_script(cli, string.format([[
[ "$3" = "--help" ] && exit 0
echo "start $$" >> %s/log
sleep 0.4
echo "end $$" >> %s/log
printf '{"access_token":"%s","expiry":"2099-01-01T00:00:00Z"}'
]], dir, dir, token))
    local code = string.format([[
      local d = require "databricks"
      local c = assert(d.connect{ host = %q, auth_type = "databricks_cli", databricks_cli = %q, ca_bundle = %q })
      assert(c:token())
      io.open(os.getenv("DONE_FILE"), "w"):write("done"):close()
    ]], sim.url, cli, sim.ca_file)
    local env = { LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
                  LUA_CPATH = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" }
    local pids = {}
    for i = 1, 3 do
      env.DONE_FILE = dir .. "/done" .. i
      pids[i] = h.spawn({ "lua5.4", "-e", code }, { home = home, env = env, log = dir .. "/child" .. i .. ".log" })
    end
    assert.is_truthy(h.wait_for(function()
      return h.exists(dir .. "/done1") and h.exists(dir .. "/done2") and h.exists(dir .. "/done3")
    end, 20))
    local log = {}
    for line in h.read_file(dir .. "/log"):gmatch("[^\n]+") do log[#log + 1] = line end
    assert.are.equal(6, #log)
    for i = 1, 6, 2 do
      local pid = log[i]:match("^start (%d+)$")
      assert.is_string(pid, table.concat(log, "\n"))
      assert.are.equal("end " .. pid, log[i + 1], "calls overlapped:\n" .. table.concat(log, "\n"))
    end
    -- The lock is flock on a folder of its own (no lock file beside anything).
    local lock = home .. "/.local/state/lua-databricks/databricks-cli"
    assert.are.equal(448, h.mode(lock))                                   -- 0700
    assert.are.equal(448, h.mode(home .. "/.local/state/lua-databricks")) -- 0700
    local _, listing = h.sh("ls -A " .. h.quote(lock))
    assert.are.equal("", listing)
    for _, pid in ipairs(pids) do h.stop(pid) end
  end)

  it("trust #10 the Databricks CLI child gets no DATABRICKS_CLIENT_SECRET, no token, no secret we hold", function()
    h.write_script(cli, string.format([[
[ "$3" = "--help" ] && exit 0
env > %s/env
printf '{"access_token":"%s","expiry":"2099-01-01T00:00:00Z"}'
]], dir, token))
    local secret, pat = "dose" .. ("7"):rep(32), "dapi" .. ("6"):rep(32)
    local hidden = "handed-in-" .. ("5"):rep(30)
    local r = h.run({ "lua5.4", "-e", string.format([[
      local d = require "databricks"
      local core = require "databricks.core"
      core.add_secret(%q) -- a secret this process holds, whatever variable it sits in
      local c = assert(d.connect{ host = %q, auth_type = "databricks_cli", databricks_cli = %q, ca_bundle = %q })
      assert(c:token())
    ]], hidden, sim.url, cli, sim.ca_file) }, { cwd = h.root, env = {
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
      DATABRICKS_CLIENT_SECRET = secret, DATABRICKS_TOKEN = pat, PGPASSWORD = "pg-password-1",
      ODDLY_NAMED = hidden, DATABRICKS_CONFIG_FILE = "/tmp/cfg", KEEP_ME = "yes" } })
    assert.are.equal(0, r.code, r.stderr)
    local env = h.read_file(dir .. "/env")
    for _, gone in ipairs({ "DATABRICKS_CLIENT_SECRET", "DATABRICKS_TOKEN=", "PGPASSWORD", "ODDLY_NAMED",
                            secret, pat, hidden }) do
      assert.is_nil(env:find(gone, 1, true), gone .. " reached the CLI")
    end
    assert.matches("KEEP_ME=yes", env)
    assert.matches("DATABRICKS_CONFIG_FILE=/tmp/cfg", env, 1, true) -- the CLI needs it to find profiles
    assert.matches("\nHOME=", "\n" .. env)
    h.note_secrets({ secret, pat, hidden })
    assert.is_string(cjson.encode({}))
  end)

  it("core.run gives any child (the rotator's hooks) the same scrubbed environment, plus additions", function()
    local r = h.run({ "lua5.4", "-e", [[
      local core = require "databricks.core"
      local cjson = require "cjson"
      core.add_secret(os.getenv("MY_JWT")) -- held as a secret: its variable goes too
      local out = assert(core.run({ "/bin/sh", "-c", "env; echo oops >&2; exit 3" },
        { env = { "DBX_TARGET=orders", "DBX_EXPIRES_AT=123" }, timeout = 10 }))
      local t0 = core.monotonic()
      local none, terr = core.run({ "sleep", "5" }, { timeout = 0.5 })
      local missing, merr = core.run({ "/nonexistent/hook" })
      io.write(cjson.encode{ out = out, timeout_kind = terr.kind, took = core.monotonic() - t0,
                             none = none == nil, missing = missing == nil, missing_kind = merr.kind })
    ]] }, { cwd = h.root, env = {
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
      DATABRICKS_CLIENT_SECRET = "dose" .. ("4"):rep(32), MY_JWT = "eyJhbGciOiJub25lIn0.e30.x", KEEP_ME = "yes",
      DATABRICKS_PASSWORD = "basic-auth-password", ARM_CLIENT_SECRET = "azure-secret-value" } })
    assert.are.equal(0, r.code, r.stderr)
    local res = cjson.decode(r.stdout)
    assert.are.equal(3, res.out.status)
    assert.are.equal("oops\n", res.out.stderr)
    assert.matches("DBX_TARGET=orders", res.out.stdout)
    assert.matches("DBX_EXPIRES_AT=123", res.out.stdout)
    assert.matches("KEEP_ME=yes", res.out.stdout)
    assert.is_nil(res.out.stdout:find("DATABRICKS_CLIENT_SECRET", 1, true))
    assert.is_nil(res.out.stdout:find("MY_JWT", 1, true))
    assert.is_nil(res.out.stdout:find("DATABRICKS_PASSWORD", 1, true))
    assert.is_nil(res.out.stdout:find("ARM_CLIENT_SECRET", 1, true))
    assert.is_true(res.none)
    assert.are.equal("timeout", res.timeout_kind)
    assert.is_true(res.took < 4)
    assert.is_true(res.missing)
    assert.are.equal("io", res.missing_kind)
    h.note_secrets({ "dose" .. ("4"):rep(32) })
  end)
end)
