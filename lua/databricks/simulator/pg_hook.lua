-- The PostgreSQL hook: when settings have `pg = {admin = argv, password_from}`
-- every issued Lakebase credential (or workspace access token) becomes the
-- password of a LOGIN role named after the caller, set by running the admin
-- argv plus `-c <SQL>`. Each argv element is shell-quoted; the password never
-- goes into the recorded runs or the simulator's log.
local util = require "databricks.simulator.util"

local M = {}

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.quote_ident(name)
  return '"' .. name:gsub('"', '""') .. '"'
end

-- An escape-string literal: right whatever standard_conforming_strings says.
function M.quote_literal(s)
  return "E'" .. s:gsub("\\", "\\\\"):gsub("'", "''") .. "'"
end

-- The SQL that creates the role when missing and sets its password.
function M.sql(role, password, tag)
  local ident = M.quote_ident(role)
  tag = tag or ("$sim" .. util.hex(8) .. "$")
  return table.concat({
    "DO ", tag, " BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ",
    M.quote_literal(role), ") THEN CREATE ROLE ", ident, " LOGIN; END IF; END ", tag, "; ",
    "ALTER ROLE ", ident, " WITH LOGIN PASSWORD ", M.quote_literal(password), ";",
  })
end

-- Runs the hook for `role` with `password`. Returns true, or nil and a
-- message. Records the run in state.pg_runs either way.
function M.run(state, role, password, kind)
  local pg = state.config.pg
  if not pg then return true end
  if (pg.password_from or "credential") ~= kind then return true end
  local tag = "$sim" .. util.hex(8) .. "$"
  local sql = M.sql(role, password, tag)
  local argv = {}
  for i, a in ipairs(pg.admin) do argv[i] = tostring(a) end
  argv[#argv + 1] = "-c"
  argv[#argv + 1] = sql
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = shell_quote(a) end
  local p = io.popen(table.concat(parts, " ") .. " 2>&1 </dev/null", "r")
  local output = p and p:read("a") or ""
  local ok, _, code = false, nil, -1
  if p then ok, _, code = p:close() end
  local redacted = {}
  for i, a in ipairs(argv) do redacted[i] = a end
  redacted[#redacted] = M.sql(role, "<redacted>", tag)
  output = output:gsub(password:gsub("%p", "%%%0"), "<redacted>"):sub(1, 4000)
  state.pg_runs[#state.pg_runs + 1] = {
    role = role, kind = kind, argv = redacted, ok = ok == true, code = code,
    output = output, time = state:now(),
  }
  if ok ~= true then
    return nil, string.format("pg hook for role %s exited with %s: %s", role, tostring(code), output)
  end
  return true
end

return M
