-- The C-level unit tests of the core's pure functions: spec/c/test_units.c
-- (time parsers, back-off, token freshness, hosts, HTTP paths, base64url,
-- redaction, INI, the sign-in callback parser, User-Agent rules) and
-- spec/c/test_rows.c (typed values against strtod bit for bit, integer
-- bounds, result chunks cut into batches).
local h = require "support.helpers"

local function run(name)
  local bin = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/tests/" .. name
  local r = h.run({ bin })
  assert.are.equal(0, r.code, r.stdout .. r.stderr)
  assert.matches("%d+ checks, 0 failed", r.stdout)
end

describe("core C units", function()
  it("pass every check (build/tests/test_units)", function()
    run("test_units")
  end)

  it("typed values and chunk batches pass every check (build/tests/test_rows)", function()
    run("test_rows")
  end)
end)
