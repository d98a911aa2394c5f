--- libpq password files (`.pgpass`): replace one entry safely, look one up.
--
-- The format is libpq's: lines `host:port:database:username:password`, a
-- backslash escapes the next character in every field, `#` lines are
-- comments, a key field that is exactly `*` matches anything, and the first
-- matching line wins. The work is done in C (`databricks.core`); this module
-- checks argument shapes.
--
-- Which file: `path` when given, else `$PGPASSFILE` when set and not empty,
-- else `$HOME/.pgpass` (the same rule as libpq). A symbolic link is followed:
-- its target is updated and the link stays.
--
-- Failures never raise for bad values or I/O trouble: they return `nil, err`
-- where `err.kind` is `"config"` (bad input, or a target we refuse), `"io"`
-- or `"timeout"` (the lock), and `err.message` names the file, the operation
-- and what to do. No message ever contains a password. Wrong argument types
-- raise.
-- @module databricks.pgpass
local core = require "databricks.core"

local M = {}

local UPDATE_KEYS = {
  path = true, host = true, port = true, database = true, username = true, password = true,
  lock_timeout = true,
}
local LOOKUP_KEYS = { path = true, host = true, port = true, database = true, username = true }
local STRING_KEYS = { "path", "host", "database", "username", "password" }

local function config_error(message)
  return nil, core.error { kind = "config", message = message }
end

-- Raises for misuse (wrong types); returns nil, err for bad values.
local function check(fname, opts, allowed, required)
  if type(opts) ~= "table" then
    error(fname .. ": expected a table of options, got " .. type(opts), 3)
  end
  for _, k in ipairs(STRING_KEYS) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      error(string.format("%s: %s must be a string, got %s", fname, k, type(opts[k])), 3)
    end
  end
  local p = opts.port
  if p ~= nil and type(p) ~= "number" and type(p) ~= "string" then
    error(fname .. ": port must be a number or a string, got " .. type(p), 3)
  end
  if opts.lock_timeout ~= nil and type(opts.lock_timeout) ~= "number" then
    error(fname .. ": lock_timeout must be a number of seconds", 3)
  end
  local unknown = {}
  for k in pairs(opts) do
    if not allowed[k] then unknown[#unknown + 1] = tostring(k) end
  end
  if #unknown > 0 then
    table.sort(unknown)
    return config_error(string.format("%s: unknown option(s) %s", fname, table.concat(unknown, ", ")))
  end
  for _, k in ipairs(required) do
    if opts[k] == nil then
      return config_error(string.format("%s: %s is missing: give %s=", fname, k, k))
    end
  end
  return true
end

-- Ports as libpq compares them: decimal text. 5432.0 counts as 5432.
local function port_text(p)
  if p == nil then return "5432" end
  if math.type(p) == "float" and math.tointeger(p) then p = math.tointeger(p) end
  return tostring(p)
end

--- Sets the password of one entry, keeping every other byte of the file.
--
-- Only lines holding the same host, port, database and username (compared
-- after unescaping; a `*` field is the same only as a `*` field) are
-- touched: the first gets the new password in place (keeping its own line
-- end), later duplicates are removed. Without one, the new line goes
-- directly above the first wildcard line that would otherwise answer for it,
-- else at the end (a line end is added first when the file lacked a final
-- newline). New lines end in CRLF when the file's first line does, else LF.
-- Comments, blank lines, other entries, their order, CRLF line ends, bytes
-- that are not UTF-8 and lines that do not parse are kept byte for byte.
--
-- When the entry already holds this password the file is not rewritten
-- (`action = "unchanged"`, `written = false`), unless duplicates are to be
-- removed or its mode has to be fixed.
--
-- Safety: an exclusive lock on `<file>.lock` (waits at most `lock_timeout`
-- seconds, default 10, then fails with a `timeout` error) serialises
-- writers; the new contents go to a 0600 temp file `<file>.tmp.<pid>.<n>` in
-- the same folder, which is synced and renamed over the file, and the folder
-- is synced. A missing file is created 0600 (and a missing folder 0700). The
-- file we write is always 0600: an existing file with group/other
-- permissions (which libpq ignores) is rewritten 0600 and reported with
-- `mode_fixed = true`. Refused, with the file left untouched: a target that
-- is not a regular file (folder, FIFO, ...) or is owned by another user.
-- Temp files left by a crashed writer are removed.
--
-- @tparam table opts
--   `host`, `database`, `username`, `password` (non-empty strings without
--   CR/LF; a key field `"*"` writes libpq's wildcard),
--   `port` (1-65535 or `"*"`, number or string; default 5432),
--   `path` (optional, see the module doc), `lock_timeout` (seconds, optional)
-- @treturn table report: `path` (the file written, symlinks resolved),
--   `action` (`"created"`, `"appended"`, `"inserted"`, `"replaced"` or
--   `"unchanged"`), `removed_duplicates`, `line` (1-based line of the entry),
--   `written` (the file was replaced), `mode_fixed`, `previous_mode` (permission
--   bits before, when the file existed), `stale_removed` (leftover temp files
--   removed), `shadowed_by` (only when an earlier wildcard line answers for the
--   entry libpq-side: its line number; the entry was still updated in place)
-- @return or nil and an error table
function M.update(opts)
  local ok, err = check("pgpass.update", opts, UPDATE_KEYS, { "host", "database", "username", "password" })
  if not ok then return nil, err end
  return core.pgpass_update(opts.path, opts.host, port_text(opts.port), opts.database,
    opts.username, opts.password, opts.lock_timeout)
end

--- Looks up a password the way libpq does (first matching line; `*` key
-- fields match anything; escapes removed).
--
-- The key is literal connection parameters, as libpq receives them (so
-- `host = "*"` matches a `*` line or an escaped `\*` host, nothing else).
-- libpq's permission check is not applied: this reports what the file says.
-- @tparam table opts `host`, `database`, `username` (strings), `port`
--   (default 5432), `path` (optional, see the module doc)
-- @treturn ?string the password, or nil when no line matches or the file
--   does not exist
-- @return or nil and an error table (unreadable file, not a regular file)
function M.lookup(opts)
  local ok, err = check("pgpass.lookup", opts, LOOKUP_KEYS, { "host", "database", "username" })
  if not ok then return nil, err end
  return core.pgpass_lookup(opts.path, opts.host, port_text(opts.port), opts.database, opts.username)
end

--- Escapes a value for any `.pgpass` field so libpq reads back exactly it:
-- `\` and `:` get a backslash, as do a value that is exactly `*` (else it
-- would be the wildcard) and a leading `#` (else a host would start a
-- comment).
-- @tparam string s
-- @treturn string
function M.escape(s)
  if type(s) ~= "string" then error("pgpass.escape: expected a string, got " .. type(s), 2) end
  return core.pgpass_escape(s)
end

--- The file used when no path is given: `$PGPASSFILE`, else `$HOME/.pgpass`.
-- @treturn string path
-- @return or nil and an error table
function M.default_path()
  return core.pgpass_default_path()
end

return M
