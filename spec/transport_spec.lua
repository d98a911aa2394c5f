-- The HTTPS transport under faults: which answers are retried (429/503 with
-- Retry-After, 502/504, resets, truncation, timeouts) and which fail at once
-- (other 4xx, 500), the total time budget, the response size cap, odd
-- bodies, keep-alive, and TLS verification with the CA order of DESIGN.md.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

describe("transport", function()
  local sim

  setup(function() sim = Sim.start() end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function client(extra)
    local cfg = { host = sim.url, auth_type = "pat", token = sim.pat, ca_bundle = sim.ca_file,
                  timeout = 5, retry_timeout = 5 }
    for k, v in pairs(extra or {}) do cfg[k] = v or nil end
    return assert(databricks.connect(cfg))
  end

  local ME = "^/api/2%.0/preview/scim/v2/Me$"

  local function timed(f)
    local t0 = h.now()
    local a, b = f()
    return a, b, h.now() - t0
  end

  it("retries 503 after the Retry-After seconds, then succeeds", function()
    sim:fault{ path = ME, status = 503, headers = { ["Retry-After"] = "1" },
               body = { error_code = "TEMPORARILY_UNAVAILABLE", message = "busy" } }
    local me, err, dt = timed(function() return client():current_user() end)
    assert.is_table(me, tostring(err))
    assert.is_true(dt >= 1, "waited at least Retry-After")
    local log = sim:requests(ME)
    assert.are.equal(2, #log)
    assert.are.same({ 503, 200 }, { log[1].status, log[2].status })
  end)

  it("honours a Retry-After given as an HTTP-date", function()
    local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
    sim:fault{ path = ME, status = 429, headers = { ["Retry-After"] = date } }
    local me, _, dt = timed(function() return client():current_user() end)
    assert.is_table(me)
    assert.is_true(dt >= 0.9, "waited for the date (" .. dt .. " s)")
  end)

  for _, status in ipairs({ 429, 502, 504 }) do
    it("retries " .. status .. " with back-off", function()
      sim:fault{ path = ME, status = status, count = 2 }
      local me = client():current_user()
      assert.is_table(me)
      assert.are.equal(3, #sim:requests(ME))
    end)
  end

  for _, action in ipairs({ "reset", "reset_mid_body", "truncated" }) do
    it("retries after a " .. action .. " connection", function()
      sim:fault{ path = ME, action = action }
      local me, err = client():current_user()
      assert.is_table(me, tostring(err))
      assert.are.equal(2, #sim:requests(ME))
    end)
  end

  it("does not retry 500, and reports the server's message", function()
    sim:fault{ path = ME, status = 500, count = 5, body = { error_code = "INTERNAL_ERROR", message = "kaboom" } }
    local me, err = client():current_user()
    assert.is_nil(me)
    assert.are.equal("http", err.kind)
    assert.are.equal(500, err.status)
    assert.are.equal("INTERNAL_ERROR", err.error_code)
    assert.matches("kaboom", err.message)
    assert.are.equal(1, #sim:requests(ME))
  end)

  it("does not retry other 4xx, and keeps error_code and request_id", function()
    local t, err = client():get_table("main.default.missing")
    assert.is_nil(t)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("TABLE_DOES_NOT_EXIST", err.error_code)
    assert.matches("^%x+%-", err.request_id)
    assert.matches(err.request_id, tostring(err), 1, true)
    assert.are.equal(1, #sim:requests("/unity%-catalog/"))
  end)

  it("stops within the time budget and reports the server's Retry-After", function()
    sim:fault{ path = ME, status = 503, count = 50, headers = { ["Retry-After"] = "100" } }
    local me, err, dt = timed(function() return client{ retry_timeout = 2 }:current_user() end)
    assert.is_nil(me)
    assert.is_true(dt < 2, "gave up at once: waiting 100 s does not fit a 2 s budget")
    assert.are.equal(503, err.status)
    assert.are.equal(100, err.retry_after)
    assert.are.equal("http", err.kind)
  end)

  it("keeps retrying inside the budget, then fails with the last status", function()
    sim:fault{ path = ME, status = 502, count = 100 }
    local me, err, dt = timed(function() return client{ retry_timeout = 2 }:current_user() end)
    assert.is_nil(me)
    assert.are.equal(502, err.status)
    assert.is_true(#sim:requests(ME) >= 2)
    assert.is_true(dt < 4, "within the budget plus one back-off (" .. dt .. " s)")
  end)

  it("times out a hanging request with a timeout error", function()
    sim:fault{ path = ME, action = "hang", count = 10 }
    local me, err, dt = timed(function() return client{ timeout = 1, retry_timeout = 0 }:current_user() end)
    assert.is_nil(me)
    assert.are.equal("timeout", err.kind)
    assert.is_true(dt < 3)
  end)

  it("retries a timed-out request within the budget", function()
    sim:fault{ path = ME, action = "hang" }
    local me = client{ timeout = 1, retry_timeout = 5 }:current_user()
    assert.is_table(me)
    assert.are.equal(2, #sim:requests(ME))
  end)

  it("caps the response size with a clear protocol error", function()
    sim:fault{ path = ME, action = "oversized", size = 2 * 1024 * 1024 }
    local me, err = client{ max_response_bytes = 1024 * 1024 }:current_user()
    assert.is_nil(me)
    assert.are.equal("protocol", err.kind)
    assert.matches("larger than the 1048576%-byte limit", err.message)
  end)

  it("request returns a non-JSON answer as a string; current_user calls it a protocol error", function()
    sim:fault{ path = ME, action = "malformed" }
    local body, meta = client():request("GET", "/api/2.0/preview/scim/v2/Me")
    assert.are.equal('{"access_token": ', body)
    assert.are.equal(200, meta.status)
    sim:fault{ path = ME, action = "malformed" }
    local me, err = client():current_user()
    assert.is_nil(me)
    assert.are.equal("protocol", err.kind)
    assert.matches("SCIM Me", err.message)
  end)

  it("explains an HTML error page from a proxy", function()
    sim:fault{ path = ME, action = "html", status = 502, count = 50 }
    local me, err = client{ retry_timeout = 1 }:current_user()
    assert.is_nil(me)
    assert.are.equal(502, err.status)
    assert.matches("unexpected text/html body: 502 Service Error", err.message)
  end)

  it("rejects a token answer of the wrong shape as a protocol error", function()
    sim:fault{ path = "^/oidc/v1/token$", action = "wrong_shape" }
    local c = client{ auth_type = "oauth_m2m", token = false, client_id = sim.client_id,
                      client_secret = sim.client_secret }
    local tok, err = c:token()
    assert.is_nil(tok)
    assert.are.equal("protocol", err.kind)
    assert.matches("no access_token", err.message)
  end)

  it("rejects a malformed token answer as a protocol error", function()
    sim:fault{ path = "^/oidc/v1/token$", action = "malformed" }
    local c = client{ auth_type = "oauth_m2m", token = false, client_id = sim.client_id,
                      client_secret = sim.client_secret }
    local tok, err = c:token()
    assert.is_nil(tok)
    assert.are.equal("protocol", err.kind)
  end)

  it("lets nothing of one request leak into the next on the reused handle", function()
    local c = client()
    local path = "/api/2.0/sql/statements"
    c:request("POST", path, { body = { statement = "SELECT 1", warehouse_id = sim.warehouse_id } })
    c:request("GET", "/api/2.0/preview/scim/v2/Me")
    c:request("PATCH", path, { body = "patched", headers = { ["X-One"] = "1" } })
    c:request("GET", "/api/2.0/preview/scim/v2/Me")
    c:request("DELETE", path)
    c:request("HEAD", "/api/2.0/preview/scim/v2/Me")
    c:request("GET", "/api/2.0/preview/scim/v2/Me")
    local seen = {}
    for _, r in ipairs(sim:requests()) do
      seen[#seen + 1] = string.format("%s %s %d %s", r.method, r.path, #(r.body or ""), r.headers["x-one"] or "-")
    end
    assert.are.same({
      "POST /api/2.0/sql/statements 48 -", "GET /api/2.0/preview/scim/v2/Me 0 -",
      "PATCH /api/2.0/sql/statements 7 1", "GET /api/2.0/preview/scim/v2/Me 0 -",
      "DELETE /api/2.0/sql/statements 0 -", "HEAD /api/2.0/preview/scim/v2/Me 0 -",
      "GET /api/2.0/preview/scim/v2/Me 0 -",
    }, seen)
  end)

  it("reuses one connection for sequential requests (keep-alive)", function()
    local c = client()
    for _ = 1, 5 do assert(c:current_user()) end
    local conns = {}
    for _, r in ipairs(sim:requests(ME)) do conns[r.conn] = true end
    local n = 0
    for _ in pairs(conns) do n = n + 1 end
    assert.are.equal(1, n)
  end)

  it("fails TLS verification without the test CA, suggests ca_bundle, and does not retry", function()
    local c = assert(databricks.connect{ host = sim.url, token = sim.pat, retry_timeout = 5 })
    local me, err, dt = timed(function() return c:current_user() end)
    assert.is_nil(me)
    assert.are.equal("network", err.kind)
    assert.matches("certificate verification failed", err.message)
    assert.matches("ca_bundle", err.message)
    assert.is_true(dt < 2)
  end)

  it("takes the CA from SSL_CERT_FILE, then CURL_CA_BUNDLE, when ca_bundle is not given", function()
    for _, var in ipairs({ "SSL_CERT_FILE", "CURL_CA_BUNDLE" }) do
      local r = h.run({ "lua5.4", "-e", string.format([[
        local d = require "databricks"
        local c = assert(d.connect{ host = %q, token = %q })
        io.write(assert(c:current_user()).userName)
      ]], sim.url, sim.pat) }, { cwd = h.root, env = {
        LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
        [var] = sim.ca_file } })
      assert.are.equal(0, r.code, var .. ": " .. r.stderr)
      assert.are.equal("user@example.com", r.stdout)
    end
  end)

  it("reports a refused connection as a network error after retrying", function()
    local port = h.free_port()
    local c = assert(databricks.connect{ host = "https://127.0.0.1:" .. port, token = sim.pat,
                                         ca_bundle = sim.ca_file, retry_timeout = 1.5 })
    local me, err, dt = timed(function() return c:current_user() end)
    assert.is_nil(me)
    assert.are.equal("network", err.kind)
    assert.matches("gave up after %d+ attempts", err.message)
    assert.is_true(dt >= 0.5 and dt < 4)
  end)
end)
