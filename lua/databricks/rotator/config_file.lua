--- The rotator's `--config FILE`: INI (the syntax of `.databrickscfg`), a
-- `[rotator]` section of defaults and one `[target NAME]` section per
-- credential to keep fresh. Keys are the long flags without `--`, `-` as
-- `_` (the rows of `databricks.rotator.options`); `output` and `on_rotate`
-- may repeat. An unknown section or key, or a bad value, is an error that
-- names the file and the line.
--
--   [rotator]
--   workspace_url = https://x.cloud.databricks.com
--   client_id = 6f1c...
--   client_secret_file = /home/me/.config/lua-databricks/credentials
--   log_file = /home/me/rotator.log
--
--   [target orders]
--   instance_name = orders
--   output = pgpass:/home/me/.pgpass
--   output = pgbouncer:/etc/pgbouncer/userlist.txt
--   on_rotate = psql -h 127.0.0.1 -p 6432 -U admin pgbouncer -c RELOAD
-- @module databricks.rotator.config_file
local core = require "databricks.core"
local options = require "databricks.rotator.options"

local M = {}

local REPEAT = {}
for _, row in ipairs(options.ROWS) do
  if row.type == "list" then REPEAT[options.name(row, "config")] = true end
end

local ALLOWED = {
  rotator = { target = true, daemon = true },
  target = { target = true },
}

--- Reads `path`. Returns `{defaults = {key = value}, targets = {{name=,
-- key = value}, ...}}` keyed by Rotator.new keys, values checked, or nil
-- and a message "FILE line N: ...".
function M.read(path)
  local f, ferr = io.open(path, "rb")
  if not f then return nil, "cannot read --config " .. path .. ": " .. tostring(ferr) end
  local text = f:read("a") or ""
  f:close()
  local ini, perr = core.ini_parse(text, { ["repeat"] = REPEAT })
  if not ini then return nil, path .. " " .. perr.message end
  local out = { defaults = {}, targets = {} }
  for _, section in ipairs(ini.order) do
    local lines = ini.lines[section]
    local kind, name = section, nil
    if section ~= "rotator" then
      name = section:match("^target%s+(%S.*)$")
      kind = name and "target" or nil
    end
    if not kind then
      return nil, string.format("%s line %d: unknown section [%s] (expected [rotator] or [target NAME])", path,
        lines[""], section)
    end
    local into = kind == "rotator" and out.defaults or { name = name }
    local keys = {}
    for key in pairs(ini.sections[section]) do keys[#keys + 1] = key end
    table.sort(keys, function(a, b) return lines[a] < lines[b] end)
    for _, key in ipairs(keys) do
      local row = options.by_config[key]
      if not row then
        return nil, string.format("%s line %d: unknown key '%s' in [%s] (see databricks-oauth-rotator --help)",
          path, lines[key], key, section)
      end
      if not ALLOWED[kind][row.scope] then
        return nil, string.format("%s line %d: '%s' belongs in [rotator], not in [%s]", path, lines[key], key,
          section)
      end
      local v, verr = options.check(row, ini.sections[section][key], "config")
      if v == nil then return nil, string.format("%s line %d: %s", path, lines[key], verr) end
      into[row.key] = v
    end
    if kind == "target" then out.targets[#out.targets + 1] = into end
  end
  return out
end

return M
