-- Error bodies in the three shapes Databricks uses: REST
-- {"error_code","message"}, OAuth (RFC 6749) {"error","error_description"}
-- and SCIM {"schemas","detail","status"}. Each returns status, body.
local json = require "databricks.simulator.json"

local M = {}

function M.rest(status, code, message)
  return status, { error_code = code, message = message }
end

function M.oauth(status, err, description)
  return status, { error = err, error_description = description }
end

function M.scim(status, detail)
  return status, {
    schemas = json.array({ "urn:ietf:params:scim:api:messages:2.0:Error" }),
    detail = detail,
    status = tostring(status),
  }
end

local REST_CODES = {
  [400] = "BAD_REQUEST", [401] = "UNAUTHENTICATED", [403] = "PERMISSION_DENIED",
  [404] = "NOT_FOUND", [409] = "RESOURCE_CONFLICT", [429] = "REQUEST_LIMIT_EXCEEDED",
  [500] = "INTERNAL_ERROR", [501] = "NOT_IMPLEMENTED", [502] = "BAD_GATEWAY",
  [503] = "TEMPORARILY_UNAVAILABLE", [504] = "DEADLINE_EXCEEDED",
}

local OAUTH_CODES = {
  [400] = "invalid_request", [401] = "invalid_client", [403] = "access_denied",
  [429] = "temporarily_unavailable", [503] = "temporarily_unavailable",
}

-- The body a given status would carry on `path` (used by status faults).
function M.for_path(path, status, note)
  local message = note or string.format("Injected fault: HTTP %d", status)
  if path:find("^/oidc/") then
    return select(2, M.oauth(status, OAUTH_CODES[status] or "server_error", message))
  elseif path:find("^/api/2%.0/preview/scim/") then
    return select(2, M.scim(status, message))
  end
  return select(2, M.rest(status, REST_CODES[status] or ("HTTP_" .. status), message))
end

return M
