-- Small shared helpers of the simulator: random strings from a seeded RNG,
-- base64url, URL/form coding, RFC 3339 times and table copies. No state other
-- than the RNG seed; nothing here knows about HTTP or Databricks.
local mime = require "mime"

local M = {}

-- Seed Lua's xoshiro256** from /dev/urandom so two simulators (or two runs)
-- never hand out the same tokens.
do
  local f = io.open("/dev/urandom", "rb")
  local seed = f and f:read(16)
  if f then f:close() end
  if seed and #seed == 16 then
    local a, b = string.unpack("<i8i8", seed)
    math.randomseed(a, b)
  else
    math.randomseed(os.time(), math.floor(os.clock() * 1e6))
  end
end

local BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local HEX = "0123456789abcdef"

local function from_alphabet(alphabet, n)
  local out, len = {}, #alphabet
  for i = 1, n do
    local k = math.random(len)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

function M.base62(n) return from_alphabet(BASE62, n) end
function M.hex(n) return from_alphabet(HEX, n) end

function M.random_bytes(n)
  local out = {}
  for i = 1, n do out[i] = string.char(math.random(0, 255)) end
  return table.concat(out)
end

function M.uuid()
  local h = M.hex(32)
  local k = math.random(4)
  return string.format("%s-%s-4%s-%s%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16),
    ("89ab"):sub(k, k), h:sub(18, 20), h:sub(21, 32))
end

function M.b64(s) return (mime.b64(s)) or "" end

function M.unb64(s) return (mime.unb64(s)) end

function M.b64url(s)
  return (M.b64(s):gsub("[+/=]", { ["+"] = "-", ["/"] = "_", ["="] = "" }))
end

function M.unb64url(s)
  s = s:gsub("[-_]", { ["-"] = "+", ["_"] = "/" })
  s = s .. string.rep("=", (4 - #s % 4) % 4)
  return M.unb64(s)
end

function M.url_decode(s, plus_is_space)
  if plus_is_space then s = s:gsub("%+", " ") end
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M.url_encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Parses `a=1&b=2` (form or query); the first value of a repeated name wins.
-- Returns the table of values and the list of names in order.
function M.parse_form(s)
  local out = {}
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k = M.url_decode(k, true)
    if out[k] == nil then out[k] = M.url_decode(v, true) end
  end
  return out
end

function M.encode_form(t, order)
  local parts = {}
  for _, k in ipairs(order) do
    if t[k] ~= nil then parts[#parts + 1] = M.url_encode(k) .. "=" .. M.url_encode(t[k]) end
  end
  return table.concat(parts, "&")
end

function M.rfc3339(epoch)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(epoch))
end

-- Days since 1970-01-01 of a proleptic Gregorian date (no time zone, no
-- os.time: the local zone must not matter).
function M.days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

function M.copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = M.copy(x) end
  return setmetatable(out, getmetatable(v))
end

function M.is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- A stable positive number derived from a string (SCIM ids and the like).
function M.stable_id(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + s:byte(i)) & 0x1fffffffffffff end
  return string.format("%d", h % 9000000000000000 + 1000000000000000)
end

return M
