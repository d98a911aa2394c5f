-- The man pages (man/*.1) and the bash completion
-- (completion/databricks-oauth.bash) are generated from the programs'
-- --help texts, and so from the rotator's option table: the committed files
-- must be current, groff must read every page without a warning, and the
-- completion must complete what the programs take.
local h = require "support.helpers"
local options = require "databricks.rotator.options"
local helptext = require "databricks.cli.helptext"

local function bash_complete(words)
  -- COMP_WORDS as bash would split the line; the last word is the one
  -- being completed.
  local quoted = {}
  for i, w in ipairs(words) do quoted[i] = h.quote(w) end
  local script = string.format([[
. %s
COMP_WORDS=(%s)
COMP_CWORD=%d
_dbx_complete %s
printf '%%s\n' "${COMPREPLY[@]}"
]], h.quote(h.root .. "/completion/databricks-oauth.bash"), table.concat(quoted, " "), #words - 1, h.quote(words[1]))
  local r = h.run({ "bash", "-c", script })
  assert.are.equal(0, r.code, r.stderr)
  local out = {}
  for line in r.stdout:gmatch("[^\n]+") do out[#out + 1] = line end
  table.sort(out)
  return out
end

describe("generated man pages and completion", function()
  teardown(function() h.cleanup() end)

  it("are current: make man writes exactly what is committed", function()
    local r = h.run({ h.lua, h.root .. "/man/generate.lua", "--check" })
    assert.are.equal(0, r.code, r.stderr)
  end)

  it("are read by groff without a warning, one page per program", function()
    for _, p in ipairs(helptext.PROGRAMS) do
      local page = h.root .. "/man/" .. p[1] .. ".1"
      assert.is_true(h.exists(page), page)
      local r = h.run({ "groff", "-man", "-Tutf8", "-ww", "-z", page })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.stderr, page)
    end
  end)

  it("document every option of the rotator's table", function()
    local page = h.read_file(h.root .. "/man/databricks-oauth-rotator.1")
    local n = 0
    for _, row in ipairs(options.ROWS) do
      if row.flag and not row.hidden and (not row.programs or row.programs.rotator) then
        assert.is_truthy(page:find("\\fB" .. ("--" .. row.flag):gsub("%-", "\\-") .. "\\fR", 1, true), row.flag)
        n = n + 1
      end
    end
    assert.is_true(n > 20)
  end)

  it("complete option names, choices, output kinds and paths", function()
    assert.are.same({ "--auth" }, bash_complete({ "databricks-oauth-rotator", "--au" }))
    assert.are.same({ "cli", "m2m", "oidc", "u2m" }, bash_complete({ "databricks-oauth-rotator", "--auth", "" }))
    assert.are.same({ "env:", "json:", "pgbouncer:", "pgpass:" },
      bash_complete({ "databricks-oauth-rotator", "--output", "" }))
    local dir = h.tmpdir("completion")
    h.write_file(dir .. "/userlist.txt", "", 384)
    assert.are.same({ "pgbouncer:" .. dir .. "/userlist.txt" },
      bash_complete({ "databricks-oauth-install", "--output", "pgbouncer:" .. dir .. "/user" }))
    assert.are.same({ dir .. "/userlist.txt" }, bash_complete({ "databricks-oauth-rotator", "--config", dir .. "/u" }))
    assert.are.same({ "launchd", "systemd" }, bash_complete({ "databricks-oauth-status", "--platform", "" }))
    assert.are.same({}, bash_complete({ "databricks-oauth-rotator", "--pg-port", "" }))
    assert.are.same({ "--no-browser" }, bash_complete({ "databricks-oauth-login", "--no-b" }))
  end)
end)
