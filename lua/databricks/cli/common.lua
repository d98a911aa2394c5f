--- Pieces shared by the command-line front ends: usage errors, reading the
-- client secret without putting it in argv, JSON output.
-- @module databricks.cli.common
local cjson = require "cjson.safe"
local core = require "databricks.core"

local M = {}

--- Prints a usage/configuration error and returns exit code 2.
function M.usage(message)
  io.stderr:write(core.redact(message), "\n")
  return 2
end

--- JSON text of a report (one line).
function M.json(t)
  return (cjson.encode(t))
end

local function file_mode_is_private(path)
  local mode = core.file_mode(path)
  return not mode or (mode & 63) == 0
end

--- The client secret: --client-secret-file, else DATABRICKS_CLIENT_SECRET,
-- else --client-secret (accepted for compatibility, with a warning: argv is
-- visible to every user of the machine). Returns secret (or nil), or nil
-- and a usage message.
function M.client_secret(opts, env, program)
  local path = opts["client-secret-file"]
  if path then
    local f, err = io.open(path, "rb")
    if not f then return nil, program .. ": cannot read --client-secret-file: " .. tostring(err) end
    local s = f:read("a") or ""
    f:close()
    s = s:gsub("^%s+", ""):gsub("%s+$", "")
    -- Also accept an environment-file line "DATABRICKS_CLIENT_SECRET=...".
    s = s:match("^DATABRICKS_CLIENT_SECRET=(.*)$") or s
    if s == "" then return nil, program .. ": --client-secret-file " .. path .. " is empty" end
    if not file_mode_is_private(path) then
      io.stderr:write(program, ": warning: ", path, " is readable by other users; chmod 600 it\n")
    end
    return s
  end
  if opts["client-secret"] then
    io.stderr:write(program, ": warning: --client-secret puts the secret in the process list, visible to ",
      "other users; use DATABRICKS_CLIENT_SECRET or --client-secret-file instead\n")
    return opts["client-secret"]
  end
  return env("DATABRICKS_CLIENT_SECRET")
end

return M
