-- Who am I, and can I run SQL? — a CI step that talks to Databricks with no
-- secret at all: the job's GitHub Actions OIDC token is exchanged for a
-- Databricks token (workload identity federation, auth_type github_oidc).
--
--   DATABRICKS_HOST=https://dbc-....cloud.databricks.com
--   DATABRICKS_AUTH_TYPE=github-oidc
--   DATABRICKS_CLIENT_ID=<service principal application id>   (omit: account-wide federation)
--   DATABRICKS_WAREHOUSE_ID=<warehouse id>                     (optional: runs SELECT 1)
--   lua5.4 examples/github-actions/whoami.lua
--
-- The same script works with DATABRICKS_AUTH_TYPE=file-oidc and
-- DATABRICKS_OIDC_TOKEN_FILEPATH (Kubernetes, see examples/k8s/federation.yaml)
-- or env-oidc and DATABRICKS_OIDC_TOKEN. GitHub Actions sets
-- ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN for a job
-- with `permissions: id-token: write`; the connector reads them when it needs
-- a token, never before. Exit status: 0 ok, 1 Databricks refused or failed,
-- 2 bad settings.
local databricks = require "databricks"

local cfg, err = databricks.config_from_env()
if not cfg then
  io.stderr:write("settings: ", tostring(err), "\n")
  os.exit(2)
end
local client
client, err = databricks.connect(cfg)
if not client then
  io.stderr:write("connect: ", tostring(err), "\n")
  os.exit(err.kind == "config" and 2 or 1)
end

local me
me, err = client:current_user()
if not me then
  io.stderr:write("whoami: ", tostring(err), "\n")
  os.exit(1)
end
print("signed in as " .. me.userName .. " (" .. cfg.auth_type .. ")")

if cfg.warehouse_id or cfg.http_path then
  local result
  result, err = client:sql("SELECT 1 AS ok")
  if not result then
    io.stderr:write("sql: ", tostring(err), "\n")
    os.exit(1)
  end
  print("SELECT 1 -> " .. tostring(result.rows[1][1]))
end
client:close()
