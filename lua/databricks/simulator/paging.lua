-- Page tokens for the paginated lists (Unity Catalog, Files API
-- directories): an opaque token names the offset of the next page and the
-- listing it belongs to, so a token from one listing is refused by another.
-- Deterministic: the same listing gives the same tokens.
local util = require "databricks.simulator.util"
local sha256 = require "databricks.simulator.sha256"

local M = {}

local function tag(context)
  return util.b64url(sha256(context)):sub(1, 8)
end

-- One page of `items` (a list) for `context` (what is being listed).
-- token: the page_token asked for (nil/"" for the first page); size: the
-- page length. Returns the page (a list), the next token (nil after the
-- last page), or nil and a message for a bad token.
function M.page(items, context, token, size)
  local offset = 0
  if token and token ~= "" then
    local raw = util.unb64url(token) or ""
    local t, n = raw:match("^p1:([^:]+):(%d+)$")
    if not t or t ~= tag(context) or tonumber(n) > #items then
      return nil, "Invalid page_token: it does not belong to this listing."
    end
    offset = tonumber(n)
  end
  local out = {}
  for i = offset + 1, math.min(#items, offset + size) do out[#out + 1] = items[i] end
  local next_token
  if offset + size < #items then
    next_token = util.b64url(string.format("p1:%s:%d", tag(context), offset + size))
  end
  return out, next_token
end

-- The page length for a request: max_results/page_size when given and
-- positive (at most `cap`), else `default`. nil and a message when the
-- value is not a non-negative integer.
function M.size(value, default, cap)
  if value == nil or value == "" then return default end
  local n = math.tointeger(tonumber(value))
  if not n or n < 0 then return nil, "must be a non-negative integer" end
  if n == 0 then return default end
  return math.min(n, cap or n)
end

return M
