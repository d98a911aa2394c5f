-- The workspace OAuth server: discovery document, /oidc/v1/authorize (PKCE
-- S256, the built-in public `databricks-cli` app and configured custom apps)
-- and /oidc/v1/token (client_credentials, authorization_code, refresh_token
-- and token-exchange grants), also at the account paths
-- /oidc/accounts/{account_id}/... Errors follow RFC 6749 (RFC 8693 for the
-- token exchange); the authorize endpoint answers a bad client or redirect
-- URI with an HTML page and never redirects there. Token exchange
-- (workload identity federation) accepts JWTs from the issuers of the
-- `federation` settings; signatures are not checked, issuer, audience,
-- subject and expiry are.
local errors = require "databricks.simulator.errors"
local jwt = require "databricks.simulator.jwt"
local sha256 = require "databricks.simulator.sha256"
local tokens = require "databricks.simulator.tokens"
local util = require "databricks.simulator.util"

local M = {}

local CLI = { public = true, loopback_ports = { 8020, 8040 }, name = "Databricks CLI" }

local function find_client(cfg, id)
  if not id or id == "" then return nil end
  local c = cfg.clients and cfg.clients[id]
  if c ~= nil then return type(c) == "table" and c or {} end
  if id == "databricks-cli" then return CLI end
end

local function redirect_allowed(client, uri)
  if client.loopback_ports then
    local port = uri:match("^http://localhost:(%d+)/?$") or uri:match("^http://127%.0%.0%.1:(%d+)/?$")
    port = tonumber(port)
    if port and port >= client.loopback_ports[1] and port <= client.loopback_ports[2] then return true end
  end
  for _, r in ipairs(client.redirect_uris or {}) do
    if r == uri then return true end
  end
  return false
end

local function has_scope(scope, want)
  for s in (scope or ""):gmatch("%S+") do
    if s == want then return true end
  end
  return false
end

local TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
local JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"

-- The OAuth base of this request: /oidc for the workspace, or
-- /oidc/accounts/{id} for the configured account (nil for another one).
local function oidc_base(ctx)
  if not ctx.account then return ctx.base_url .. "/oidc", "/oidc/v1" end
  local id = ctx.params[1]
  if id ~= ctx.state.config.account_id then return nil end
  local base = ctx.base_url .. "/oidc/accounts/" .. id
  return base, "/oidc/accounts/" .. id .. "/v1"
end

local function unknown_account(ctx)
  return errors.rest(404, "NOT_FOUND", string.format("Account %s does not exist.", tostring(ctx.params[1])))
end

---------------------------------------------------------------- discovery

function M.discovery(ctx)
  if ctx.state.config.discovery == false then
    return errors.rest(404, "ENDPOINT_NOT_FOUND", "OAuth is not enabled for this workspace.")
  end
  local base, v1 = oidc_base(ctx)
  if not base then return unknown_account(ctx) end
  local host = ctx.base_url
  return 200, {
    issuer = base,
    authorization_endpoint = host .. v1 .. "/authorize",
    token_endpoint = host .. v1 .. "/token",
    jwks_uri = base .. "/jwks.json",
    revocation_endpoint = host .. v1 .. "/revoke",
    response_types_supported = { "code" },
    grant_types_supported = { "client_credentials", "authorization_code", "refresh_token", TOKEN_EXCHANGE },
    code_challenge_methods_supported = { "S256" },
    token_endpoint_auth_methods_supported = { "client_secret_basic", "client_secret_post", "none" },
    scopes_supported = { "all-apis", "offline_access", "sql" },
  }
end

---------------------------------------------------------------- authorize

local function html_error(status, title, detail)
  local page = string.format(
    "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
    title, title, detail)
  return status, page, { ["Content-Type"] = "text/html; charset=utf-8" }
end

local function redirect(uri, params, order)
  local sep = uri:find("?", 1, true) and "&" or "?"
  return 302, "", { Location = uri .. sep .. util.encode_form(params, order), ["Content-Type"] = "text/html" }
end

local REDIRECT_ORDER = { "code", "error", "error_description", "state" }

function M.authorize(ctx)
  if not oidc_base(ctx) then return unknown_account(ctx) end
  local q = util.parse_form(ctx.req.query)
  local cfg = ctx.state.config
  local client = find_client(cfg, q.client_id)
  if not client then
    return html_error(400, "Invalid client", "The OAuth application is not registered in this workspace.")
  end
  local uri = q.redirect_uri or ""
  if not redirect_allowed(client, uri) then
    return html_error(400, "Invalid redirect URI", "The redirect URI is not registered for this application.")
  end
  local function fail(err, description)
    return redirect(uri, { error = err, error_description = description, state = q.state }, REDIRECT_ORDER)
  end
  if q.response_type ~= "code" then
    return fail("unsupported_response_type", "response_type must be code")
  end
  if not q.code_challenge or q.code_challenge == "" then
    return fail("invalid_request", "PKCE code_challenge is required")
  end
  if q.code_challenge_method ~= "S256" then
    return fail("invalid_request", "code_challenge_method must be S256")
  end
  local mode = cfg.authorize_mode or "approve"
  if mode == "deny" then
    return fail("access_denied", "The user denied the authorization request")
  end
  local code = "dcod" .. util.base62(44)
  ctx.state.codes[code] = {
    client_id = q.client_id, redirect_uri = uri, challenge = q.code_challenge,
    scope = q.scope or "all-apis", created = ctx.state:now(), used = false, user = cfg.user,
  }
  local state = q.state
  if mode == "wrong_state" then state = (state or "") .. "-tampered" .. util.base62(6) end
  return redirect(uri, { code = code, state = state }, REDIRECT_ORDER)
end

---------------------------------------------------------------- token

-- Client credentials from HTTP Basic or the form; `method` says which.
local function client_credentials(ctx, form)
  local header = ctx.req.headers.authorization
  local basic = header and header:match("^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)")
  if basic then
    local decoded = util.unb64(basic) or ""
    local id, secret = decoded:match("^([^:]*):(.*)$")
    if not id then return { method = "basic", invalid = true } end
    id, secret = util.url_decode(id, true), util.url_decode(secret, true)
    if form.client_id and form.client_id ~= id then return { method = "basic", invalid = true } end
    return { id = id, secret = secret, method = "basic" }
  end
  if form.client_secret then
    return { id = form.client_id, secret = form.client_secret, method = "body" }
  end
  return { id = form.client_id, method = "none" }
end

local function invalid_client()
  return errors.oauth(401, "invalid_client", "Client authentication failed")
end

-- The client of this call, authenticated when it is confidential.
local function authenticate_client(ctx, form, require_secret)
  local cred = client_credentials(ctx, form)
  ctx.entry.client_auth = cred.method
  if cred.invalid then return nil, cred end
  local client = find_client(ctx.state.config, cred.id)
  if not client then return nil, cred end
  if client.secret or require_secret then
    if not client.secret or cred.secret ~= client.secret then return nil, cred end
  end
  return client, cred
end

local function token_response(access, refresh)
  local body = {
    access_token = access.token, token_type = "Bearer",
    expires_in = access.expires_in, scope = access.scope,
  }
  if refresh then body.refresh_token = refresh.token end
  return 200, body, { ["Cache-Control"] = "no-store", Pragma = "no-cache" }
end

local function grant_client_credentials(ctx, form)
  local client, cred = authenticate_client(ctx, form, true)
  if not client then return invalid_client() end
  if not has_scope(form.scope, "all-apis") then
    return errors.oauth(400, "invalid_scope", "The requested scope must include all-apis")
  end
  local access, err = tokens.issue_access(ctx.state, {
    subject = cred.id, client_id = cred.id, scope = form.scope, grant = "client_credentials",
    client_auth = cred.method, base_url = ctx.base_url, account_id = ctx.account and ctx.params[1] or nil,
  })
  if not access then return errors.oauth(500, "server_error", err) end
  return token_response(access)
end

local function invalid_grant(description)
  return errors.oauth(400, "invalid_grant", description)
end

local function grant_authorization_code(ctx, form)
  local client, cred = authenticate_client(ctx, form, false)
  if not client then return invalid_client() end
  for _, k in ipairs({ "code", "code_verifier", "redirect_uri" }) do
    if not form[k] or form[k] == "" then
      return errors.oauth(400, "invalid_request", "Missing required parameter " .. k)
    end
  end
  local state = ctx.state
  local code = state.codes[form.code]
  if not code then return invalid_grant("Authorization code is invalid") end
  if code.used then return invalid_grant("Authorization code has already been used") end
  if state:now() - code.created > (state.config.code_ttl or 300) then
    return invalid_grant("Authorization code has expired")
  end
  if code.client_id ~= cred.id then return invalid_grant("Authorization code was issued to another client") end
  if code.redirect_uri ~= form.redirect_uri then return invalid_grant("redirect_uri does not match") end
  if util.b64url(sha256(form.code_verifier)) ~= code.challenge then
    return invalid_grant("PKCE verification failed: code_verifier does not match code_challenge")
  end
  code.used = true
  local access, err = tokens.issue_access(state, {
    subject = code.user, client_id = cred.id, scope = code.scope, grant = "authorization_code",
    client_auth = cred.method, base_url = ctx.base_url,
  })
  if not access then return errors.oauth(500, "server_error", err) end
  local refresh
  if has_scope(code.scope, "offline_access") then
    refresh = tokens.issue_refresh(state, { subject = code.user, client_id = cred.id, scope = code.scope })
  end
  return token_response(access, refresh)
end

local function grant_refresh_token(ctx, form)
  local client, cred = authenticate_client(ctx, form, false)
  if not client then return invalid_client() end
  local state = ctx.state
  local old = state:find_token(form.refresh_token)
  if not old or old.kind ~= "refresh" or old.used or old.revoked or old.client_id ~= cred.id then
    return errors.oauth(400, "invalid_request", "Refresh token is invalid")
  end
  local access, err = tokens.issue_access(state, {
    subject = old.subject, client_id = cred.id, scope = old.scope, grant = "refresh_token",
    client_auth = cred.method, base_url = ctx.base_url,
  })
  if not access then return errors.oauth(500, "server_error", err) end
  local refresh = old
  if state.config.refresh_rotation ~= false then
    old.used = true
    refresh = tokens.issue_refresh(state, { subject = old.subject, client_id = cred.id, scope = old.scope })
  end
  return token_response(access, refresh)
end

local function bad_subject(description)
  return errors.oauth(400, "invalid_request", description)
end

local function list_of(v)
  if type(v) == "table" then return v end
  return { v }
end

local function audience_ok(claims, accepted)
  for _, aud in ipairs(list_of(claims.aud)) do
    for _, want in ipairs(accepted) do
      if aud == want then return true end
    end
  end
  return false
end

-- Workload identity federation (RFC 8693): a JWT from a trusted issuer for
-- an access token, without any client secret.
local function grant_token_exchange(ctx, form)
  local state, cfg = ctx.state, ctx.state.config
  ctx.entry.client_auth = client_credentials(ctx, form).method
  if not form.subject_token or form.subject_token == "" then
    return errors.oauth(400, "invalid_request", "Missing required parameter subject_token")
  end
  if form.subject_token_type ~= JWT_TYPE then
    return errors.oauth(400, "invalid_request", "subject_token_type must be " .. JWT_TYPE)
  end
  if not has_scope(form.scope, "all-apis") then
    return errors.oauth(400, "invalid_scope", "The requested scope must include all-apis")
  end
  local claims = jwt.claims(form.subject_token)
  if type(claims) ~= "table" then return bad_subject("subject_token is not a valid JWT") end
  ctx.entry.subject_issuer = claims.iss
  local policy = (cfg.federation or {})[claims.iss]
  if type(policy) ~= "table" then
    return bad_subject(string.format("No federation policy trusts tokens issued by %s", tostring(claims.iss)))
  end
  local client_id = form.client_id ~= "" and form.client_id or nil
  if client_id then
    if not find_client(cfg, client_id) then return invalid_client() end
    if policy.client_id and policy.client_id ~= client_id then
      return bad_subject(string.format("The federation policy for %s does not allow client %s",
        tostring(claims.iss), client_id))
    end
  elseif policy.client_id then
    return bad_subject(string.format("The federation policy for %s needs client_id", tostring(claims.iss)))
  end
  local base, v1 = oidc_base(ctx)
  local accepted = policy.audience and list_of(policy.audience)
    or { ctx.base_url .. v1 .. "/token", ctx.account and ctx.params[1] or cfg.account_id }
  if not base or not audience_ok(claims, accepted) then
    return bad_subject(string.format("Token audience %s is not accepted here", tostring(
      type(claims.aud) == "table" and table.concat(claims.aud, ",") or claims.aud)))
  end
  if policy.subject and claims.sub ~= policy.subject then
    return bad_subject(string.format("Token subject %s does not match the federation policy", tostring(claims.sub)))
  end
  local now = state:now()
  if type(claims.exp) ~= "number" or claims.exp <= now then return bad_subject("Token is expired") end
  if type(claims.nbf) == "number" and claims.nbf > now + 60 then return bad_subject("Token is not yet valid") end
  local subject = client_id or policy.user or cfg.user
  local access, err = tokens.issue_access(state, {
    subject = subject, client_id = client_id, scope = form.scope, grant = "token_exchange",
    client_auth = "none", base_url = ctx.base_url, account_id = ctx.account and ctx.params[1] or nil,
    subject_issuer = claims.iss, subject_sub = claims.sub,
  })
  if not access then return errors.oauth(500, "server_error", err) end
  return token_response(access)
end

local GRANTS = {
  client_credentials = grant_client_credentials,
  authorization_code = grant_authorization_code,
  refresh_token = grant_refresh_token,
  [TOKEN_EXCHANGE] = grant_token_exchange,
}

function M.token(ctx)
  if not oidc_base(ctx) then return unknown_account(ctx) end
  local ct = (ctx.req.headers["content-type"] or ""):lower()
  if not ct:find("^application/x%-www%-form%-urlencoded") then
    return errors.oauth(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
  end
  local form = util.parse_form(ctx.req.body)
  ctx.entry.grant_type = form.grant_type
  if not form.grant_type or form.grant_type == "" then
    return errors.oauth(400, "invalid_request", "Missing required parameter grant_type")
  end
  local grant = GRANTS[form.grant_type]
  if not grant then
    return errors.oauth(400, "unsupported_grant_type", "Grant type " .. form.grant_type .. " is not supported")
  end
  return grant(ctx, form)
end

return M
