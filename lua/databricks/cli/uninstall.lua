--- `databricks-oauth-uninstall`: stops and disables the rotator service,
-- removes its unit or plist and tells the manager; `--purge` also deletes
-- the credentials file. Leaves .pgpass, the log and the status file alone.
-- Removing what is already gone is not an error. Exit codes: 0 done, 1 a
-- service-manager command or a removal failed (the rest was still done),
-- 2 usage error.
-- @module databricks.cli.uninstall
local core = require "databricks.core"
local common = require "databricks.cli.common"
local service = require "databricks.service"

local M = {}

local PROGRAM = "databricks-oauth-uninstall"

M.HELP = [[
Usage: databricks-oauth-uninstall [--purge] [--platform systemd|launchd] [--dry-run]

Stops and disables the rotator service and removes its unit file (systemd:
systemctl --user disable --now, then daemon-reload) or its launchd agent
(launchctl bootout). .pgpass, the log file and the status file are kept.

Options:
  --purge                  also delete the credentials file
                           (~/.config/lua-databricks/credentials)
  --platform systemd|launchd   service manager (default: from the OS)
  --dry-run                print what would be run and removed; change nothing
  --version, --help

Exit status: 0 done (also when nothing was installed), 1 a service-manager
command or a removal failed, 2 usage error.
]]

M.OPTIONS = { purge = "flag", platform = "string", ["dry-run"] = "flag", version = "flag", help = "flag" }

--- Runs the command line; returns the exit code. `sys` replaces
-- `service.sys` (tests).
function M.main(argv, sys)
  sys = sys or service.sys
  local opts, exit_code = common.start(argv or {}, M.OPTIONS, PROGRAM, M.HELP)
  if not opts then return exit_code end
  local platform, perr = service.platform(opts.platform)
  if not platform then return common.usage(PROGRAM .. ": " .. perr) end
  local paths, herr = service.paths(sys.env())
  if not paths then return common.usage(PROGRAM .. ": " .. herr) end
  local dry = opts["dry-run"]
  local failed = false

  local function run(commands)
    local ok = service.run_commands(commands, sys, { dry = dry, keep_going = true, warn = function(m)
      io.stderr:write(PROGRAM, ": ", m, "\n")
    end })
    if not ok then failed = true end
  end

  local function remove(path)
    if not sys.exists(path) then return end
    io.stdout:write(dry and "would remove " or "removing ", path, "\n")
    if dry then return end
    local ok, rerr = sys.remove(path)
    if not ok then
      io.stderr:write(PROGRAM, ": cannot remove ", path, ": ", tostring(rerr), "\n")
      failed = true
    end
  end

  local file = service.service_file(platform, paths)
  if core.file_mode(file) then
    local before, after = service.uninstall_commands(platform, { uid = sys.uid() })
    run(before)
    remove(file)
    for _, extra in ipairs(service.manager(platform).uninstall_files(paths)) do remove(extra) end
    run(after)
  else
    io.stdout:write("The rotator service is not installed (no ", file, ").\n")
  end
  if opts.purge then
    remove(paths.credentials)
    remove(paths.credentials .. ".lock")
  elseif core.file_mode(paths.credentials) then
    io.stdout:write("Kept ", paths.credentials, " (delete it with --purge).\n")
  end
  return failed and 1 or 0
end

return M
