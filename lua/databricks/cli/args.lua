--- Command-line parsing shared by the bin/ scripts.
-- GNU-style long options: `--name value`, `--name=value`, boolean flags.
-- Bad usage never raises: `parse` returns nil and a message naming the
-- option and pointing to --help; callers exit with status 2.
-- @module databricks.cli.args
local M = {}

--- Parses `argv` against `spec`, a map from option name (without dashes) to
-- `"string"`, `"number"`, `"flag"` or `"list"` (a repeatable string,
-- collected in order). `-h` is `--help` when the spec has `help`. Returns a
-- table of options (flags as true) and the list of positional arguments,
-- or nil and a message.
function M.parse(argv, spec, program)
  local opts, rest = {}, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
      break
    end
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w%-]+)$") end
    if a == "-h" and spec.help then name = "help" end
    if not name then
      if a:sub(1, 1) == "-" and #a > 1 then
        return nil, string.format("%s: unknown option '%s' (see %s --help)", program, a, program)
      end
      rest[#rest + 1] = a
    else
      local kind = spec[name]
      if not kind then
        return nil, string.format("%s: unknown option '--%s' (see %s --help)", program, name, program)
      end
      if kind == "flag" then
        if value then
          return nil, string.format("%s: option '--%s' takes no value", program, name)
        end
        opts[name] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then
            return nil, string.format("%s: option '--%s' needs a value", program, name)
          end
        end
        if kind == "number" then
          local n = tonumber(value)
          if not n then
            return nil, string.format("%s: option '--%s' needs a number (got '%s')", program, name, value)
          end
          value = n
        end
        if kind == "list" then
          opts[name] = opts[name] or {}
          table.insert(opts[name], value)
        else
          opts[name] = value
        end
      end
    end
    i = i + 1
  end
  return opts, rest
end

return M
