-- Large results made up on the fly, deterministically: the same spec (seed,
-- columns, row count) gives the same rows, byte for byte, in every process,
-- so a chunk can be written once to a cache file and checked by anyone who
-- builds the same generator. Values are rendered as the Statement Execution
-- API renders JSON_ARRAY results (strings or null) and cover every type's
-- awkward cases: integer extremes, NaN/Infinity/-Infinity, DECIMAL at its
-- precision, strings with quotes, backslashes, control characters and
-- non-ASCII, DATE/TIMESTAMP edges, base64 BINARY, ARRAY/MAP/STRUCT as JSON
-- text, and NULLs. It never uses math.random (whose seed the token issuer
-- owns) and does no I/O beyond the file it is handed.
--
-- Speed matters (a benchmark asks for a GiB): every column has a pool of
-- pre-rendered JSON values, and row r takes value (r*a + b) mod #pool, a
-- permutation, so any #pool consecutive rows show every value of the pool,
-- specials included.
local json = require "databricks.simulator.json"
local types = require "databricks.simulator.types"

local M = {}

local POOL = 1009 -- prime: every multiplier 1..POOL-1 is a full cycle

-- xorshift64: a tiny deterministic generator (Lua's >> is a logical shift).
local function rng(seed)
  local s = seed ~ 0x2545F4914F6CDD1D
  if s == 0 then s = 0x9E3779B97F4A7C15 end
  return function(n)
    s = s ~ (s << 13)
    s = s ~ (s >> 7)
    s = s ~ (s << 17)
    if n then return (s >> 1) % n end
    return s
  end
end

-- The shortest %.Ng text that reads back as the same float.
local function float_text(x)
  for digits = 15, 17 do
    local t = string.format("%." .. digits .. "g", x)
    if tonumber(t) == x then
      if not t:find("[%.eEn]") then t = t .. ".0" end
      return t
    end
  end
  return string.format("%.17g", x)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for j = 0, 3 do
      if j <= 1 or (j == 2 and b) or (j == 3 and c) then
        local v = (n >> (18 - 6 * j)) & 63
        out[#out + 1] = B64:sub(v + 1, v + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end
M.base64 = base64

local WORDS = {
  "taxi", "fare", "zip", "Ünïcödé", "日本語", "emoji 😀", "quote \"q\"", "back\\slash", "tab\there",
  "new\nline", "it's", "", "NULL", "null", "a/b", "<tag>", "x", "Ωmega", "ctl \1\31", "€uro",
}

local STRING_SPECIALS = {
  "", " ", "\"", "\\", "\\\"", "'", "\n", "\r\n", "\t", "\0", "\1", "\127",
  "é", "日本語テキスト", "😀🚕", "\u{2028}\u{2029}", "{\"json\":\"inside\"}", "NULL", "null",
  string.rep("long ", 200),
}

local DAY = 86400

local function date_text(days)
  return os.date("!%Y-%m-%d", days * DAY)
end

local function timestamp_text(seconds, ms)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", ms)
end

local function decimal_text(r, p, s, sign)
  local int_digits = p - s
  local int_part = int_digits > 0 and string.format("%d", r(math.tointeger(10 ^ math.min(int_digits, 15)))) or "0"
  local frac = {}
  for i = 1, s do frac[i] = tostring(r(10)) end
  local t = int_part .. (s > 0 and ("." .. table.concat(frac)) or "")
  if sign and t:find("[1-9]") then t = "-" .. t end
  return t
end

-- An element of an ARRAY/MAP: a JSON string when the element type (the
-- last type named in the type text) is a string type, else a number.
local function element(r, text)
  if r(7) == 0 then return "null" end
  if text:match("STRING>+$") or text:match("CHAR[^<]*>+$") then return json.quote(WORDS[r(#WORDS) + 1]) end
  return tostring(r(1000) - 500)
end

local function nested(r, kind, depth, text)
  text = text or ""
  if kind == "ARRAY" then
    local n, items = r(4), {}
    for i = 1, n do items[i] = element(r, text) end
    return "[" .. table.concat(items, ",") .. "]"
  elseif kind == "MAP" then
    local n, items = r(4), {}
    for i = 1, n do items[i] = string.format('"k%d":%s', i, element(r, text)) end
    return "{" .. table.concat(items, ",") .. "}"
  end
  local inner = depth < 2 and nested(r, "ARRAY", depth + 1) or "[]"
  return string.format('{"id":%d,"name":%s,"tags":%s}', r(100000), json.quote(WORDS[r(#WORDS) + 1]), inner)
end

-- Pools of raw values (strings; the pool also holds their JSON text).
local MAKERS = {}

local function int_maker(lo, hi)
  return function(r, _, specials)
    specials[#specials + 1] = string.format("%d", lo)
    specials[#specials + 1] = string.format("%d", hi)
    specials[#specials + 1] = "0"
    specials[#specials + 1] = "-1"
    return function()
      local span = hi - lo
      if span < 0 or span > 0x3FFFFFFFFFFFFFFF then return string.format("%d", r()) end
      return string.format("%d", lo + r(span + 1))
    end
  end
end

MAKERS.BYTE = int_maker(-128, 127)
MAKERS.SHORT = int_maker(-32768, 32767)
MAKERS.INT = int_maker(-2147483648, 2147483647)
MAKERS.LONG = int_maker(math.mininteger, math.maxinteger)

local function float_maker(max_text, min_text, exp_range)
  return function(r, _, specials)
    for _, v in ipairs({ "NaN", "Infinity", "-Infinity", "0.0", "-0.0", max_text, min_text, "1.0", "-1.5" }) do
      specials[#specials + 1] = v
    end
    return function()
      local mant = (r(1 << 52) / 2 ^ 52 + 1) * (r(2) == 0 and 1 or -1)
      local x = mant * 2.0 ^ (r(exp_range * 2 + 1) - exp_range)
      return float_text(x)
    end
  end
end

MAKERS.FLOAT = function(r, col, specials)
  local make = float_maker("3.4028235E38", "1.4E-45", 30)(r, col, specials)
  return function()
    -- single precision: 7 significant digits are what a FLOAT carries
    local x = tonumber(make())
    local t = string.format("%.7g", x)
    if not t:find("[%.eEn]") then t = t .. ".0" end
    return t
  end
end
MAKERS.DOUBLE = float_maker("1.7976931348623157E308", "4.9E-324", 300)

MAKERS.BOOLEAN = function(_, _, specials)
  specials[1], specials[2] = "true", "false"
end

MAKERS.DECIMAL = function(r, col, specials)
  local p, s = col.type_precision, col.type_scale
  local nines = string.rep("9", p - s) .. (s > 0 and ("." .. string.rep("9", s)) or "")
  if p - s == 0 then nines = "0" .. nines end
  specials[#specials + 1] = nines
  specials[#specials + 1] = "-" .. nines
  specials[#specials + 1] = "0" .. (s > 0 and ("." .. string.rep("0", s)) or "")
  return function() return decimal_text(r, p, s, r(2) == 0) end
end

local function string_maker(r, _, specials)
  for _, v in ipairs(STRING_SPECIALS) do specials[#specials + 1] = v end
  return function()
    local n, parts = 1 + r(6), {}
    for i = 1, n do parts[i] = WORDS[r(#WORDS) + 1] end
    return table.concat(parts, " ")
  end
end
MAKERS.STRING = string_maker
MAKERS.CHAR = string_maker

MAKERS.DATE = function(r, _, specials)
  for _, v in ipairs({ "1970-01-01", "2024-02-29", "1900-01-01", "2099-12-31", "1969-12-31" }) do
    specials[#specials + 1] = v
  end
  return function() return date_text(r(73000) - 25567) end
end

local function timestamp_maker(r, _, specials)
  for _, v in ipairs({ "1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
                       "2038-01-19T03:14:08.000Z" }) do
    specials[#specials + 1] = v
  end
  return function() return timestamp_text(r(73000 * DAY) - 25567 * DAY, r(1000)) end
end
MAKERS.TIMESTAMP = timestamp_maker
MAKERS.TIMESTAMP_NTZ = timestamp_maker

MAKERS.BINARY = function(r, _, specials)
  specials[#specials + 1] = ""
  local all = {}
  for i = 0, 255 do all[#all + 1] = string.char(i) end
  specials[#specials + 1] = base64(table.concat(all))
  return function()
    local n, bytes = r(24), {}
    for i = 1, n do bytes[i] = string.char(r(256)) end
    return base64(table.concat(bytes))
  end
end

MAKERS.INTERVAL = function(r, _, specials)
  specials[#specials + 1] = "0 00:00:00.000000000"
  return function()
    return string.format("%d %02d:%02d:%02d.%09d", r(1000), r(24), r(60), r(60), r(1000000000))
  end
end

for _, kind in ipairs({ "ARRAY", "MAP", "STRUCT" }) do
  MAKERS[kind] = function(r, col, specials)
    specials[#specials + 1] = kind == "ARRAY" and "[]" or "{}"
    return function() return nested(r, kind, 0, col.type_text) end
  end
end

MAKERS.NULL = function() end

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

-- One column's pool: JSON texts (quoted strings) and raw values.
local function build_pool(col, seed, index)
  local r = rng(seed * 1000003 + index * 7919 + 17)
  local specials = {}
  local make = MAKERS[col.type_name](r, col, specials)
  local raw = {}
  for i, v in ipairs(specials) do raw[i] = v end
  if make then
    while #raw < POOL do raw[#raw + 1] = make() end
  end
  local text = {}
  for i, v in ipairs(raw) do text[i] = json.quote(v) end
  local n = #raw
  local a = n > 1 and (1 + r(n - 1)) or 1
  while n > 1 and gcd(a, n) ~= 1 do a = a + 1 end
  return { raw = raw, text = text, n = n, a = a, b = n > 0 and r(n) or 0 }
end

-- A generator from a spec: {rows = N, seed = S, columns = {...}, nulls =
-- fraction of NULLs in nullable columns (default 0.05)}. Returns it, or nil
-- and a message.
function M.new(spec)
  if type(spec) ~= "table" then return nil, "generate must be an object" end
  local rows = math.tointeger(spec.rows)
  if not rows or rows < 0 then return nil, "generate.rows must be a non-negative integer" end
  local seed = math.tointeger(spec.seed or 1)
  if not seed then return nil, "generate.seed must be an integer" end
  local nulls = spec.nulls or 0.05
  if type(nulls) ~= "number" or nulls < 0 or nulls > 1 then return nil, "generate.nulls must be within 0..1" end
  if type(spec.columns) ~= "table" or #spec.columns == 0 then return nil, "generate.columns must list columns" end
  local columns, err = types.columns(spec.columns)
  if not columns then return nil, "generate: " .. err end
  local pools = {}
  for i, c in ipairs(columns) do pools[i] = build_pool(c, seed, i) end
  return setmetatable({
    rows = rows, seed = seed, columns = columns, pools = pools,
    null_cut = math.floor(nulls * 65536 + 0.5),
  }, { __index = M })
end

-- True when row r (0-based) of column c holds NULL.
local function is_null(self, r, c)
  local col, pool = self.columns[c], self.pools[c]
  if pool.n == 0 then return true end
  if not col.nullable or self.null_cut == 0 then return false end
  local h = (r * 0x9E3779B97F4A7C15) ~ (c * 0xC2B2AE3D27D4EB4F) ~ self.seed
  h = (h ~ (h >> 29)) * 0x94D049BB133111EB
  return ((h >> 32) & 0xFFFF) < self.null_cut
end

-- Row r's values: raw strings, or nil for NULL (an array with holes).
function M:values(r)
  local out = {}
  for c, pool in ipairs(self.pools) do
    if not is_null(self, r, c) then out[c] = pool.raw[(r * pool.a + pool.b) % pool.n + 1] end
  end
  return out
end

-- Writes rows first..first+count-1 (0-based) as the JSON text of one array
-- of row arrays; `yield` (optional) is called every few thousand rows so a
-- caller can let others run. Returns the bytes written.
function M:write_rows(f, first, count, yield)
  local ncol, pools, seed, cut = #self.columns, self.pools, self.seed, self.null_cut
  -- per column: its pool's texts, size, multiplier, offset, and whether it
  -- can hold NULL (is_null inlined: this loop makes every generated byte)
  local texts, ns, as, bs, nullable, always_null = {}, {}, {}, {}, {}, {}
  for c = 1, ncol do
    local pool = pools[c]
    texts[c], ns[c], as[c], bs[c] = pool.text, pool.n, pool.a, pool.b
    always_null[c] = pool.n == 0
    nullable[c] = self.columns[c].nullable and cut > 0
  end
  local row, buf, nbuf, bytes = {}, {}, 0, 0
  local sep = "["
  for r = first, first + count - 1 do
    local hr = r * 0x9E3779B97F4A7C15
    for c = 1, ncol do
      if always_null[c] then
        row[c] = "null"
      else
        local null = false
        if nullable[c] then
          local h = hr ~ (c * 0xC2B2AE3D27D4EB4F) ~ seed
          h = (h ~ (h >> 29)) * 0x94D049BB133111EB
          null = ((h >> 32) & 0xFFFF) < cut
        end
        row[c] = null and "null" or texts[c][(r * as[c] + bs[c]) % ns[c] + 1]
      end
    end
    nbuf = nbuf + 1
    buf[nbuf] = sep .. "[" .. table.concat(row, ",", 1, ncol) .. "]"
    sep = ","
    if nbuf == 4096 then
      local s = table.concat(buf, "", 1, nbuf)
      f:write(s)
      bytes, nbuf = bytes + #s, 0
      if yield then yield() end
    end
  end
  local tail = table.concat(buf, "", 1, nbuf) .. (count > 0 and "]" or "[]")
  f:write(tail)
  return bytes + #tail
end

-- Average bytes a row takes in a chunk body (its text plus the comma),
-- measured on up to 512 rows.
function M:row_bytes()
  if self.avg then return self.avg end
  local n = math.max(1, math.min(self.rows, 512))
  local sink = { size = 0 }
  function sink.write(s, text) s.size = s.size + #text end
  local total = self:write_rows(sink, 0, n)
  self.avg = math.max(1, (total - 1) / n)
  return self.avg
end

return M
