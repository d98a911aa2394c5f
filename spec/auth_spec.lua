-- Authentication for every auth type against the workspace simulator:
-- PAT, OAuth M2M (discovery, Basic client credentials, token freshness),
-- OAuth U2M (browser sign-in with PKCE for the built-in and custom apps,
-- state and callback errors, busy port) and pass-through tokens with
-- rotating refresh tokens, and the Databricks CLI source. Every error is
-- checked for leaked secrets at the end.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

local errors_seen = {}
local function keep(err)
  if err then errors_seen[#errors_seen + 1] = tostring(err) .. " " .. (err.message or "") end
  return err
end

local function query_of(r)
  local t = {}
  for k, v in (r.query or ""):gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
  end
  return t
end

local function form_of(body)
  local t = {}
  for k, v in (body or ""):gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
  end
  return t
end

describe("auth", function()
  local sim

  setup(function() sim = Sim.start() end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  local issued = {}
  before_each(function()
    sim:reset()
  end)
  after_each(function()
    for _, t in ipairs(sim:tokens()) do issued[#issued + 1] = t.token end
  end)

  local function connect(cfg)
    cfg.host = cfg.host or sim.url
    cfg.ca_bundle = cfg.ca_bundle or sim.ca_file
    return databricks.connect(cfg)
  end

  describe("pat", function()
    it("sends the token as Bearer with the User-Agent", function()
      local c = assert(connect{ auth_type = "pat", token = sim.pat })
      assert.are.equal("user@example.com", assert(c:current_user()).userName)
      local tok, exp = c:token()
      assert.are.equal(sim.pat, tok)
      assert.is_nil(exp)
      local r = sim:requests("/scim/v2/Me")[1]
      assert.are.equal("Bearer " .. sim.pat, r.headers.authorization)
      assert.are.equal(databricks.user_agent() .. " auth/pat", r.headers["user-agent"])
      assert.are.same({ Authorization = "Bearer " .. sim.pat, ["User-Agent"] = databricks.user_agent() .. " auth/pat" },
        c:headers())
      c:close()
    end)

    it("reports a rejected token as an auth error without the token", function()
      local bad = "dapi" .. string.rep("0", 32)
      local c = assert(connect{ auth_type = "pat", token = bad })
      local me, err = c:current_user()
      assert.is_nil(me)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal(401, err.status)
      assert.is_string(err.request_id)
      assert.is_nil(tostring(err):find(bad, 1, true))
    end)

    it("is used as it is for every call (cached) and never renewed: a 401 is reported at once", function()
      local c = assert(connect{ auth_type = "pat", token = sim.pat })
      for _ = 1, 20 do assert.are.equal(sim.pat, (c:token())) end
      sim:fault{ path = "/scim/v2/Me", status = 401 }
      local me, err = c:current_user()
      assert.is_nil(me)
      keep(err)
      assert.are.equal(401, err.status)
      assert.are.equal(1, #sim:requests("/scim/v2/Me"), "a PAT cannot be renewed: no retry")
      assert.are.same({}, sim:requests("/oidc/"))
    end)

    it("reports 403 as an auth error with the server's error_code", function()
      sim:config{ forbidden_tables = { "main.secret.t" } }
      local c = assert(connect{ auth_type = "pat", token = sim.pat })
      local t, err = c:get_table("main.secret.t")
      assert.is_nil(t)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal(403, err.status)
      assert.are.equal("PERMISSION_DENIED", err.error_code)
    end)
  end)

  describe("oauth_m2m", function()
    it("discovers the token endpoint and uses Basic client credentials with scope all-apis", function()
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      assert.are.equal(sim.client_id, assert(c:current_user()).userName)
      local disc = sim:requests("/oidc/%.well%-known/oauth%-authorization%-server")
      assert.are.equal(1, #disc)
      local tok = sim:requests{ path = "/oidc/v1/token" }
      assert.are.equal(1, #tok)
      assert.matches("^Basic ", tok[1].headers.authorization)
      assert.are.equal("application/x-www-form-urlencoded", tok[1].headers["content-type"])
      local form = form_of(tok[1].body)
      assert.are.same({ grant_type = "client_credentials", scope = "all-apis" }, form)
      assert.is_nil(tok[1].body:find(sim.client_secret, 1, true))
    end)

    it("reports OAuth as not enabled when discovery answers 404, like the SDKs, sending no secret", function()
      sim:config{ discovery = false }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal(404, err.status)
      assert.matches("OAuth is not enabled for " .. sim.url:gsub("%p", "%%%0"), err.message)
      assert.matches("auth_type pat", err.message)
      assert.are.equal(404, sim:requests("/oidc/%.well%-known")[1].status)
      assert.are.same({}, sim:requests("/oidc/v1/token"), "no token request after a 404")
    end)

    it("reports a wrong secret as an auth error naming the OAuth error, without the secret", function()
      local secret = "dose" .. string.rep("f", 32)
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = secret })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal("invalid_client", err.error_code)
      assert.are.equal(401, err.status)
      assert.is_nil(tostring(err):find(secret, 1, true))
      assert.are.equal(1, #sim:requests("/oidc/v1/token"), "401 is not retried")
    end)

    it("fetches one token per lifetime however many calls are made", function()
      local calls = 0
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                on_tokens = function() calls = calls + 1 end })
      for _ = 1, 200 do assert(c:token()) end
      for _ = 1, 20 do assert(c:current_user()) end
      assert.are.equal(1, #sim:requests("/oidc/v1/token"))
      assert.are.equal(1, calls)
    end)

    it("reuses a short-lived token for its first seconds, then refreshes it", function()
      sim:config{ token_ttl = 4 }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local first, exp = assert(c:token())
      assert.is_true(exp - os.time() <= 5)
      local deadline = h.now() + 1.5
      while h.now() < deadline do assert.are.equal(first, (c:token())) end
      assert.are.equal(1, #sim:requests("/oidc/v1/token"))
      h.sleep(2.2 - 1.5 + 0.2) -- past half of the lifetime: stale
      local second = assert(c:token())
      assert.are_not.equal(first, second)
      assert.are.equal(2, #sim:requests("/oidc/v1/token"))
    end)

    it("keeps using a still-valid token when an early refresh fails, and fails once it has expired", function()
      sim:config{ token_ttl = 4 }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local first = assert(c:token())
      h.sleep(2.3)
      sim:fault{ path = "^/oidc/v1/token$", status = 500, count = 100,
                 body = { error = "server_error", error_description = "token service down" } }
      assert.are.equal(first, (c:token()), "stale token kept while the refresh fails")
      assert.are.equal(first, (c:token()), "no refresh storm: the failed refresh is not retried at once")
      local attempts = #sim:requests("/oidc/v1/token")
      assert.are.equal(2, attempts)
      h.sleep(1.6) -- now within the expiry margin
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("http", err.kind)
      assert.are.equal(500, err.status)
      assert.matches("token service down", err.message)
    end)

    it("requests the configured scopes (default all-apis)", function()
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                scopes = "sql, all-apis" })
      assert(c:token())
      assert.are.equal("all-apis sql", form_of(sim:requests("/oidc/v1/token")[1].body).scope)
      assert.are.equal("all-apis sql", c:_info().scopes)
    end)

    it("renews once on a 403 for a token within 40 s of its expiry (some services answer expiry with 403)", function()
      sim:config{ token_ttl = 41, expired_status = 403 }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local first, exp = assert(c:token())
      -- Fresh here (stale only after 20 s) but inside the SDKs' 40 s buffer after 1 s.
      assert.is_truthy(h.wait_for(function() return os.time() >= exp - 39 end, 5))
      sim:advance(120) -- the server now sees the token as expired: 403
      assert.are.equal(sim.client_id, assert(c:current_user()).userName)
      assert.are_not.equal(first, (c:token()))
      assert.are.equal(2, #sim:requests("/oidc/v1/token"))
      local me = sim:requests("/scim/v2/Me")
      assert.are.equal(403, me[1].status)
      assert.are.equal(200, me[2].status)
    end)

    it("reports a 403 on a token far from its expiry as it is (a permission error), without renewing", function()
      sim:config{ forbidden_tables = { "main.secret.t" }, expired_status = 403 }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local t, err = c:get_table("main.secret.t")
      assert.is_nil(t)
      keep(err)
      assert.are.equal(403, err.status)
      assert.are.equal("PERMISSION_DENIED", err.error_code)
      sim:advance(7200) -- expired for the server, an hour from expiry here
      local _, err2 = c:current_user()
      assert.are.equal(403, err2.status)
      assert.are.equal(1, #sim:requests("/oidc/v1/token"), "no renewal for a 403 on a fresh token")
    end)

    it("hands every new token to on_tokens", function()
      local got = {}
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                on_tokens = function(t) got[#got + 1] = t end })
      local tok, exp = assert(c:token())
      assert.are.equal(1, #got)
      assert.are.equal(tok, got[1].access_token)
      assert.are.equal(exp, got[1].expires_at)
    end)

    it("reports a failing on_tokens callback as an io error", function()
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                                on_tokens = function() error("disk full") end })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("io", err.kind)
      assert.matches("on_tokens callback failed.*disk full", err.message)
    end)
  end)

  describe("oauth_u2m browser sign-in", function()
    local function custom_app(port, secret)
      local app = "custom-app-" .. port
      sim:config{ clients = { [app] = { secret = secret, redirect_uris = { "http://localhost:" .. port } } } }
      return app
    end

    local function browser()
      return function(url) Sim.browser(url, { ca_file = sim.ca_file }) end
    end

    it("runs authorization code + PKCE S256 and keeps the rotating tokens", function()
      local port = h.free_port()
      local app = custom_app(port)
      local got
      local c = assert(connect{ auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port,
                                open_browser = browser(), login_timeout = 20,
                                on_tokens = function(t) got = t end })
      assert.are.equal("user@example.com", assert(c:current_user()).userName)
      local authz = query_of(sim:requests("/oidc/v1/authorize")[1])
      assert.are.equal("code", authz.response_type)
      assert.are.equal(app, authz.client_id)
      assert.are.equal("S256", authz.code_challenge_method)
      assert.are.equal("offline_access all-apis", authz.scope)
      assert.is_true(#authz.state >= 22)
      assert.is_true(#authz.code_challenge == 43)
      local ex = form_of(sim:requests("/oidc/v1/token")[1].body)
      assert.are.equal("authorization_code", ex.grant_type)
      assert.is_true(#ex.code_verifier >= 43 and #ex.code_verifier <= 128)
      assert.are.equal("http://localhost:" .. port, ex.redirect_uri)
      assert.is_string(got.refresh_token)
      assert.are.equal((c:token()), got.access_token)
      for _ = 1, 20 do assert.are.equal(got.access_token, (c:token())) end
      assert.are.equal(1, #sim:requests("/oidc/v1/token"), "one sign-in, one token, reused (cached)")
    end)

    it("uses the built-in databricks-cli app on http://localhost:8020 by default", function()
      local probe = require("socket").bind("127.0.0.1", 8020)
      if not probe then
        pending("port 8020 is busy on this machine")
        return
      end
      probe:close()
      local c = assert(connect{ auth_type = "oauth_u2m", open_browser = browser(), login_timeout = 20 })
      assert.is_table(c:current_user())
      local authz = query_of(sim:requests("/oidc/v1/authorize")[1])
      assert.are.equal("databricks-cli", authz.client_id)
      assert.are.equal("http://localhost:8020", authz.redirect_uri)
    end)

    it("authenticates a confidential custom app with its secret", function()
      local port = h.free_port()
      local secret = "dose" .. string.rep("c", 32)
      local app = custom_app(port, secret)
      local c = assert(connect{ auth_type = "oauth_u2m", client_id = app, client_secret = secret,
                                redirect_uri = "http://localhost:" .. port, open_browser = browser(), login_timeout = 20 })
      assert.is_table(c:current_user())
      assert.matches("^Basic ", sim:requests("/oidc/v1/token")[1].headers.authorization)
    end)

    it("ignores a redirect with the wrong state (answered 400) and keeps waiting for the real one", function()
      local port = h.free_port()
      local app = custom_app(port)
      sim:config{ authorize_mode = "wrong_state" }
      local result = h.tmpdir("wrong-state") .. "/browser.json"
      local c, err = connect{ auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port,
                              open_browser = function(url) Sim.browser(url, { ca_file = sim.ca_file,
                                                                             result_file = result }) end,
                              login_timeout = 3 }
      assert.is_nil(c)
      keep(err)
      assert.are.equal("timeout", err.kind)
      assert.matches("a redirect without this sign%-in's state was ignored", err.message)
      assert.are.same({}, sim:requests("/oidc/v1/token"), "no code exchange after a state mismatch")
      local seen = h.wait_for(function() return h.read_file(result) end, 10)
      assert.matches('"callback_status":%s*400', seen)
    end)

    it("reports the callback's error and error_description", function()
      local port = h.free_port()
      local app = custom_app(port)
      sim:config{ authorize_mode = "deny" }
      local c, err = connect{ auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port,
                              open_browser = browser(), login_timeout = 20 }
      assert.is_nil(c)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal("access_denied", err.error_code)
      assert.matches("access_denied", err.message)
    end)

    it("names the redirect port when it is already in use", function()
      local busy = assert(require("socket").bind("127.0.0.1", 0))
      local _, port = busy:getsockname()
      local opened = false
      local c, err = connect{ auth_type = "oauth_u2m", client_id = "x", redirect_uri = "http://localhost:" .. port,
                              open_browser = function() opened = true end }
      busy:close()
      assert.is_nil(c)
      keep(err)
      assert.are.equal("io", err.kind)
      assert.matches("port " .. port .. " on 127.0.0.1 is already in use", err.message)
      assert.is_false(opened)
    end)

    it("gives up after login_timeout when nobody signs in", function()
      local port = h.free_port()
      local t0 = h.now()
      local c, err = connect{ auth_type = "oauth_u2m", client_id = "x", redirect_uri = "http://localhost:" .. port,
                              open_browser = function() end, login_timeout = 1 }
      assert.is_nil(c)
      keep(err)
      assert.are.equal("timeout", err.kind)
      assert.is_true(h.now() - t0 < 5)
    end)

    -- Holds every port of 8020-8040 this machine lets us bind, except one
    -- when `leave_one`: busy ports are busy for the sign-in whoever holds them.
    local function occupy(leave_one)
      local socket = require "socket"
      local held, free = {}, {}
      for port = 8020, 8040 do
        local s = socket.bind("127.0.0.1", port)
        if s then
          held[#held + 1] = s
          if port > 8020 then free[#free + 1] = { port = port, sock = s } end
        end
      end
      local chosen
      if leave_one and #free > 0 then
        chosen = free[#free]
        chosen.sock:close()
        for i, s in ipairs(held) do if s == chosen.sock then table.remove(held, i) break end end
      end
      return held, chosen and chosen.port
    end

    it("falls back to the first free port of 8021-8040 when 8020 is busy and no redirect_uri was given", function()
      local held, port = occupy(true)
      if not port then
        for _, s in ipairs(held) do s:close() end
        pending("none of 8021-8040 can be bound on this machine")
        return
      end
      local ok, c = pcall(connect, { auth_type = "oauth_u2m", open_browser = browser(), login_timeout = 20 })
      for _, s in ipairs(held) do s:close() end
      assert.is_true(ok, tostring(c))
      assert.is_truthy(c)
      assert.is_table(c:current_user())
      local authz = query_of(sim:requests("/oidc/v1/authorize")[1])
      assert.are.equal("databricks-cli", authz.client_id)
      local used = tonumber(authz.redirect_uri:match("^http://localhost:(%d+)$"))
      if used ~= port then
        -- Another process on this shared machine took the port we left free
        -- in the moment between; the sign-in then moved on, as it should.
        assert.is_true(used and used > 8020 and used <= 8040, authz.redirect_uri)
        pending("port " .. port .. " was taken by another process during the test")
        return
      end
      assert.are.equal("http://localhost:" .. port, form_of(sim:requests("/oidc/v1/token")[1].body).redirect_uri)
    end)

    it("names the range when 8020-8040 are all busy, before opening the browser", function()
      local held = occupy(false)
      local opened = false
      local ok, c, err = pcall(connect, { auth_type = "oauth_u2m", open_browser = function() opened = true end,
                                          login_timeout = 1 })
      for _, s in ipairs(held) do s:close() end
      assert.is_true(ok)
      if opened then
        pending("another process released a port of 8020-8040 during the test")
        return
      end
      assert.is_nil(c)
      keep(err)
      assert.are.equal("io", err.kind)
      assert.matches("ports 8020%-8040 on 127%.0%.0%.1 are all in use", err.message)
      assert.is_false(opened)
    end)

    it("always asks for offline_access with custom scopes (sorted, no duplicates, as the Go SDK)", function()
      local port = h.free_port()
      local app = custom_app(port)
      for _, case in ipairs({ { "sql", "offline_access sql" }, { "sql,all-apis", "offline_access all-apis sql" },
                              { "all-apis offline_access all-apis", "offline_access all-apis" } }) do
        sim:clear_requests()
        local c = assert(connect{ auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port,
                                  scopes = case[1], open_browser = browser(), login_timeout = 20 })
        assert.are.equal(case[2], query_of(sim:requests("/oidc/v1/authorize")[1]).scope, case[1])
        assert.is_string(c:token())
        c:close()
      end
    end)

    it("databricks.login returns the tokens", function()
      local port = h.free_port()
      local app = custom_app(port)
      local t = assert(databricks.login{ host = sim.url, ca_bundle = sim.ca_file, client_id = app,
                                         redirect_uri = "http://localhost:" .. port, open_browser = browser(),
                                         timeout = 20 })
      assert.is_string(t.access_token)
      assert.is_string(t.refresh_token)
      assert.is_true(t.expires_at > os.time())
    end)
  end)

  describe("pass-through tokens", function()
    -- Signs in once through the simulator to get a genuine token pair.
    local function tokens()
      local port = h.free_port()
      local app = "pt-app-" .. port
      sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } } }
      local t = assert(databricks.login{ host = sim.url, ca_bundle = sim.ca_file, client_id = app,
                                         redirect_uri = "http://localhost:" .. port, timeout = 20,
                                         open_browser = function(url) Sim.browser(url, { ca_file = sim.ca_file }) end })
      return t, app
    end

    it("uses a handed-in access token (auth_type token and oauth_u2m) without a browser", function()
      local t = tokens()
      for _, at in ipairs({ "token", "oauth_u2m" }) do
        local c = assert(connect{ auth_type = at, access_token = t.access_token,
                                  open_browser = at == "oauth_u2m" and function() error("no browser!") end or nil })
        assert.are.equal("user@example.com", assert(c:current_user()).userName)
        assert.are.equal(t.access_token, (c:token()))
      end
    end)

    it("judges a handed-in JWT's freshness from its iat/exp, expiring it 40 s early like the SDKs", function()
      sim:config{ token_ttl = 45 }
      local m2m = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local jwt = assert(m2m:token())
      local claims = assert(databricks.jwt_claims(jwt))
      local c = assert(connect{ auth_type = "token", access_token = jwt })
      local tok, exp = assert(c:token())
      assert.are.equal(jwt, tok)
      assert.are.equal(claims.exp, exp, "the expiry is the JWT's exp")
      local t0 = h.now()
      local err = h.wait_for(function()
        local t, e = c:token()
        return not t and e
      end, 12)
      keep(err)
      assert.is_table(err, "the token was never treated as expired")
      assert.are.equal("auth", err.kind)
      assert.matches("has expired and there is no refresh_token", err.message)
      assert.is_true(os.time() >= claims.exp - 41, "not before the 40 s buffer")
      assert.is_true(h.now() - t0 < 12)
    end)

    it("uses the caller's expires_at over the JWT's exp", function()
      local m2m = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local jwt = assert(m2m:token())
      local at = os.time() + 600
      local c = assert(connect{ auth_type = "token", access_token = jwt, expires_at = at })
      local _, exp = assert(c:token())
      assert.are.equal(at, exp)
    end)

    it("refreshes with the refresh token and delivers the rotated one to on_tokens", function()
      sim:config{ token_ttl = 4 }
      local t, app = tokens()
      local delivered = {}
      local c = assert(connect{ auth_type = "token", access_token = t.access_token, refresh_token = t.refresh_token,
                                client_id = app, on_tokens = function(n) delivered[#delivered + 1] = n end })
      h.sleep(2.3) -- stale: the next call refreshes
      local new = assert(c:token())
      assert.are_not.equal(t.access_token, new)
      assert.are.equal(1, #delivered)
      assert.are.equal(new, delivered[1].access_token)
      assert.is_string(delivered[1].refresh_token)
      assert.are_not.equal(t.refresh_token, delivered[1].refresh_token)
      local grant = form_of(sim:requests("/oidc/v1/token")[2].body)
      assert.are.equal("refresh_token", grant.grant_type)
      assert.are.equal(app, grant.client_id)
      -- The old refresh token was single-use.
      local r = assert(sim:request("POST", "/oidc/v1/token", { form = {
        grant_type = "refresh_token", refresh_token = t.refresh_token, client_id = app } }))
      assert.are.equal(400, r.status)
    end)

    it("fails with a sign-in-again message when the token expired and cannot be renewed", function()
      sim:config{ token_ttl = 2 }
      local t = tokens()
      h.sleep(2.1)
      local c, err = connect{ auth_type = "token", access_token = t.access_token }
      assert.is_nil(c)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.matches("sign in again", err.message)
    end)

    it("reports a spent refresh token as an auth error", function()
      local t, app = tokens()
      -- Spend it elsewhere first.
      assert(sim:request("POST", "/oidc/v1/token", { form = {
        grant_type = "refresh_token", refresh_token = t.refresh_token, client_id = app } }))
      local c = assert(connect{ auth_type = "token", access_token = t.access_token, refresh_token = t.refresh_token,
                                client_id = app, expires_at = os.time() - 10 })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.matches("Refresh token is invalid", err.message)
      assert.is_nil(tostring(err):find(t.refresh_token, 1, true))
    end)
  end)

  describe("databricks_cli", function()
    local dir, cli
    before_each(function()
      dir = h.tmpdir("cli")
      cli = dir .. "/databricks"
    end)

    it("runs `databricks auth token --host URL` and uses its token", function()
      local m2m = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id,
                                  client_secret = sim.client_secret })
      local tok = assert(m2m:token())
      h.write_script(cli, string.format([[
echo "$@" > %s/argv
printf '{"access_token":"%s","token_type":"Bearer","expiry":"2099-01-01T00:00:00.123456+00:00"}\n'
]], dir, tok))
      local c = assert(connect{ auth_type = "databricks_cli", databricks_cli = cli })
      assert.are.equal(sim.client_id, assert(c:current_user()).userName)
      local t, exp = c:token()
      assert.are.equal(tok, t)
      assert.are.equal(4070908800, exp)
      assert.are.equal("auth token --host " .. sim.url .. "\n", h.read_file(dir .. "/argv"))
    end)

    it("explains how to install the CLI when it is missing", function()
      local c = assert(connect{ auth_type = "databricks_cli", databricks_cli = dir .. "/nope/databricks" })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("config", err.kind)
      assert.matches("not found on PATH: install it", err.message)
    end)

    it("reports a failing CLI with its (redacted) first stderr line", function()
      h.write_script(cli, [[
echo "Error: refresh token dorfAAAAAAAAAAAAAAAAAAAAAAAA is invalid (access_token=eyJabc.def.ghi)" >&2
exit 1
]])
      local c = assert(connect{ auth_type = "databricks_cli", databricks_cli = cli })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.matches("exit 1", err.message)
      assert.matches("databricks auth login", err.message)
      assert.is_nil(err.message:find("dorfAAAA", 1, true))
      assert.is_nil(err.message:find("eyJabc", 1, true))
    end)

    it("finds `databricks` on PATH", function()
      h.write_script(cli, [[printf '{"access_token":"dapi0123456789abcdef0123456789ab","expiry":"2099-01-01T00:00:00Z"}']])
      local r = h.run({ "lua5.4", "-e", string.format([[
        local d = require "databricks"
        local c = assert(d.connect{ host = %q, auth_type = "databricks_cli", ca_bundle = %q })
        io.write((assert(c:token())))
      ]], sim.url, sim.ca_file) }, { cwd = h.root, env = {
        LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
        PATH = dir .. ":/usr/bin:/bin" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dapi0123456789abcdef0123456789ab", r.stdout)
    end)
  end)

  it("every REST request recorded carried the User-Agent and an Authorization header", function()
    local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
    assert(c:current_user())
    assert(c:get_table(sim.table))
    assert(c:sql("SELECT 1", { warehouse_id = sim.warehouse_id }))
    for _, r in ipairs(sim:requests()) do
      assert.are.equal(databricks.user_agent() .. " auth/oauth-m2m", r.headers["user-agent"], r.path)
      if r.path:match("^/api/") then assert.matches("^Bearer ", r.headers.authorization) end
    end
  end)

  it("no issued token, refresh token or secret appears in any error seen", function()
    local secrets = { sim.pat, sim.client_secret }
    for _, t in ipairs(issued) do secrets[#secrets + 1] = t end
    assert.is_true(#secrets > 20, "tokens were collected")
    assert.is_true(#errors_seen > 10)
    for _, e in ipairs(errors_seen) do
      for _, s in ipairs(secrets) do
        assert.is_nil(e:find(s, 1, true), "secret leaked into: " .. e)
      end
      assert.is_nil(e:find("eyJ", 1, true), "JWT-looking text in: " .. e)
    end
  end)
end)
