--- Pieces shared by the command-line front ends: usage errors, reading the
-- client secret without putting it in argv, JSON output.
-- @module databricks.cli.common
local cjson = require "cjson.safe"
local core = require "databricks.core"
local args = require "databricks.cli.args"

local M = {}

--- Prints a usage/configuration error and returns exit code 2.
function M.usage(message)
  io.stderr:write(core.redact(message), "\n")
  return 2
end

--- Parses argv for `program` and answers --help and --version. Returns the
-- options, or nil and the exit code the command should return (0 after
-- help/version, 2 for a usage error, already reported).
function M.start(argv, spec, program, help)
  local opts, err = args.parse(argv or {}, spec, program)
  if not opts then return nil, M.usage(err) end
  if opts.help then
    io.stdout:write(help)
    return nil, 0
  end
  if opts.version then
    io.stdout:write(program, " ", core.VERSION, " (", core.user_agent(), ")\n")
    return nil, 0
  end
  return opts
end

--- Checks --interval (1-1440 whole minutes); nil, or the usage message.
function M.interval_error(opts, program)
  local v = opts.interval
  if v and (v < 1 or v > 1440 or v ~= math.floor(v)) then
    return program .. ": --interval must be a whole number of minutes from 1 to 1440 (got " .. tostring(v) .. ")"
  end
end

--- JSON text of a report (one line).
function M.json(t)
  return (cjson.encode(t))
end

local function file_mode_is_private(path)
  local mode = core.file_mode(path)
  return not mode or (mode & 63) == 0
end

--- Reads a credentials file: either one bare line (the client secret), or
-- environment-file lines `DATABRICKS_CLIENT_SECRET=...` and
-- `DATABRICKS_TOKEN_STORE=...` (what databricks-oauth-install writes; also
-- valid as a systemd EnvironmentFile=). Blank lines and `#` comments are
-- ignored. Returns {client_secret=, token_store=}, or nil and a message.
function M.read_credentials(path, program)
  local f, err = io.open(path, "rb")
  if not f then return nil, program .. ": cannot read --client-secret-file: " .. tostring(err) end
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
        return nil, program .. ": " .. path .. ": unknown setting " .. key ..
          " (expected DATABRICKS_CLIENT_SECRET= or DATABRICKS_TOKEN_STORE=)"
      else
        bare[#bare + 1] = line
      end
    end
  end
  if #bare > 1 or (#bare == 1 and out.client_secret) then
    return nil, program .. ": " .. path .. " must hold the secret alone on one line, or KEY=value lines"
  end
  out.client_secret = out.client_secret or bare[1]
  if not out.client_secret and not out.token_store then
    return nil, program .. ": --client-secret-file " .. path .. " is empty"
  end
  if not file_mode_is_private(path) then
    io.stderr:write(program, ": warning: ", path, " is readable by other users; chmod 600 it\n")
  end
  return out
end

--- The client secret: --client-secret-file, else DATABRICKS_CLIENT_SECRET,
-- else --client-secret (accepted for compatibility, with a warning: argv is
-- visible to every user of the machine). Returns the secret (or nil) and
-- the credentials read from the file (or nil), or nil and a usage message.
function M.client_secret(opts, env, program)
  local path = opts["client-secret-file"]
  if path then
    local creds, err = M.read_credentials(path, program)
    if not creds then return nil, err end
    return creds.client_secret or env("DATABRICKS_CLIENT_SECRET"), nil, creds
  end
  if opts["client-secret"] then
    io.stderr:write(program, ": warning: --client-secret puts the secret in the process list, visible to ",
      "other users; use DATABRICKS_CLIENT_SECRET or --client-secret-file instead\n")
    return opts["client-secret"]
  end
  return env("DATABRICKS_CLIENT_SECRET")
end

return M
