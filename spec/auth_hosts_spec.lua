-- Account and unified hosts (DESIGN.md §7): account_id gives the account
-- OAuth endpoints (M2M, U2M, federation) on any host, account console hosts
-- require it; workspace_id — or ?o= / ?w= / ?workspace_id= in host, which
-- normalisation no longer throws away — is sent as X-Databricks-Workspace-Id
-- on every request, as the Go SDK does.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

local function form_of(body)
  local t = {}
  for k, v in (body or ""):gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
  end
  return t
end

describe("account and unified hosts", function()
  local sim, account_path

  setup(function()
    sim = Sim.start()
    account_path = "^/oidc/accounts/" .. sim.account_id:gsub("%-", "%%-")
  end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function connect(cfg)
    cfg.host = cfg.host or sim.url
    cfg.ca_bundle = cfg.ca_bundle or sim.ca_file
    return databricks.connect(cfg)
  end

  describe("account_id", function()
    it("uses the account token endpoint for M2M, without discovery", function()
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                account_id = sim.account_id })
      assert.is_string((c:token()))
      local tok = sim:requests(account_path .. "/v1/token$")
      assert.are.equal(1, #tok)
      assert.matches("^Basic ", tok[1].headers.authorization)
      assert.are.same({ grant_type = "client_credentials", scope = "all-apis" }, form_of(tok[1].body))
      assert.are.same({}, sim:requests("%.well%-known"))
      assert.are.same({}, sim:requests("^/oidc/v1/"))
      assert.are.equal(sim.account_id, c:_info().account_id)
    end)

    it("signs in at the account authorize and token endpoints (U2M)", function()
      local port = h.free_port()
      local app = "acct-app-" .. port
      sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } } }
      local c = assert(connect{ auth_type = "oauth_u2m", client_id = app, account_id = sim.account_id,
                                redirect_uri = "http://localhost:" .. port, login_timeout = 20,
                                open_browser = function(url) Sim.browser(url, { ca_file = sim.ca_file }) end })
      assert.is_string((c:token()))
      assert.are.equal(1, #sim:requests(account_path .. "/v1/authorize$"))
      assert.are.equal("authorization_code", form_of(sim:requests(account_path .. "/v1/token$")[1].body).grant_type)
    end)

    it("is never inferred: ?a= / ?account_id= in host and host metadata are not read (unlike the Go SDK)", function()
      local c = assert(connect{ host = sim.url .. "/?a=" .. sim.account_id .. "&account_id=" .. sim.account_id,
                                auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      assert.is_nil(c:_info().account_id)
      assert(c:token())
      assert.are.same({}, sim:requests(account_path), "the workspace endpoints were used")
      assert.are.same({}, sim:requests("databricks%-config"), "no host metadata request")
    end)

    it("is required on account console hosts, and checked", function()
      for _, host in ipairs({ "https://accounts.cloud.databricks.com", "accounts.azuredatabricks.net",
                              "https://accounts.gcp.databricks.com/", "https://accounts-dod.cloud.databricks.us" }) do
        local c, err = databricks.connect{ host = host, auth_type = "oauth_m2m", client_id = "i", client_secret = "s" }
        assert.is_nil(c, host)
        assert.are.equal("config", err.kind)
        assert.matches("account console host: set account_id", err.message)
        c = assert(databricks.connect{ host = host, auth_type = "oauth_m2m", client_id = "i", client_secret = "s",
                                       account_id = "0d0e4a55-1111-2222-3333-444455556666" })
        c:close()
      end
      local c, err = connect{ auth_type = "pat", token = sim.pat, account_id = "../../evil" }
      assert.is_nil(c)
      assert.matches("account_id", err.message)
    end)
  end)

  describe("workspace_id", function()
    local function wsids(path)
      local out = {}
      for _, r in ipairs(sim:requests(path or "^/api/")) do out[#out + 1] = r.headers["x-databricks-workspace-id"] or "-" end
      return out
    end

    it("is sent as X-Databricks-Workspace-Id on every REST request", function()
      sim:config{ require_workspace_id = true }
      local c = assert(connect{ auth_type = "pat", token = sim.pat, workspace_id = sim.workspace_id })
      assert(c:current_user())
      assert(c:get_table(sim.table))
      assert(c:request("GET", "/api/2.0/preview/scim/v2/Me", { headers = { ["X-Custom"] = "1" } }))
      assert(c:sql("SELECT 1", { warehouse_id = sim.warehouse_id }))
      local ids = wsids()
      assert.is_true(#ids >= 4)
      for _, id in ipairs(ids) do assert.are.equal(sim.workspace_id, id) end
      assert.are.equal(sim.workspace_id, c:headers()["X-Databricks-Workspace-Id"])
      assert.are.equal(sim.workspace_id, c:_info().workspace_id)
    end)

    it("cannot be overridden per request when the client has one", function()
      local c = assert(connect{ auth_type = "pat", token = sim.pat, workspace_id = sim.workspace_id })
      local ok, err = c:request("GET", "/api/2.0/preview/scim/v2/Me",
        { headers = { ["x-databricks-workspace-id"] = "999" } })
      assert.is_nil(ok)
      assert.are.equal("config", err.kind)
      assert.are.same({}, sim:requests("^/api/"))
      -- without one configured, a caller may route a single request
      c = assert(connect{ auth_type = "pat", token = sim.pat })
      assert(c:request("GET", "/api/2.0/preview/scim/v2/Me", { headers = { ["X-Databricks-Workspace-Id"] = "5" } }))
      assert.are.same({ "5" }, wsids())
    end)

    it("is required by a unified host: without it the request fails with the server's error", function()
      sim:config{ require_workspace_id = true }
      local c = assert(connect{ auth_type = "pat", token = sim.pat })
      local me, err = c:current_user()
      assert.is_nil(me)
      assert.are.equal(400, err.status)
      assert.are.equal("INVALID_PARAMETER_VALUE", err.error_code)
      assert.is_nil(c:headers()["X-Databricks-Workspace-Id"])
    end)

    it("is taken from ?o=, ?w= and ?workspace_id= in host (a URL pasted from the browser)", function()
      sim:config{ require_workspace_id = true }
      for _, q in ipairs({ "?o=", "/?o=", "/browse?w=", "?workspace_id=", "/?a=1&o=" }) do
        sim:clear_requests()
        local c = assert(connect{ host = sim.url .. q .. sim.workspace_id, auth_type = "pat", token = sim.pat })
        assert.are.equal(sim.url, c:_info().host, "the query is not part of the host")
        assert(c:current_user())
        assert.are.same({ sim.workspace_id }, wsids(), q)
        c:close()
      end
    end)

    it("takes ?o= only when numeric (as the Go SDK), ?w= as any identifier", function()
      local c = assert(connect{ host = sim.url .. "/?o=abc", auth_type = "pat", token = sim.pat })
      assert.is_nil(c:_info().workspace_id)
      c = assert(connect{ host = sim.url .. "/?w=ws-Abc.1", auth_type = "pat", token = sim.pat })
      assert.are.equal("ws-Abc.1", c:_info().workspace_id)
      local _, err = connect{ host = sim.url .. "/?w=a%0Db", auth_type = "pat", token = sim.pat }
      assert.are.equal("config", err.kind)
    end)

    it("refuses a workspace_id that contradicts the host's, or that is not an identifier", function()
      local c, err = connect{ host = sim.url .. "/?o=123", workspace_id = "456", auth_type = "pat", token = sim.pat }
      assert.is_nil(c)
      assert.matches("conflicts with the workspace id 123", err.message)
      c = assert(connect{ host = sim.url .. "/?o=123", workspace_id = "123", auth_type = "pat", token = sim.pat })
      c:close()
      c, err = connect{ workspace_id = "1\r\nX-Evil: 1", auth_type = "pat", token = sim.pat }
      assert.is_nil(c)
      assert.are.equal("config", err.kind)
    end)

    it("goes with OAuth-authenticated calls too, not to the token endpoint", function()
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                workspace_id = sim.workspace_id })
      assert(c:current_user())
      assert.are.same({ sim.workspace_id }, wsids())
      assert.are.same({ "-" }, wsids("^/oidc/v1/token"))
    end)
  end)
end)
