--- Pieces shared by the command-line front ends: start-up (argument
-- parsing, --help, --version, process hardening), usage errors (text, or a
-- JSON object with --json), JSON output.
-- @module databricks.cli.common
local cjson = require "cjson.safe"
local core = require "databricks.core"
local args = require "databricks.cli.args"

local M = {}

local function wants_json(opts, argv)
  if opts then return opts.json == true end
  for _, a in ipairs(argv or {}) do
    if a == "--json" then return true end
  end
  return false
end

--- Prints a usage/configuration error and returns exit code 2. With
-- --json (`opts.json`, or `--json` anywhere in `argv` when parsing itself
-- failed) it prints `{"error": {"kind": "usage", "message": ...}}` on
-- stdout instead.
function M.usage(message, opts, argv)
  message = core.redact(message)
  if wants_json(opts, argv) then
    io.stdout:write(cjson.encode({ error = { kind = "usage", message = message } }), "\n")
  else
    io.stderr:write(message, "\n")
  end
  return 2
end

--- Parses argv for `program` and answers --help/-h and --version. Our
-- programs hold secrets in memory, so they never dump core (the library
-- alone never changes that for a host application). `help` is the text or
-- a function returning it. Returns the options and the positional
-- arguments, or nil and the exit code the command should return (0 after
-- help/version, 2 for a usage error, already reported).
function M.start(argv, spec, program, help)
  core.harden()
  local opts, rest = args.parse(argv or {}, spec, program)
  if not opts then return nil, M.usage(rest, nil, argv) end
  if opts.help then
    io.stdout:write(type(help) == "function" and help() or help)
    return nil, 0
  end
  if opts.version then
    io.stdout:write(program, " ", core.VERSION, " (", core.user_agent(), ")\n")
    return nil, 0
  end
  return opts, rest
end

--- JSON text of a report (one line).
function M.json(t)
  return (cjson.encode(t))
end

return M
