-- databricks.config_from_env and config_from_profile: explicit configs
-- from the unified-auth variables and ~/.databrickscfg, with conflicts
-- reported instead of guessed (the SDKs' known traps).
local databricks = require "databricks"
local config = require "databricks.config"
local h = require "support.helpers"

local function env(t)
  return function(name) return t[name] end
end

describe("config_from_env", function()
  it("builds a PAT config", function()
    local cfg = assert(config.from_env(env{ DATABRICKS_HOST = "https://x", DATABRICKS_TOKEN = "dapi1" }))
    assert.are.same({ host = "https://x", token = "dapi1" }, cfg)
  end)

  it("builds an M2M config with the warehouse and http path", function()
    local cfg = assert(config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_CLIENT_ID = "id",
      DATABRICKS_CLIENT_SECRET = "s", DATABRICKS_WAREHOUSE_ID = "w", DATABRICKS_HTTP_PATH = "/sql/1.0/warehouses/w" }))
    assert.are.same({ host = "x", client_id = "id", client_secret = "s", warehouse_id = "w",
                      http_path = "/sql/1.0/warehouses/w" }, cfg)
  end)

  it("reports a stray DATABRICKS_TOKEN next to client credentials", function()
    local cfg, err = config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_TOKEN = "t",
      DATABRICKS_CLIENT_ID = "id", DATABRICKS_CLIENT_SECRET = "s" })
    assert.is_nil(cfg)
    assert.are.equal("config", err.kind)
    assert.matches("more than one authorization method configured: pat and oauth_m2m", err.message)
  end)

  it("reports a DATABRICKS_AUTH_TYPE that contradicts the credentials", function()
    local cfg, err = config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "pat",
      DATABRICKS_CLIENT_ID = "id", DATABRICKS_CLIENT_SECRET = "s" })
    assert.is_nil(cfg)
    assert.matches("auth_type is pat but oauth_m2m credentials", err.message)
    cfg, err = config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "oauth-m2m" })
    assert.is_nil(cfg)
    assert.matches("client_id is missing", err.message)
  end)

  it("maps the unified auth_type names", function()
    local cfg = assert(config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "databricks-cli" }))
    assert.are.equal("databricks_cli", cfg.auth_type)
    local _, err = config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "azure-msi" })
    assert.matches("not supported", err.message)
  end)

  it("needs a host, and says so when nothing is set", function()
    local _, err = config.from_env(env{})
    assert.matches("no Databricks settings", err.message)
    _, err = config.from_env(env{ DATABRICKS_TOKEN = "t" })
    assert.matches("DATABRICKS_HOST is not set", err.message)
  end)

  it("reads the real environment by default", function()
    local r = h.run({ "lua5.4", "-e", [[
      local d = require "databricks"
      local cfg = assert(d.config_from_env())
      io.write(cfg.host, " ", cfg.token)
    ]] }, { cwd = h.root, env = {
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = (os.getenv("DBX_BUILD") or "build") .. "/?.so;;",
      DATABRICKS_HOST = "https://e", DATABRICKS_TOKEN = "dapiE" } })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("https://e dapiE", r.stdout)
  end)
end)

describe("config_from_profile", function()
  local dir, path

  before_each(function()
    dir = h.tmpdir("cfg")
    path = dir .. "/databrickscfg"
    h.write_file(path, [[
; a comment
[DEFAULT]
host = https://default.cloud.databricks.com
token = dapiDEFAULT

[prod]
host = https://prod.cloud.databricks.com
client_id = prod-id
client_secret = prod-secret
warehouse_id = w1

[mixed]
host = https://m
token = dapiM
client_id = i
client_secret = s

[typed]
host = https://t
auth_type = pat
client_id = i
client_secret = s

[__settings__]
default_profile = prod
]])
  end)
  after_each(function() h.cleanup() end)

  it("reads a named profile without merging [DEFAULT]", function()
    local cfg = assert(config.from_profile("prod", path))
    assert.are.same({ host = "https://prod.cloud.databricks.com", client_id = "prod-id",
                      client_secret = "prod-secret", warehouse_id = "w1" }, cfg)
    assert.is_nil(cfg.token, "the DEFAULT token must not leak into prod")
  end)

  it("uses [__settings__] default_profile when no name is given", function()
    assert.are.equal("https://prod.cloud.databricks.com", assert(config.from_profile(nil, path)).host)
  end)

  it("uses DEFAULT when there is no default_profile", function()
    h.write_file(path, "[DEFAULT]\nhost = https://d\ntoken = dapiD\n")
    assert.are.same({ host = "https://d", token = "dapiD" }, assert(config.from_profile(nil, path)))
  end)

  it("reports a requested profile that does not exist, listing the others", function()
    local cfg, err = config.from_profile("staging", path)
    assert.is_nil(cfg)
    assert.are.equal("config", err.kind)
    assert.matches("profile 'staging' not found", err.message)
    assert.matches("DEFAULT, prod, mixed, typed", err.message)
  end)

  it("reports two methods in one profile", function()
    local _, err = config.from_profile("mixed", path)
    assert.matches("more than one authorization method configured: pat and oauth_m2m", err.message)
  end)

  it("reports an auth_type that contradicts the profile's credentials", function()
    local _, err = config.from_profile("typed", path)
    assert.matches("auth_type is pat but oauth_m2m credentials", err.message)
  end)

  it("reports a malformed file with its line number", function()
    h.write_file(path, "[a]\nhost = x\nthis line is wrong\n")
    local _, err = config.from_profile("a", path)
    assert.matches("line 3", err.message)
  end)

  it("reports a missing file", function()
    local _, err = config.from_profile("a", dir .. "/nope")
    assert.matches("cannot read config file", err.message)
  end)

  it("defaults to ~/.databrickscfg", function()
    h.write_file(dir .. "/.databrickscfg", "[DEFAULT]\nhost = https://home\ntoken = dapiH\n")
    local cfg = assert(config.from_profile(nil, nil, env{ HOME = dir }))
    assert.are.equal("https://home", cfg.host)
  end)

  it("is used by config_from_env when DATABRICKS_CONFIG_PROFILE is set, variables overriding", function()
    local cfg = assert(config.from_env(env{ DATABRICKS_CONFIG_FILE = path, DATABRICKS_CONFIG_PROFILE = "prod",
                                            DATABRICKS_WAREHOUSE_ID = "w2" }))
    assert.are.equal("prod-id", cfg.client_id)
    assert.are.equal("w2", cfg.warehouse_id)
    local _, err = config.from_env(env{ DATABRICKS_CONFIG_FILE = path, DATABRICKS_CONFIG_PROFILE = "prod",
                                        DATABRICKS_TOKEN = "dapiX" })
    assert.matches("more than one authorization method", err.message)
  end)

  it("produces configs connect accepts", function()
    local cfg = assert(config.from_profile("prod", path))
    local client = assert(databricks.connect(cfg))
    assert.are.equal("oauth_m2m", client:_info().auth_type)
    client:close()
  end)
end)
