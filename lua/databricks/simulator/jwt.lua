-- JWT-shaped tokens: base64url(header).base64url(claims).base64url(signature)
-- with a random 256-byte "RS256 signature" (nothing verifies it) and the
-- claims padded so the whole token is about 1 KB, like Databricks OAuth
-- access tokens and Lakebase credentials. Owns token shape only.
local json = require "databricks.simulator.json"
local util = require "databricks.simulator.util"

local M = {}

local HEADER = util.b64url('{"alg":"RS256","kid":"sim","typ":"at+jwt"}')

-- `claims` is copied; `target` is the total length wanted (default 1000-1100).
function M.mint(claims, target)
  local c = util.copy(claims)
  c.jti = c.jti or util.uuid()
  target = target or (1000 + math.random(0, 100))
  local sig = util.b64url(util.random_bytes(256))
  local fixed = #HEADER + #sig + 2
  local raw = json.encode(c)
  local want_raw = (target - fixed) * 3 // 4
  local pad = want_raw - #raw - #',"pad":""'
  if pad > 0 then
    c.pad = util.base62(pad)
    raw = json.encode(c)
  end
  return HEADER .. "." .. util.b64url(raw) .. "." .. sig
end

-- The claims of a token minted here (for the control API and tests).
function M.claims(token)
  local payload = token:match("^[^.]+%.([^.]+)%.")
  if not payload then return nil end
  return json.decode(util.unb64url(payload) or "")
end

return M
