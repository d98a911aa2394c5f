--- `databricks-oauth-restart`: restarts the installed rotator service (it
-- rotates at once on start). Exit codes: 0 restarted, 1 the service manager
-- failed, 2 usage error, 3 not installed.
-- @module databricks.cli.restart
local core = require "databricks.core"
local common = require "databricks.cli.common"
local service = require "databricks.service"

local M = {}

local PROGRAM = "databricks-oauth-restart"

M.HELP = [[
Usage: databricks-oauth-restart [--platform systemd|launchd] [--dry-run]

Restarts the installed rotator service; it rotates the credential at once.
(systemd: systemctl --user restart; launchd: launchctl kickstart -k.)

Options:
  --platform systemd|launchd   service manager (default: from the OS)
  --dry-run                print the command instead of running it
  --version, --help

Exit status: 0 restarted, 1 the service manager failed, 2 usage error,
3 not installed.
]]

M.OPTIONS = { platform = "string", ["dry-run"] = "flag", version = "flag", help = "flag" }

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
  local file = service.service_file(platform, paths)
  if not core.file_mode(file) then
    io.stderr:write(PROGRAM, ": the rotator service is not installed (no ", file, "); see databricks-oauth-install\n")
    return 3
  end
  local commands = service.restart_commands(platform, { uid = sys.uid() })
  local ok, cmd, code = service.run_commands(commands, sys, { dry = opts["dry-run"] })
  if not ok then
    io.stderr:write(PROGRAM, ": `", service.shell_join(cmd.argv), "` failed (exit ", tostring(code), ")\n")
    return 1
  end
  return 0
end

return M
