-- The simulator's data file (--data FILE): JSON, or Lua returning a table,
-- that declares the workspace a developer wants to work against. Its keys
-- are the simulator's settings (tables, catalogs, schemas, statements,
-- instances, endpoints, warehouses, pats, clients, user, federation, ...)
-- plus `faults` (a list, as the control API takes them) and `files`
-- (volume paths -> contents). A Lua file runs in an environment with only
-- the harmless standard functions and `null` (JSON null, for a NULL cell).
-- See docs/simulator.md for the format.
local json = require "databricks.simulator.json"

local M = {}

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function sandbox()
  local env = {
    null = json.null, ipairs = ipairs, pairs = pairs, tostring = tostring, tonumber = tonumber,
    type = type, select = select, next = next, error = error, assert = assert,
    string = string, table = table, math = math, utf8 = utf8,
    os = { time = os.time, date = os.date, getenv = os.getenv },
  }
  env._G = env
  return env
end

-- Reads and parses a data file. Returns the table, or nil and a message.
function M.load(path)
  local text, err = read(path)
  if not text then return nil, "cannot read " .. path .. ": " .. tostring(err) end
  if path:match("%.json$") or text:match("^%s*[{%[]") then
    local data, jerr = json.decode(text)
    if type(data) ~= "table" then return nil, path .. " is not a JSON object: " .. tostring(jerr) end
    return data
  end
  local chunk, lerr = load(text, "@" .. path, "t", sandbox())
  if not chunk then return nil, lerr end
  local ok, data = pcall(chunk)
  if not ok then return nil, tostring(data) end
  if type(data) ~= "table" then return nil, path .. " must return a table (got " .. type(data) .. ")" end
  return data
end

-- Splits a data table into the settings patch, the faults and the files.
function M.split(data)
  local patch = {}
  for k, v in pairs(data) do
    if k ~= "faults" and k ~= "files" then patch[k] = v end
  end
  if data.faults ~= nil and type(data.faults) ~= "table" then return nil, "faults must be a list" end
  if data.files ~= nil and type(data.files) ~= "table" then return nil, "files must map paths to contents" end
  return patch, data.faults, data.files
end

return M
