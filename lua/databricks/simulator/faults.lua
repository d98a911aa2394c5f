-- Carrying out a programmed fault instead of the normal answer: an error
-- status (with Retry-After and the like), a connection reset before or in the
-- middle of the body, a truncated body, malformed/HTML/oversized/wrong-shape
-- bodies, a request left hanging, or a REST error in one of the other shapes
-- Databricks uses (numeric error_code, "CODE: message" text, SCIM
-- scimType/detail, details[], an empty 404, the private-link login redirect). Faults replace the answer entirely: the
-- route handler does not run, so nothing is issued or consumed. (A fault with
-- only `delay` is handled by the app, which then answers normally.)
local errors = require "databricks.simulator.errors"
local json = require "databricks.simulator.json"

local M = {}

local CHUNK = string.rep("x", 65536)

local function body_of(v)
  if type(v) == "table" then return json.encode(v) end
  return v
end

local function html_page(status)
  local title = status == 200 and "Databricks" or string.format("%d Service Error", status)
  return string.format(
    "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"
    .. "<hr><center>sim-gateway</center>\r\n</body>\r\n</html>\r\n", title, title)
end

-- A plausible JSON body cut short by the truncated/reset_mid_body actions.
local function cut_body()
  return '{"access_token":"' .. string.rep("A", 900) .. '","token_type":"Bearer","expires_in":3600}'
end

local function hang(stream)
  while stream:read_some() do end
  return false
end

local function scim_body(status, f)
  return {
    schemas = json.array({ "urn:ietf:params:scim:api:messages:2.0:Error" }),
    scimType = f.error_code or "invalidValue", detail = f.message or "Injected SCIM error", status = tostring(status),
  }
end

local function details_body(f)
  return {
    error_code = f.error_code or "INVALID_PARAMETER_VALUE", message = f.message or "Injected error with details",
    details = json.array(f.details or {
      { ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", reason = "SIMULATED", domain = "databricks.sim",
        metadata = { fault = "details_error" } },
      { ["@type"] = "type.googleapis.com/google.rpc.RequestInfo", request_id = "sim-request",
        serving_data = "" },
    }),
  }
end

-- The error-shape actions: status, body and headers.
local SHAPES = {
  numeric_error_code = function(f)
    local status = f.status or 400
    return status, { error_code = tonumber(f.error_code) or status, message = f.message or "Injected error" }
  end,
  text_error = function(f)
    return f.status or 400, string.format("%s: %s", f.error_code or "INVALID_PARAMETER_VALUE",
      f.message or "Injected plain-text error"), { ["Content-Type"] = "text/plain; charset=utf-8" }
  end,
  scim_error = function(f)
    local status = f.status or 400
    return status, scim_body(status, f), { ["Content-Type"] = "application/scim+json" }
  end,
  details_error = function(f)
    return f.status or 400, details_body(f)
  end,
  empty_404 = function(f)
    return f.status or 404, "", { ["Content-Type"] = "text/plain; charset=utf-8" }
  end,
  private_link = function()
    return 302, "", { Location = "/login.html?error=private-link-validation-error",
                      ["Content-Type"] = "text/html; charset=utf-8" }
  end,
}

-- Answers `req` as fault `f` says. `respond(status, body, headers, opts)`
-- writes a complete response (opts.content_length, opts.partial). Returns
-- whether the connection may be kept.
function M.perform(f, stream, req, respond)
  local action = f.action
  local headers = f.headers or {}
  if SHAPES[action] then
    local status, body, h = SHAPES[action](f)
    local all = {}
    for k, v in pairs(h or {}) do all[k] = v end
    for k, v in pairs(headers) do all[k] = v end
    return respond(status, body, all)
  elseif action == "reset" then
    stream:reset()
    return false
  elseif action == "hang" then
    return hang(stream)
  elseif action == "reset_mid_body" or action == "truncated" then
    local body = body_of(f.body) or cut_body()
    local half = body:sub(1, #body // 2)
    respond(f.status or 200, half, headers, { content_length = #body })
    if action == "reset_mid_body" then stream:reset() else stream:close() end
    return false
  elseif action == "malformed" then
    return respond(f.status or 200, '{"access_token": ', headers)
  elseif action == "html" then
    local status = f.status or 200
    local h = { ["Content-Type"] = "text/html; charset=utf-8" }
    for k, v in pairs(headers) do h[k] = v end
    return respond(status, body_of(f.body) or html_page(status), h)
  elseif action == "wrong_shape" then
    return respond(f.status or 200, body_of(f.body) or "[1,2,3]", headers)
  elseif action == "oversized" then
    local size = math.max(12, math.floor(f.size or 10 * 1024 * 1024))
    local prefix, suffix = '{"data":"', '"}'
    local fill = size - #prefix - #suffix
    if not respond(f.status or 200, prefix, headers, { content_length = size, more = true }) then return false end
    while fill > 0 do
      local n = math.min(fill, #CHUNK)
      if not stream:send(CHUNK, 1, n) then return false end
      fill = fill - n
    end
    return stream:send(suffix) ~= nil
  end
  -- status only
  local body = f.body ~= nil and body_of(f.body) or errors.for_path(req.path, f.status)
  return respond(f.status, body, headers)
end

function M.name(f)
  return f.action or (f.status and "status") or "delay"
end

return M
