--- The launchd agent (macOS) of the rotator service: one platform of
-- `databricks.service`, a table of pure functions — render the plist,
-- read its program arguments back, the commands that install, remove,
-- restart and inspect it, and what `launchctl print` says.
-- @module databricks.service.launchd
local systemd = require "databricks.service.systemd"

local M = { name = "launchd", describe = "launchd agent" }

M.LABEL = "com.databricks.oauth-rotator"
M.id = M.LABEL
-- The same pacing as the systemd unit.
M.RESTART_SEC = systemd.RESTART_SEC
M.TIMEOUT_STOP_SEC = systemd.TIMEOUT_STOP_SEC

--- The plist: `~/Library/LaunchAgents/<label>.plist`.
function M.file(paths)
  return paths.home .. "/Library/LaunchAgents/" .. M.LABEL .. ".plist"
end

--- launchd's stdout/stderr of the agent.
function M.logs(paths)
  local dir = paths.home .. "/Library/Logs/lua-databricks"
  return dir .. "/rotator.out.log", dir .. "/rotator.err.log"
end

--- Files besides the plist that must exist before launchd starts the
-- agent: its two logs (0600, created empty).
function M.extra_files(paths)
  local out, err = M.logs(paths)
  return { out, err }
end

--- Any absolute path can be the program (launchd quotes nothing).
function M.check_program()
  return true
end

local XML_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

function M.xml_escape(s)
  return (s:gsub("[&<>\"']", XML_ESCAPES))
end

local XML_ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }

function M.xml_unescape(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, name)
    if kind == "#x" then return utf8.char(tonumber(name, 16)) end
    if kind == "#" then return utf8.char(tonumber(name)) end
    return XML_ENTITIES[name]
  end))
end

--- The launchd agent. spec: `argv`, `env` (list of `{name, value}`),
-- `paths` (for the logs), `credentials`, `version`; `label`, `stdout`,
-- `stderr` override the defaults.
function M.render(spec)
  local stdout, stderr = spec.stdout, spec.stderr
  if not stdout then stdout, stderr = M.logs(spec.paths) end
  local out = {}
  local function add(s) out[#out + 1] = s end
  local function str(s) return "<string>" .. M.xml_escape(s) .. "</string>" end
  local function key(k) return "\t<key>" .. k .. "</key>" end
  add('<?xml version="1.0" encoding="UTF-8"?>')
  add('<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">')
  -- (No comment in the file: a path may contain "--", which XML forbids there.)
  add('<plist version="1.0">')
  add("<dict>")
  add(key("Label"))
  add("\t" .. str(spec.label or M.LABEL))
  add(key("ProgramArguments"))
  add("\t<array>")
  for _, a in ipairs(spec.argv) do add("\t\t" .. str(a)) end
  add("\t</array>")
  add(key("EnvironmentVariables"))
  add("\t<dict>")
  for _, nv in ipairs(spec.env) do
    add("\t\t<key>" .. M.xml_escape(nv[1]) .. "</key>")
    add("\t\t" .. str(nv[2]))
  end
  add("\t</dict>")
  add(key("RunAtLoad"))
  add("\t<true/>")
  add(key("KeepAlive"))
  add("\t<dict>")
  add("\t\t<key>SuccessfulExit</key>")
  add("\t\t<false/>")
  add("\t</dict>")
  add(key("ProcessType"))
  add("\t" .. str("Background"))
  add(key("ThrottleInterval"))
  add("\t<integer>" .. M.RESTART_SEC .. "</integer>")
  add(key("ExitTimeOut"))
  add("\t<integer>" .. M.TIMEOUT_STOP_SEC .. "</integer>")
  add(key("Umask"))
  add("\t<integer>63</integer>") -- 0077
  add(key("StandardOutPath"))
  add("\t" .. str(stdout))
  add(key("StandardErrorPath"))
  add("\t" .. str(stderr))
  add("</dict>")
  add("</plist>")
  return table.concat(out, "\n") .. "\n"
end

--- The ProgramArguments of an installed plist's text (nil if none).
function M.program_arguments(text)
  local array = text:match("<key>ProgramArguments</key>%s*<array>(.-)</array>")
  if not array then return nil end
  local argv = {}
  for s in array:gmatch("<string>(.-)</string>") do argv[#argv + 1] = M.xml_unescape(s) end
  return argv
end

-- == Commands ==

local function target(uid)
  return "gui/" .. tostring(uid)
end

local function service(uid)
  return target(uid) .. "/" .. M.LABEL
end

--- Commands that activate a freshly written plist. o: `reinstall`, `uid`,
-- `file` (the plist).
function M.install_commands(o)
  local cmds = {}
  if o.reinstall then
    cmds[#cmds + 1] = { argv = { "launchctl", "bootout", service(o.uid) }, ignore_failure = true }
  end
  cmds[#cmds + 1] = { argv = { "launchctl", "enable", service(o.uid) } }
  -- bootout returns before the old job is gone; bootstrap may need a retry.
  cmds[#cmds + 1] = { argv = { "launchctl", "bootstrap", target(o.uid), o.file }, retries = o.reinstall and 5 or 0 }
  return cmds
end

function M.uninstall_commands(o)
  return { { argv = { "launchctl", "bootout", service(o.uid) }, ignore_failure = true } }, {}
end

function M.uninstall_files()
  return {}
end

function M.restart_commands(o)
  return { { argv = { "launchctl", "kickstart", "-k", service(o.uid) } } }
end

function M.state_command(o)
  return { "launchctl", "print", service(o.uid) }
end

--- `launchctl print gui/<uid>/<label>` output to a manager-state table.
function M.parse_state(text)
  text = text or ""
  local state = { platform = "launchd", properties = {} }
  local s = text:match("\n%s*state = ([^\n]+)")
  state.properties.state = s
  state.properties.pid = text:match("\n%s*pid = (%d+)")
  state.properties.last_exit_code = text:match("\n%s*last exit code = ([^\n]+)")
  state.properties.runs = text:match("\n%s*runs = (%d+)")
  state.active = s == "running"
  state.state = s or "unknown"
  state.pid = tonumber(state.properties.pid)
  return state
end

function M.unknown_state(code)
  return { platform = "launchd", active = false, state = "not loaded (launchctl print exit " .. tostring(code) .. ")" }
end

--- Lines for the installer's report. o: `paths`.
function M.install_notes(o)
  local out, err = M.logs(o.paths)
  return { string.format("  launchd logs: %s, %s", out, err) }
end

function M.command_failed_hint(o)
  local _, err = M.logs(o.paths)
  return string.format("The files are written; see `launchctl print %s` and %s, then run databricks-oauth-install "
    .. "again.", service(o.uid), err)
end

return M
