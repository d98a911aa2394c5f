-- `make demo` (the README's first command) works: the rotator against the
-- simulator and a throw-away PostgreSQL, then psql logging in twice.
local h = require "support.helpers"

describe("make demo", function()
  it("rotates twice and logs in with psql each time", function()
    local r = h.run({ "lua5.4", h.root .. "/examples/demo.lua" }, { timeout = 120,
      env = { DBX_BUILD = os.getenv("DBX_BUILD") } })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local _, logins = r.stdout:gsub("%-> current_user = [%x%-]+", "")
    assert.are.equal(2, logins)
    assert.matches("Done: the Lakebase credential was rotated twice", r.stdout)
    assert.matches("localhost:5432:mydb:me:my%-own%-password", r.stdout, 1, false)
  end)
end)
