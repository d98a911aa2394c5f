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

  it("never reads ~/.databrickscfg unless DATABRICKS_CONFIG_PROFILE or DATABRICKS_CONFIG_FILE asks for it", function()
    local dir = h.tmpdir("home")
    h.write_file(dir .. "/.databrickscfg", "[DEFAULT]\nhost = https://home\ntoken = dapiHOME\n")
    local _, err = config.from_env(env{ HOME = dir })
    assert.matches("no Databricks settings", err.message)
    _, err = config.from_env(env{ HOME = dir, DATABRICKS_WAREHOUSE_ID = "w" })
    assert.matches("DATABRICKS_HOST is not set", err.message)
    local cfg = assert(config.from_env(env{ HOME = dir, DATABRICKS_CONFIG_PROFILE = "DEFAULT" }))
    assert.are.equal("dapiHOME", cfg.token)
    h.cleanup()
  end)

  it("reads every variable of DESIGN.md §3 and §7", function()
    local cfg = assert(config.from_env(env{
      DATABRICKS_HOST = "https://x", DATABRICKS_AUTH_TYPE = "file-oidc", DATABRICKS_CLIENT_ID = "sp",
      DATABRICKS_OIDC_TOKEN_FILEPATH = "/var/run/secrets/token", DATABRICKS_TOKEN_AUDIENCE = "aud",
      DATABRICKS_ACCOUNT_ID = "acc-1", DATABRICKS_WORKSPACE_ID = "123", DATABRICKS_SERVERLESS_COMPUTE_ID = "auto",
      DATABRICKS_WAREHOUSE_ID = "w", DATABRICKS_CLI_PATH = "/opt/databricks",
    }))
    assert.are.same({ host = "https://x", auth_type = "file_oidc", client_id = "sp",
                      oidc_token_file = "/var/run/secrets/token", token_audience = "aud", account_id = "acc-1",
                      workspace_id = "123", serverless_compute_id = "auto", warehouse_id = "w",
                      databricks_cli = "/opt/databricks" }, cfg)
    cfg = assert(config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "env-oidc",
                                      DATABRICKS_OIDC_TOKEN_ENV = "CI_JWT", DATABRICKS_CLUSTER_ID = "c",
                                      DATABRICKS_HTTP_PATH = "sql/1.0/warehouses/w" }))
    assert.are.same({ host = "x", auth_type = "env_oidc", oidc_token_env = "CI_JWT", cluster_id = "c",
                      http_path = "sql/1.0/warehouses/w" }, cfg)
    assert.are.equal("github_oidc",
      assert(config.from_env(env{ DATABRICKS_HOST = "x", DATABRICKS_AUTH_TYPE = "github-oidc" })).auth_type)
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

  it("merges a profile without a host with DATABRICKS_HOST, as the SDKs do", function()
    h.write_file(path, "[nohost]\ntoken = dapiNOHOST\nwarehouse_id = w1\n")
    local cfg = assert(config.from_env(env{ DATABRICKS_CONFIG_FILE = path, DATABRICKS_CONFIG_PROFILE = "nohost",
                                            DATABRICKS_HOST = "https://env-host" }))
    assert.are.same({ host = "https://env-host", token = "dapiNOHOST", warehouse_id = "w1" }, cfg)
    -- the same host written differently is the same host
    h.write_file(path, "[p]\nhost = https://Same.cloud.databricks.com/\ntoken = dapiP\n")
    cfg = assert(config.from_env(env{ DATABRICKS_CONFIG_FILE = path, DATABRICKS_CONFIG_PROFILE = "p",
                                      DATABRICKS_HOST = "same.cloud.databricks.com" }))
    assert.are.equal("dapiP", cfg.token)
  end)

  it("reads DATABRICKS_CONFIG_FILE's default profile when the environment has no host or credentials", function()
    local cfg = assert(config.from_env(env{ DATABRICKS_CONFIG_FILE = path, DATABRICKS_WAREHOUSE_ID = "w9" }))
    assert.are.equal("https://prod.cloud.databricks.com", cfg.host)
    assert.are.equal("w9", cfg.warehouse_id)
  end)

  it("falls back to DEFAULT when default_profile is empty, and refuses __settings__ as a profile", function()
    h.write_file(path, "[__settings__]\ndefault_profile =\n\n[DEFAULT]\nhost = https://d\ntoken = dapiD\n")
    assert.are.equal("https://d", assert(config.from_profile(nil, path)).host)
    h.write_file(path, "[__settings__]\ndefault_profile =   \n[DEFAULT]\nhost = https://d\ntoken = dapiD\n")
    assert.are.equal("https://d", assert(config.from_profile(nil, path)).host)
    local _, err = config.from_profile("__settings__", path)
    assert.matches("reserved section name", err.message)
  end)

  it("reads inline # comments and quoted values as the Go SDK does", function()
    h.write_file(path, table.concat({
      "[dq]", 'host = https://q # the workspace', 'token = "dapi%Y#X$Z" # comment',
      "[sq]", "host = https://q", "token = 'dapi%Y#X$Z' ; comment",
      "[nq]", "host = https://q", "token = dapi%Y#X$Z # comment",
      "[hash]", "host = https://q", "token = dapi#not-a-comment",
      "", }, "\n"))
    for _, p in ipairs({ "dq", "sq", "nq" }) do
      local cfg = assert(config.from_profile(p, path))
      assert.are.equal("https://q", cfg.host, p)
      assert.are.equal("dapi%Y#X$Z", cfg.token, p)
    end
    assert.are.equal("dapi#not-a-comment", assert(config.from_profile("hash", path)).token)
  end)

  it("reads every profile key of §7 (and the Go SDK's spellings)", function()
    h.write_file(path, table.concat({
      "[fed]", "host = https://f", "auth_type = file-oidc", "client_id = sp", "oidc_token_filepath = /t",
      "token_audience = aud", "account_id = acc", "workspace_id = 42", "scopes = sql, all-apis",
      "databricks_cli_path = /opt/databricks", "http_timeout_seconds = 30", "retry_timeout_seconds = 90",
      "[go]", "host = https://g", "auth_type = file-oidc", "databricks_id_token_filepath = /t2", "audience = a2",
      "[legacy]", "host = https://l", "token = dapiL", "jobs-api-version = 2.1",
      "", }, "\n"))
    assert.are.same({ host = "https://f", auth_type = "file_oidc", client_id = "sp", oidc_token_file = "/t",
                      token_audience = "aud", account_id = "acc", workspace_id = "42", scopes = "sql, all-apis",
                      databricks_cli = "/opt/databricks", timeout = 30, retry_timeout = 90 },
      assert(config.from_profile("fed", path)))
    assert.are.same({ host = "https://g", auth_type = "file_oidc", oidc_token_file = "/t2", token_audience = "a2" },
      assert(config.from_profile("go", path)))
    assert.are.same({ host = "https://l", token = "dapiL" }, assert(config.from_profile("legacy", path)))
  end)

  it("reports a profile key it does not understand, naming it", function()
    h.write_file(path, "[p]\nhost = https://p\ntoken = dapiP\nazure_client_secret = s\n")
    local cfg, err = config.from_profile("p", path)
    assert.is_nil(cfg)
    assert.are.equal("config", err.kind)
    assert.matches("key 'azure_client_secret' is not understood", err.message)
    h.write_file(path, "[p]\nhost = https://p\ntokn = dapiP\n")
    cfg, err = config.from_profile("p", path)
    assert.is_nil(cfg)
    assert.matches("key 'tokn'", err.message)
  end)

  it("honours the scopes key through connect", function()
    h.write_file(path, "[s]\nhost = https://s\nclient_id = i\nclient_secret = x\nscopes = clusters, jobs ,,sql\n")
    local c = assert(databricks.connect(assert(config.from_profile("s", path))))
    assert.are.equal("clusters jobs sql", c:_info().scopes)
    c:close()
  end)

  it("runs the CLI for the profile it came from (auth_type databricks-cli)", function()
    h.write_file(path, "[cli]\nhost = https://c\nauth_type = databricks-cli\n")
    assert.are.same({ host = "https://c", auth_type = "databricks_cli", profile = "cli" },
      assert(config.from_profile("cli", path)))
  end)

  it("produces configs connect accepts", function()
    local cfg = assert(config.from_profile("prod", path))
    local client = assert(databricks.connect(cfg))
    assert.are.equal("oauth_m2m", client:_info().auth_type)
    client:close()
  end)
end)
