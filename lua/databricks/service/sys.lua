--- The only impure part of the service installers: the system calls they
-- make, through the C core's primitives (no `pwd`, `id`, `test` or `sleep`
-- subprocesses). Specs replace this table with a recording fake.
-- @module databricks.service.sys
local core = require "databricks.core"

local M = {}

--- Runs argv (a service manager command), showing what it prints. Returns
-- true on exit status 0, and the status.
function M.run(argv)
  local r, err = core.run(argv, { timeout = 120 })
  if not r then
    io.stderr:write(tostring(err), "\n")
    return false, err.kind == "timeout" and 124 or 127
  end
  if r.stdout ~= "" then io.stdout:write(r.stdout) end
  if r.stderr ~= "" then io.stderr:write(r.stderr) end
  return r.status == 0, r.status
end

--- Runs argv; returns its stdout and exit status.
function M.capture(argv)
  local r = core.run(argv, { timeout = 60 })
  if not r then return "", 127 end
  return r.stdout, r.status
end

--- Whether `path` is an executable regular file.
function M.is_exec(path)
  local mode, _, kind = core.file_mode(path)
  return mode ~= nil and kind == "file" and mode & 73 ~= 0
end

function M.cwd()
  return core.cwd() or os.getenv("PWD") or "/"
end

function M.uname()
  return core.uname()
end

function M.uid()
  return core.geteuid()
end

--- Writes a file atomically (temp file, fsync, rename), creating its folder
-- (0700 when missing); `mode` is octal text such as "0644".
function M.write_file(path, data, mode)
  local ok, err = core.write_private(path, data, { mode = tonumber(mode, 8) })
  if ok then return true end
  return nil, "cannot write " .. path .. ": " .. err.message
end

--- Creates an empty file of mode 0600 (folder 0700) if it is missing, and
-- makes an existing one 0600; keeps its content.
function M.create_private(path)
  local ok, err = core.update_private(path, function(old) return old or "" end)
  if ok then return true end
  return nil, "cannot create " .. path .. ": " .. err.message
end

--- True if `path` exists (a dangling symbolic link counts).
function M.exists(path)
  return core.file_mode(path) ~= nil or core.is_link(path)
end

--- Removes a file; true when it is gone (or was never there).
function M.remove(path)
  local ok, err, code = os.remove(path)
  if ok or code == 2 then return true end
  return nil, err
end

function M.sleep(seconds)
  core.sleep(seconds)
end

--- The environment table the pure functions take.
function M.env()
  local t = {}
  for _, name in ipairs({ "HOME", "PATH", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "USER", "SSL_CERT_FILE",
                          "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                          "all_proxy", "NO_PROXY", "no_proxy" }) do
    t[name] = os.getenv(name)
  end
  return t
end

return M
