-- Specs of the local Databricks workspace simulator (lua/databricks/simulator/)
-- itself: the OAuth server, the REST, SQL and Lakebase endpoints, programmed
-- faults, the request log, connection handling and the PG hook. They talk to
-- it over HTTPS exactly as the connector does and never load the connector.
local helpers = require "support.helpers"
local Sim = require "support.sim"
local socket = require "socket"
local mime = require "mime"
local cjson = require "cjson"

local client = Sim.client

local function basic(id, secret)
  return "Basic " .. mime.b64(id .. ":" .. secret)
end

local function unb64url(s)
  s = s:gsub("[-_]", { ["-"] = "+", ["_"] = "/" })
  return (mime.unb64(s .. string.rep("=", (4 - #s % 4) % 4)))
end

local function jwt_parts(token)
  local h, p, sig = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]+)$")
  if not h then return nil end
  return client.decode(unb64url(h)), client.decode(unb64url(p)), sig
end

local function curl(s, path, extra)
  local argv = { "curl", "-sS", "--max-time", "10", "--cacert", s.ca_file }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = s.url .. path
  return helpers.run(argv, { timeout = 20 })
end

describe("workspace simulator", function()
  local s

  setup(function()
    s = Sim.start()
  end)

  teardown(function()
    if s then s:stop() end
    helpers.cleanup()
  end)

  before_each(function()
    s:reset()
  end)

  local function get(path, opts)
    return assert(s:request("GET", path, opts))
  end

  local function post(path, opts)
    return assert(s:request("POST", path, opts))
  end

  local function m2m()
    local r = post("/oidc/v1/token", {
      form = { grant_type = "client_credentials", scope = "all-apis" },
      headers = { Authorization = basic(s.client_id, s.client_secret) },
    })
    assert.are.equal(200, r.status)
    return r.json.access_token, r
  end

  local function authorize(q)
    local query = {
      response_type = "code", client_id = "databricks-cli", redirect_uri = "http://localhost:8020",
      scope = "offline_access all-apis", state = "st-123", code_challenge_method = "S256",
    }
    for k, v in pairs(q or {}) do query[k] = v or nil end
    local r = get("/oidc/v1/authorize?" .. client.form(query))
    local params
    if r.headers.location then
      params = client.parse_query(r.headers.location:match("%?(.*)$"))
    end
    return r, params
  end

  -- authorize + code exchange; returns the token response.
  local function u2m(scope)
    local verifier, challenge = Sim.pkce()
    local _, params = authorize({ code_challenge = challenge, scope = scope })
    return post("/oidc/v1/token", { form = {
      grant_type = "authorization_code", code = params.code, code_verifier = verifier,
      redirect_uri = "http://localhost:8020", client_id = "databricks-cli",
    } })
  end

  local function sql(body, token)
    body.warehouse_id = body.warehouse_id or s.warehouse_id
    return post("/api/2.0/sql/statements", { json = body, token = token or s.pat })
  end

  describe("process", function()
    it("listens on two free ports and answers on 127.0.0.1 and localhost", function()
      assert.is_true(Sim.running(s.pid))
      assert.are_not.equal(s.port, s.control_port)
      assert.are.equal("https://127.0.0.1:" .. s.port, s.url)
      assert.are.equal("127.0.0.1:" .. s.port, s.host)
      local a = get("/oidc/.well-known/oauth-authorization-server")
      local b = get("/oidc/.well-known/oauth-authorization-server", { base = s.localhost_url })
      assert.are.equal(s.url .. "/oidc/v1/token", a.json.token_endpoint)
      assert.are.equal(s.localhost_url .. "/oidc/v1/token", b.json.token_endpoint)
    end)

    it("exits by itself once the watched process is gone", function()
      local sleeper = helpers.spawn({ "sleep", "30" })
      local other = Sim.start({ watch_pid = sleeper })
      assert.is_true(Sim.running(other.pid))
      helpers.kill(sleeper, "KILL")
      local gone = helpers.wait_for(function() return not Sim.running(other.pid) end, 5)
      other:stop()
      assert.is_true(gone)
    end)

    it("fails to start with the reason from its log", function()
      local ok, err = pcall(Sim.start, { config = { no_such_setting = 1 } })
      assert.is_false(ok)
      assert.matches("unknown config key no_such_setting", err, 1, true)
    end)

    it("stops idempotently", function()
      local other = Sim.start()
      other:stop()
      other:stop()
      assert.is_false(Sim.running(other.pid))
    end)
  end)

  describe("OAuth discovery", function()
    it("points at the authorize and token endpoints of the host used", function()
      local r = get("/oidc/.well-known/oauth-authorization-server")
      assert.are.equal(200, r.status)
      assert.are.equal(s.url .. "/oidc/v1/authorize", r.json.authorization_endpoint)
      assert.are.equal(s.url .. "/oidc/v1/token", r.json.token_endpoint)
      assert.are.equal(s.url .. "/oidc", r.json.issuer)
    end)

    it("is 404 when discovery is off", function()
      s:config({ discovery = false })
      assert.are.equal(404, get("/oidc/.well-known/oauth-authorization-server").status)
    end)
  end)

  describe("client_credentials", function()
    it("accepts HTTP Basic client authentication", function()
      local token, r = m2m()
      assert.are.equal("Bearer", r.json.token_type)
      assert.are.equal(3600, r.json.expires_in)
      assert.are.equal("all-apis", r.json.scope)
      local issued = s:tokens("access")
      local rec = issued[#issued]
      assert.are.equal(token, rec.token)
      assert.are.equal("basic", rec.client_auth)
      assert.are.equal(s.client_id, rec.subject)
    end)

    it("accepts the client in the body and records that it was", function()
      local r = post("/oidc/v1/token", { form = {
        grant_type = "client_credentials", scope = "all-apis",
        client_id = s.client_id, client_secret = s.client_secret,
      } })
      assert.are.equal(200, r.status)
      assert.are.equal("body", s:requests("/oidc/v1/token")[1].client_auth)
      local issued = s:tokens("access")
      assert.are.equal(r.json.access_token, issued[#issued].token)
      assert.are.equal("body", issued[#issued].client_auth)
    end)

    it("rejects a wrong secret or an unknown client with 401 invalid_client", function()
      for _, cred in ipairs({ { s.client_id, "wrong" }, { "nobody", "x" } }) do
        local r = post("/oidc/v1/token", {
          form = { grant_type = "client_credentials", scope = "all-apis" },
          headers = { Authorization = basic(cred[1], cred[2]) },
        })
        assert.are.equal(401, r.status)
        assert.are.same({ error = "invalid_client", error_description = "Client authentication failed" }, r.json)
      end
      local r = post("/oidc/v1/token", { form = { grant_type = "client_credentials", scope = "all-apis" } })
      assert.are.equal(401, r.status)
    end)

    it("requires the all-apis scope", function()
      for _, scope in ipairs({ false, "sql" }) do
        local r = post("/oidc/v1/token", {
          form = { grant_type = "client_credentials", scope = scope or nil },
          headers = { Authorization = basic(s.client_id, s.client_secret) },
        })
        assert.are.equal(400, r.status)
        assert.are.equal("invalid_scope", r.json.error)
      end
    end)

    it("rejects a body that is not form-encoded and unknown grants", function()
      local r = post("/oidc/v1/token", { json = { grant_type = "client_credentials" } })
      assert.are.equal(400, r.status)
      assert.are.equal("invalid_request", r.json.error)
      r = post("/oidc/v1/token", { form = { grant_type = "password" } })
      assert.are.equal(400, r.status)
      assert.are.equal("unsupported_grant_type", r.json.error)
    end)
  end)

  describe("authorize", function()
    it("redirects to the loopback URI with a code and the state", function()
      local r, params = authorize({ code_challenge = select(2, Sim.pkce()) })
      assert.are.equal(302, r.status)
      assert.matches("^http://localhost:8020%?", r.headers.location)
      assert.matches("^dcod", params.code)
      assert.are.equal("st-123", params.state)
      for _, uri in ipairs({ "http://127.0.0.1:8040/", "http://localhost:8031" }) do
        r = authorize({ code_challenge = "x", redirect_uri = uri })
        assert.are.equal(302, r.status)
        assert.are.equal(uri, r.headers.location:match("^[^?]*"))
      end
    end)

    it("redirects with access_denied in deny mode", function()
      s:config({ authorize_mode = "deny" })
      local r, params = authorize({ code_challenge = "x" })
      assert.are.equal(302, r.status)
      assert.are.equal("access_denied", params.error)
      assert.truthy(params.error_description and #params.error_description > 0)
      assert.are.equal("st-123", params.state)
      assert.is_nil(params.code)
    end)

    it("returns a different state in wrong_state mode", function()
      s:config({ authorize_mode = "wrong_state" })
      local _, params = authorize({ code_challenge = "x" })
      assert.truthy(params.code)
      assert.are_not.equal("st-123", params.state)
    end)

    it("answers an unregistered redirect URI or client with an HTML 400, never a redirect", function()
      local cases = {
        { redirect_uri = "http://localhost:8041" }, { redirect_uri = "http://localhost:8019" },
        { redirect_uri = "https://localhost:8020" }, { redirect_uri = "http://evil.example:8020" },
        { client_id = "unknown-app" },
      }
      for _, q in ipairs(cases) do
        q.code_challenge = "x"
        local r = authorize(q)
        assert.are.equal(400, r.status)
        assert.is_nil(r.headers.location)
        assert.matches("text/html", r.headers["content-type"])
      end
    end)

    it("redirects with invalid_request without an S256 challenge", function()
      local _, params = authorize({})
      assert.are.equal("invalid_request", params.error)
      _, params = authorize({ code_challenge = "x", code_challenge_method = "plain" })
      assert.are.equal("invalid_request", params.error)
    end)
  end)

  describe("authorization_code", function()
    it("exchanges a code with the right verifier for tokens", function()
      local r = u2m()
      assert.are.equal(200, r.status)
      assert.are.equal("Bearer", r.json.token_type)
      assert.matches("^dorf", r.json.refresh_token)
      local _, claims = jwt_parts(r.json.access_token)
      assert.are.equal("user@example.com", claims.sub)
      r = u2m("all-apis")
      assert.are.equal(200, r.status)
      assert.is_nil(r.json.refresh_token)
    end)

    it("rejects a wrong verifier with invalid_grant", function()
      local _, challenge = Sim.pkce()
      local _, params = authorize({ code_challenge = challenge })
      local r = post("/oidc/v1/token", { form = {
        grant_type = "authorization_code", code = params.code, code_verifier = Sim.pkce(),
        redirect_uri = "http://localhost:8020", client_id = "databricks-cli",
      } })
      assert.are.equal(400, r.status)
      assert.are.equal("invalid_grant", r.json.error)
      assert.matches("verifier", r.json.error_description)
    end)

    it("accepts a code only once", function()
      local verifier, challenge = Sim.pkce()
      local _, params = authorize({ code_challenge = challenge })
      local form = {
        grant_type = "authorization_code", code = params.code, code_verifier = verifier,
        redirect_uri = "http://localhost:8020", client_id = "databricks-cli",
      }
      assert.are.equal(200, post("/oidc/v1/token", { form = form }).status)
      local again = post("/oidc/v1/token", { form = form })
      assert.are.equal(400, again.status)
      assert.are.equal("invalid_grant", again.json.error)
    end)

    it("rejects another redirect_uri, another client and an expired code", function()
      local verifier, challenge = Sim.pkce()
      local _, params = authorize({ code_challenge = challenge })
      local form = {
        grant_type = "authorization_code", code = params.code, code_verifier = verifier,
        redirect_uri = "http://localhost:8021", client_id = "databricks-cli",
      }
      local r = post("/oidc/v1/token", { form = form })
      assert.are.equal(400, r.status)
      assert.are.equal("invalid_grant", r.json.error)
      s:config({ clients = { ["other-app"] = { redirect_uris = { "http://localhost:8020" } } } })
      form.redirect_uri, form.client_id = "http://localhost:8020", "other-app"
      assert.are.equal("invalid_grant", post("/oidc/v1/token", { form = form }).json.error)
      form.client_id = "databricks-cli"
      s:advance(301)
      r = post("/oidc/v1/token", { form = form })
      assert.are.equal("invalid_grant", r.json.error)
      assert.matches("expired", r.json.error_description)
    end)

    it("requires the secret of a confidential custom app", function()
      s:config({ clients = { ["my-app"] = { secret = "s3cret", redirect_uris = { "http://localhost:9999/cb" } } } })
      local verifier, challenge = Sim.pkce()
      local _, params = authorize({ client_id = "my-app", redirect_uri = "http://localhost:9999/cb",
        code_challenge = challenge })
      local form = {
        grant_type = "authorization_code", code = params.code, code_verifier = verifier,
        redirect_uri = "http://localhost:9999/cb", client_id = "my-app",
      }
      assert.are.equal(401, post("/oidc/v1/token", { form = form }).status)
      local r = post("/oidc/v1/token", { form = form, headers = { Authorization = basic("my-app", "s3cret") } })
      assert.are.equal(200, r.status)
    end)
  end)

  describe("refresh_token", function()
    it("rotates: a new refresh token, the old one then rejected", function()
      local first = u2m().json
      local r = post("/oidc/v1/token", { form = {
        grant_type = "refresh_token", refresh_token = first.refresh_token, client_id = "databricks-cli",
      } })
      assert.are.equal(200, r.status)
      assert.are_not.equal(first.refresh_token, r.json.refresh_token)
      assert.are_not.equal(first.access_token, r.json.access_token)
      local old = post("/oidc/v1/token", { form = {
        grant_type = "refresh_token", refresh_token = first.refresh_token, client_id = "databricks-cli",
      } })
      assert.are.equal(400, old.status)
      assert.are.same({ error = "invalid_request", error_description = "Refresh token is invalid" }, old.json)
    end)

    it("keeps the same refresh token when rotation is off", function()
      s:config({ refresh_rotation = false })
      local first = u2m().json
      for _ = 1, 2 do
        local r = post("/oidc/v1/token", { form = {
          grant_type = "refresh_token", refresh_token = first.refresh_token, client_id = "databricks-cli",
        } })
        assert.are.equal(200, r.status)
        assert.are.equal(first.refresh_token, r.json.refresh_token)
      end
    end)
  end)

  describe("issued tokens", function()
    it("are JWT-shaped, about 1 KB, with sub, iat and exp", function()
      s:config({ token_ttl = 1234 })
      local tokens = { (m2m()), u2m().json.access_token }
      for _, token in ipairs(tokens) do
        assert.is_true(#token >= 1000 and #token <= 1100, "length " .. #token)
        local header, claims = jwt_parts(token)
        assert.are.same({ alg = "RS256", kid = "sim", typ = "at+jwt" }, header)
        assert.truthy(claims.sub)
        assert.are.equal(1234, claims.exp - claims.iat)
        assert.is_true(math.abs(claims.iat - os.time()) < 5)
        assert.are.equal(s.url .. "/oidc", claims.iss)
      end
      local refresh = u2m().json.refresh_token
      assert.matches("^dorf[%w]+$", refresh)
      assert.is_true(#refresh >= 60)
    end)
  end)

  describe("SCIM Me", function()
    it("names the PAT's user", function()
      local r = get("/api/2.0/preview/scim/v2/Me", { token = s.pat })
      assert.are.equal(200, r.status)
      assert.are.equal("user@example.com", r.json.userName)
      assert.is_true(r.json.active)
      assert.are.equal("user@example.com", r.json.emails[1].value)
      s:config({ pats = { dapi0000 = "pat-user@example.com" } })
      assert.are.equal("pat-user@example.com", get("/api/2.0/preview/scim/v2/Me", { token = "dapi0000" }).json.userName)
    end)

    it("names the service principal of an M2M token by its application id", function()
      local r = get("/api/2.0/preview/scim/v2/Me", { token = (m2m()) })
      assert.are.equal(200, r.status)
      assert.are.equal(s.client_id, r.json.userName)
    end)

    it("names the configured user for a U2M token", function()
      s:config({ user = "alice@example.com" })
      local r = get("/api/2.0/preview/scim/v2/Me", { token = u2m().json.access_token })
      assert.are.equal("alice@example.com", r.json.userName)
    end)
  end)

  describe("REST authentication", function()
    it("answers 401 without a token, with a bad one and with an expired one", function()
      local r = get("/api/2.1/unity-catalog/tables/main.default.trips")
      assert.are.equal(401, r.status)
      assert.are.equal("UNAUTHENTICATED", r.json.error_code)
      r = get("/api/2.1/unity-catalog/tables/main.default.trips", { token = "dapi-not-a-token" })
      assert.are.equal(401, r.status)
      assert.are.equal("UNAUTHENTICATED", r.json.error_code)
      local token = m2m()
      assert.are.equal(200, get("/api/2.1/unity-catalog/tables/main.default.trips", { token = token }).status)
      s:advance(3601)
      r = get("/api/2.1/unity-catalog/tables/main.default.trips", { token = token })
      assert.are.equal(401, r.status)
      assert.matches("expired", r.json.message)
    end)

    it("uses the SCIM error shape on the SCIM path", function()
      local r = get("/api/2.0/preview/scim/v2/Me", { token = "nope" })
      assert.are.equal(401, r.status)
      assert.are.equal("401", r.json.status)
      assert.truthy(r.json.detail)
      assert.are.equal("urn:ietf:params:scim:api:messages:2.0:Error", r.json.schemas[1])
    end)
  end)

  describe("Unity Catalog tables", function()
    it("describes a table, by plain or percent-encoded name", function()
      for _, name in ipairs({ "main.default.trips", "main%2Edefault%2Etrips" }) do
        local r = get("/api/2.1/unity-catalog/tables/" .. name, { token = s.pat })
        assert.are.equal(200, r.status)
        assert.are.equal("trips", r.json.name)
        assert.are.equal("main", r.json.catalog_name)
        assert.are.equal("default", r.json.schema_name)
        assert.are.equal("main.default.trips", r.json.full_name)
        assert.are.equal("MANAGED", r.json.table_type)
        assert.truthy(r.json.columns[1].name and r.json.created_at and r.json.updated_at and r.json.owner)
      end
      s:config({ tables = { ["cat.sch.t2"] = { columns = { { name = "id", type_name = "INT" } } } } })
      local r = get("/api/2.1/unity-catalog/tables/cat.sch.t2", { token = s.pat })
      assert.are.equal("id", r.json.columns[1].name)
    end)

    it("answers 404 TABLE_DOES_NOT_EXIST for a missing table", function()
      local r = get("/api/2.1/unity-catalog/tables/main.default.nope", { token = s.pat })
      assert.are.equal(404, r.status)
      assert.are.same({ error_code = "TABLE_DOES_NOT_EXIST", message = "Table 'main.default.nope' does not exist." },
        r.json)
    end)

    it("answers 403 PERMISSION_DENIED for a forbidden table", function()
      s:config({ forbidden_tables = { "main.default.trips" } })
      local r = get("/api/2.1/unity-catalog/tables/main.default.trips", { token = s.pat })
      assert.are.equal(403, r.status)
      assert.are.equal("PERMISSION_DENIED", r.json.error_code)
    end)
  end)

  describe("Statement Execution", function()
    it("runs SELECT 1 inline", function()
      local r = sql({ statement = "SELECT 1", wait_timeout = "10s" })
      assert.are.equal(200, r.status)
      assert.are.equal("SUCCEEDED", r.json.status.state)
      assert.truthy(r.json.statement_id)
      local m = r.json.manifest
      assert.are.equal("JSON_ARRAY", m.format)
      assert.are.same({ name = "1", type_name = "INT", type_text = "INT", position = 0 }, m.schema.columns[1])
      assert.are.equal(1, m.schema.column_count)
      assert.are.equal(1, m.total_row_count)
      assert.are.equal(1, m.total_chunk_count)
      assert.are.same({ { "1" } }, r.json.result.data_array)
      assert.is_nil(r.json.result.next_chunk_internal_link)
    end)

    it("goes PENDING, RUNNING, SUCCEEDED while polled", function()
      s:config({ statements = { ["SELECT slow"] = {
        columns = { { name = "n", type_name = "INT" } }, rows = { { 7 } }, run_seconds = 0.8,
      } } })
      local r = sql({ statement = "SELECT slow", wait_timeout = "0s" })
      assert.are.equal("PENDING", r.json.status.state)
      local seen, order = {}, {}
      local id = r.json.statement_id
      helpers.wait_for(function()
        local p = get("/api/2.0/sql/statements/" .. id, { token = s.pat })
        local st = p.json.status.state
        if not seen[st] then
          seen[st] = true
          order[#order + 1] = st
        end
        if st == "SUCCEEDED" then
          assert.are.same({ { "7" } }, p.json.result.data_array)
        end
        return st == "SUCCEEDED"
      end, 5, 0.05)
      assert.are.same({ "PENDING", "RUNNING", "SUCCEEDED" }, order)
    end)

    it("waits server-side up to wait_timeout for the result", function()
      s:config({ statements = { ["SELECT wait"] = { columns = { "a" }, rows = { { "x" } }, run_seconds = 0.5 } } })
      local t0 = socket.gettime()
      local r = sql({ statement = "SELECT wait", wait_timeout = "5s" })
      local elapsed = socket.gettime() - t0
      assert.are.equal("SUCCEEDED", r.json.status.state)
      assert.is_true(elapsed >= 0.45 and elapsed < 3, "elapsed " .. elapsed)
    end)

    it("splits results in chunks linked to the end", function()
      local rows = {}
      for i = 1, 7 do rows[i] = { i, "r" .. i } end
      s:config({ statements = { ["SELECT many"] = {
        columns = { { name = "i", type_name = "INT" }, { name = "s", type_name = "STRING" } },
        rows = rows, chunk_size = 3,
      } } })
      local r = sql({ statement = "SELECT many" })
      assert.are.equal(3, r.json.manifest.total_chunk_count)
      assert.are.equal(7, r.json.manifest.total_row_count)
      local got, chunk, n = {}, r.json.result, 0
      while true do
        n = n + 1
        for _, row in ipairs(chunk.data_array) do got[#got + 1] = row end
        if not chunk.next_chunk_internal_link then break end
        assert.are.equal(chunk.chunk_index + 1, chunk.next_chunk_index)
        chunk = get(chunk.next_chunk_internal_link, { token = s.pat }).json
      end
      assert.are.equal(3, n)
      assert.is_nil(chunk.next_chunk_index)
      assert.are.equal(6, chunk.row_offset)
      assert.are.equal(7, #got)
      assert.are.same({ "7", "r7" }, got[7])
      local direct = get("/api/2.0/sql/statements/" .. r.json.statement_id .. "/result/chunks/1", { token = s.pat })
      assert.are.same({ "4", "r4" }, direct.json.data_array[1])
    end)

    it("reports FAILED with status.error in a 200", function()
      s:config({ statements = { ["SELECT boom"] = { fail = { error_code = "BAD_REQUEST", message = "[X] boom" } } } })
      local r = sql({ statement = "SELECT boom" })
      assert.are.equal(200, r.status)
      assert.are.equal("FAILED", r.json.status.state)
      assert.are.same({ error_code = "BAD_REQUEST", message = "[X] boom" }, r.json.status.error)
    end)

    it("cancels a running statement", function()
      s:config({ statements = { ["SELECT long"] = { columns = { "a" }, rows = {}, run_seconds = 30 } } })
      local id = sql({ statement = "SELECT long", wait_timeout = "0s" }).json.statement_id
      local c = post("/api/2.0/sql/statements/" .. id .. "/cancel", { token = s.pat })
      assert.are.equal(200, c.status)
      assert.are.equal("CANCELED", get("/api/2.0/sql/statements/" .. id, { token = s.pat }).json.status.state)
    end)

    it("cancels at wait_timeout with on_wait_timeout=CANCEL", function()
      s:config({ statements = { ["SELECT long"] = { columns = { "a" }, rows = {}, run_seconds = 30 } } })
      local t0 = socket.gettime()
      local r = sql({ statement = "SELECT long", wait_timeout = "5s", on_wait_timeout = "CANCEL" })
      assert.is_true(socket.gettime() - t0 >= 4.9)
      assert.are.equal("CANCELED", r.json.status.state)
    end)

    it("binds named parameters (echo), null for a parameter without value", function()
      local r = sql({ statement = "SELECT :a AS x, :b AS y, :c AS z", parameters = {
        { name = "a", value = "42", type = "INT" }, { name = "b", value = "hi" }, { name = "c" },
      } })
      assert.are.equal("SUCCEEDED", r.json.status.state)
      local cols = r.json.manifest.schema.columns
      assert.are.same({ "x", "y", "z" }, { cols[1].name, cols[2].name, cols[3].name })
      assert.are.equal("INT", cols[1].type_name)
      local row = r.json.result.data_array[1]
      assert.are.equal("42", row[1])
      assert.are.equal("hi", row[2])
      assert.are.equal(cjson.null, row[3])
      local unbound = sql({ statement = "SELECT :missing AS x" })
      assert.are.equal("FAILED", unbound.json.status.state)
    end)

    it("rejects a bad wait_timeout with 400 INVALID_PARAMETER_VALUE", function()
      for _, w in ipairs({ "3s", "51s", "10", "ten", "-5s" }) do
        local r = sql({ statement = "SELECT 1", wait_timeout = w })
        assert.are.equal(400, r.status, w)
        assert.are.equal("INVALID_PARAMETER_VALUE", r.json.error_code)
      end
      for _, w in ipairs({ "5s", "50s" }) do
        assert.are.equal(200, sql({ statement = "SELECT 1", wait_timeout = w }).status)
      end
    end)

    it("rejects a missing statement or warehouse, 404 for an unknown warehouse", function()
      assert.are.equal(400, post("/api/2.0/sql/statements", { json = { warehouse_id = "abc123" },
        token = s.pat }).status)
      assert.are.equal(400, post("/api/2.0/sql/statements", { json = { statement = "SELECT 1" },
        token = s.pat }).status)
      local r = sql({ statement = "SELECT 1", warehouse_id = "nope" })
      assert.are.equal(404, r.status)
      assert.are.equal("RESOURCE_DOES_NOT_EXIST", r.json.error_code)
    end)

    it("applies row_limit and records catalog, schema and parameters", function()
      s:config({ statements = { ["SELECT rows"] = { columns = { "a" }, rows = { { 1 }, { 2 }, { 3 } } } } })
      local r = sql({ statement = "SELECT rows", row_limit = 2, catalog = "main", schema = "default" })
      assert.are.equal(2, r.json.manifest.total_row_count)
      assert.is_true(r.json.manifest.truncated)
      local st = s:state().statements
      assert.are.equal("main", st[#st].catalog)
      assert.are.equal("default", st[#st].schema)
    end)
  end)

  describe("Lakebase", function()
    it("issues a database credential for an instance", function()
      s:config({ credential_ttl = 120 })
      local r = post("/api/2.0/database/credentials", { token = s.pat,
        json = { instance_names = { "test-instance" }, request_id = "6b1f6f0e-1111-4222-8333-444455556666" } })
      assert.are.equal(200, r.status)
      assert.truthy(jwt_parts(r.json.token))
      assert.is_true(#r.json.token >= 1000 and #r.json.token <= 1100)
      local y, mo, d, h, mi, sec = r.json.expiration_time:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
      assert.truthy(y)
      local exp = os.time({ year = y, month = mo, day = d, hour = h, min = mi, sec = sec, isdst = false })
        - os.time({ year = 1970, month = 1, day = 1, hour = 0, isdst = false })
      assert.is_true(math.abs(exp - (os.time() + 120)) < 5)
      local issued = s:tokens("credential")
      local rec = issued[#issued]
      assert.are.equal("user@example.com", rec.subject)
      assert.are.equal(r.json.token, rec.token)
    end)

    it("describes instances, with a configurable read_write_dns", function()
      local r = get("/api/2.0/database/instances/test-instance", { token = s.pat })
      assert.are.equal(200, r.status)
      assert.are.equal("test-instance", r.json.name)
      assert.are.equal("AVAILABLE", r.json.state)
      assert.are.equal("127.0.0.1", r.json.read_write_dns)
      assert.truthy(r.json.pg_version and r.json.uid)
      s:config({ instances = { other = { read_write_dns = "other.db.example" } } })
      assert.are.equal("other.db.example",
        get("/api/2.0/database/instances/other", { token = s.pat }).json.read_write_dns)
    end)

    it("issues an autoscaling endpoint credential", function()
      local r = post("/api/2.0/postgres/credentials", { token = s.pat, json = { endpoint = s.endpoint } })
      assert.are.equal(200, r.status)
      assert.truthy(jwt_parts(r.json.token))
      assert.matches("^%d+%-%d+%-%d+T%d+:%d+:%d+Z$", r.json.expire_time)
    end)

    it("answers 404 for unknown names and 400 for missing fields", function()
      local function code(path, body)
        local r = post(path, { token = s.pat, json = body })
        return r.status, r.json.error_code
      end
      assert.are.same({ 404, "RESOURCE_DOES_NOT_EXIST" },
        { code("/api/2.0/database/credentials", { instance_names = { "nope" } }) })
      assert.are.same({ 400, "INVALID_PARAMETER_VALUE" }, { code("/api/2.0/database/credentials", {}) })
      assert.are.same({ 404, "RESOURCE_DOES_NOT_EXIST" },
        { code("/api/2.0/postgres/credentials", { endpoint = "projects/x/branches/y/endpoints/z" }) })
      assert.are.same({ 400, "INVALID_PARAMETER_VALUE" }, { code("/api/2.0/postgres/credentials", {}) })
      local r = get("/api/2.0/database/instances/nope", { token = s.pat })
      assert.are.equal(404, r.status)
      assert.are.equal("RESOURCE_DOES_NOT_EXIST", r.json.error_code)
    end)
  end)

  describe("faults", function()
    local TOKEN = "/oidc/v1/token"

    local function token_status()
      local r = post(TOKEN, {
        form = { grant_type = "client_credentials", scope = "all-apis" },
        headers = { Authorization = basic(s.client_id, s.client_secret) },
      })
      return r.status, r
    end

    it("fire in the order added, each as many times as its count", function()
      s:faults({
        { path = TOKEN, status = 503, headers = { ["Retry-After"] = "2" }, count = 2 },
        { path = TOKEN, status = 429 },
      })
      local before = #s:tokens("access")
      local st, r = token_status()
      assert.are.equal(503, st)
      assert.are.equal("2", r.headers["retry-after"])
      assert.are.equal("temporarily_unavailable", r.json.error)
      assert.are.equal(503, (token_status()))
      assert.are.equal(429, (token_status()))
      assert.are.equal(200, (token_status()))
      local log = s:requests(TOKEN)
      assert.are.same({ "status", "status", "status" }, { log[1].fault, log[2].fault, log[3].fault })
      assert.is_nil(log[4].fault)
      assert.are.equal(before + 1, #s:tokens("access"))
    end)

    it("match by method and path", function()
      s:fault({ path = "^/oidc/v1/token$", method = "GET", status = 500 })
      assert.are.equal(200, (token_status()))
      s:fault({ path = "Me$", status = 500 })
      assert.are.equal(200, get("/oidc/.well-known/oauth-authorization-server").status)
      assert.are.equal(500, get("/api/2.0/preview/scim/v2/Me", { token = s.pat }).status)
    end)

    it("delay the normal answer", function()
      s:fault({ path = TOKEN, delay = 0.5 })
      local t0 = socket.gettime()
      assert.are.equal(200, (token_status()))
      assert.is_true(socket.gettime() - t0 >= 0.45)
      assert.are.equal("delay", s:requests(TOKEN)[1].fault)
    end)

    it("reset the connection after reading the request", function()
      s:fault({ path = TOKEN, action = "reset" })
      local res = curl(s, TOKEN, { "-d", "grant_type=client_credentials" })
      assert.are.equal(56, res.code)
      assert.matches("reset", res.stderr)
      local log = s:requests(TOKEN)
      assert.are.equal("reset", log[1].fault)
      assert.are.equal("grant_type=client_credentials", log[1].body)
    end)

    it("reset in the middle of the body", function()
      s:fault({ path = "Me", action = "reset_mid_body" })
      local dir = helpers.tmpdir("sim")
      local res = curl(s, "/api/2.0/preview/scim/v2/Me", { "-D", dir .. "/head", "-o", dir .. "/body" })
      assert.are.equal(56, res.code)
      assert.matches("reset", res.stderr)
      local length = tonumber(helpers.read_file(dir .. "/head"):match("[Cc]ontent%-[Ll]ength: (%d+)"))
      local got = #(helpers.read_file(dir .. "/body") or "")
      assert.is_true(got > 0 and got < length, got .. " of " .. tostring(length))
    end)

    it("truncate the body below its Content-Length", function()
      s:fault({ path = "Me", action = "truncated" })
      local res = curl(s, "/api/2.0/preview/scim/v2/Me", { "-o", "/dev/null" })
      assert.are.equal(18, res.code)
      s:fault({ path = "Me", action = "truncated" })
      local r, err, partial = s:request("GET", "/api/2.0/preview/scim/v2/Me")
      assert.is_nil(r)
      assert.matches("truncated", err)
      assert.are.equal(200, partial.status)
    end)

    it("send malformed, wrong-shape and HTML bodies", function()
      s:faults({
        { path = TOKEN, action = "malformed" },
        { path = TOKEN, action = "wrong_shape" },
        { path = TOKEN, action = "wrong_shape", body = { unexpected = true } },
        { path = TOKEN, action = "html", status = 502 },
      })
      local _, r = token_status()
      assert.are.equal(200, r.status)
      assert.are.equal('{"access_token": ', r.body)
      assert.is_nil(r.json)
      _, r = token_status()
      assert.are.equal("[1,2,3]", r.body)
      _, r = token_status()
      assert.are.same({ unexpected = true }, r.json)
      _, r = token_status()
      assert.are.equal(502, r.status)
      assert.matches("^text/html", r.headers["content-type"])
      assert.matches("<html>", r.body)
    end)

    it("send an oversized body (10 MB by default)", function()
      s:fault({ path = "Me", action = "oversized" })
      local r = get("/api/2.0/preview/scim/v2/Me", { token = s.pat, timeout = 20 })
      assert.are.equal(200, r.status)
      assert.are.equal(10 * 1024 * 1024, #r.body)
      assert.matches('^{"data":"xxx', r.body)
      s:fault({ path = "Me", action = "oversized", size = 100000 })
      assert.are.equal(100000, #get("/api/2.0/preview/scim/v2/Me", { token = s.pat }).body)
    end)

    it("hang without blocking other connections", function()
      s:fault({ path = "Me", action = "hang" })
      local c = assert(s:connect({ timeout = 1 }))
      local t0 = socket.gettime()
      local r = c:request("GET", "/api/2.0/preview/scim/v2/Me")
      assert.is_nil(r)
      assert.is_true(socket.gettime() - t0 >= 0.9)
      assert.are.equal(200, get("/oidc/.well-known/oauth-authorization-server").status)
      c:close()
      assert.are.equal("hang", s:requests("Me")[1].fault)
    end)

    it("are checked when added", function()
      assert.has_error(function() s:fault({ path = "x", action = "explode" }) end)
      assert.has_error(function() s:fault({ path = "x", status = 500, retry_after = 3 }) end)
      assert.has_error(function() s:fault({ path = "[", status = 500 }) end)
      assert.are.equal(0, #s:state().faults)
    end)
  end)

  describe("request log", function()
    it("records method, path, query, headers and body of every request", function()
      local token = m2m()
      get("/api/2.1/unity-catalog/tables/main.default.trips?include_browse=true",
        { token = token, headers = { ["User-Agent"] = "LuaDatabricks_Connector/0.1.0 lua/5.4" } })
      local all = s:requests()
      assert.are.equal(2, #all)
      local t, u = all[1], all[2]
      assert.are.equal("POST", t.method)
      assert.are.equal("/oidc/v1/token", t.path)
      assert.are.equal("grant_type=client_credentials&scope=all-apis", t.body)
      assert.are.equal(basic(s.client_id, s.client_secret), t.headers.authorization)
      assert.are.equal("application/x-www-form-urlencoded", t.headers["content-type"])
      assert.are.equal(200, t.status)
      assert.are.equal("GET", u.method)
      assert.are.equal("/api/2.1/unity-catalog/tables/main.default.trips", u.path)
      assert.are.equal("include_browse=true", u.query)
      assert.are.equal("LuaDatabricks_Connector/0.1.0 lua/5.4", u.headers["user-agent"])
      assert.are.equal("Bearer " .. token, u.headers.authorization)
      assert.is_true(u.seq > t.seq)
      assert.truthy(u.time and u.conn)
      assert.are.equal(1, #s:requests({ method = "GET" }))
      assert.are.equal(1, #s:requests({ path = "^/oidc/" }))
      s:clear_requests()
      assert.are.equal(0, #s:requests())
    end)

    it("x-request-id is on every response and unique", function()
      s:fault({ path = "Me", status = 503 })
      local ids = {}
      local responses = {
        get("/oidc/.well-known/oauth-authorization-server"),
        get("/api/2.0/preview/scim/v2/Me", { token = s.pat }),
        get("/api/2.0/preview/scim/v2/Me"),
        get("/api/2.0/no/such/api", { token = s.pat }),
        get("/oidc/v1/authorize?client_id=databricks-cli"),
        (authorize({ code_challenge = "x" })),
      }
      for i, r in ipairs(responses) do
        local id = r.headers["x-request-id"]
        assert.truthy(id, "response " .. i)
        assert.is_nil(ids[id])
        ids[id] = true
      end
      assert.are.equal(503, responses[2].status)
      assert.are.equal(404, responses[4].status)
      assert.are.equal(s:requests()[1].request_id, responses[1].headers["x-request-id"])
    end)
  end)

  describe("connections", function()
    it("keep a connection alive across requests", function()
      local c = assert(s:connect())
      for _ = 1, 2 do
        assert.are.equal(200, assert(c:request("GET", "/oidc/.well-known/oauth-authorization-server")).status)
      end
      c:close()
      get("/oidc/.well-known/oauth-authorization-server")
      local log = s:requests()
      assert.are.equal(log[1].conn, log[2].conn)
      assert.are_not.equal(log[2].conn, log[3].conn)
    end)

    it("serve another connection while one request is delayed", function()
      s:fault({ path = "Me", delay = 1.5 })
      local slow = assert(s:connect())
      local t0 = socket.gettime()
      assert(slow:send_request("GET", "/api/2.0/preview/scim/v2/Me",
        { headers = { Authorization = "Bearer " .. s.pat } }))
      socket.sleep(0.1)
      assert.are.equal(200, get("/oidc/.well-known/oauth-authorization-server").status)
      assert.is_true(socket.gettime() - t0 < 1)
      local r = assert(slow:read_response())
      assert.are.equal(200, r.status)
      assert.is_true(socket.gettime() - t0 >= 1.4)
      slow:close()
    end)

    it("answer 100-continue and chunked request bodies", function()
      local c = assert(s:connect())
      local body = "grant_type=client_credentials&scope=all-apis"
      assert(c:send_raw("POST /oidc/v1/token HTTP/1.1\r\nHost: " .. s.host .. "\r\nExpect: 100-continue\r\n"
        .. "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: "
        .. basic(s.client_id, s.client_secret) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n"))
      assert.are.equal("HTTP/1.1 100 Continue", c.sock:receive("*l"))
      assert.are.equal("", c.sock:receive("*l"))
      assert(c:send_raw(body))
      assert.are.equal(200, assert(c:read_response()).status)
      local chunked = string.format("%x\r\n%s\r\n0\r\n\r\n", #body, body)
      local r = assert(c:request("POST", "/oidc/v1/token", { body = chunked, headers = {
        ["Transfer-Encoding"] = "chunked", ["Content-Type"] = "application/x-www-form-urlencoded",
        Authorization = basic(s.client_id, s.client_secret) } }))
      assert.are.equal(200, r.status)
      assert.are.equal(body, s:requests()[2].body)
      c:close()
    end)

    it("survive malformed requests, plain HTTP, failed handshakes and early disconnects", function()
      local c = assert(s:connect())
      assert(c:send_raw("BROKEN\r\n\r\n"))
      assert.are.equal(400, assert(c:read_response()).status)
      c:close()
      local plain = socket.tcp()
      plain:settimeout(2)
      assert(plain:connect("127.0.0.1", s.port))
      plain:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
      plain:receive("*a")
      plain:close()
      local untrusting = client.connect(s.url, { ca_file = helpers.root .. "/spec/support/no-such-ca.pem" })
      if untrusting then untrusting:close() end
      c = assert(s:connect())
      assert(c:send_raw("POST /oidc/v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"))
      c:close()
      local idle = socket.tcp()
      assert(idle:connect("127.0.0.1", s.port))
      idle:close()
      s:fault({ path = "Me", action = "oversized" })
      c = assert(s:connect())
      assert(c:send_request("GET", "/api/2.0/preview/scim/v2/Me"))
      assert.matches("^HTTP/1.1 200", c.sock:receive("*l"))
      c:close()
      socket.sleep(0.1)
      assert.is_true(Sim.running(s.pid))
      assert.are.equal(200, get("/oidc/.well-known/oauth-authorization-server").status)
    end)
  end)

  describe("PG hook", function()
    local dir, recorder, out

    before_each(function()
      dir = helpers.tmpdir("simpg")
      recorder, out = dir .. "/record.lua", dir .. "/calls.jsonl"
      helpers.write_file(recorder, [[
local list = {}
for i = 2, #arg do list[#list + 1] = arg[i] end
local f = assert(io.open(arg[1], "a"))
f:write(require("cjson").encode(list), "\n")
f:close()
]])
    end)

    local function calls()
      local list = {}
      for line in (helpers.read_file(out) or ""):gmatch("[^\n]+") do list[#list + 1] = client.decode(line) end
      return list
    end

    it("sets the caller's PostgreSQL password to each issued credential", function()
      s:config({ pg = { admin = { "lua5.4", recorder, out, "-h", "/tmp/pg dir; $(touch x)", "-p", "5433" } } })
      local r = post("/api/2.0/database/credentials",
        { token = s.pat, json = { instance_names = { "test-instance" } } })
      assert.are.equal(200, r.status)
      local list = calls()
      assert.are.equal(1, #list)
      local argv = list[1]
      assert.are.same({ "-h", "/tmp/pg dir; $(touch x)", "-p", "5433", "-c" },
        { argv[1], argv[2], argv[3], argv[4], argv[5] })
      assert.are.equal(6, #argv)
      local statement = argv[6]
      assert.matches('CREATE ROLE "user@example.com" LOGIN', statement, 1, true)
      assert.matches('ALTER ROLE "user@example.com" WITH LOGIN PASSWORD E\'' .. r.json.token .. "'", statement, 1, true)
      local runs = s:state().pg_runs
      assert.are.equal("user@example.com", runs[#runs].role)
      assert.is_true(runs[#runs].ok)
      assert.is_nil(cjson.encode(runs):find(r.json.token, 1, true))
    end)

    it("quotes role names and passwords for SQL", function()
      s:config({
        pats = { dapiquote = "o\"brien'x@example.com" },
        pg = { admin = { "lua5.4", recorder, out } },
      })
      assert.are.equal(200, post("/api/2.0/database/credentials",
        { token = "dapiquote", json = { instance_names = { "test-instance" } } }).status)
      local statement = calls()[1][2]
      assert.matches([[ALTER ROLE "o""brien'x@example.com" WITH LOGIN]], statement, 1, true)
      assert.matches([[rolname = E'o"brien''x@example.com']], statement, 1, true)
    end)

    it("uses workspace access tokens with password_from = token", function()
      s:config({ pg = { admin = { "lua5.4", recorder, out }, password_from = "token" } })
      local token = m2m()
      local list = calls()
      assert.are.equal(1, #list)
      assert.matches('ALTER ROLE "' .. s.client_id .. '" WITH LOGIN PASSWORD E\'' .. token .. "'", list[1][2], 1, true)
      post("/api/2.0/database/credentials", { token = s.pat, json = { instance_names = { "test-instance" } } })
      assert.are.equal(1, #calls())
    end)

    it("fails the credential request when the hook fails", function()
      s:config({ pg = { admin = { "false" } } })
      local r = post("/api/2.0/database/credentials",
        { token = s.pat, json = { instance_names = { "test-instance" } } })
      assert.are.equal(500, r.status)
      local runs = s:state().pg_runs
      assert.is_false(runs[#runs].ok)
      assert.are.equal(1, runs[#runs].code)
    end)
  end)

  describe("browser", function()
    it("follows the authorize redirect to a loopback listener", function()
      local listener = assert(socket.bind("127.0.0.1", 0))
      local _, port = listener:getsockname()
      local redirect = "http://127.0.0.1:" .. port .. "/callback"
      s:config({ clients = { ["cb-app"] = { redirect_uris = { redirect } } } })
      local _, challenge = Sim.pkce()
      local url = s.url .. "/oidc/v1/authorize?" .. client.form({
        response_type = "code", client_id = "cb-app", redirect_uri = redirect, scope = "all-apis",
        state = "abc", code_challenge = challenge, code_challenge_method = "S256",
      })
      local result = helpers.tmpdir("simbr") .. "/result.json"
      local pid = s:browser(url, { result_file = result })
      listener:settimeout(10)
      local conn = assert(listener:accept())
      conn:settimeout(5)
      local line = conn:receive("*l")
      repeat local h = conn:receive("*l") until h == "" or h == nil
      conn:send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
      conn:close()
      listener:close()
      assert.is_true(helpers.wait_for(function() return not Sim.running(pid) end, 5))
      local target = line:match("^GET (%S+) HTTP")
      assert.matches("^/callback%?", target)
      local q = client.parse_query(target:match("%?(.*)$"))
      assert.matches("^dcod", q.code)
      assert.are.equal("abc", q.state)
      local res = client.decode(helpers.read_file(result))
      assert.are.equal(302, res.authorize_status)
      assert.are.equal(200, res.callback_status)
    end)
  end)

  ---------------------------------------------------------------- 0.2: data at scale

  -- Downloads an external link as a client must: its own http_headers, no
  -- Authorization. extra: more headers.
  local function fetch(link, extra)
    local headers = {}
    for k, v in pairs(link.http_headers or {}) do headers[k] = v end
    for k, v in pairs(extra or {}) do headers[k] = v end
    return assert(client.request(link.external_link, { headers = headers, ca_file = s.ca_file }))
  end

  local function chunk_links(id, n)
    return get("/api/2.0/sql/statements/" .. id .. "/result/chunks/" .. n, { token = s.pat }).json.external_links
  end

  local ALL_TYPES = {
    { name = "b", type = "TINYINT" }, { name = "sh", type = "SMALLINT" }, { name = "i", type = "INT" },
    { name = "l", type = "BIGINT" }, { name = "f", type = "FLOAT" }, { name = "d", type = "DOUBLE" },
    { name = "ok", type = "BOOLEAN" }, { name = "dec", type = "DECIMAL(10,2)" }, { name = "s", type = "STRING" },
    { name = "day", type = "DATE" }, { name = "ts", type = "TIMESTAMP" }, { name = "bin", type = "BINARY" },
    { name = "arr", type = "ARRAY<INT>" }, { name = "m", type = "MAP<STRING,INT>" },
    { name = "st", type = "STRUCT<id:INT,name:STRING>" }, { name = "id", type = "BIGINT", nullable = false },
  }

  describe("Statement Execution at scale", function()
    local function big(name, spec)
      s:config({ statements = { [name] = spec } })
    end

    it("EXTERNAL_LINKS: a manifest, links to the storage, followed chunk by chunk to the end", function()
      big("SELECT * FROM gen", { generate = { rows = 5000, seed = 3, columns = {
        { name = "n", type = "INT" }, { name = "amount", type = "DECIMAL(10,2)" }, { name = "s", type = "STRING" },
      } }, rows_per_chunk = 2000 })
      local r = sql({ statement = "SELECT * FROM gen", disposition = "EXTERNAL_LINKS" })
      assert.are.equal("SUCCEEDED", r.json.status.state)
      local m = r.json.manifest
      assert.are.equal(3, m.total_chunk_count)
      assert.are.equal(5000, m.total_row_count)
      assert.is_false(m.truncated)
      assert.are.same({ chunk_index = 2, row_offset = 4000, row_count = 1000 }, m.chunks[3])
      assert.are.same({ name = "amount", type_name = "DECIMAL", type_text = "DECIMAL(10,2)", position = 1,
                        type_precision = 10, type_scale = 2 }, m.schema.columns[2])
      assert.is_nil(r.json.result.data_array)
      local link = r.json.result.external_links[1]
      assert.are.equal(0, link.chunk_index)
      assert.are.equal(2000, link.row_count)
      assert.are.equal(1, link.next_chunk_index)
      assert.matches("^" .. s.storage_url:gsub("%p", "%%%0") .. "/", link.external_link)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", link.expiration)
      assert.is_string(link.http_headers["x-sim-storage-key"])
      local total, seen = 0, 0
      while true do
        local res = fetch(link)
        assert.are.equal(200, res.status)
        assert.are.equal(link.byte_count, #res.body)
        local rows = client.decode(res.body)
        assert.are.equal(link.row_count, #rows)
        assert.are.equal(3, #rows[1])
        total, seen = total + #rows, seen + 1
        if not link.next_chunk_internal_link then break end
        assert.are.equal(link.chunk_index + 1, link.next_chunk_index)
        link = get(link.next_chunk_internal_link, { token = s.pat }).json.external_links[1]
      end
      assert.are.equal(5000, total)
      assert.are.equal(3, seen)
      assert.are.equal(4000, link.row_offset)
      assert.is_nil(link.next_chunk_index)
    end)

    it("the storage refuses Authorization, cookies, missing link headers and bad signatures, and logs headers",
      function()
        local r = sql({ statement = "SELECT 1", disposition = "EXTERNAL_LINKS" })
        local link = r.json.result.external_links[1]
        s:clear_requests()
        assert.are.equal(403, fetch(link, { Authorization = "Bearer " .. s.pat }).status)
        assert.are.equal(403, fetch(link, { Cookie = "session=abc" }).status)
        local bare = assert(client.request(link.external_link, { ca_file = s.ca_file }))
        assert.are.equal(403, bare.status)
        assert.matches("x%-sim%-storage%-key", bare.body)
        local forged = { external_link = link.external_link:gsub("Signature=.", "Signature=0"),
                         http_headers = link.http_headers }
        local fr = fetch(forged)
        assert.are.equal(403, fr.status)
        assert.matches("SignatureDoesNotMatch", fr.body)
        local ok = fetch(link)
        assert.are.equal(200, ok.status)
        assert.are.same({ { "1" } }, client.decode(ok.body))
        local log = s:requests("^/sim%-storage/")
        assert.are.equal(5, #log)
        assert.are.equal("storage", log[1].listener)
        assert.are.equal("Bearer " .. s.pat, log[1].headers.authorization)
        assert.is_nil(log[5].headers.authorization)
        assert.is_nil(log[5].headers.cookie)
        assert.are.equal(link.http_headers["x-sim-storage-key"], log[5].headers["x-sim-storage-key"])
      end)

    it("links expire on the token clock; the chunk endpoint hands out a fresh one", function()
      s:config({ link_ttl = 60 })
      local r = sql({ statement = "SELECT 1", disposition = "EXTERNAL_LINKS" })
      local old = r.json.result.external_links[1]
      s:advance(61)
      local res = fetch(old)
      assert.are.equal(403, res.status)
      assert.matches("Request has expired", res.body)
      local fresh = chunk_links(r.json.statement_id, 0)[1]
      assert.are_not.equal(old.external_link, fresh.external_link)
      assert.are.equal(200, fetch(fresh).status)
      s:config({ link_ttl = 0 })
      local dead = chunk_links(r.json.statement_id, 0)[1]
      assert.are.equal(403, fetch(dead).status)
    end)

    it("serves links without http_headers when told to", function()
      s:config({ link_headers = false })
      local link = sql({ statement = "SELECT 1", disposition = "EXTERNAL_LINKS" }).json.result.external_links[1]
      assert.is_nil(link.http_headers)
      assert.are.equal(200, assert(client.request(link.external_link, { ca_file = s.ca_file })).status)
    end)

    it("INLINE refuses results above the inline byte limit (25 MiB by default)", function()
      assert.are.equal(25 * 1024 * 1024, s:state().config.inline_byte_limit)
      s:config({ inline_byte_limit = 20000 })
      big("SELECT * FROM wide", { generate = { rows = 1000, columns = { { name = "s", type = "STRING" } } } })
      local r = sql({ statement = "SELECT * FROM wide" })
      assert.are.equal("FAILED", r.json.status.state)
      assert.matches("Inline byte limit exceeded", r.json.status.error.message)
      assert.matches("EXTERNAL_LINKS", r.json.status.error.message)
      local e = sql({ statement = "SELECT * FROM wide", disposition = "EXTERNAL_LINKS" })
      assert.are.equal("SUCCEEDED", e.json.status.state)
      assert.are.equal(1000, e.json.manifest.total_row_count)
    end)

    it("INLINE results of generated rows come as data_array chunks", function()
      big("SELECT * FROM small", { generate = { rows = 25, seed = 9, columns = ALL_TYPES }, rows_per_chunk = 10 })
      local r = sql({ statement = "SELECT * FROM small" })
      assert.are.equal(3, r.json.manifest.total_chunk_count)
      assert.are.equal(10, #r.json.result.data_array)
      assert.are.equal(#ALL_TYPES, #r.json.result.data_array[1])
      local last = get(r.json.result.next_chunk_internal_link, { token = s.pat }).json
      assert.are.equal(1, last.chunk_index)
      assert.are.equal(10, last.row_offset)
    end)

    it("applies row_limit and byte_limit (truncated), records query_tags, catalog and schema", function()
      big("SELECT * FROM lim", { generate = { rows = 1000, columns = { { name = "n", type = "INT" } } } })
      local r = sql({ statement = "SELECT * FROM lim", disposition = "EXTERNAL_LINKS", row_limit = 10 })
      assert.are.equal(10, r.json.manifest.total_row_count)
      assert.is_true(r.json.manifest.truncated)
      local b = sql({ statement = "SELECT * FROM lim", disposition = "EXTERNAL_LINKS", byte_limit = 2000,
                      catalog = "main", schema = "sales",
                      query_tags = { { key = "team", value = "etl" }, { key = "flag" } } })
      assert.is_true(b.json.manifest.truncated)
      local n = b.json.manifest.total_row_count
      assert.is_true(n > 0 and n < 1000, n)
      -- byte_limit is approximate, as the service's (it counts an estimate)
      assert.is_true(b.json.result.external_links[1].byte_count < 2200)
      local st = s:state().statements
      assert.are.same({ { key = "team", value = "etl" }, { key = "flag" } }, st[#st].query_tags)
      assert.are.equal("EXTERNAL_LINKS", st[#st].disposition)
      assert.are.equal("main", st[#st].catalog)
      assert.are.equal("sales", st[#st].schema)
      local tags = {}
      for i = 1, 21 do tags[i] = { key = "k" .. i, value = "v" } end
      assert.are.equal(400, sql({ statement = "SELECT 1", query_tags = tags }).status)
      assert.are.equal(400, sql({ statement = "SELECT 1", byte_limit = -1 }).status)
      assert.are.equal(400, sql({ statement = "SELECT 1", disposition = "STREAM" }).status)
      assert.are.equal(400, sql({ statement = "SELECT 1", format = "CSV" }).status)
    end)

    it("generates every type deterministically, with NaN/Infinity, NULLs and hard strings", function()
      local spec = { rows = 2100, seed = 11, columns = ALL_TYPES }
      big("SELECT * FROM types", { generate = spec })
      local r = sql({ statement = "SELECT * FROM types", disposition = "EXTERNAL_LINKS" })
      local body = fetch(r.json.result.external_links[1]).body
      -- The same generator in this process gives the same bytes.
      local G = require "databricks.simulator.generate"
      local sink = { parts = {} }
      function sink.write(self, text) self.parts[#self.parts + 1] = text end
      G.new(spec):write_rows(sink, 0, 2100)
      assert.are.equal(table.concat(sink.parts), body)
      local rows = client.decode(body)
      local seen = {}
      local function col(name)
        for i, c in ipairs(ALL_TYPES) do
          if c.name == name then return i end
        end
      end
      for _, row in ipairs(rows) do
        for i, v in ipairs(ALL_TYPES) do
          local x = row[i]
          if x == cjson.null then
            seen[v.name .. ":null"] = true
          else
            assert.is_string(x)
            seen[v.name .. ":" .. x] = true
          end
        end
        local b = row[col("b")]
        if b ~= cjson.null then assert.is_true(tonumber(b) >= -128 and tonumber(b) <= 127) end
        local dec = row[col("dec")]
        if dec ~= cjson.null then assert.matches("^%-?%d+%.%d%d$", dec) end
        local day = row[col("day")]
        if day ~= cjson.null then assert.matches("^%d%d%d%d%-%d%d%-%d%d$", day) end
        local ts = row[col("ts")]
        if ts ~= cjson.null then assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", ts) end
        for _, name in ipairs({ "arr", "m", "st" }) do
          local t = row[col(name)]
          if t ~= cjson.null then assert.is_table(client.decode(t), t) end
        end
        local bin = row[col("bin")]
        if bin ~= cjson.null then assert.matches("^[%w+/]*=*$", bin) end
        assert.are_not.equal(cjson.null, row[col("id")])
      end
      for _, want in ipairs({ "d:NaN", "d:Infinity", "d:-Infinity", "f:NaN", "b:-128", "b:127",
                              "i:-2147483648", "l:9223372036854775807", "ok:true", "ok:false", "dec:99999999.99",
                              "s:\"", "s:\\", "s:日本語テキスト", "s:😀🚕", "d:null", "s:null", "day:2024-02-29",
                              "bin:", "arr:[]" }) do
        assert.is_true(seen[want] == true, want)
      end
    end)

    it("declares millions of rows without writing more than the chunks asked for", function()
      local function cached()
        local _, listing = helpers.sh("ls " .. helpers.quote(s.work_dir .. "/cache"))
        local n = 0
        for _ in listing:gmatch("[^\n]+") do n = n + 1 end
        return n
      end
      local before = cached()
      big("SELECT * FROM huge", { generate = { rows = 3000000, columns = { { name = "n", type = "BIGINT" } } },
        chunk_bytes = 1024 * 1024 })
      local r = sql({ statement = "SELECT * FROM huge", disposition = "EXTERNAL_LINKS" })
      local m = r.json.manifest
      assert.are.equal(3000000, m.total_row_count)
      assert.is_true(m.total_chunk_count > 20, m.total_chunk_count)
      local link = r.json.result.external_links[1]
      assert.is_true(link.byte_count > 900000 and link.byte_count < 1.1 * 1024 * 1024, link.byte_count)
      local again = sql({ statement = "SELECT * FROM huge", disposition = "EXTERNAL_LINKS" })
      assert.are.equal(link.byte_count, again.json.result.external_links[1].byte_count)
      assert.are.equal(before + 1, cached())
    end)

    it("chunk faults: a next link pointing back, malformed, short and truncated bodies, expiry once", function()
      big("SELECT * FROM faulty", { generate = { rows = 300, columns = { { name = "n", type = "INT" } } },
        rows_per_chunk = 100 })
      s:faults({
        { chunk = 1, action = "self_link" },
        { chunk = 0, action = "malformed" },
        { chunk = 0, action = "wrong_row_count" },
        { chunk = 0, action = "truncated" },
        { chunk = 2, statement = "faulty", action = "expired" },
      })
      local r = sql({ statement = "SELECT * FROM faulty", disposition = "EXTERNAL_LINKS" })
      local id, link0 = r.json.statement_id, r.json.result.external_links[1]
      local bad = fetch(link0)
      assert.are.equal(200, bad.status)
      assert.is_nil(client.decode(bad.body))
      local short = client.decode(fetch(link0).body)
      assert.are.equal(99, #short)
      local conn = assert(client.connect(link0.external_link, { ca_file = s.ca_file }))
      local res, err, partial = conn:request("GET", link0.external_link:match("^https://[^/]+(.*)$"),
        { headers = link0.http_headers })
      conn:close()
      assert.is_nil(res)
      assert.matches("truncated", err)
      assert.is_true(#partial.body < link0.byte_count)
      assert.are.equal(100, #client.decode(fetch(link0).body))
      local link1 = chunk_links(id, 1)[1]
      assert.are.equal(1, link1.next_chunk_index)
      assert.matches("/result/chunks/1$", link1.next_chunk_internal_link)
      local link2 = chunk_links(id, 2)[1]
      assert.are.equal(403, fetch(link2).status)
      assert.are.equal(200, fetch(chunk_links(id, 2)[1]).status)
      local names = {}
      for _, e in ipairs(s:requests("^/sim%-storage/")) do names[#names + 1] = e.fault or "-" end
      assert.are.same({ "malformed", "wrong_row_count", "truncated", "-", "expired", "-" }, names)
    end)

    it("records concurrent downloads and per-download delays", function()
      s:config({ storage_delay = 0.4 })
      s:clear_storage()
      local r = sql({ statement = "SELECT 1", disposition = "EXTERNAL_LINKS" })
      local id = r.json.statement_id
      local conns = {}
      for i = 1, 3 do
        local link = chunk_links(id, 0)[1]
        local c = assert(client.connect(link.external_link, { ca_file = s.ca_file }))
        assert(c:send_request("GET", link.external_link:match("^https://[^/]+(.*)$"), { headers = link.http_headers }))
        conns[i] = c
      end
      local t0 = socket.gettime()
      for _, c in ipairs(conns) do
        local res = assert(c:read_response("GET"))
        assert.are.equal(200, res.status)
        c:close()
      end
      assert.is_true(socket.gettime() - t0 < 1.2, "downloads were served one after another")
      local rec = s:storage()
      assert.are.equal(3, rec.max_in_flight)
      assert.are.equal(0, rec.in_flight)
      assert.are.equal(3, #rec.downloads)
      for _, d in ipairs(rec.downloads) do
        assert.is_true(d.finished - d.started >= 0.39)
        assert.are.equal(200, d.status)
        assert.are.equal(0, d.chunk)
        assert.are.equal(id, d.statement_id)
      end
      s:clear_storage()
      assert.are.equal(0, s:storage().max_in_flight)
    end)

    it("answers SELECT of literals with Spark's column names and types", function()
      local r = sql({ statement = "SELECT 1 AS one, 'it''s' AS s, 2.50, TRUE, NULL AS n, -7, 1e3, 'a\\'b', "
        .. "DATE '2024-02-29', 3000000000" })
      assert.are.equal("SUCCEEDED", r.json.status.state, r.body)
      local cols, row = r.json.manifest.schema.columns, r.json.result.data_array[1]
      local got = {}
      for i, c in ipairs(cols) do got[i] = { c.name, c.type_name, c.type_text, row[i] } end
      assert.are.same({
        { "one", "INT", "INT", "1" }, { "s", "STRING", "STRING", "it's" }, { "2.50", "DECIMAL", "DECIMAL(3,2)", "2.50" },
        { "true", "BOOLEAN", "BOOLEAN", "true" }, { "n", "NULL", "VOID", cjson.null }, { "-7", "INT", "INT", "-7" },
        { "1e3", "DOUBLE", "DOUBLE", "1000.0" }, { "a'b", "STRING", "STRING", "a'b" },
        { "DATE '2024-02-29'", "DATE", "DATE", "2024-02-29" }, { "3000000000", "LONG", "BIGINT", "3000000000" },
      }, got)
    end)

    it("fails a statement it cannot answer with what it answers and how to declare one", function()
      local r = sql({ statement = "SELECT * FROM somewhere" })
      assert.are.equal("FAILED", r.json.status.state)
      local msg = r.json.status.error.message
      assert.matches("SIM_NO_RESULT", msg)
      assert.matches("SELECT 1", msg)
      assert.matches("--data", msg)
      assert.matches("statements", msg)
    end)

    it("matches declared statements whatever their whitespace", function()
      s:config({ statements = { ["SELECT a\n  FROM t\nWHERE x = :x"] = { columns = { "a" }, rows = { { "1" } } } } })
      local r = sql({ statement = "  SELECT a FROM t   WHERE x = :x ;", parameters = { { name = "x", value = "1" } } })
      assert.are.equal("SUCCEEDED", r.json.status.state)
    end)
  end)

  ---------------------------------------------------------------- 0.2: files

  describe("Files API", function()
    local BASE = "/api/2.0/fs/files"

    local function put(path, body, query)
      return assert(s:request("PUT", BASE .. path .. (query or ""), { token = s.pat, body = body,
        headers = { ["Content-Type"] = "application/octet-stream" } }))
    end

    it("uploads, downloads, describes and deletes a file, decoding each path segment", function()
      local path = "/Volumes/main/default/landing/dir%20one/caf%C3%A9%2Bplus.csv"
      assert.are.equal(204, put(path, "a,b\n1,2\n").status)
      local g = get(BASE .. path, { token = s.pat })
      assert.are.equal(200, g.status)
      assert.are.equal("a,b\n1,2\n", g.body)
      assert.are.equal("8", g.headers["content-length"])
      assert.are.equal("application/octet-stream", g.headers["content-type"])
      assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", g.headers["last-modified"])
      local h = assert(s:request("HEAD", BASE .. path, { token = s.pat }))
      assert.are.equal(200, h.status)
      assert.are.equal("8", h.headers["content-length"])
      assert.are.equal("", h.body)
      local list = get("/api/2.0/fs/directories/Volumes/main/default/landing/dir%20one", { token = s.pat })
      assert.are.same({ { path = "/Volumes/main/default/landing/dir one/café+plus.csv", name = "café+plus.csv",
        is_directory = false, file_size = 8, last_modified = list.json.contents[1].last_modified } },
        list.json.contents)
      assert.are.equal(204, assert(s:request("DELETE", BASE .. path, { token = s.pat })).status)
      local gone = get(BASE .. path, { token = s.pat })
      assert.are.equal(404, gone.status)
      assert.are.equal("NOT_FOUND", gone.json.error_code)
      local hgone = assert(s:request("HEAD", BASE .. path, { token = s.pat }))
      assert.are.equal(404, hgone.status)
      assert.are.equal("", hgone.body)
    end)

    it("answers 409 ALREADY_EXISTS without overwrite=true and replaces with it", function()
      local path = "/Volumes/main/default/landing/x.bin"
      assert.are.equal(204, put(path, "one").status)
      local again = put(path, "two", "?overwrite=false")
      assert.are.equal(409, again.status)
      assert.are.equal("ALREADY_EXISTS", again.json.error_code)
      assert.are.equal(409, put(path, "two").status)
      assert.are.equal(204, put(path, "two!", "?overwrite=true").status)
      assert.are.equal("two!", get(BASE .. path, { token = s.pat }).body)
      -- A refused upload's body is drained: the same connection goes on.
      local conn = assert(s:connect())
      local auth = { Authorization = "Bearer " .. s.pat }
      assert.are.equal(409, assert(conn:request("PUT", BASE .. path, { headers = auth, body = "three" })).status)
      assert.are.equal("two!", assert(conn:request("GET", BASE .. path, { headers = auth })).body)
      conn:close()
    end)

    it("creates directories with their parents and lists them page by page", function()
      local dirs = "/api/2.0/fs/directories"
      assert.are.equal(204, assert(s:request("PUT", dirs .. "/Volumes/main/default/vol/a/b/c", { token = s.pat })).status)
      for _, n in ipairs({ "f1", "f2", "f3" }) do put("/Volumes/main/default/vol/a/" .. n, n) end
      s:config({ files_page_size = 2 })
      local p1 = get(dirs .. "/Volumes/main/default/vol/a", { token = s.pat }).json
      assert.are.equal(2, #p1.contents)
      assert.are.same({ "b", "f1" }, { p1.contents[1].name, p1.contents[2].name })
      assert.is_true(p1.contents[1].is_directory)
      assert.is_nil(p1.contents[1].file_size)
      assert.is_string(p1.next_page_token)
      local p2 = get(dirs .. "/Volumes/main/default/vol/a?page_token=" .. client.url_encode(p1.next_page_token),
        { token = s.pat }).json
      assert.are.same({ "f2", "f3" }, { p2.contents[1].name, p2.contents[2].name })
      assert.is_nil(p2.next_page_token)
      assert.are.equal(200, assert(s:request("HEAD", dirs .. "/Volumes/main/default/vol/a/b", { token = s.pat })).status)
      assert.are.equal(404, get(dirs .. "/Volumes/main/default/vol/nope", { token = s.pat }).status)
      local full = assert(s:request("DELETE", dirs .. "/Volumes/main/default/vol/a/b", { token = s.pat }))
      assert.are.equal(409, full.status)
      assert.are.equal(204, assert(s:request("DELETE", dirs .. "/Volumes/main/default/vol/a/b/c", { token = s.pat })).status)
      assert.are.equal(400, get(dirs .. "/Volumes/main/default/vol/a?page_token=bogus", { token = s.pat }).status)
    end)

    it("refuses paths outside volumes and dot segments, and needs a token", function()
      assert.are.equal(400, put("/tmp/x", "x").status)
      assert.are.equal(400, put("/Volumes/main/default/x", "x").status)
      assert.are.equal(400, put("/Volumes/main/default/v/../x", "x").status)
      assert.are.equal(401, assert(s:request("GET", BASE .. "/Volumes/main/default/v/x")).status)
    end)

    it("streams a large upload to disk, not into memory, and serves it back", function()
      local size, block = 48 * 1024 * 1024, string.rep("0123456789abcdef", 65536)
      local conn = assert(s:connect())
      assert(conn:send_raw(table.concat({
        "PUT " .. BASE .. "/Volumes/main/default/big/blob.bin HTTP/1.1", "Host: " .. s.host,
        "Authorization: Bearer " .. s.pat, "Content-Type: application/octet-stream",
        "Content-Length: " .. size, "", "" }, "\r\n")))
      for _ = 1, size // #block do assert(conn:send_raw(block)) end
      local res = assert(conn:read_response("PUT"))
      assert.are.equal(204, res.status)
      local h = assert(conn:request("HEAD", BASE .. "/Volumes/main/default/big/blob.bin",
        { headers = { Authorization = "Bearer " .. s.pat } }))
      conn:close()
      assert.are.equal(tostring(size), h.headers["content-length"])
      local status = helpers.read_file("/proc/" .. s.pid .. "/status")
      local peak = tonumber(status:match("VmHWM:%s*(%d+)"))
      assert.is_true(peak < 40 * 1024, "peak RSS " .. peak .. " kB")
      local r = helpers.run({ "curl", "-sS", "--cacert", s.ca_file, "-H", "Authorization: Bearer " .. s.pat,
        "-o", "/dev/null", "-w", "%{http_code} %{size_download}", s.url .. BASE .. "/Volumes/main/default/big/blob.bin" })
      assert.are.equal("200 " .. size, r.stdout)
    end)
  end)

  ---------------------------------------------------------------- 0.2: Unity Catalog lists

  describe("Unity Catalog lists", function()
    before_each(function()
      local tables = {}
      for _, n in ipairs({ "a", "b", "c", "d", "e" }) do tables["cat1.sch." .. n] = { columns = { "x" } } end
      tables["cat2.other.t"] = { columns = { { name = "y", type = "DECIMAL(5,1)" } } }
      s:config({ tables = tables, catalogs = { empty = true }, schemas = { ["cat1.bare"] = true } })
    end)

    local function list(path)
      return get(path, { token = s.pat })
    end

    it("lists catalogs, schemas and tables page by page with max_results", function()
      local cats = list("/api/2.1/unity-catalog/catalogs").json
      local names = {}
      for _, c in ipairs(cats.catalogs) do names[#names + 1] = c.name end
      assert.are.same({ "cat1", "cat2", "empty", "main" }, names)
      assert.is_nil(cats.next_page_token)
      local sch = list("/api/2.1/unity-catalog/schemas?catalog_name=cat1").json
      assert.are.same({ "cat1.bare", "cat1.sch" }, { sch.schemas[1].full_name, sch.schemas[2].full_name })
      local got, token, pages = {}, nil, 0
      repeat
        local q = "/api/2.1/unity-catalog/tables?catalog_name=cat1&schema_name=sch&max_results=2"
          .. (token and ("&page_token=" .. client.url_encode(token)) or "")
        local page = list(q).json
        pages = pages + 1
        for _, t in ipairs(page.tables) do got[#got + 1] = t.full_name end
        token = page.next_page_token
      until not token
      assert.are.equal(3, pages)
      assert.are.same({ "cat1.sch.a", "cat1.sch.b", "cat1.sch.c", "cat1.sch.d", "cat1.sch.e" }, got)
      local t = list("/api/2.1/unity-catalog/tables?catalog_name=cat2&schema_name=other").json.tables[1]
      assert.are.equal("DECIMAL", t.columns[1].type_name)
      assert.are.equal("decimal(5,1)", t.columns[1].type_text)
    end)

    it("uses the configured page size when max_results is absent", function()
      s:config({ list_page_size = 3 })
      local page = list("/api/2.1/unity-catalog/tables?catalog_name=cat1&schema_name=sch").json
      assert.are.equal(3, #page.tables)
      assert.is_string(page.next_page_token)
    end)

    it("answers 400 for missing names and bad tokens, 404 for unknown catalogs and schemas", function()
      assert.are.equal(400, list("/api/2.1/unity-catalog/schemas").status)
      assert.are.equal(400, list("/api/2.1/unity-catalog/tables?catalog_name=cat1").status)
      assert.are.equal("CATALOG_DOES_NOT_EXIST", list("/api/2.1/unity-catalog/schemas?catalog_name=zz").json.error_code)
      assert.are.equal("SCHEMA_DOES_NOT_EXIST",
        list("/api/2.1/unity-catalog/tables?catalog_name=cat1&schema_name=zz").json.error_code)
      assert.are.equal(400, list("/api/2.1/unity-catalog/catalogs?page_token=nonsense").status)
      local other = list("/api/2.1/unity-catalog/tables?catalog_name=cat1&schema_name=sch&max_results=1")
      assert.are.equal(400, list("/api/2.1/unity-catalog/catalogs?page_token="
        .. client.url_encode(other.json.next_page_token)).status)
    end)

    it("repeats a page token when a fault says so", function()
      s:fault({ path = "/unity%-catalog/tables$", action = "repeat_page_token" })
      local q = "/api/2.1/unity-catalog/tables?catalog_name=cat1&schema_name=sch&max_results=2"
      local p1 = list(q).json
      local p2 = list(q .. "&page_token=" .. client.url_encode(p1.next_page_token)).json
      assert.are.equal(p1.next_page_token, p2.next_page_token)
      local p3 = list(q .. "&page_token=" .. client.url_encode(p2.next_page_token)).json
      assert.are_not.equal(p2.next_page_token, p3.next_page_token)
    end)
  end)

  ---------------------------------------------------------------- 0.2: auth breadth

  describe("token exchange (workload identity federation)", function()
    local EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
    local JWT = "urn:ietf:params:oauth:token-type:jwt"

    local function exchange(subject, extra, path)
      local form = { grant_type = EXCHANGE, subject_token = subject, subject_token_type = JWT, scope = "all-apis" }
      for k, v in pairs(extra or {}) do form[k] = v or nil end
      return post(path or "/oidc/v1/token", { form = form })
    end

    it("exchanges a JWT of a trusted issuer, with or without client_id, and never needs a secret", function()
      local r = exchange(s:jwt(), { client_id = s.client_id })
      assert.are.equal(200, r.status, r.body)
      assert.are.equal("Bearer", r.json.token_type)
      assert.is_nil(r.json.refresh_token)
      local me = get("/api/2.0/preview/scim/v2/Me", { token = r.json.access_token })
      assert.are.equal(s.client_id, me.json.userName)
      local log = s:requests("^/oidc/v1/token$")
      assert.are.equal("none", log[#log].client_auth)
      local wide = exchange(s:jwt())
      assert.are.equal(200, wide.status)
      assert.are.equal(s.user, get("/api/2.0/preview/scim/v2/Me", { token = wide.json.access_token }).json.userName)
      local rec = s:tokens("access")
      assert.are.equal("token_exchange", rec[#rec].grant)
    end)

    it("rejects a wrong audience, an unknown issuer, an expired token and a wrong subject type", function()
      local cases = {
        { s:jwt({ aud = "https://elsewhere.example/oidc/v1/token" }), "audience" },
        { s:jwt({ iss = "https://evil.example" }), "No federation policy" },
        { s:jwt({ exp = os.time() - 10 }), "expired" },
        { "not-a-jwt", "not a valid JWT" },
      }
      for _, c in ipairs(cases) do
        local r = exchange(c[1])
        assert.are.equal(400, r.status)
        assert.are.equal("invalid_request", r.json.error)
        assert.matches(c[2], r.json.error_description)
      end
      local t = exchange(s:jwt(), { subject_token_type = "urn:ietf:params:oauth:token-type:access_token" })
      assert.are.equal("invalid_request", t.json.error)
      assert.are.equal(401, exchange(s:jwt(), { client_id = "no-such-client" }).status)
    end)

    it("follows federation policies: audience, subject, client", function()
      s:config({ federation = { ["https://ci.example"] = { audience = "my-aud", subject = "job:42",
                                                           client_id = s.client_id } } })
      local good = s:jwt({ iss = "https://ci.example", aud = "my-aud", sub = "job:42" })
      assert.are.equal(200, exchange(good, { client_id = s.client_id }).status)
      assert.are.equal(400, exchange(good).status)
      assert.are.equal(400, exchange(s:jwt({ iss = "https://ci.example", aud = "my-aud", sub = "job:43" }),
        { client_id = s.client_id }).status)
      s:advance(3600)
      assert.matches("expired", exchange(good, { client_id = s.client_id }).json.error_description)
    end)

    it("serves GitHub Actions ID tokens whose exchange works", function()
      local r = assert(client.request(s.github_token_url .. "&audience=" .. client.url_encode(s.url .. "/oidc/v1/token"),
        { headers = { Authorization = "Bearer " .. s.github_request_token }, ca_file = s.ca_file }))
      assert.are.equal(200, r.status)
      local _, claims = jwt_parts(r.json.value)
      assert.are.equal("https://token.actions.githubusercontent.com", claims.iss)
      assert.are.equal(s.url .. "/oidc/v1/token", claims.aud)
      assert.matches("^repo:", claims.sub)
      assert.are.equal(200, exchange(r.json.value, { client_id = s.client_id }).status)
      local bad = assert(client.request(s.github_token_url .. "&audience=x",
        { headers = { Authorization = "Bearer wrong" }, ca_file = s.ca_file }))
      assert.are.equal(401, bad.status)
    end)

    it("serves the account OAuth endpoints and discovery", function()
      local base = "/oidc/accounts/" .. s.account_id
      local d = get(base .. "/.well-known/oauth-authorization-server").json
      assert.are.equal(s.url .. base .. "/v1/token", d.token_endpoint)
      assert.are.equal(s.url .. base .. "/v1/authorize", d.authorization_endpoint)
      local r = post(base .. "/v1/token", {
        form = { grant_type = "client_credentials", scope = "all-apis" },
        headers = { Authorization = basic(s.client_id, s.client_secret) },
      })
      assert.are.equal(200, r.status)
      local _, claims = jwt_parts(r.json.access_token)
      assert.are.equal(s.url .. base, claims.iss)
      local ex = exchange(s:jwt({ aud = s.account_id }), nil, base .. "/v1/token")
      assert.are.equal(200, ex.status, ex.body)
      assert.are.equal(404, get("/oidc/accounts/other-account/.well-known/oauth-authorization-server").status)
    end)
  end)

  describe("workspace id header, expired tokens and error shapes", function()
    it("records X-Databricks-Workspace-Id and, when told, requires the right one", function()
      local me = "/api/2.0/preview/scim/v2/Me"
      get(me, { token = s.pat, headers = { ["X-Databricks-Workspace-Id"] = s.workspace_id } })
      local log = s:requests(me)
      assert.are.equal(s.workspace_id, log[#log].workspace_id)
      s:config({ require_workspace_id = true })
      assert.are.equal(400, get(me, { token = s.pat }).status)
      assert.are.equal(403, get(me, { token = s.pat, headers = { ["X-Databricks-Workspace-Id"] = "1" } }).status)
      assert.are.equal(200, get(me, { token = s.pat,
        headers = { ["X-Databricks-Workspace-Id"] = s.workspace_id } }).status)
    end)

    it("answers an expired token 403 when told to", function()
      local token = m2m()
      s:config({ expired_status = 403 })
      s:advance(7200)
      local r = get("/api/2.1/unity-catalog/tables/" .. s.table, { token = token })
      assert.are.equal(403, r.status)
      assert.are.equal("PERMISSION_DENIED", r.json.error_code)
      assert.are.equal(401, get("/api/2.1/unity-catalog/tables/" .. s.table, { token = "bogus" }).status)
    end)

    it("sends REST errors in every documented shape", function()
      local path = "/api/2.1/unity-catalog/tables/" .. s.table
      local pattern = "^/api/2%.1/unity%-catalog/tables/"
      s:faults({
        { path = pattern, action = "numeric_error_code", status = 400, error_code = 1234, message = "numeric" },
        { path = pattern, action = "text_error", status = 400, error_code = "INVALID_STATE", message = "plain" },
        { path = pattern, action = "scim_error", status = 409, error_code = "uniqueness", message = "taken" },
        { path = pattern, action = "details_error", status = 400 },
        { path = pattern, action = "empty_404" },
        { path = pattern, action = "private_link" },
      })
      local a = get(path, { token = s.pat })
      assert.are.equal(1234, a.json.error_code)
      local b = get(path, { token = s.pat })
      assert.are.equal("INVALID_STATE: plain", b.body)
      assert.matches("^text/plain", b.headers["content-type"])
      local c = get(path, { token = s.pat })
      assert.are.equal(409, c.status)
      assert.are.equal("uniqueness", c.json.scimType)
      assert.are.equal("taken", c.json.detail)
      assert.are.equal("409", c.json.status)
      local d = get(path, { token = s.pat })
      assert.is_table(d.json.details)
      assert.are.equal("type.googleapis.com/google.rpc.ErrorInfo", d.json.details[1]["@type"])
      local e = get(path, { token = s.pat })
      assert.are.equal(404, e.status)
      assert.are.equal("", e.body)
      local f = get(path, { token = s.pat })
      assert.are.equal(302, f.status)
      assert.are.equal("/login.html?error=private-link-validation-error", f.headers.location)
    end)
  end)

  describe("Lakebase (0.2)", function()
    it("describes instance state and read-only DNS", function()
      s:config({ instances = { db = { read_write_dns = "rw.example", read_only_dns = "ro.example", state = "STOPPED" } } })
      local r = get("/api/2.0/database/instances/db", { token = s.pat }).json
      assert.are.same({ "rw.example", "ro.example", "STOPPED" }, { r.read_write_dns, r.read_only_dns, r.state })
    end)

    it("describes autoscaling endpoints: status.hosts and status.current_state", function()
      local r = get("/api/2.0/postgres/" .. s.endpoint, { token = s.pat })
      assert.are.equal(200, r.status)
      assert.are.equal("127.0.0.1", r.json.status.hosts.host)
      assert.are.equal("ACTIVE", r.json.status.current_state)
      assert.are.equal(s.endpoint, r.json.name)
      s:config({ endpoints = { ["projects/p/branches/b/endpoints/e"] = { host = "ep.example", state = "IDLE",
        read_only_host = "ro.ep.example", read_write_pooled_host = "pool.ep.example" } } })
      local e = get("/api/2.0/postgres/projects/p/branches/b/endpoints/e", { token = s.pat }).json
      assert.are.same({ host = "ep.example", read_only_host = "ro.ep.example", read_write_pooled_host = "pool.ep.example" },
        e.status.hosts)
      assert.are.equal("IDLE", e.status.current_state)
      assert.are.equal(404, get("/api/2.0/postgres/projects/p/branches/b/endpoints/zz", { token = s.pat }).status)
    end)

    it("issues autoscaling credentials for a ttl of 300-3600 s, or an expire_time", function()
      local function cred(extra)
        local body = { endpoint = s.endpoint }
        for k, v in pairs(extra) do body[k] = v end
        return post("/api/2.0/postgres/credentials", { json = body, token = s.pat })
      end
      local r = cred({ ttl = "600s" })
      assert.are.equal(200, r.status)
      local _, claims = jwt_parts(r.json.token)
      assert.are.equal(600, claims.exp - claims.iat)
      for _, bad in ipairs({ "100s", "3601s", "600", "ten" }) do
        local b = cred({ ttl = bad })
        assert.are.equal(400, b.status, bad)
        assert.are.equal("INVALID_PARAMETER_VALUE", b.json.error_code)
      end
      local at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 1800)
      local e = cred({ expire_time = at })
      assert.are.equal(200, e.status)
      local _, ec = jwt_parts(e.json.token)
      assert.is_true(math.abs(ec.exp - (os.time() + 1800)) <= 2)
      assert.are.equal(400, cred({ ttl = "600s", expire_time = at }).status)
    end)

    it("accepts UC-scoped claims on provisioned credentials", function()
      local claims = { { permission_set = "READ_ONLY", resources = { { table_name = "main.default.t" } } } }
      local r = post("/api/2.0/database/credentials", { token = s.pat,
        json = { instance_names = { s.instance }, request_id = "r-1", claims = claims } })
      assert.are.equal(200, r.status)
      local issued = s:tokens("credential")
      assert.are.same(claims, issued[#issued].claims)
    end)
  end)
end)
