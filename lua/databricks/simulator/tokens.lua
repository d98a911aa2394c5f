-- Issuing and checking workspace credentials: OAuth access tokens (JWT
-- shaped), refresh tokens (opaque "dorf..."), authorization codes, Lakebase
-- credentials, and Bearer authentication of REST calls against them and the
-- configured PATs. Every issued token is recorded in the state (the control
-- API shows them; the request log never gets them from here).
local jwt = require "databricks.simulator.jwt"
local util = require "databricks.simulator.util"
local pg_hook = require "databricks.simulator.pg_hook"

local M = {}

-- opts: subject, client_id, scope, grant, client_auth, base_url.
-- Returns the record, or nil and a message (PG hook failure).
function M.issue_access(state, opts)
  local now = math.floor(state:now())
  local ttl = state.config.token_ttl
  local token = jwt.mint({
    iss = opts.base_url .. "/oidc", aud = opts.client_id, sub = opts.subject,
    client_id = opts.client_id, scope = opts.scope, iat = now, nbf = now, exp = now + ttl,
  })
  local rec = state:add_token({
    kind = "access", token = token, subject = opts.subject, client_id = opts.client_id,
    scope = opts.scope, grant = opts.grant, client_auth = opts.client_auth,
    iat = now, exp = now + ttl, expires_in = ttl, revoked = false,
  })
  local ok, err = pg_hook.run(state, opts.subject, token, "token")
  if not ok then return nil, err end
  return rec
end

function M.issue_refresh(state, opts)
  local now = math.floor(state:now())
  return state:add_token({
    kind = "refresh", token = "dorf" .. util.base62(60), subject = opts.subject,
    client_id = opts.client_id, scope = opts.scope, iat = now, used = false, revoked = false,
  })
end

-- opts: subject, instance_names or endpoint, base_url.
function M.issue_credential(state, opts)
  local now = math.floor(state:now())
  local ttl = state.config.credential_ttl
  local token = jwt.mint({
    iss = opts.base_url .. "/oidc", aud = "lakebase", sub = opts.subject,
    iat = now, nbf = now, exp = now + ttl, instance_names = opts.instance_names, endpoint = opts.endpoint,
  })
  local rec = state:add_token({
    kind = "credential", token = token, subject = opts.subject, instance_names = opts.instance_names,
    endpoint = opts.endpoint, iat = now, exp = now + ttl, revoked = false,
  })
  local ok, err = pg_hook.run(state, opts.subject, token, "credential")
  if not ok then return nil, err end
  return rec
end

-- The identity behind a REST call, or nil and why ("missing", "invalid",
-- "expired").
function M.authenticate(state, req)
  local header = req.headers.authorization
  if not header then return nil, "missing" end
  local token = header:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  if not token then return nil, "invalid" end
  local cfg = state.config
  local pat_user = cfg.pats and cfg.pats[token]
  if pat_user then
    return { userName = pat_user == true and cfg.user or tostring(pat_user), kind = "pat" }
  end
  local rec = state:find_token(token)
  if not rec or rec.kind ~= "access" or rec.revoked then return nil, "invalid" end
  if rec.exp <= state:now() then return nil, "expired" end
  return {
    userName = rec.subject,
    kind = rec.grant == "client_credentials" and "m2m" or "u2m",
    client_id = rec.client_id,
  }
end

return M
