-- The trust rules of DESIGN.md §9, proved against hostile answers from the
-- workspace simulator (on loopback, stopped by PID): each numbered defect
-- of the trust issue has a case named after it, and `make trust` prints
-- the rule x auth type table these cases fill (spec/support/trust_table.lua).
local databricks = require "databricks"
local core = require "databricks.core"
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

-- Every auth type the connector has, with a config against the simulator
-- and the secret(s) that config holds.
local function auth_configs(sim)
  return {
    pat = { cfg = { auth_type = "pat", token = sim.pat }, secrets = { sim.pat } },
    oauth_m2m = { cfg = { auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret },
                  secrets = { sim.client_secret } },
  }
end

describe("trust", function()
  local sim
  setup(function() sim = Sim.start() end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function connect(cfg)
    local t = { host = sim.url, ca_bundle = sim.ca_file, retry_timeout = 0 }
    for k, v in pairs(cfg) do t[k] = v end
    return databricks.connect(t)
  end

  describe("#1 a secret echoed back by a server is redacted", function()
    it("trust #1 the token endpoint echoes the client secret, the Basic credential and a PAT: none survives", function()
      local basic = (require("mime").b64(sim.client_id .. ":" .. sim.client_secret))
      sim:fault{ path = "/oidc/v1/token", status = 401, body = {
        error = "invalid_client",
        error_description = "secret " .. sim.client_secret .. " basic " .. basic .. " pat " .. sim.pat,
      } }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      local me, err = c:current_user()
      assert.is_nil(me)
      local text = tostring(err) .. " " .. err.message
      h.note("trust #1 m2m", text)
      assert.is_nil(text:find(sim.client_secret, 1, true), text)
      assert.is_nil(text:find(basic, 1, true), text)
      assert.matches("invalid_client", text)
    end)

    it("trust #1 a REST error body echoing a PAT of no known shape is redacted", function()
      local bare = "plain" .. sim.pat:sub(5) -- no "dapi": no pattern rule can know it
      sim:config{ pats = { [bare] = true } }
      sim:fault{ path = "/api/2.0/preview/scim/v2/Me", status = 400,
                 body = { error_code = "BAD_REQUEST", message = "token " .. bare .. " was refused" } }
      local c = assert(connect{ auth_type = "pat", token = bare })
      local _, err = c:current_user()
      local text = tostring(err)
      assert.is_nil(text:find(bare, 1, true), text)
      assert.matches("BAD_REQUEST", text)
    end)

    it("trust #1 a secret any Lua code registers is redacted from every later message", function()
      local secret = "my-lua-held-secret-" .. tostring(os.time())
      core.add_secret(secret)
      local e = databricks.error{ kind = "http", message = "server said " .. secret }
      assert.are.equal("http error: server said [REDACTED]", tostring(e))
      assert.are.equal("x [REDACTED]", core.redact("x " .. secret))
    end)

    it("trust #1 the list form of redact takes any number of secrets (no 32-entry limit)", function()
      local list, text = {}, {}
      for i = 1, 40 do
        list[i] = string.format("listed-secret-%03d", i)
        text[i] = list[i]
      end
      local out = core.redact(table.concat(text, " "), list)
      assert.is_nil(out:find("listed%-secret"), out)
    end)
  end)

  describe("#5 control characters from servers never reach a message", function()
    it("trust #5 ESC, CR and LF in a JSON error body are neutralised in tostring(err)", function()
      sim:fault{ path = "/api/2.0/preview/scim/v2/Me", status = 400,
                 body = { error_code = "BAD\r\nREQUEST", message = "line one\r\n2026-01-01 INFO forged\27[31m red" } }
      local c = assert(connect(auth_configs(sim).pat.cfg))
      local _, err = c:current_user()
      for _, text in ipairs({ tostring(err), err.message, err.error_code }) do
        assert.is_nil(text:find("[%c\127]"), text)
      end
      assert.matches("line one  2026%-01%-01 INFO forged%?%[31m red", err.message)
    end)

    it("trust #5 an OAuth error_description with a line break stays on one line", function()
      sim:fault{ path = "/oidc/v1/token", status = 400,
                 body = { error = "invalid_request", error_description = "bad\nERROR forged line" } }
      local c = assert(connect(auth_configs(sim).oauth_m2m.cfg))
      local _, err = c:token()
      assert.is_nil(tostring(err):find("\n", 1, true))
      assert.matches("bad ERROR forged line", tostring(err))
    end)
  end)

  describe("#7 a token with a byte outside printable ASCII is refused", function()
    it("trust #7 CR/LF in a token endpoint's access_token never becomes a header", function()
      sim:fault{ path = "/oidc/v1/token", status = 200,
                 body = { access_token = "abc\r\nX-Injected: 1", token_type = "Bearer", expires_in = 3600 } }
      local c = assert(connect(auth_configs(sim).oauth_m2m.cfg))
      local me, err = c:current_user()
      assert.is_nil(me)
      assert.are.equal("protocol", err.kind)
      assert.matches("byte 0x0d at position 4", err.message)
      assert.are.equal(0, #sim:requests("/api/2.0/preview/scim/v2/Me"))
    end)

    it("trust #7 a PAT or a handed-in token with CR/LF is a config error before any request", function()
      local c, err = connect{ auth_type = "pat", token = sim.pat .. "\r\n" }
      assert.is_nil(c)
      assert.are.equal("config", err.kind)
      c, err = connect{ auth_type = "token", access_token = "abc\ndef" }
      assert.is_nil(c)
      assert.are.equal("config", err.kind)
      assert.are.equal(0, #sim:requests())
    end)
  end)

  describe("#12 request misuse", function()
    it("trust #12 l_request misuse raises without leaving the client busy", function()
      local c = assert(connect(auth_configs(sim).pat.cfg))
      for _ = 1, 3 do
        assert.has_error(function() c:request("GET", "/api/2.0/preview/scim/v2/Me", { query = "a=b" }) end)
        assert.has_error(function() c:request("GET", "/api/2.0/preview/scim/v2/Me", { body = 42 }) end)
        local body, meta = c:request("GET", "/api/2.0/preview/scim/v2/Me")
        assert.are.equal(200, meta.status)
        assert.are.equal("user@example.com", body.userName)
      end
      -- A call stuck "in progress" would make close refuse.
      c:close()
    end)

    it("trust #12 a client cannot be closed from inside its own on_tokens callback", function()
      local c
      c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret,
                          on_tokens = function() c:close() end })
      local me, err = c:current_user()
      assert.is_nil(me)
      assert.matches("on_tokens callback failed", err.message)
      assert.matches("from inside one of the client's own calls", err.message)
      c:close()
    end)
  end)

  describe("#2 OAuth discovery may only name endpoints on the workspace's origin", function()
    local socket = require "socket"

    -- A listener standing in for "another host": it must never see a
    -- connection.
    local function decoy()
      local srv = assert(socket.bind("127.0.0.1", 0))
      srv:settimeout(0)
      local _, port = srv:getsockname()
      return srv, tonumber(port)
    end

    local function discovery(doc)
      sim:fault{ path = "^/oidc/%.well%-known/oauth%-authorization%-server$", status = 200, body = doc, count = 5 }
    end

    it("trust #2 a token_endpoint on another host, port or scheme is refused before the client secret leaves", function()
      local srv, port = decoy()
      local origin = sim.url
      local bad = {
        "https://127.0.0.1:" .. port .. "/oidc/v1/token",               -- another port
        "http://127.0.0.1:" .. sim.port .. "/oidc/v1/token",             -- plain http
        "https://localhost:" .. sim.port .. "/oidc/v1/token",            -- another host name
        "https://127.0.0.1:" .. sim.port .. ".evil.example/oidc/v1/token", -- a suffix
        "https://evil.example@127.0.0.1:" .. sim.port .. "/oidc/v1/token", -- user info
        "https://127.0.0.1:" .. sim.port,                                  -- no path
      }
      for _, endpoint in ipairs(bad) do
        sim:reset()
        discovery{ token_endpoint = endpoint, authorization_endpoint = origin .. "/oidc/v1/authorize" }
        local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
        local tok, err = c:token()
        assert.is_nil(tok, endpoint)
        assert.are.equal("protocol", err.kind, endpoint)
        assert.matches("outside " .. origin:gsub("%p", "%%%0"), err.message)
        assert.matches("before any credential was sent", err.message)
        assert.are.same({}, sim:requests("/oidc/v1/token"), endpoint)
        assert.is_nil(srv:accept(), "the other origin was contacted for " .. endpoint)
      end
      srv:close()
    end)

    it("trust #2 an authorization_endpoint on another origin is refused before the browser opens", function()
      local srv, port = decoy()
      discovery{ token_endpoint = sim.url .. "/oidc/v1/token",
                 authorization_endpoint = "https://127.0.0.1:" .. port .. "/oidc/v1/authorize" }
      local opened = false
      local c, err = connect{ auth_type = "oauth_u2m", open_browser = function() opened = true end,
                              redirect_uri = "http://localhost:" .. h.free_port() }
      assert.is_nil(c)
      assert.are.equal("protocol", err.kind)
      assert.is_false(opened)
      assert.is_nil(srv:accept())
      srv:close()
    end)

    it("trust #2 a refresh token is not sent to a foreign token endpoint either", function()
      discovery{ token_endpoint = "https://127.0.0.1:1/oidc/v1/token" }
      local refresh = "dorf" .. ("R"):rep(40)
      local c = assert(connect{ auth_type = "token", access_token = "expired-token-xyz", refresh_token = refresh,
                                expires_at = os.time() - 60 })
      local tok, err = c:token()
      assert.is_nil(tok)
      assert.are.equal("protocol", err.kind)
      assert.is_nil(tostring(err):find(refresh, 1, true))
      h.note_secrets({ refresh })
    end)

    it("trust #2 endpoints on the workspace's own origin are accepted, written any equivalent way", function()
      local upper = sim.url:gsub("127%.0%.0%.1", "127.0.0.1"):upper():gsub("^HTTPS", "https")
      discovery{ token_endpoint = upper .. "/oidc/v1/token", authorization_endpoint = sim.url .. "/oidc/v1/authorize" }
      local c = assert(connect{ auth_type = "oauth_m2m", client_id = sim.client_id, client_secret = sim.client_secret })
      assert.is_string((c:token()))
    end)
  end)

  describe("#9 the U2M loopback listener cannot be disrupted by local processes", function()
    -- Runs `script` (sh) in the background; its output lands in `out`.
    local function background(script, out)
      return h.spawn({ "sh", "-c", script }, { log = out })
    end

    it("trust #9 40 idle connections, a forged error and a wrong state do not stop the real redirect", function()
      local socket = require "socket"
      local port = h.free_port()
      local app = "loopback-app-" .. port
      sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } } }
      local dir = h.tmpdir("loopback")
      local idle, pids = {}, {}
      local c, err = connect{
        auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port, login_timeout = 30,
        open_browser = function(url)
          -- 40 local clients that connect and never say anything.
          for i = 1, 40 do
            idle[i] = assert(socket.connect("127.0.0.1", port))
          end
          -- A local process aborting the sign-in (error= without state), one
          -- with a wrong state, and a probe of another path: each is answered
          -- (curl would exit 18 on a short body) and ignored.
          local forged = {
            { "/?error=access_denied&error_description=forged", "forged-error" },
            { "/?code=forged-code&state=not-this-one", "wrong-state" },
            { "/favicon.ico", "favicon" },
          }
          for _, f in ipairs(forged) do
            pids[#pids + 1] = background(string.format(
              "curl -s -D %s/%s.head -o %s/%s.body -w '%%{http_code} %%{size_download}' 'http://127.0.0.1:%d%s';"
              .. " echo \" $?\"", dir, f[2], dir, f[2], port, f[1]), dir .. "/" .. f[2] .. ".out")
          end
          -- The real browser, after the forged ones.
          pids[#pids + 1] = background(string.format(
            "sleep 1; loc=$(curl -s --cacert %s -o /dev/null -w '%%{redirect_url}' '%s');"
            .. " curl -s -D %s/real.head -o %s/real.body -w '%%{http_code} %%{size_download}' \"$loc\"; echo \" $?\"",
            sim.ca_file, url, dir, dir), dir .. "/real.out")
        end,
      }
      for _, s in ipairs(idle) do s:close() end
      assert.is_truthy(c, tostring(err))
      assert.are.equal("user@example.com", assert(c:current_user()).userName)
      for _, name in ipairs({ "forged-error", "wrong-state", "favicon", "real" }) do
        local out = h.wait_for(function()
          local t = h.read_file(dir .. "/" .. name .. ".out")
          return t and t:match("%d+ %d+ %d+") and t
        end, 15)
        assert.is_string(out, name)
        local status, size, code = out:match("(%d+) (%d+) (%d+)")
        assert.are.equal("0", code, name .. ": curl failed (exit 18 is a short body)")
        local want = ({ ["forged-error"] = "400", ["wrong-state"] = "400", favicon = "404", real = "200" })[name]
        assert.are.equal(want, status, name)
        local head = h.read_file(dir .. "/" .. name .. ".head")
        assert.are.equal(tonumber(head:match("[Cc]ontent%-[Ll]ength: (%d+)")), tonumber(size), name)
        local body = h.read_file(dir .. "/" .. name .. ".body")
        assert.matches("^<!doctype html>", body)
        assert.is_nil(body:lower():find("<script", 1, true))
        assert.is_nil(body:lower():find("src=", 1, true))
        assert.matches("default%-src 'none'", head)
      end
      assert.matches("Signed in", h.read_file(dir .. "/real.body"))
      assert.are.equal(1, #sim:requests("/oidc/v1/token"), "only the real code was exchanged")
      for _, pid in ipairs(pids) do h.stop(pid) end
    end)

    it("trust #9 a callback carrying an error with the right state ends the sign-in, answered 400", function()
      local port = h.free_port()
      local app = "loopback-deny-" .. port
      sim:config{ clients = { [app] = { redirect_uris = { "http://localhost:" .. port } } }, authorize_mode = "deny" }
      local result = h.tmpdir("deny") .. "/browser.json"
      local c, err = connect{ auth_type = "oauth_u2m", client_id = app, redirect_uri = "http://localhost:" .. port,
                              login_timeout = 20,
                              open_browser = function(url)
                                Sim.browser(url, { ca_file = sim.ca_file, result_file = result })
                              end }
      assert.is_nil(c)
      assert.are.equal("access_denied", err.error_code)
      local seen = h.wait_for(function() return h.read_file(result) end, 10)
      assert.matches('"callback_status":%s*400', seen)
    end)
  end)

  describe("#11 config_from_env never sends a config file's token to another host", function()
    local config = require "databricks.config"

    it("trust #11 DATABRICKS_HOST plus a config file whose [DEFAULT] is another workspace: the file is skipped", function()
      local dir = h.tmpdir("trust11")
      local other_token = "dapi" .. ("A"):rep(32)
      h.write_file(dir .. "/cfg", "[DEFAULT]\nhost = https://workspace-a.cloud.databricks.com\ntoken = "
        .. other_token .. "\n")
      local vars = { DATABRICKS_HOST = sim.url, DATABRICKS_CONFIG_FILE = dir .. "/cfg" }
      local cfg, err = config.from_env(function(k) return vars[k] end)
      if cfg then
        assert.is_nil(cfg.token, "the [DEFAULT] token of another workspace was taken")
        cfg.ca_bundle = sim.ca_file
        local c = databricks.connect(cfg)
        if c then c:current_user() end
      else
        assert.are.equal("config", err.kind)
      end
      for _, r in ipairs(sim:requests()) do
        assert.is_nil((r.headers.authorization or ""):find(other_token, 1, true), "sent to " .. sim.url)
      end
      -- With credentials of its own in the environment, the same: the file is not read.
      vars.DATABRICKS_TOKEN = sim.pat
      cfg = assert(config.from_env(function(k) return vars[k] end))
      assert.are.same({ host = sim.url, token = sim.pat }, cfg)
      h.note_secrets({ other_token })
    end)

    it("trust #11 a named profile of another host is not combined with DATABRICKS_HOST: config error", function()
      local dir = h.tmpdir("trust11b")
      h.write_file(dir .. "/cfg", "[a]\nhost = https://workspace-a.cloud.databricks.com\ntoken = dapi"
        .. ("B"):rep(32) .. "\n")
      local vars = { DATABRICKS_HOST = sim.url, DATABRICKS_CONFIG_FILE = dir .. "/cfg", DATABRICKS_CONFIG_PROFILE = "a" }
      local cfg, err = config.from_env(function(k) return vars[k] end)
      assert.is_nil(cfg)
      assert.are.equal("config", err.kind)
      assert.matches("is not the profile's host", err.message)
      h.note_secrets({ "dapi" .. ("B"):rep(32) })
    end)
  end)

  it("keeps the journal for the secret scan", function()
    h.note_secrets({ sim.pat, sim.client_secret })
    local t = {}
    for _, tok in ipairs(sim:tokens()) do t[#t + 1] = tok.token end
    h.note_secrets(t)
    assert.is_string(cjson.encode(t))
  end)
end)
