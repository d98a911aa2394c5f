-- The C-level unit tests of the core's pure functions (spec/c/test_units.c):
-- time parsers, back-off, token freshness, hosts, HTTP paths, base64url,
-- redaction, INI, the sign-in callback parser, User-Agent rules.
local h = require "support.helpers"

describe("core C units", function()
  it("pass every check (build/tests/test_units)", function()
    local bin = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/tests/test_units"
    local r = h.run({ bin })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.matches("%d+ checks, 0 failed", r.stdout)
  end)
end)
