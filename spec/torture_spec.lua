-- The torture runs of `make torture` (spec/torture/run.sh) at tiny counts,
-- so CI exercises the same checks on every change: kill -9 during rotation,
-- concurrent rotators for different users (read back by libpq through psql)
-- wall-clock jumps under the daemon, and one agent with many targets half
-- of which are slow or refused (more than 4 of them: no fixed pool of
-- workers may let them starve the healthy ones). About 15 s; `make torture` runs 1000 kills,
-- 8 writers x 100 rounds, 10 jumps and 20 targets x 100 rounds.
local h = require "support.helpers"

describe("torture (small counts)", function()
  it("kill -9, concurrent writers, clock jumps and many targets lose nothing and fail nothing", function()
    local r = h.run({ h.root .. "/spec/torture/run.sh" }, {
      cwd = h.root, timeout = 240,
      env = { TORTURE_KILLS = "40", TORTURE_WRITERS = "3", TORTURE_ROUNDS = "4", TORTURE_JUMPS = "2",
              TORTURE_TARGETS = "12", TORTURE_AGENT_ROUNDS = "3", TORTURE_AGENT_LIMIT = "5" },
    })
    local out = r.stdout .. r.stderr
    assert.are.equal(0, r.code, out)
    assert.matches("kill %-9 during rotation: 40 kills, 0 failures", out)
    assert.matches("concurrent writers: 3 writers x 4 rounds = 12 rotations, 0 failures; entries 3/3, lookups 3/3", out)
    assert.matches("clock jump: 2 jumps of 2 h, 0 failures", out)
    assert.matches("agent: 12 targets x 3 rounds, 0 failures;", out)
    assert.matches("torture: total: 0 failures", out)
  end)
end)
