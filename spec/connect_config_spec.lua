-- databricks.connect validates the whole config before any network call
-- (DESIGN.md §3): hosts, auth types, credentials per type, mixed methods,
-- unknown and forbidden keys, warehouse/cluster ids from http_path, and it
-- reads no environment variable.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

describe("connect config validation", function()
  local sim

  setup(function() sim = Sim.start() end)
  teardown(function() sim:stop() end)
  before_each(function() sim:clear_requests() end)

  -- Every case here must fail before anything reaches the simulator.
  local function rejects(cfg, pattern)
    cfg.ca_bundle = cfg.ca_bundle or sim.ca_file
    if cfg.host == nil then cfg.host = sim.url elseif cfg.host == false then cfg.host = nil end
    local client, err = databricks.connect(cfg)
    assert.is_nil(client)
    assert.are.equal("config", err.kind, tostring(err))
    if pattern then assert.matches(pattern, err.message) end
    assert.are.same({}, sim:requests(), "a rejected config must not touch the network")
    return err
  end

  it("requires a host", function()
    rejects({ host = false, auth_type = "pat", token = sim.pat }, "host is required")
  end)

  it("rejects a host with another scheme, credentials or a bad port", function()
    rejects({ host = "ftp://x.cloud.databricks.com", token = sim.pat }, "https://")
    rejects({ host = "https://u:p@x.cloud.databricks.com", token = sim.pat }, "credentials")
    rejects({ host = "https://x.cloud.databricks.com:99999", token = sim.pat }, "port")
  end)

  it("rejects an unknown auth_type and lists the valid ones", function()
    rejects({ auth_type = "basic", token = sim.pat }, "pat, oauth_m2m, oauth_u2m, token, databricks_cli")
  end)

  it("names the missing credential of each auth type", function()
    rejects({ auth_type = "pat" }, "auth_type pat needs token")
    rejects({ auth_type = "oauth_m2m" }, "needs client_secret and client_id")
    rejects({ auth_type = "oauth_m2m", client_id = "x" }, "needs client_secret")
    rejects({ auth_type = "token" }, "needs access_token")
  end)

  it("rejects an empty value for a key that has a default, instead of taking the default", function()
    rejects({ auth_type = "oauth_u2m", client_id = "", open_browser = function() error("no browser") end },
      "^client_id is empty: give a value or leave it out$")
  end)

  it("rejects credentials of another auth type, naming both", function()
    rejects({ auth_type = "pat", token = sim.pat, client_secret = "s", client_id = "i" },
      "auth_type pat does not take client_secret %(it belongs to oauth_m2m%)")
    rejects({ auth_type = "oauth_m2m", client_id = "i", client_secret = "s", token = sim.pat },
      "auth_type oauth_m2m does not take token %(it belongs to pat%)")
    rejects({ auth_type = "oauth_m2m", client_id = "i", client_secret = "s", access_token = "a" },
      "does not take access_token")
    rejects({ auth_type = "databricks_cli", token = sim.pat }, "databricks_cli does not take token")
    rejects({ auth_type = "oauth_u2m", token = sim.pat }, "oauth_u2m does not take token")
  end)

  it("without auth_type, reports two methods instead of guessing", function()
    rejects({ token = sim.pat, client_id = "i", client_secret = "s" },
      "more than one authentication method configured: pat and oauth_m2m")
    rejects({}, "no credentials")
  end)

  it("infers the auth type when exactly one method is present", function()
    local c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
    assert.are.equal("pat", c:_info().auth_type)
    c:close()
    c = assert(databricks.connect{ host = sim.url, client_id = "i", client_secret = "s", ca_bundle = sim.ca_file })
    assert.are.equal("oauth_m2m", c:_info().auth_type)
    c:close()
  end)

  it("rejects unknown keys", function()
    rejects({ token = sim.pat, hostname = "x" }, "unknown config key 'hostname'")
  end)

  for _, key in ipairs({ "user_agent", "product", "product_version" }) do
    it("rejects '" .. key .. "' and points to set_product", function()
      rejects({ token = sim.pat, [key] = "x" }, "set_product")
    end)
  end

  it("rejects values of the wrong type, naming the key", function()
    rejects({ token = sim.pat, timeout = "60" }, "'timeout' must be a number")
    rejects({ token = 42 }, "'token' must be a string")
    rejects({ token = sim.pat, on_tokens = "f" }, "'on_tokens' must be a function")
  end)

  it("rejects an expires_at that is not epoch seconds", function()
    rejects({ auth_type = "token", access_token = "a", expires_at = 1e300 }, "expires_at must be epoch seconds")
    rejects({ auth_type = "token", access_token = "a", expires_at = 0 / 0 }, "expires_at must be epoch seconds")
  end)

  it("rejects out-of-range timeouts", function()
    rejects({ token = sim.pat, timeout = 0 }, "timeout must be between")
    rejects({ token = sim.pat, retry_timeout = -1 }, "retry_timeout must be between")
  end)

  it("derives warehouse_id from http_path", function()
    local c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                        http_path = "/sql/1.0/warehouses/abc123" })
    assert.are.equal("abc123", c:_info().warehouse_id)
    c:close()
  end)

  it("derives cluster_id from a cluster http_path", function()
    local c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                        http_path = "/sql/protocolv1/o/1234567/0123-456789-abcdefgh" })
    assert.are.equal("0123-456789-abcdefgh", c:_info().cluster_id)
    assert.is_nil(c:_info().warehouse_id)
    c:close()
  end)

  it("accepts HTTP paths without their leading slash, as the SDKs do", function()
    local c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                        http_path = "sql/1.0/warehouses/abc123" })
    assert.are.equal("abc123", c:_info().warehouse_id)
    c:close()
    c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                   http_path = "sql/protocolv1/o/1234567/0123-456789-abcdefgh" })
    assert.are.equal("0123-456789-abcdefgh", c:_info().cluster_id)
    c:close()
    assert.are.equal("abc123", databricks.warehouse_id_from_http_path("sql/1.0/warehouses/abc123"))
  end)

  it("validates the 0.2 keys: federation, account and workspace ids, CLI profile", function()
    rejects({ auth_type = "env_oidc", oidc_token_env = "NOT A NAME" }, "not an environment variable name")
    rejects({ auth_type = "github_oidc", token = sim.pat }, "github_oidc does not take token")
    rejects({ auth_type = "pat", token = sim.pat, oidc_token_file = "/t" }, "does not take oidc_token_file")
    rejects({ auth_type = "pat", token = sim.pat, profile = "p" }, "does not take profile")
    rejects({ auth_type = "oauth_m2m", client_id = "i", client_secret = "s", token_audience = "a" },
      "does not take token_audience")
    rejects({ auth_type = "pat", token = sim.pat, workspace_id = "" }, "workspace_id")
    rejects({ auth_type = "pat", token = sim.pat, scopes = "sql" }, "auth_type pat does not take scopes")
    rejects({ auth_type = "kerberos" }, "env_oidc, file_oidc, github_oidc")
  end)

  it("infers the auth type from keys only one method has", function()
    for cfg, want in pairs({ [{ oidc_token_file = "/t" }] = "file_oidc", [{ oidc_token_env = "X" }] = "env_oidc",
                             [{ profile = "p" }] = "databricks_cli" }) do
      cfg.host, cfg.ca_bundle = sim.url, sim.ca_file
      local c = assert(databricks.connect(cfg))
      assert.are.equal(want, c:_info().auth_type)
      c:close()
    end
    rejects({ token = sim.pat, oidc_token_file = "/t" }, "more than one authentication method configured")
  end)

  it("rejects a warehouse_id that contradicts http_path", function()
    rejects({ token = sim.pat, warehouse_id = "other", http_path = "/sql/1.0/warehouses/abc123" },
      "conflicts with http_path")
  end)

  it("rejects an http_path that names neither a warehouse nor a cluster", function()
    rejects({ token = sim.pat, http_path = "/sql/2.0/something" }, "neither a SQL warehouse path")
  end)

  it("allows at most one of serverless_compute_id and cluster_id", function()
    rejects({ token = sim.pat, serverless_compute_id = "auto", cluster_id = "c" }, "at most one")
  end)

  it("rejects an unreadable ca_bundle, naming it", function()
    rejects({ token = sim.pat, ca_bundle = "/nonexistent/ca.pem" }, "/nonexistent/ca.pem")
  end)

  it("normalises the host (scheme added, path, query and trailing slash dropped)", function()
    local c = assert(databricks.connect{ host = sim.host .. "/some/path/?o=123", token = sim.pat,
                                        ca_bundle = sim.ca_file })
    assert.are.equal(sim.url, c:_info().host)
    assert.are.equal("user@example.com", assert(c:current_user()).userName)
    c:close()
  end)

  it("reads no environment variable (DATABRICKS_HOST / DATABRICKS_TOKEN are ignored)", function()
    local r = h.run({ "lua5.4", "-e", [[
      local d = require "databricks"
      local c, err = d.connect{ auth_type = "pat" }
      io.write(c and "connected" or err.message)
    ]] }, { cwd = h.root, env = {
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
      DATABRICKS_HOST = sim.url, DATABRICKS_TOKEN = sim.pat, DATABRICKS_AUTH_TYPE = "pat",
    } })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("host is required", r.stdout)
    assert.are.same({}, sim:requests())
  end)

  it("raises for a non-table config (a programming error)", function()
    assert.has_error(function() databricks.connect("https://x") end)
  end)
end)
