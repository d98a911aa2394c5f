-- The federation examples work as their comments say: the GitHub Actions
-- script (examples/github-actions/whoami.lua) signs in with the job's OIDC
-- token against the simulator's GitHub token endpoint and token exchange;
-- the same script inside the Kubernetes Job (examples/k8s/federation.yaml)
-- reads a projected token from the path the manifest mounts. The workflow
-- and the manifest are checked on paper (PyYAML, where installed): the job
-- may mint ID tokens and references no secret; the token path and audience
-- fit together.
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local EX = h.root .. "/examples"
local BUILD = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build")

local function lua_env(extra)
  local env = { LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;", LUA_CPATH = BUILD .. "/?.so;;" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

-- The documents of a YAML file as PyYAML reads them, or nil without PyYAML.
local function yaml(path)
  local r = h.run({ "python3", "-c",
    "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)", path })
  if r.code ~= 0 then return nil end
  return cjson.decode(r.stdout)
end

describe("federation examples", function()
  local sim

  setup(function() sim = Sim.start() end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function whoami(env)
    return h.run({ "lua5.4", EX .. "/github-actions/whoami.lua" }, { env = lua_env(env), cwd = h.tmpdir("ex") })
  end

  describe("GitHub Actions", function()
    it("whoami.lua signs in with the job's OIDC token, no secret, and runs SQL", function()
      local r = whoami{
        DATABRICKS_HOST = sim.url, DATABRICKS_AUTH_TYPE = "github-oidc", DATABRICKS_CLIENT_ID = sim.client_id,
        DATABRICKS_WAREHOUSE_ID = sim.warehouse_id, SSL_CERT_FILE = sim.ca_file,
        ACTIONS_ID_TOKEN_REQUEST_URL = sim.github_token_url, ACTIONS_ID_TOKEN_REQUEST_TOKEN = sim.github_request_token,
      }
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("signed in as " .. sim.client_id .. " (github_oidc)\nSELECT 1 -> 1\n", r.stdout)
      assert.are.equal(1, #sim:requests("/github/idtoken"))
    end)

    it("whoami.lua exits 1 outside GitHub Actions with the reason, 2 on bad settings", function()
      local r = whoami{ DATABRICKS_HOST = sim.url, DATABRICKS_AUTH_TYPE = "github-oidc", SSL_CERT_FILE = sim.ca_file }
      assert.are.equal(1, r.code)
      assert.matches("id%-token: write", r.stderr)
      r = whoami{ DATABRICKS_HOST = sim.url, DATABRICKS_AUTH_TYPE = "azure-msi" }
      assert.are.equal(2, r.code)
    end)

    it("the workflow may mint ID tokens and names no secret (on paper)", function()
      local text = assert(h.read_file(EX .. "/github-actions/databricks.yml"))
      assert.is_nil(text:find("secrets%."), "the workflow references a secret")
      local docs = yaml(EX .. "/github-actions/databricks.yml")
      if not docs then
        pending("PyYAML is not installed")
        return
      end
      local wf = docs[1]
      assert.are.equal("write", wf.permissions["id-token"])
      local job = wf.jobs.whoami
      assert.are.equal("github-oidc", job.env.DATABRICKS_AUTH_TYPE)
      assert.is_nil(job.env.DATABRICKS_TOKEN)
      assert.is_nil(job.env.DATABRICKS_CLIENT_SECRET)
      assert.matches("whoami%.lua", job.steps[#job.steps].run)
    end)
  end)

  describe("Kubernetes (projected service account token)", function()
    local PATH = EX .. "/k8s/federation.yaml"

    local function container(docs)
      return docs[2].spec.template.spec.containers[1], docs[2].spec.template.spec
    end
    local function env_of(c)
      local t = {}
      for _, e in ipairs(c.env) do t[e.name] = e.value end
      return t
    end

    it("mounts the projected token where DATABRICKS_OIDC_TOKEN_FILEPATH points, for the right audience", function()
      local docs = yaml(PATH)
      if not docs then
        pending("PyYAML is not installed")
        return
      end
      assert.matches("ON PAPER", h.read_file(PATH))
      assert.are.equal("ServiceAccount", docs[1].kind)
      assert.are.equal("Job", docs[2].kind)
      local c, pod = container(docs)
      assert.are.equal(docs[1].metadata.name, pod.serviceAccountName)
      local env = env_of(c)
      assert.are.equal("file-oidc", env.DATABRICKS_AUTH_TYPE)
      assert.is_nil(env.DATABRICKS_CLIENT_SECRET)
      local mount = c.volumeMounts[1]
      local vol
      for _, v in ipairs(pod.volumes) do if v.name == mount.name then vol = v end end
      local sat = vol.projected.sources[1].serviceAccountToken
      assert.are.equal(mount.mountPath .. "/" .. sat.path, env.DATABRICKS_OIDC_TOKEN_FILEPATH)
      assert.are.equal(env.DATABRICKS_HOST .. "/oidc/v1/token", sat.audience, "the connector's default audience")
      assert.is_true(mount.readOnly)
      assert.matches("whoami%.lua$", c.command[#c.command])
    end)

    it("its script signs in with the token file the manifest mounts (here a simulated projected token)", function()
      local dir = h.tmpdir("k8s")
      local docs = yaml(PATH)
      local env = docs and env_of((container(docs))) or { DATABRICKS_AUTH_TYPE = "file-oidc" }
      env.DATABRICKS_HOST, env.SSL_CERT_FILE = sim.url, sim.ca_file
      env.DATABRICKS_CLIENT_ID, env.DATABRICKS_WAREHOUSE_ID = sim.client_id, sim.warehouse_id
      env.DATABRICKS_OIDC_TOKEN_FILEPATH = dir .. "/token"
      local jwt = sim:jwt{ iss = "https://kubernetes.example", sub = "system:serviceaccount:analytics:nightly-report" }
      sim:config{ federation = { ["https://kubernetes.example"] = {
        subject = "system:serviceaccount:analytics:nightly-report" } } }
      h.write_file(dir .. "/token", jwt)
      local r = whoami(env)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^signed in as " .. sim.client_id:gsub("%-", "%%-") .. " %(file_oidc%)", r.stdout)
      h.note_secrets({ jwt })
    end)
  end)
end)
