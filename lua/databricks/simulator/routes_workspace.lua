-- Workspace REST endpoints about the caller: SCIM `Me`. Bearer
-- authentication happens in the router before these run; ctx.identity is
-- the caller.
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"

local M = {}

function M.me(ctx)
  local id = ctx.identity
  local name = id.userName
  local client = ctx.state.config.clients and ctx.state.config.clients[name]
  local body = {
    schemas = json.array({
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:workspace:2.0:User",
    }),
    id = util.stable_id(name),
    userName = name,
    active = true,
    emails = json.array(),
    groups = json.array({ { display = "users", type = "direct", value = util.stable_id("users") } }),
  }
  if id.kind == "m2m" then
    body.displayName = type(client) == "table" and client.name or ("service principal " .. name)
    body.applicationId = name
  else
    body.displayName = (ctx.state.config.display_name and name == ctx.state.config.user)
      and ctx.state.config.display_name or (name:match("^([^@]+)@") or name)
    body.emails = json.array({ { value = name, type = "work", primary = true } })
    body.name = { givenName = body.displayName }
  end
  return 200, body
end

return M
