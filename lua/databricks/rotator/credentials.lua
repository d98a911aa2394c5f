--- The rotator's credentials file (`--client-secret-file`, and the file
-- databricks-oauth-install writes for the service): either the client
-- secret alone on one line, or `DATABRICKS_CLIENT_SECRET=` and
-- `DATABRICKS_TOKEN_STORE=` lines (also a valid systemd EnvironmentFile=).
-- Blank lines and `#` comments are ignored.
--
-- It holds a secret, so it is refused — as ssh refuses a private key —
-- unless it is a regular file owned by the user running the rotator with
-- no permission for group or others. Every secret read is registered with
-- the core, so no message can carry it.
-- @module databricks.rotator.credentials
local core = require "databricks.core"

local M = {}

--- Checks the file's type, owner and mode. `name` is how the caller calls
-- the file ("--client-secret-file", "client_secret_file"). Returns true, or
-- nil and a message (naming `chmod 600` when that is the fix).
function M.check(path, name)
  name = name or "the credentials file"
  local mode, uid, kind = core.file_mode(path)
  if not mode then return nil, "cannot read " .. name .. " " .. path .. ": no such file" end
  if kind ~= "file" then return nil, name .. " " .. path .. " is not a regular file" end
  if uid ~= core.geteuid() then
    return nil, string.format("%s %s belongs to another user (uid %d): it must be yours (chown it, or use "
      .. "your own copy)", name, path, uid)
  end
  if mode & 63 ~= 0 then
    return nil, string.format("%s %s is readable or writable by other users (mode %04o): run chmod 600 %s",
      name, path, mode, path)
  end
  return true
end

--- Reads and parses the file. Returns `{client_secret=, token_store=}`, or
-- nil and a message naming the file and the problem.
function M.read(path, name)
  local ok, why = M.check(path, name)
  if not ok then return nil, why end
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot read " .. (name or "the credentials file") .. " " .. path .. ": " .. tostring(err) end
  local text = f:read("a") or ""
  f:close()
  local out, bare = {}, {}
  for line in text:gmatch("[^\r\n]+") do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local key, value = line:match("^([%u_]+)=(.*)$")
      if key == "DATABRICKS_CLIENT_SECRET" then
        out.client_secret = value
      elseif key == "DATABRICKS_TOKEN_STORE" then
        out.token_store = value
      elseif key then
        return nil, path .. ": unknown setting " .. key .. " (expected DATABRICKS_CLIENT_SECRET= or DATABRICKS_TOKEN_STORE=)"
      else
        bare[#bare + 1] = line
      end
    end
  end
  if #bare > 1 or (#bare == 1 and out.client_secret) then
    return nil, path .. " must hold the secret alone on one line, or KEY=value lines"
  end
  out.client_secret = out.client_secret or bare[1]
  if out.client_secret == "" then out.client_secret = nil end
  if not out.client_secret and not out.token_store then return nil, path .. " is empty" end
  if out.client_secret then core.add_secret(out.client_secret) end
  return out
end

return M
