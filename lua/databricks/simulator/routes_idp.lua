-- Outside identity providers a workload gets its ID token from: the GitHub
-- Actions OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL, here
-- GET /github/idtoken?api-version=2.0&audience=AUD with
-- `Authorization: Bearer <request token>` -> {"count": 1, "value": jwt}).
-- The JWT's issuer, subject and lifetime come from the `github` settings;
-- nothing here is a Databricks endpoint.
local tokens = require "databricks.simulator.tokens"
local util = require "databricks.simulator.util"

local M = {}

local function fail(status, message)
  return status, { message = message, documentation_url = "https://docs.github.com/actions" }
end

function M.github_token(ctx)
  local gh = ctx.state.config.github or {}
  local header = ctx.req.headers.authorization or ""
  local token = header:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  if not token then return fail(401, "Bad credentials: a Bearer request token is required") end
  if token ~= gh.request_token then return fail(401, "Bad credentials") end
  local q = util.parse_form(ctx.req.query)
  ctx.entry.audience = q.audience
  local owner = (gh.subject or ""):match("^repo:([^/]+)/") or "example"
  local rec = tokens.issue_id_token(ctx.state, {
    iss = gh.issuer, aud = (q.audience and q.audience ~= "") and q.audience or ("https://github.com/" .. owner),
    sub = gh.subject, ttl = gh.token_ttl or 300, repository = (gh.subject or ""):match("^repo:([^:]+)"),
    ref = (gh.subject or ""):match(":ref:(.+)$"), runner_environment = "github-hosted",
  })
  return 200, { count = 1, value = rec.token }
end

return M
