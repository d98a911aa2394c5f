-- One statement's result: its columns, rows (declared in the settings or
-- generated, see generate.lua), the row_limit/byte_limit cut, the split into
-- chunks, and each chunk either as inline rows (INLINE) or as a body file on
-- disk (EXTERNAL_LINKS, served by storage.lua). A chunk's body is written
-- once into the cache folder and reused; generated chunks are keyed by what
-- they contain, so running the same statement again costs nothing. Never
-- holds a large result in memory.
local json = require "databricks.simulator.json"
local types = require "databricks.simulator.types"
local generate = require "databricks.simulator.generate"
local sha256 = require "databricks.simulator.sha256"

local M = {}
local Result = {}
Result.__index = Result

local function cell(v)
  if v == nil or v == json.null then return json.null end
  if type(v) == "boolean" then return v and "true" or "false" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if type(v) == "table" then return json.encode(v) end
  return tostring(v)
end
M.cell = cell

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- Declared rows as lists of cells (strings or json.null), `ncol` wide.
local function declared_rows(rows, ncol)
  local out = {}
  for i, r in ipairs(rows or {}) do
    local row = json.array()
    local n = ncol > 0 and ncol or #r
    for j = 1, n do row[j] = cell(r[j]) end
    out[i] = row
  end
  return out
end

-- Builds the result of `spec` (a statement's settings: columns and rows, or
-- generate = {...}; chunk_size / rows_per_chunk, chunk_bytes). opts:
-- row_limit, byte_limit, chunk_bytes (default), cache_dir, id. Returns the
-- result, or nil and a message about the spec.
function M.new(spec, opts)
  local self = setmetatable({ cache_dir = opts.cache_dir, id = opts.id }, Result)
  local chunk_bytes = math.tointeger(spec.chunk_bytes) or opts.chunk_bytes or (16 * 1024 * 1024)
  local per_chunk = math.tointeger(spec.rows_per_chunk or spec.chunk_size)
  if spec.generate ~= nil then
    local gen, err = generate.new(spec.generate)
    if not gen then return nil, err end
    self.gen, self.columns = gen, gen.columns
    self.row_bytes = gen:row_bytes()
    local total = gen.rows
    self.total_rows, self.truncated = total, false
    self.rows_per_chunk = per_chunk or math.max(1, math.floor(chunk_bytes / self.row_bytes))
    local g = spec.generate
    self.key = "g" .. hex(sha256(json.encode({ g.seed or 1, g.rows, g.nulls or 0.05, self.rows_per_chunk,
      (function()
        local t = {}
        for i, c in ipairs(gen.columns) do t[i] = c.name .. " " .. c.type_text .. (c.nullable and "" or "!") end
        return t
      end)() }))):sub(1, 24)
  else
    local columns, err = types.columns(spec.columns)
    if not columns then return nil, err end
    self.columns = columns
    self.rows = declared_rows(spec.rows, #columns)
    self.total_rows, self.truncated = #self.rows, false
    self.rows_per_chunk = math.max(1, per_chunk or #self.rows)
    self.key = "s" .. tostring(opts.id)
  end
  self:limit(opts.row_limit, opts.byte_limit)
  return self
end

-- Applies row_limit and byte_limit (bytes of JSON_ARRAY text, as the
-- service's estimate does for the limit); sets `truncated`.
function Result:limit(row_limit, byte_limit)
  if row_limit and row_limit < self.total_rows then
    self.total_rows, self.truncated = row_limit, true
  end
  if byte_limit then
    local fit
    if self.gen then
      fit = math.floor(byte_limit / self.row_bytes)
    else
      fit = 0
      local used = 2
      for i = 1, self.total_rows do
        used = used + #json.encode(self.rows[i]) + 1
        if used > byte_limit then break end
        fit = i
      end
    end
    if fit < self.total_rows then self.total_rows, self.truncated = fit, true end
  end
end

-- Bytes of the whole result as JSON_ARRAY text (estimated for generated
-- results from a sample of rows).
function Result:bytes()
  if self.gen then return math.floor(self.total_rows * self.row_bytes) + 2 end
  local n = 2
  for i = 1, self.total_rows do n = n + #json.encode(self.rows[i]) + 1 end
  return n
end

function Result:chunk_count()
  return (self.total_rows + self.rows_per_chunk - 1) // self.rows_per_chunk
end

-- Row offset and row count of chunk i; nil when out of range.
function Result:range(i)
  if i < 0 or i >= self:chunk_count() then return nil end
  local offset = i * self.rows_per_chunk
  return offset, math.min(self.rows_per_chunk, self.total_rows - offset)
end

-- Chunk i's rows as data_array (INLINE).
function Result:inline(i)
  local offset, count = self:range(i)
  local data = json.array()
  for r = offset, offset + count - 1 do
    if self.gen then
      local values, row = self.gen:values(r), json.array()
      for c = 1, #self.columns do row[c] = values[c] == nil and json.null or values[c] end
      data[#data + 1] = row
    else
      data[#data + 1] = self.rows[r + 1]
    end
  end
  return data
end

local generating, tmp_seq = {}, 0

-- The body file of chunk i (written on first use); variant "short" holds
-- one row fewer (the wrong_row_count fault). `wait(seconds)` and `yield()`
-- (optional) let other connections run while a chunk is being written.
-- Returns the path and its size, or nil and an error.
function Result:file(i, variant, wait, yield)
  local offset, count = self:range(i)
  if not offset then return nil, "no chunk " .. tostring(i) end
  if variant == "short" then count = math.max(0, count - 1) end
  local path = string.format("%s/%s-%d-%d.json", self.cache_dir, self.key, offset, count)
  while generating[path] and wait do wait(0.01) end
  local f = io.open(path, "rb")
  if f then
    local size = f:seek("end")
    f:close()
    return path, size
  end
  generating[path] = true
  tmp_seq = tmp_seq + 1
  local tmp = string.format("%s.%d.tmp", path, tmp_seq)
  local out, err = io.open(tmp, "wb")
  if not out then
    generating[path] = nil
    return nil, err
  end
  out:setvbuf("full", 1024 * 1024)
  local ok, size = pcall(function()
    if self.gen then return self.gen:write_rows(out, offset, count, yield) end
    local parts = {}
    for r = offset + 1, offset + count do parts[#parts + 1] = json.encode(self.rows[r]) end
    local text = "[" .. table.concat(parts, ",") .. "]"
    out:write(text)
    return #text
  end)
  out:close()
  if ok then ok, err = os.rename(tmp, path) else err = size end
  generating[path] = nil
  if not ok then
    os.remove(tmp)
    return nil, err
  end
  return path, size
end

-- The manifest's schema columns.
function Result:schema()
  local cols = json.array()
  for i, c in ipairs(self.columns) do
    cols[i] = { name = c.name, type_name = c.type_name, type_text = c.type_text, position = i - 1,
                type_precision = c.type_precision, type_scale = c.type_scale }
  end
  return { column_count = #cols, columns = cols }
end

return M
