-- Workload identity federation (DESIGN.md §7): env_oidc, file_oidc and
-- github_oidc exchange a workload's JWT for a Databricks token at the token
-- endpoint (RFC 8693), against the simulator's token exchange (fake
-- issuers, federation policies, a GitHub Actions ID token endpoint). Each
-- auth type: first token, cached (one exchange per lifetime), refreshed
-- (the subject token read afresh at every exchange), refused. The subject
-- tokens are secrets: they never reach an error, argv or a log.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"

local function form_of(body)
  local t = {}
  for k, v in (body or ""):gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("+", " "):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
  end
  return t
end

local function query_of(q)
  return form_of(q)
end

describe("workload identity federation", function()
  local sim
  local seen = {} -- every error text and output, checked for subject tokens at the end
  local subjects = {}

  setup(function() sim = Sim.start() end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function jwt(claims)
    local t = sim:jwt(claims)
    subjects[#subjects + 1] = t
    return t
  end

  local function keep(err)
    if err then seen[#seen + 1] = tostring(err) .. " " .. (err.message or "") end
    return err
  end

  local function connect(cfg)
    cfg.host = cfg.host or sim.url
    cfg.ca_bundle = cfg.ca_bundle or sim.ca_file
    return databricks.connect(cfg)
  end

  local function exchanges(path)
    local out = {}
    for _, r in ipairs(sim:requests{ path = path or "/v1/token$", method = "POST" }) do
      local f = form_of(r.body)
      if f.grant_type == EXCHANGE then out[#out + 1] = { req = r, form = f } end
    end
    return out
  end

  -- Runs Lua code in a child with `env` added to its (scrubbed) environment;
  -- the code's stdout is returned decoded from JSON.
  -- Replaces each NAME of `names` in `code` by the quoted value.
  local function fill(code, names)
    for k, v in pairs(names) do code = code:gsub(k, string.format("%q", v)) end
    return code
  end

  local function child(code, env)
    local vars = { LUA_PATH = "lua/?.lua;lua/?/init.lua;;",
                   LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" }
    for k, v in pairs(env or {}) do vars[k] = v end
    local prelude = string.format([[
      local d = require "databricks"
      local cjson = require "cjson"
      local function out(t) io.write(cjson.encode(t)) end
      local SIM, CA = %q, %q
    ]], sim.url, sim.ca_file)
    local r = h.run({ "lua5.4", "-e", prelude .. code }, { cwd = h.root, env = vars, timeout = 60 })
    seen[#seen + 1] = r.stdout .. r.stderr
    assert.are.equal(0, r.code, r.stderr)
    return cjson.decode(r.stdout)
  end

  describe("file_oidc", function()
    local dir
    before_each(function() dir = h.tmpdir("oidc") end)

    it("exchanges the file's JWT at the token endpoint: grant, subject token type, scope, client_id, no secret", function()
      local subject = jwt()
      h.write_file(dir .. "/token", subject .. "\n") -- a trailing newline, as files have
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token", client_id = sim.client_id })
      assert.are.equal(sim.client_id, assert(c:current_user()).userName)
      local ex = exchanges()
      assert.are.equal(1, #ex)
      assert.are.equal(subject, ex[1].form.subject_token, "whitespace around the JWT is stripped")
      assert.are.equal("urn:ietf:params:oauth:token-type:jwt", ex[1].form.subject_token_type)
      assert.are.equal("all-apis", ex[1].form.scope)
      assert.are.equal(sim.client_id, ex[1].form.client_id)
      assert.is_nil(ex[1].form.client_secret)
      assert.is_nil(ex[1].req.headers.authorization, "no client authentication at all")
      assert.are.equal(databricks.user_agent() .. " auth/file-oidc",
        sim:requests("/scim/v2/Me")[1].headers["user-agent"])
    end)

    it("works without client_id (account-wide federation): no client_id is sent", function()
      h.write_file(dir .. "/token", jwt())
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token" })
      assert.are.equal(sim.user, assert(c:current_user()).userName)
      assert.is_nil(exchanges()[1].form.client_id)
    end)

    it("exchanges once per token lifetime however many calls are made (cached)", function()
      h.write_file(dir .. "/token", jwt())
      local n = 0
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token",
                                on_tokens = function() n = n + 1 end })
      for _ = 1, 100 do assert(c:token()) end
      for _ = 1, 10 do assert(c:current_user()) end
      assert.are.equal(1, #exchanges())
      assert.are.equal(1, n, "on_tokens hears about each new token")
    end)

    it("re-reads the file at every exchange (a rotated projected token is used at the next refresh)", function()
      sim:config{ token_ttl = 4 }
      local first_subject, second_subject = jwt(), jwt()
      h.write_file(dir .. "/token", first_subject)
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token" })
      local first = assert(c:token())
      h.write_file(dir .. "/token", second_subject)
      -- Stale after half its lifetime: the next call exchanges again.
      local second = h.wait_for(function()
        local t = assert(c:token())
        return t ~= first and t
      end, 10)
      assert.is_string(second)
      local ex = exchanges()
      assert.are.equal(2, #ex)
      assert.are.equal(first_subject, ex[1].form.subject_token)
      assert.are.equal(second_subject, ex[2].form.subject_token)
      assert.are.equal(sim.user, assert(c:current_user()).userName)
    end)

    it("follows a symlinked token file (Kubernetes projects ..data/token)", function()
      os.execute(string.format("mkdir -p %s/..2026 && ln -s ..2026 %s/..data && ln -s ..data/token %s/token",
        dir, dir, dir))
      h.write_file(dir .. "/..2026/token", jwt())
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token" })
      assert.is_string((c:token()))
    end)

    it("is refused with the server's reason when the policy does not accept the token, naming no token", function()
      local wrong_aud = jwt{ aud = "https://elsewhere.example/oidc/v1/token" }
      h.write_file(dir .. "/token", wrong_aud)
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token" })
      local tok, err = c:token()
      assert.is_nil(tok)
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.are.equal("invalid_request", err.error_code)
      assert.matches("audience", err.message)
      assert.is_nil(tostring(err):find(wrong_aud, 1, true))
    end)

    it("is refused when the subject token has expired", function()
      h.write_file(dir .. "/token", jwt{ exp = os.time() - 10 })
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token" })
      local _, err = c:token()
      keep(err)
      assert.are.equal("auth", err.kind)
      assert.matches("expired", err.message)
    end)

    it("names a missing, empty or unusable file as a config error, before any request", function()
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/missing" })
      local _, err = c:token()
      keep(err)
      assert.are.equal("config", err.kind)
      assert.matches("does not exist", err.message)
      h.write_file(dir .. "/empty", "\n")
      c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/empty" })
      _, err = c:token()
      assert.matches("is empty", err.message)
      h.write_file(dir .. "/bad", "eyJhbGciOi.eyJzdWIi\r\nX-Injected: 1")
      c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/bad" })
      _, err = c:token()
      assert.are.equal("config", err.kind)
      assert.matches("byte 0x0d", err.message)
      assert.is_nil(err.message:find("eyJhbGciOi", 1, true))
      assert.are.same({}, exchanges())
    end)

    it("requires oidc_token_file and takes no secret", function()
      local c, err = connect{ auth_type = "file_oidc" }
      assert.is_nil(c)
      assert.matches("auth_type file_oidc needs oidc_token_file", err.message)
      c, err = connect{ auth_type = "file_oidc", oidc_token_file = "/x", client_id = "i", client_secret = "s" }
      assert.is_nil(c)
      assert.matches("does not take client_secret", err.message)
    end)

    it("passes configured scopes to the exchange", function()
      h.write_file(dir .. "/token", jwt())
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/token", scopes = "sql all-apis" })
      assert(c:token())
      assert.are.equal("all-apis sql", exchanges()[1].form.scope)
    end)
  end)

  describe("env_oidc", function()
    it("reads DATABRICKS_OIDC_TOKEN at the exchange, not at connect; once per lifetime", function()
      local subject = jwt()
      local r = child(fill([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc", client_id = ID })
        local t1 = assert(c:token())
        local t2 = assert(c:token())
        local me = assert(c:current_user())
        out{ same = t1 == t2, user = me.userName }
      ]], { ID = sim.client_id }), { DATABRICKS_OIDC_TOKEN = subject })
      assert.is_true(r.same)
      assert.are.equal(sim.client_id, r.user)
      local ex = exchanges()
      assert.are.equal(1, #ex)
      assert.are.equal(subject, ex[1].form.subject_token)
    end)

    it("reads the variable named by oidc_token_env, and connects without it being set yet", function()
      local subject = jwt()
      local r = child([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc", oidc_token_env = "MY_JWT" })
        local tok, err = c:token()
        local c2 = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc" })
        local tok2, err2 = c2:token()
        out{ ok = tok ~= nil, missing = err2 and err2.message, kind = err2 and err2.kind }
      ]], { MY_JWT = subject })
      assert.is_true(r.ok)
      assert.are.equal("config", r.kind)
      assert.matches("DATABRICKS_OIDC_TOKEN is not set", r.missing)
      assert.are.equal(subject, exchanges()[1].form.subject_token)
    end)

    it("refreshes with a new exchange once the token is stale, reading the variable again", function()
      sim:config{ token_ttl = 4 }
      local r = child([[
        local socket = require "socket"
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc" })
        local first = assert(c:token())
        local deadline = socket.gettime() + 10
        local second = first
        while second == first and socket.gettime() < deadline do
          second = assert(c:token())
          socket.sleep(0.05)
        end
        out{ refreshed = second ~= first }
      ]], { DATABRICKS_OIDC_TOKEN = jwt() })
      assert.is_true(r.refreshed)
      local ex = exchanges()
      assert.are.equal(2, #ex)
      assert.are.equal(ex[1].form.subject_token, ex[2].form.subject_token)
    end)

    it("is refused for an issuer no federation policy trusts", function()
      local r = child([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc" })
        local tok, err = c:token()
        out{ kind = err.kind, text = tostring(err) }
      ]], { DATABRICKS_OIDC_TOKEN = jwt{ iss = "https://evil.example" } })
      assert.are.equal("auth", r.kind)
      assert.matches("No federation policy", r.text)
    end)

    it("never passes the subject token to a child process (the CLI, hooks)", function()
      local subject = jwt()
      local dir = h.tmpdir("envchild")
      h.write_script(dir .. "/databricks", "env > " .. dir .. "/env\nexit 1\n")
      child(string.format([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "databricks_cli", databricks_cli = %q })
        c:token()
        out{}
      ]], dir .. "/databricks"), { DATABRICKS_OIDC_TOKEN = subject, DATABRICKS_CLIENT_SECRET = "dose" .. ("9"):rep(32),
                                   DATABRICKS_TOKEN = "dapi" .. ("8"):rep(32), KEEP_ME = "yes" })
      local env = h.read_file(dir .. "/env")
      assert.matches("KEEP_ME=yes", env)
      assert.is_nil(env:find(subject, 1, true))
      assert.is_nil(env:find("DATABRICKS_CLIENT_SECRET", 1, true))
      assert.is_nil(env:find("DATABRICKS_TOKEN=", 1, true))
      assert.is_nil(env:find("DATABRICKS_OIDC_TOKEN", 1, true))
    end)

    it("keeps a variable-held token out of every child's environment, whatever the variable is called", function()
      local subject = jwt()
      local r = child([[
        local core = require "databricks.core"
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "env_oidc", oidc_token_env = "CI_JWT" })
        assert(c:token())
        local res = assert(core.run({ "env" }))
        out{ env = res.stdout }
      ]], { CI_JWT = subject, KEEP_ME = "yes" })
      assert.matches("KEEP_ME=yes", r.env)
      assert.is_nil(r.env:find(subject, 1, true))
      assert.is_nil(r.env:find("CI_JWT", 1, true))
    end)
  end)

  describe("github_oidc", function()
    local function gh_env()
      return { ACTIONS_ID_TOKEN_REQUEST_URL = sim.github_token_url,
               ACTIONS_ID_TOKEN_REQUEST_TOKEN = sim.github_request_token }
    end

    it("asks GitHub Actions for an ID token for the token endpoint's audience and exchanges it", function()
      local r = child(fill([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc", client_id = ID })
        out{ user = assert(c:current_user()).userName, again = assert(c:token()) == assert(c:token()) }
      ]], { ID = sim.client_id }), gh_env())
      assert.are.equal(sim.client_id, r.user)
      local gh = sim:requests("/github/idtoken")
      assert.are.equal(1, #gh, "one ID token per exchange")
      assert.are.equal("Bearer " .. sim.github_request_token, gh[1].headers.authorization)
      assert.are.equal(sim.url .. "/oidc/v1/token", query_of(gh[1].query).audience)
      assert.are.equal("2.0", query_of(gh[1].query)["api-version"])
      local ex = exchanges()
      assert.are.equal(1, #ex)
      local issued = sim:tokens("oidc")
      assert.are.equal(issued[#issued].token, ex[1].form.subject_token)
      assert.is_nil(gh[1].headers["x-databricks-workspace-id"])
    end)

    it("uses token_audience when given", function()
      sim:config{ federation = { ["https://token.actions.githubusercontent.com"] = { audience = "my-audience" } } }
      child([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc", token_audience = "my-audience" })
        assert(c:token())
        out{}
      ]], gh_env())
      assert.are.equal("my-audience", query_of(sim:requests("/github/idtoken")[1].query).audience)
    end)

    it("refreshes with a new GitHub ID token at every exchange", function()
      sim:config{ token_ttl = 4 }
      child([[
        local socket = require "socket"
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc" })
        local first = assert(c:token())
        local deadline, second = socket.gettime() + 10, first
        while second == first and socket.gettime() < deadline do
          second = assert(c:token())
          socket.sleep(0.05)
        end
        out{}
      ]], gh_env())
      assert.are.equal(2, #sim:requests("/github/idtoken"))
      local ex = exchanges()
      assert.are.equal(2, #ex)
      assert.are_not.equal(ex[1].form.subject_token, ex[2].form.subject_token)
    end)

    it("is refused with GitHub's answer when the request token is wrong, without printing it", function()
      local env = gh_env()
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = "ghrt" .. ("Z"):rep(40)
      local r = child([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc" })
        local _, err = c:token()
        out{ kind = err.kind, status = err.status, text = tostring(err) }
      ]], env)
      assert.are.equal("auth", r.kind)
      assert.are.equal(401, r.status)
      assert.matches("Bad credentials", r.text)
      assert.is_nil(r.text:find(("Z"):rep(40), 1, true))
      assert.are.same({}, exchanges())
    end)

    it("explains what is missing outside GitHub Actions", function()
      local r = child([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc" })
        local _, err = c:token()
        out{ kind = err.kind, text = err.message }
      ]])
      assert.are.equal("config", r.kind)
      assert.matches("ACTIONS_ID_TOKEN_REQUEST_URL", r.text)
      assert.matches("id%-token: write", r.text)
    end)
  end)

  describe("account-wide federation", function()
    it("exchanges at the account token endpoint with the account id as the audience", function()
      local r = child(fill([[
        local c = assert(d.connect{ host = SIM, ca_bundle = CA, auth_type = "github_oidc", account_id = ACC })
        out{ tok = assert(c:token()) ~= nil }
      ]], { ACC = sim.account_id }), {
        ACTIONS_ID_TOKEN_REQUEST_URL = sim.github_token_url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN = sim.github_request_token })
      assert.is_true(r.tok)
      assert.are.equal(sim.account_id, query_of(sim:requests("/github/idtoken")[1].query).audience)
      local ex = exchanges("^/oidc/accounts/" .. sim.account_id:gsub("%-", "%%-") .. "/v1/token$")
      assert.are.equal(1, #ex)
      assert.is_nil(ex[1].form.client_id)
      assert.are.same({}, sim:requests("%.well%-known"), "account endpoints are fixed: no discovery")
    end)

    it("accepts an env token minted for the account id", function()
      local dir = h.tmpdir("acct")
      h.write_file(dir .. "/t", jwt{ aud = sim.account_id })
      local c = assert(connect{ auth_type = "file_oidc", oidc_token_file = dir .. "/t", account_id = sim.account_id })
      assert.is_string((c:token()))
    end)
  end)

  it("no subject token appears in any error or output seen", function()
    assert.is_true(#subjects > 10)
    assert.is_true(#seen > 5)
    for _, text in ipairs(seen) do
      for _, s in ipairs(subjects) do
        assert.is_nil(text:find(s, 1, true), "subject token leaked into: " .. text)
      end
    end
    h.note_secrets(subjects)
  end)
end)
