--- Where lua-databricks keeps its files: the one home of the XDG and HOME
-- rules. Pure functions of an environment table (`HOME`,
-- `XDG_CONFIG_HOME`, `XDG_STATE_HOME`), so specs and the service installer
-- can ask about another environment than the running one; `M.env()` gives
-- the running one.
--   config   ${XDG_CONFIG_HOME:-~/.config}/lua-databricks
--            (credentials, stored OAuth tokens: oauth/<host>.json)
--   state    ${XDG_STATE_HOME:-~/.local/state}/lua-databricks
--            (the rotator's status file)
-- A relative XDG variable is ignored, as the XDG specification says.
-- @module databricks.paths
local M = {}

--- The running process's environment, as the functions here take it.
function M.env()
  return { HOME = os.getenv("HOME"), XDG_CONFIG_HOME = os.getenv("XDG_CONFIG_HOME"),
           XDG_STATE_HOME = os.getenv("XDG_STATE_HOME") }
end

local function absolute(v)
  return v and v:sub(1, 1) == "/" and v or nil
end

local function home(env)
  return absolute(env.HOME) or ""
end

--- `${XDG_CONFIG_HOME:-~/.config}/lua-databricks`.
function M.config_dir(env)
  env = env or M.env()
  return (absolute(env.XDG_CONFIG_HOME) or home(env) .. "/.config") .. "/lua-databricks"
end

--- `${XDG_STATE_HOME:-~/.local/state}/lua-databricks`.
function M.state_dir(env)
  env = env or M.env()
  return (absolute(env.XDG_STATE_HOME) or home(env) .. "/.local/state") .. "/lua-databricks"
end

--- The file where databricks-oauth-login stores the tokens of a workspace
-- (`host` normalised, e.g. "https://x.cloud.databricks.com").
function M.token_store(host, env)
  local name = host:gsub("^%a[%w+.-]*://", ""):gsub("[^%w.%-]", "_")
  return M.config_dir(env) .. "/oauth/" .. name .. ".json"
end

--- The credentials file databricks-oauth-install writes for the service.
function M.credentials(env)
  return M.config_dir(env) .. "/credentials"
end

--- The rotator's default status file.
function M.status_file(env)
  return M.state_dir(env) .. "/rotator-status.json"
end

--- The rotator's default log file (where the Python tool keeps it).
function M.log_file(env)
  env = env or M.env()
  return home(env) .. "/.databricks_oauth_rotator.log"
end

return M
