-- Issuing and checking workspace credentials: OAuth access tokens (JWT
-- shaped), refresh tokens (opaque "dorf..."), authorization codes, Lakebase
-- credentials, test ID tokens of outside issuers (GitHub Actions, a fake
-- IdP) for workload identity federation, and Bearer authentication of REST
-- calls against them and the configured PATs. Every issued token is recorded in the state (the control
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
  local iss = opts.base_url .. (opts.account_id and ("/oidc/accounts/" .. opts.account_id) or "/oidc")
  local token = jwt.mint({
    iss = iss, aud = opts.client_id or opts.account_id or "workspace", sub = opts.subject,
    client_id = opts.client_id, scope = opts.scope, iat = now, nbf = now, exp = now + ttl,
  })
  local rec = state:add_token({
    kind = "access", token = token, subject = opts.subject, client_id = opts.client_id,
    scope = opts.scope, grant = opts.grant, client_auth = opts.client_auth, account_id = opts.account_id,
    subject_issuer = opts.subject_issuer, subject_sub = opts.subject_sub,
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

-- opts: subject, instance_names or endpoint, base_url, ttl (seconds;
-- default the credential_ttl setting), claims.
function M.issue_credential(state, opts)
  local now = math.floor(state:now())
  local ttl = opts.ttl or state.config.credential_ttl
  local token = jwt.mint({
    iss = opts.base_url .. "/oidc", aud = "lakebase", sub = opts.subject,
    iat = now, nbf = now, exp = now + ttl, instance_names = opts.instance_names, endpoint = opts.endpoint,
  })
  local rec = state:add_token({
    kind = "credential", token = token, subject = opts.subject, instance_names = opts.instance_names,
    endpoint = opts.endpoint, claims = opts.claims, iat = now, exp = now + ttl, revoked = false,
  })
  local ok, err = pg_hook.run(state, opts.subject, token, "credential")
  if not ok then return nil, err end
  return rec
end

-- A JWT as an outside identity provider would issue it (for the token
-- exchange). claims: iss, aud, sub, exp or ttl (default 300 s), and any
-- other claim. Recorded as kind "oidc".
function M.issue_id_token(state, claims)
  local now = math.floor(state:now())
  local c = {}
  for k, v in pairs(claims) do c[k] = v end
  local ttl = c.ttl or 300
  c.ttl = nil
  c.iat = c.iat or now
  c.nbf = c.nbf or now
  c.exp = c.exp or (now + ttl)
  local token = jwt.mint(c)
  return state:add_token({ kind = "oidc", token = token, subject = c.sub, issuer = c.iss, audience = c.aud,
    iat = c.iat, exp = c.exp })
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
  local machine = rec.grant == "client_credentials" or (rec.grant == "token_exchange" and rec.client_id ~= nil)
  return {
    userName = rec.subject,
    kind = machine and "m2m" or "u2m",
    client_id = rec.client_id,
  }
end

return M
