-- The fault matrix (issue 6): for each auth type and for the rotator, each
-- transport fault ends either in a successful retry or in a clear error of
-- the documented kind within the time budget — never a crash, a hang, or a
-- change to .pgpass.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

local TIMEOUT, BUDGET = 2, 3
-- A hung attempt uses up a whole TIMEOUT; its row gets a budget that always
-- leaves room for the longest first back-off (1 s) and a second attempt, on
-- however loaded a machine, so "retried to success" is not a timing race.
local HANG_BUDGET = 2 * TIMEOUT + 4
-- Longest acceptable duration: the budget, one more attempt and a back-off.
local function limit(fault) return (fault.budget or BUDGET) + TIMEOUT + 3 end
local LIMIT = limit{}

-- fault -> expected outcome: "ok" (retried to success) or the error kinds
-- allowed.
local FAULTS = {
  { name = "429 with Retry-After", f = { status = 429, headers = { ["Retry-After"] = "1" } }, want = "ok" },
  { name = "429 without Retry-After", f = { status = 429 }, want = "ok" },
  { name = "500", f = { status = 500, body = { error_code = "INTERNAL_ERROR", message = "boom" } },
    want = { http = true } },
  { name = "502", f = { status = 502 }, want = "ok" },
  { name = "503", f = { status = 503 }, want = "ok" },
  { name = "504", f = { status = 504 }, want = "ok" },
  { name = "reset mid-body", f = { action = "reset_mid_body" }, want = "ok" },
  { name = "reset before answering", f = { action = "reset" }, want = "ok" },
  { name = "timeout", f = { action = "hang" }, want = "ok", budget = HANG_BUDGET },
  { name = "truncated body", f = { action = "truncated" }, want = "ok" },
  { name = "HTML body", f = { action = "html" }, want = { protocol = true } },
  { name = "10 MB body", f = { action = "oversized", size = 10 * 1024 * 1024 }, want = { protocol = true } },
  { name = "JSON of the wrong shape", f = { action = "wrong_shape" }, want = { protocol = true } },
  { name = "persistent 503", f = { status = 503, count = -1 }, want = { http = true } },
}

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

describe("fault matrix", function()
  local sim, cli_dir

  setup(function()
    sim = Sim.start()
    -- A stand-in Databricks CLI that hands out a real token of the simulator.
    cli_dir = h.tmpdir("fm-cli")
  end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function m2m_token()
    local r = assert(sim:request("POST", "/oidc/v1/token", { form = { grant_type = "client_credentials",
      scope = "all-apis", client_id = sim.client_id, client_secret = sim.client_secret } }))
    return require("cjson").decode(r.body).access_token
  end

  local function refresh_token()
    -- A refresh token for the built-in app through a real browser sign-in.
    local port = h.free_port()
    local app = "fm-app-" .. port
    sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } } }
    local t = assert(databricks.login{ host = sim.url, ca_bundle = sim.ca_file, client_id = app, timeout = 20,
      redirect_uri = "http://localhost:" .. port,
      open_browser = function(url) Sim.browser(url, { ca_file = sim.ca_file }) end })
    return t, app
  end

  -- Each auth type: how to build the client and which path the fault hits
  -- (the token endpoint where the auth type has one, else the REST call).
  local AUTH = {
    { name = "pat", path = "^/api/2%.0/preview/scim/v2/Me$",
      cfg = function() return { auth_type = "pat", token = sim.pat } end },
    { name = "oauth_m2m", path = "^/oidc/v1/token$",
      cfg = function() return { auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret } end },
    { name = "token (refresh)", path = "^/oidc/v1/token$",
      cfg = function()
        local t, app = refresh_token()
        return { auth_type = "token", access_token = t.access_token, refresh_token = t.refresh_token, client_id = app,
                 expires_at = os.time() - 1 }
      end },
    { name = "databricks_cli", path = "^/api/2%.0/preview/scim/v2/Me$",
      cfg = function()
        h.write_script(cli_dir .. "/databricks", string.format(
          [[printf '{"access_token":"%s","expiry":"2099-01-01T00:00:00Z"}']], m2m_token()))
        return { auth_type = "databricks_cli", databricks_cli = cli_dir .. "/databricks" }
      end },
  }

  for _, auth in ipairs(AUTH) do
    describe(auth.name, function()
      for _, fault in ipairs(FAULTS) do
        it(fault.name, function()
          local cfg = auth.cfg()
          cfg.host, cfg.ca_bundle, cfg.timeout, cfg.retry_timeout = sim.url, sim.ca_file, TIMEOUT,
            fault.budget or BUDGET
          local client = assert(databricks.connect(cfg))
          local f = copy(fault.f)
          f.path = auth.path
          sim:fault(f)
          local t0 = h.now()
          local me, err = client:current_user()
          local dt = h.now() - t0
          assert.is_true(dt < limit(fault), string.format("took %.1f s", dt))
          if fault.want == "ok" then
            assert.is_table(me, tostring(err))
            assert.is_string(me.userName)
          else
            assert.is_nil(me)
            assert.is_true(fault.want[err.kind], "unexpected kind: " .. tostring(err))
            assert.is_true(#err.message > 10)
            h.note("fault matrix " .. auth.name .. " " .. fault.name, tostring(err))
          end
          client:close()
        end)
      end

      it("connection refused", function()
        local cfg = auth.cfg()
        cfg.host, cfg.ca_bundle, cfg.timeout, cfg.retry_timeout =
          "https://127.0.0.1:" .. h.free_port(), sim.ca_file, TIMEOUT, 1
        local client = assert(databricks.connect(cfg))
        local t0 = h.now()
        local me, err = client:current_user()
        assert.is_nil(me)
        assert.are.equal("network", err.kind)
        assert.is_true(h.now() - t0 < LIMIT)
      end)
    end)
  end

  describe("rotator (--once, M2M, Lakebase instance)", function()
    local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"
    local ORIGINAL = "# keep\nother:5432:db:u:pw\n"

    for _, target in ipairs({ { "token endpoint", "^/oidc/v1/token$" },
                              { "credential API", "^/api/2%.0/database/credentials$" } }) do
      for _, fault in ipairs(FAULTS) do
        it(target[1] .. ": " .. fault.name, function()
          local dir = h.tmpdir("fm-rot")
          local pgpass = dir .. "/pgpass"
          h.write_file(pgpass, ORIGINAL, 384)
          local f = copy(fault.f)
          f.path = target[2]
          sim:fault(f)
          local t0 = h.now()
          local r = h.run({ ROTATOR, "--once", "--workspace-url", sim.url, "--ca-bundle", sim.ca_file,
                            "--instance-name", sim.instance, "--pg-username", "u", "--pgpass-file", pgpass,
                            "--timeout", tostring(TIMEOUT), "--retry-budget", tostring(fault.budget or BUDGET),
                            "--log-file", dir .. "/rotator.log", "--status-file", dir .. "/status.json" },
            { home = dir, timeout = 120, env = { DATABRICKS_CLIENT_ID = sim.client_id,
                                                 DATABRICKS_CLIENT_SECRET = sim.client_secret } })
          local dt = h.now() - t0
          assert.is_true(dt < limit(fault) * 2, string.format("took %.1f s", dt))
          assert.is_true(r.code == 0 or r.code == 1, "exit " .. tostring(r.code) .. ": " .. r.stderr)
          if fault.want == "ok" then
            assert.are.equal(0, r.code, r.stderr)
            assert.matches("^# keep\nother:5432:db:u:pw\n127%.0%.0%.1:5432:databricks_postgres:u:eyJ", h.read_file(pgpass))
          else
            assert.are.equal(1, r.code, r.stderr)
            assert.matches("rotation failed: %a+ error", r.stderr)
            assert.are.equal(ORIGINAL, h.read_file(pgpass), ".pgpass changed after a failed rotation")
          end
        end)
      end
    end
  end)
end)
