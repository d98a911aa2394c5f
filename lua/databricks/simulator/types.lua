-- SQL column types as the Statement Execution API and Unity Catalog describe
-- them: a declared column ({name, type = "DECIMAL(10,2)"}, or type_name /
-- type_text) becomes {name, type_name, type_text, type_precision,
-- type_scale}. One table maps every spelling to its type_name. It knows
-- nothing about values or HTTP.
local M = {}

-- Spelling (upper case, without parameters) -> type_name.
local NAMES = {
  TINYINT = "BYTE", BYTE = "BYTE", SMALLINT = "SHORT", SHORT = "SHORT",
  INT = "INT", INTEGER = "INT", BIGINT = "LONG", LONG = "LONG",
  FLOAT = "FLOAT", REAL = "FLOAT", DOUBLE = "DOUBLE",
  BOOLEAN = "BOOLEAN", BOOL = "BOOLEAN",
  DECIMAL = "DECIMAL", DEC = "DECIMAL", NUMERIC = "DECIMAL",
  STRING = "STRING", VARCHAR = "STRING", CHAR = "CHAR",
  DATE = "DATE", TIMESTAMP = "TIMESTAMP", TIMESTAMP_NTZ = "TIMESTAMP_NTZ",
  BINARY = "BINARY", INTERVAL = "INTERVAL",
  ARRAY = "ARRAY", MAP = "MAP", STRUCT = "STRUCT",
  VOID = "NULL", NULL = "NULL",
}

-- type_name -> the type_text used when only a type_name was given.
local TEXTS = {
  BYTE = "TINYINT", SHORT = "SMALLINT", INT = "INT", LONG = "BIGINT", FLOAT = "FLOAT",
  DOUBLE = "DOUBLE", BOOLEAN = "BOOLEAN", DECIMAL = "DECIMAL(10,0)", STRING = "STRING", CHAR = "CHAR(1)",
  DATE = "DATE", TIMESTAMP = "TIMESTAMP", TIMESTAMP_NTZ = "TIMESTAMP_NTZ", BINARY = "BINARY",
  INTERVAL = "INTERVAL DAY TO SECOND", ARRAY = "ARRAY<STRING>", MAP = "MAP<STRING,STRING>",
  STRUCT = "STRUCT<a:STRING>", NULL = "VOID",
}

-- The type_name of a spelling such as "decimal(10,2)" or "ARRAY<INT>";
-- nil when unknown.
function M.type_name(text)
  local word = tostring(text or ""):match("^%s*([%a_]+)")
  return word and NAMES[word:upper()]
end

-- Precision and scale of a DECIMAL type text (default (10,0), as Spark).
local function decimal_parts(text)
  local p, s = text:match("%(%s*(%d+)%s*,%s*(%d+)%s*%)")
  if p then return tonumber(p), tonumber(s) end
  p = text:match("%(%s*(%d+)%s*%)")
  return tonumber(p) or 10, 0
end

-- A declared column (a name string, or a table with name and any of type,
-- type_text, type_name, nullable) in the API's shape. Returns the column, or
-- nil and a message naming the column.
function M.column(c, position)
  if type(c) == "string" then c = { name = c } end
  if type(c) ~= "table" or c.name == nil then return nil, "a column needs a name" end
  local text = c.type or c.type_text
  local tn
  if text then
    tn = M.type_name(text)
    if not tn then return nil, string.format("column %s: unknown type %s", tostring(c.name), tostring(text)) end
  else
    tn = M.type_name(c.type_name or "STRING")
    if not tn then
      return nil, string.format("column %s: unknown type_name %s", tostring(c.name), tostring(c.type_name))
    end
    text = TEXTS[tn]
  end
  -- Type words in upper case; STRUCT field names (`name:`) as written.
  text = tostring(text):gsub("([%a_][%w_]*)(%s*:?)", function(word, colon)
    if colon:find(":", 1, true) then return word .. colon end
    return word:upper() .. colon
  end):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  local out = { name = tostring(c.name), type_name = tn, type_text = text, position = position,
                nullable = c.nullable ~= false, comment = c.comment }
  if tn == "DECIMAL" then
    out.type_precision, out.type_scale = decimal_parts(text)
    if out.type_precision < 1 or out.type_precision > 38 or out.type_scale > out.type_precision then
      return nil, string.format("column %s: bad DECIMAL precision/scale in %s", out.name, text)
    end
  end
  return out
end

-- A list of declared columns; nil and a message on the first bad one.
function M.columns(list)
  local out = {}
  for i, c in ipairs(list or {}) do
    local col, err = M.column(c, i - 1)
    if not col then return nil, err end
    out[i] = col
  end
  return out
end

return M
