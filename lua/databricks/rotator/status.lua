--- The rotator's status file: what `databricks-oauth-status` reports. One
-- JSON object, written atomically and privately (0600) after every
-- attempt, and never holding a secret. It keeps history across runs (a
-- failed `--once` must not hide when the last success was).
--
--   { version, pid, updated_at, next_rotation_at,       -- the daemon
--     last_result, last_error, expires_at, ...,         -- all targets together
--     targets = { NAME = { last_attempt, last_success, last_result,
--                          last_error, last_error_kind, expires_at,
--                          next_rotation_at, subject, source, pg_host,
--                          pg_username, outputs = {paths...}, ... } } }
--
-- With one target (no `--config`), the target's fields are also at the top
-- level, as in 0.1.
-- @module databricks.rotator.status
local cjson = require "cjson.safe"
local core = require "databricks.core"

local M = {}
M.__index = M

local function iso(t)
  return type(t) == "number" and core.format_rfc3339(t) or nil
end
M.iso = iso

--- Reads a status file. Returns the decoded object with JSON nulls
-- removed, or nil when it is missing or not a JSON object.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local doc = cjson.decode(f:read("a") or "")
  f:close()
  if type(doc) ~= "table" then return nil end
  local function strip(t)
    for k, v in pairs(t) do
      if v == cjson.null then t[k] = nil elseif type(v) == "table" then strip(v) end
    end
  end
  strip(doc)
  if type(doc.targets) ~= "table" then doc.targets = nil end
  return doc
end

--- A writer for `path` (opens nothing until the first write).
function M.new(path, log)
  return setmetatable({ path = path, log = log }, M)
end

-- The whole, from the targets: ok only when every target is; the
-- earliest expiry and next rotation of any target.
local function summarise(doc, single, name)
  local result, expires, next_at, err, kind = "ok", nil, nil, nil, nil
  for _, tt in pairs(doc.targets) do
    if tt.last_result ~= "ok" then
      result = tt.last_result or "pending"
      err, kind = err or tt.last_error, kind or tt.last_error_kind
    end
    if type(tt.expires_at) == "number" and (not expires or tt.expires_at < expires) then expires = tt.expires_at end
    if type(tt.next_rotation_at) == "number" and (not next_at or tt.next_rotation_at < next_at) then
      next_at = tt.next_rotation_at
    end
  end
  if single and doc.targets[name] then
    for k, v in pairs(doc.targets[name]) do doc[k] = v end
  end
  doc.last_result = result
  doc.last_error = err or cjson.null
  doc.last_error_kind = kind or cjson.null
  doc.expires_at = expires or cjson.null
  doc.expires_at_iso = iso(expires) or cjson.null
  doc.next_rotation_at = next_at or cjson.null
  doc.next_rotation_at_iso = iso(next_at) or cjson.null
end

--- Merges `fields` into target `name` — a read-modify-write under the
-- file's lock, so the daemon's workers, each recording its own target,
-- never undo each other. `single`: this is the only target (its fields are
-- mirrored at the top level, as in 0.1). `targets`: the names configured
-- now (others are dropped from the file).
function M:update(name, fields, single, targets)
  local ok, werr = core.update_private(self.path, function(old)
    local doc = old and cjson.decode(old)
    if type(doc) ~= "table" then doc = {} end
    if type(doc.targets) ~= "table" then doc.targets = {} end
    local t = doc.targets[name] or {}
    for k, v in pairs(fields) do t[k] = v end
    doc.targets[name] = t
    if targets then
      for k in pairs(doc.targets) do
        if not targets[k] then doc.targets[k] = nil end
      end
    end
    summarise(doc, single, name)
    doc.version = core.VERSION
    doc.pid = core.getpid()
    doc.updated_at = iso(core.now())
    return cjson.encode(doc) .. "\n"
  end, { durable = false }) -- advisory: the durable writes that matter are the outputs'
  if not ok and self.log then self.log:warn("cannot write the status file: %s", werr.message) end
end

return M
