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

  it("keeps the journal for the secret scan", function()
    h.note_secrets({ sim.pat, sim.client_secret })
    local t = {}
    for _, tok in ipairs(sim:tokens()) do t[#t + 1] = tok.token end
    h.note_secrets(t)
    assert.is_string(cjson.encode(t))
  end)
end)
