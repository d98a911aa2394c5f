-- The module skeleton: loading, version, User-Agent, set_product, errors,
-- redaction and the pure helpers exposed to Lua.
local databricks = require "databricks"
local core = require "databricks.core"

describe("databricks module", function()
  it("loads from the checkout with the documented LUA_PATH/LUA_CPATH", function()
    local h = require "support.helpers"
    local r = h.run({ "lua5.4", "-e", 'local d = require "databricks"; io.write(d.VERSION)' }, {
      cwd = h.root,
      env = { LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" },
    })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("0.1.0", r.stdout)
  end)

  it("exposes VERSION 0.1.0", function()
    assert.are.equal("0.1.0", databricks.VERSION)
  end)

  it("sets no global variables", function()
    local h = require "support.helpers"
    local r = h.run({ "lua5.4", "-e", [[
      local before = {}
      for k in pairs(_G) do before[k] = true end
      require "databricks"
      for k in pairs(_G) do if not before[k] then io.write(k, " ") end end
    ]] }, { cwd = h.root, env = { LUA_PATH = "lua/?.lua;lua/?/init.lua;;",
                                  LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("", r.stdout)
  end)
end)

describe("User-Agent", function()
  -- set_product is per Lua state: run each case in a fresh interpreter.
  local h = require "support.helpers"
  local function ua_after(code)
    local r = h.run({ "lua5.4", "-e", 'local d = require "databricks"; ' .. code .. '; io.write(d.user_agent())' }, {
      cwd = h.root, env = { LUA_PATH = "lua/?.lua;lua/?/init.lua;;",
                            LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" } })
    assert.are.equal(0, r.code, r.stderr)
    return r.stdout
  end

  it("defaults to the connector's product token, then lua and os segments", function()
    assert.matches("^LuaDatabricks_Connector/0%.1%.0 lua/5%.4 os/%l+$", databricks.user_agent())
  end)

  it("puts the host application's <isv>_<product>/<version> first", function()
    assert.matches("^Acme_Pipeline/2%.3%.4 LuaDatabricks_Connector/0%.1%.0 lua/5%.4 os/",
      ua_after('assert(d.set_product("Acme", "Pipeline", "2.3.4"))'))
  end)

  it("accepts semver pre-release and build parts", function()
    assert.matches("^Acme_P/1%.0%.0%-rc%.1%+b7 ", ua_after('assert(d.set_product("Acme", "P", "1.0.0-rc.1+b7"))'))
  end)

  for _, case in ipairs({
    { "a b", "p", "1.0.0", "isv name" },
    { "a", "p/q", "1.0.0", "product name" },
    { "a", "p", "1.0", "version must be semver" },
    { "a", "p", "01.0.0", "version must be semver" },
    { "", "p", "1.0.0", "isv name" },
  }) do
    it(string.format("rejects set_product(%q, %q, %q) with a config error", case[1], case[2], case[3]), function()
      local ok, err = databricks.set_product(case[1], case[2], case[3])
      assert.is_nil(ok)
      assert.are.equal("config", err.kind)
      assert.matches(case[4], err.message, 1, true)
      -- A rejected product leaves the User-Agent unchanged.
      assert.matches("^LuaDatabricks_Connector/", databricks.user_agent())
    end)
  end
end)

describe("errors", function()
  it("are tables with kind and message and a one-line tostring", function()
    local e = core.error{ kind = "auth", message = "token rejected", status = 401, error_code = "UNAUTHENTICATED",
                          request_id = "r-1" }
    assert.are.equal("auth", e.kind)
    assert.are.equal("auth error: HTTP 401 UNAUTHENTICATED: token rejected (request r-1)", tostring(e))
    assert.is_nil(tostring(e):find("\n"))
  end)

  it("never carry a secret, even when built from text that holds one", function()
    local e = core.error{ kind = "http", message = "server said: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.abc" }
    assert.is_nil(e.message:find("eyJ", 1, true))
    assert.is_nil(tostring(e):find("eyJ", 1, true))
  end)
end)

describe("redact", function()
  it("scrubs JWTs, PATs, Bearer values and secret-bearing keys", function()
    local s = core.redact("a eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.abc b dapi0123456789abcdef0123 "
      .. "Bearer xY1 client_secret=shh&x=1")
    assert.are.equal("a [REDACTED] b [REDACTED] Bearer *** client_secret=***&x=1", s)
  end)

  it("trust #1 leaves prose alone: a word after Bearer or Basic is not a credential", function()
    for _, prose in ipairs({ "only Bearer is supported", "Bearer tokens are required", "use Basic auth",
                             "invalid token: expired", "status code: 500" }) do
      assert.are.equal(prose, core.redact(prose))
    end
    assert.are.equal("Bearer [REDACTED]", core.redact("Bearer abcdefghijkl"))
  end)

  it("scrubs known secrets of any shape", function()
    assert.are.equal("x [REDACTED] y", core.redact("x my-own-secret y", { "my-own-secret" }))
  end)
end)

describe("pure helpers", function()
  it("normalise hosts", function()
    assert.are.equal("https://x.cloud.databricks.com", databricks.normalize_host("x.cloud.databricks.com/?o=1"))
    local ok, err = databricks.normalize_host("ftp://x")
    assert.is_nil(ok)
    assert.are.equal("config", err.kind)
  end)

  it("derive warehouse ids from HTTP paths", function()
    assert.are.equal("abc123", databricks.warehouse_id_from_http_path("/sql/1.0/warehouses/abc123"))
    local ok, err = databricks.warehouse_id_from_http_path("/sql/protocolv1/o/1/c-1")
    assert.is_nil(ok)
    assert.are.equal("config", err.kind)
  end)

  it("decode JWT claims without verifying", function()
    local function b64(s)
      local enc = (require "mime").b64(s)
      return (enc:gsub("+", "-"):gsub("/", "_"):gsub("=", ""))
    end
    local tok = b64('{"alg":"none"}') .. "." .. b64('{"sub":"me@x.com","exp":1795255200}') .. ".sig"
    local claims = assert(databricks.jwt_claims(tok))
    assert.are.equal("me@x.com", claims.sub)
    assert.are.equal(1795255200, claims.exp)
    local bad, err = databricks.jwt_claims("not-a-jwt")
    assert.is_nil(bad)
    assert.are.equal("protocol", err.kind)
  end)
end)
