-- The trust rules of DESIGN.md §9 as a table: each rule, for each auth
-- type of the connector and for the rotator, proved by a probe against a
-- hostile simulator (each connector probe in a process of its own,
-- spec/support/trust_probe.lua), or pointing at the spec that proves it
-- where a probe here would only repeat that spec (the named test must
-- exist). `make trust` runs this file and prints the table; `make test`
-- runs it too, and the table is printed at the end of this file's run and
-- written to build/trust-table.txt.
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local AUTHS = { "pat", "oauth_m2m", "oauth_u2m", "token", "databricks_cli", "env_oidc", "file_oidc", "github_oidc",
                "rotator" }
local OAUTH = { oauth_m2m = true, oauth_u2m = true, env_oidc = true, file_oidc = true, github_oidc = true }

local RULES = {
  { id = "echo-api", rule = "§9.1 a secret an API error echoes is redacted" },
  { id = "echo-token", rule = "§9.1 a secret the token endpoint echoes is redacted" },
  { id = "control", rule = "§9.2 server control characters never reach a message" },
  { id = "discovery", rule = "§9.3 discovery is pinned to the workspace origin" },
  { id = "printable", rule = "§9.4 a token with a non-printable byte is refused" },
  { id = "files", rule = "§9.5 files: one symlink policy, 0600, no core dumps" },
  { id = "children", rule = "§9.5 children get no secret in their environment" },
  { id = "listener", rule = "§9.6 the sign-in listener cannot be disrupted" },
  { id = "lifetime", rule = "§9.7 lifetime from what the issuer stated (skewed clock)" },
  { id = "bounded", rule = "§9.8 chunk links, pages and retries are bounded" },
}

-- Cells proved by another spec: {file, test name fragment}.
local ELSEWHERE = {
  files = { rotator = { "spec/agent_spec.lua", "trust #10 one symlink policy" } },
  children = { rotator = { "spec/agent_spec.lua", "trust #10 the Databricks CLI child gets no" } },
  listener = { oauth_u2m = { "spec/trust_spec.lua", "trust #9 40 idle connections, a forged error and a wrong state" } },
  lifetime = { token = { "spec/auth_spec.lua", "judges a handed-in JWT's freshness from its iat/exp" } },
  bounded = { rotator = { "spec/fault_matrix_spec.lua", "rotator (--once, M2M, Lakebase instance)" } },
}

local ROTATOR = h.root .. "/bin/databricks-oauth-rotator"
local DISCOVERY = "/oidc/.well-known/oauth-authorization-server"
local TOKEN = "^/oidc/v1/token$"
local ME = "/api/2.0/preview/scim/v2/Me"
local HOSTILE = "line one\r\n2026-01-01T00:00:00Z databricks-oauth-rotator[1] INFO: forged\27[2J"

describe("trust matrix", function()
  local sim, dir
  local results = {} -- results[rule][auth] = "pass" | "n/a" | "spec" | "FAIL"
  local notes = {}

  setup(function() sim = Sim.start() end)
  teardown(function()
    -- The table, for make trust and for whoever reads the test output.
    local out = { string.format("%-58s", "rule (DESIGN.md §9)") }
    for _, a in ipairs(AUTHS) do out[1] = out[1] .. string.format(" %-14s", a) end
    for _, r in ipairs(RULES) do
      local line = string.format("%-58s", r.rule)
      for _, a in ipairs(AUTHS) do line = line .. string.format(" %-14s", (results[r.id] or {})[a] or "-") end
      out[#out + 1] = line
    end
    out[#out + 1] = "pass: probed here against a hostile simulator; spec: proved by the named spec (listed below); "
      .. "n/a: the rule has nothing to act on for that auth type"
    for _, n in ipairs(notes) do out[#out + 1] = "  " .. n end
    local text = table.concat(out, "\n") .. "\n"
    io.stdout:write("\n", text)
    local f = io.open(h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/trust-table.txt", "wb")
    if f then
      f:write(text)
      f:close()
    end
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    dir = h.tmpdir("trust")
  end)

  -- A config (and environment) for each connector auth type against the
  -- simulator; `app` is a confidential custom app for the browser sign-in.
  local function setup_auth(auth)
    local cfg = { host = sim.url, ca_bundle = sim.ca_file, retry_timeout = 0 }
    local env, browser = {}, false
    if auth == "pat" then
      cfg.auth_type, cfg.token = "pat", sim.pat
    elseif auth == "oauth_m2m" then
      cfg.auth_type, cfg.client_id, cfg.client_secret = "oauth_m2m", sim.client_id, sim.client_secret
    elseif auth == "oauth_u2m" then
      local port = h.free_port()
      local app, secret = "trust-app-" .. port, "trust-app-secret-" .. port
      sim:config{ clients = { [app] = { secret = secret, redirect_uris = { "http://localhost:" .. port } } } }
      cfg.auth_type, cfg.client_id, cfg.client_secret = "oauth_u2m", app, secret
      cfg.redirect_uri, cfg.login_timeout = "http://localhost:" .. port, 20
      browser = true
    elseif auth == "token" then
      local c = assert(require("databricks").connect{ host = sim.url, ca_bundle = sim.ca_file,
        auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      cfg.auth_type, cfg.access_token = "token", assert(c:token())
      c:close()
    elseif auth == "databricks_cli" then
      local c = assert(require("databricks").connect{ host = sim.url, ca_bundle = sim.ca_file,
        auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local tok = assert(c:token())
      c:close()
      h.write_file(dir .. "/cli.json", cjson.encode({ access_token = tok, token_type = "Bearer",
        expiry = "2099-01-01T00:00:00Z" }) .. "\n", 384)
      h.write_script(dir .. "/databricks", "env > " .. h.quote(dir .. "/cli.env") .. "\ncat "
        .. h.quote(dir .. "/cli.json") .. "\n")
      cfg.auth_type, cfg.databricks_cli = "databricks_cli", dir .. "/databricks"
    elseif auth == "env_oidc" then
      cfg.auth_type, cfg.client_id = "env_oidc", sim.client_id
      env.DATABRICKS_OIDC_TOKEN = sim:jwt()
    elseif auth == "file_oidc" then
      h.write_file(dir .. "/id-token", sim:jwt(), 384)
      cfg.auth_type, cfg.client_id, cfg.oidc_token_file = "file_oidc", sim.client_id, dir .. "/id-token"
    elseif auth == "github_oidc" then
      cfg.auth_type, cfg.client_id = "github_oidc", sim.client_id
      env.ACTIONS_ID_TOKEN_REQUEST_URL = sim.github_token_url
      env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = sim.github_request_token
    end
    return cfg, env, browser
  end

  local function probe(auth, calls, env_extra)
    local cfg, env, browser = setup_auth(auth)
    for k, v in pairs(env_extra or {}) do env[k] = v end
    env.LUA_PATH = "lua/?.lua;lua/?/init.lua;;"
    env.LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;"
    local r = h.run({ h.lua, "spec/support/trust_probe.lua", cjson.encode({ cfg = cfg, calls = calls,
      browser = browser }) }, { cwd = h.root, env = env, timeout = 60 })
    assert.are.equal(0, r.code, r.stderr)
    local out = cjson.decode(r.stdout)
    out.all = table.concat({ out.text or "", out.message or "", out.code or "", out.details or "", r.stderr }, "\n")
    return out, cfg, env
  end

  -- Every secret the simulator issued or holds, and the run's own.
  local function secrets(cfg, env)
    local list = { sim.client_secret, sim.pat, sim.github_request_token,
                   (require("mime").b64(sim.client_id .. ":" .. sim.client_secret)) }
    for _, t in ipairs(sim:tokens()) do list[#list + 1] = t.token end
    for _, k in ipairs({ "client_secret", "token", "access_token" }) do
      if cfg and cfg[k] then list[#list + 1] = cfg[k] end
    end
    if cfg and cfg.client_id and cfg.client_secret then
      list[#list + 1] = (require("mime").b64(cfg.client_id .. ":" .. cfg.client_secret))
    end
    if cfg and cfg.oidc_token_file then list[#list + 1] = h.read_file(cfg.oidc_token_file) end
    for _, v in pairs(env or {}) do
      if #v > 40 and not v:find("/", 1, true) then list[#list + 1] = v end
    end
    h.note_secrets(list)
    return list
  end

  local function assert_clean(text, list, what)
    for _, s in ipairs(list) do
      if s and #s >= 8 then assert.is_nil(text:find(s, 1, true), what .. " leaks a secret") end
    end
  end

  local function record(rule, auth, result)
    results[rule] = results[rule] or {}
    results[rule][auth] = result
  end

  -- The rotator, once, M2M, against the simulator's instance.
  local function rotator(extra_env, extra_args)
    local argv = { ROTATOR, "--once", "--json", "--ca-bundle", sim.ca_file, "--instance-name", sim.instance,
                   "--pgpass-file", dir .. "/pgpass", "--log-file", dir .. "/rotator.log",
                   "--status-file", dir .. "/status.json" }
    for _, a in ipairs(extra_args or {}) do argv[#argv + 1] = a end
    local env = { DATABRICKS_HOST = sim.url, DATABRICKS_CLIENT_ID = sim.client_id,
                  DATABRICKS_CLIENT_SECRET = sim.client_secret }
    for k, v in pairs(extra_env or {}) do env[k] = v end
    local r = h.run(argv, { env = env, home = dir, timeout = 60 })
    r.all = table.concat({ r.stdout, r.stderr, h.read_file(dir .. "/rotator.log") or "",
                           h.read_file(dir .. "/status.json") or "" }, "\n")
    return r
  end

  local function each(rule, fn)
    for _, auth in ipairs(AUTHS) do
      local where = (ELSEWHERE[rule.id] or {})[auth]
      if where then
        it(rule.rule .. " · " .. auth .. ": proved by " .. where[1], function()
          local text = assert(h.read_file(h.root .. "/" .. where[1]))
          assert.is_truthy(text:find(where[2], 1, true), where[1] .. " has no test '" .. where[2] .. "'")
          record(rule.id, auth, "spec")
          notes[#notes + 1] = string.format("%s · %s: %s \"%s…\"", rule.id, auth, where[1], where[2])
        end)
      else
        local applies, body = fn(auth)
        if applies then
          it(rule.rule .. " · " .. auth, function()
            record(rule.id, auth, "FAIL")
            body()
            record(rule.id, auth, "pass")
          end)
        else
          record(rule.id, auth, "n/a")
        end
      end
    end
  end

  local ECHO_API = { status = 400, echo = true,
                     body = { error_code = "BAD_REQUEST", message = "you sent %{authorization}" } }
  local ECHO_TOKEN = { status = 401, echo = true, body = { error = "invalid_client",
                       error_description = "you sent %{authorization} with %{request_body}" } }

  each(RULES[1], function(auth)
    if auth == "rotator" then
      return true, function()
        local f = {}
        for k, v in pairs(ECHO_API) do f[k] = v end
        f.path = "^/api/2%.0/database/credentials$"
        f.body = { error_code = "BAD_REQUEST", message = "you sent %{authorization} and %{request_body}" }
        sim:fault(f)
        local r = rotator()
        assert.are.equal(1, r.code, r.stderr)
        assert.matches("BAD_REQUEST", r.all)
        assert_clean(r.all, secrets(), "the rotator's output, log or status file")
      end
    end
    return true, function()
      local f = {}
      for k, v in pairs(ECHO_API) do f[k] = v end
      f.path = "^" .. ME:gsub("%p", "%%%0") .. "$"
      sim:fault(f)
      local out, cfg, env = probe(auth, { "token", "current_user" })
      assert.are.equal("current_user", out.stage, out.all)
      assert.matches("BAD_REQUEST", out.all)
      assert.matches("you sent", out.all)
      assert_clean(out.all, secrets(cfg, env), "the error")
    end
  end)

  each(RULES[2], function(auth)
    if not OAUTH[auth] and auth ~= "rotator" then return false end
    if auth == "rotator" then
      return true, function()
        local f = { path = TOKEN }
        for k, v in pairs(ECHO_TOKEN) do f[k] = v end
        sim:fault(f)
        local r = rotator()
        assert.is_true(r.code == 1 or r.code == 2, r.stderr)
        assert.matches("invalid_client", r.all)
        assert_clean(r.all, secrets(), "the rotator's output, log or status file")
      end
    end
    return true, function()
      local f = { path = TOKEN }
      for k, v in pairs(ECHO_TOKEN) do f[k] = v end
      sim:fault(f)
      local out, cfg, env = probe(auth, { "token" })
      assert.is_truthy(out.stage, out.all)
      assert.matches("invalid_client", out.all)
      assert_clean(out.all, secrets(cfg, env), "the error")
    end
  end)

  each(RULES[3], function(auth)
    if auth == "rotator" then
      return true, function()
        sim:fault{ path = "^/api/2%.0/database/credentials$", status = 400,
                   body = { error_code = "BAD\r\nREQUEST", message = HOSTILE } }
        local r = rotator()
        assert.are.equal(1, r.code)
        assert.is_nil(r.stderr:find("\27", 1, true))
        for line in (h.read_file(dir .. "/rotator.log") or ""):gmatch("[^\n]+") do
          assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z databricks%-oauth%-rotator%[%d+%] %u+: ", line)
          assert.is_nil(line:find("[%c\127]"), line)
        end
        assert.is_nil(r.all:find("\n2026-01-01T00:00:00Z", 1, true), "a forged line")
      end
    end
    return true, function()
      sim:fault{ path = "^" .. ME:gsub("%p", "%%%0") .. "$", status = 400,
                 body = { error_code = "BAD\r\nREQUEST", message = HOSTILE } }
      local out = probe(auth, { "token", "current_user" })
      assert.are.equal("current_user", out.stage)
      for _, t in ipairs({ out.text, out.message, out.code }) do assert.is_nil(t:find("[%c\127]"), t) end
    end
  end)

  each(RULES[4], function(auth)
    if not OAUTH[auth] and auth ~= "rotator" then return false end
    local doc = { issuer = "https://127.0.0.1:1/oidc", authorization_endpoint = "https://127.0.0.1:1/oidc/v1/authorize",
                  token_endpoint = "https://127.0.0.1:1/oidc/v1/token" }
    return true, function()
      sim:fault{ path = "^" .. DISCOVERY:gsub("%p", "%%%0") .. "$", status = 200, body = doc, count = -1 }
      if auth == "rotator" then
        local r = rotator()
        assert.is_true(r.code ~= 0)
        assert.matches("protocol", r.all)
      else
        local out = probe(auth, { "token" })
        assert.are.equal("protocol", out.kind, out.all)
      end
      assert.are.equal(0, #sim:requests{ path = TOKEN }, "nothing was sent to a token endpoint")
    end
  end)

  each(RULES[5], function(auth)
    local bad = "abc\r\nX-Injected: 1"
    return true, function()
      if auth == "pat" or auth == "token" then
        local cfg = { host = sim.url, ca_bundle = sim.ca_file, auth_type = auth }
        if auth == "pat" then cfg.token = bad else cfg.access_token = bad end
        local c, err = require("databricks").connect(cfg)
        assert.is_nil(c)
        assert.are.equal("config", err.kind)
        return
      end
      sim:clear_requests()
      if auth == "databricks_cli" then
        local cfg = setup_auth(auth)
        h.write_file(dir .. "/cli.json", cjson.encode({ access_token = bad, token_type = "Bearer",
          expiry = "2099-01-01T00:00:00Z" }), 384)
        local c = assert(require("databricks").connect(cfg))
        local me, err = c:current_user()
        assert.is_nil(me)
        assert.is_truthy(err.kind == "protocol" or err.kind == "auth", err.kind)
        assert.matches("0x0d", err.message)
      elseif auth == "rotator" then
        sim:fault{ path = TOKEN, status = 200, body = { access_token = bad, token_type = "Bearer", expires_in = 3600 } }
        local r = rotator()
        assert.are.equal(1, r.code, r.stderr)
        assert.are.equal(0, #sim:requests("/api/2.0/database/credentials"))
      else
        sim:fault{ path = TOKEN, status = 200, count = -1,
                   body = { access_token = bad, token_type = "Bearer", expires_in = 3600 } }
        local out = probe(auth, { "current_user" })
        assert.are.equal("protocol", out.kind, out.all)
      end
      assert.are.equal(0, #sim:requests(ME), "no request carried the token")
    end
  end)

  each(RULES[6], function() return false end)

  each(RULES[7], function(auth)
    if auth ~= "databricks_cli" then return false end
    return true, function()
      local out = probe(auth, { "current_user" }, { DATABRICKS_CLIENT_SECRET = "not-for-children-0123456789",
                                                     DATABRICKS_TOKEN = "dapi-not-for-children-0123456789" })
      assert.is_true(out.ok, out.all)
      local env = h.read_file(dir .. "/cli.env")
      assert.is_nil(env:find("not-for-children", 1, true))
      assert.is_nil(env:find("DATABRICKS_CLIENT_SECRET", 1, true))
    end
  end)

  each(RULES[8], function() return false end)

  each(RULES[9], function(auth)
    if not OAUTH[auth] and auth ~= "rotator" then return false end
    return true, function()
      -- The workspace's clock two hours behind this one: by this clock,
      -- everything it issues expired long ago.
      sim:advance(-7200)
      local ok, err = pcall(function()
        if auth == "rotator" then
          local r = rotator()
          assert.are.equal(0, r.code, r.stderr)
          assert.matches("clock is %d+ s ahead", r.all)
        else
          local out = probe(auth, { "token", "current_user", "token" })
          assert.is_true(out.ok, out.all)
          local grants = #sim:requests{ path = TOKEN, method = "POST" }
          assert.are.equal(1, grants, "one token for the whole run, not one per call")
        end
      end)
      sim:advance(7200)
      assert(ok, err)
    end
  end)

  each(RULES[10], function(auth)
    if auth == "rotator" then return false end
    return true, function()
      local rows = {}
      for i = 1, 30 do rows[i] = { tostring(i) } end
      sim:config{ statements = { ["SELECT loop"] = { columns = { { name = "i", type = "INT" } }, rows = rows,
                                                     rows_per_chunk = 10 } } }
      sim:fault{ chunk = 1, action = "self_link", count = -1 }
      local out = probe(auth, { "sql SELECT loop" })
      assert.are.equal("protocol", out.kind, out.all)
      assert.matches("points back", out.all)
      assert.is_true(#sim:requests("/result/chunks/") <= 2, "the chain was not followed")
      local tables = {}
      for i = 1, 7 do tables[string.format("main.sales.t%d", i)] = {} end
      sim:config{ list_page_size = 3, tables = tables }
      sim:fault{ path = "^/api/2%.1/unity%-catalog/tables$", action = "repeat_page_token", count = -1 }
      out = probe(auth, { "list /api/2.1/unity-catalog/tables" })
      assert.are.equal("protocol", out.kind, out.all)
    end
  end)
end)
