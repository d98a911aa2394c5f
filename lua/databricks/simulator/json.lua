-- JSON for the simulator: decoding through lua-cjson (safe flavour, never
-- raises), encoding by hand because the Debian lua-cjson cannot tell an empty
-- array from an empty object and Databricks answers contain empty arrays
-- (`chunks`, `emails`). Mark a table with json.array(t) to force `[...]`;
-- json.null (cjson.null) encodes as null.
local cjson = require "cjson.safe"

local M = {}

M.null = cjson.null

local ARRAY = { __name = "json.array" }

function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

-- Debian's lua-cjson decodes every number as a float; whole numbers become
-- integers again so `10` stays 10 (not 10.0) in answers and checks.
local function integers(v, depth)
  if type(v) == "number" then return math.tointeger(v) or v end
  if type(v) == "table" and depth < 64 then
    for k, x in pairs(v) do v[k] = integers(x, depth + 1) end
  end
  return v
end

function M.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local v, err = cjson.decode(s)
  if v == nil and err then return nil, err end
  return integers(v, 0)
end

local ESC = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape_char(c)
  return ESC[c] or string.format("\\u%04x", c:byte())
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end
M.quote = quote

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encode_value

local function encode_table(t, out, depth)
  if depth > 64 then error("json: nesting too deep") end
  if is_array(t) then
    out[#out + 1] = "["
    local n = #t
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  out[#out + 1] = "{"
  local first = true
  for k, v in pairs(t) do
    if not first then out[#out + 1] = "," end
    first = false
    out[#out + 1] = quote(tostring(k))
    out[#out + 1] = ":"
    encode_value(v, out, depth + 1)
  end
  out[#out + 1] = "}"
end

encode_value = function(v, out, depth)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    else
      out[#out + 1] = string.format("%.14g", v)
    end
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "table" then
    encode_table(v, out, depth)
  elseif v == nil or v == M.null then
    out[#out + 1] = "null"
  else
    error("json: cannot encode a " .. tv)
  end
end

function M.encode(v)
  local out = {}
  encode_value(v, out, 0)
  return table.concat(out)
end

return M
