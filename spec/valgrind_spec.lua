-- Leaks and memory errors at the C level, in CI: the C test binaries
-- (build/tests/test_units, test_pgpass) and the fuzz drivers' corpus replays
-- run under valgrind memcheck through spec/support/check_valgrind.sh (its C
-- half; `make valgrind` also runs the C-heavy specs in-process under
-- valgrind). About 10 s. Skipped without valgrind, and in the ASan run
-- (valgrind cannot run AddressSanitizer binaries; `make test` covers it).
local h = require "support.helpers"

local function has_valgrind()
  return h.sh("command -v valgrind") == 0
end

describe("valgrind", function()
  it("finds no memory error and no definite leak in the C test binaries and corpus replays", function()
    local build = os.getenv("DBX_BUILD") or "build"
    if build ~= "build" then
      pending("valgrind runs against the normal build, not " .. build)
      return
    end
    if not has_valgrind() then
      pending("valgrind is not installed (spec/support/deps.sh asan)")
      return
    end
    local r = h.run({ h.root .. "/spec/support/check_valgrind.sh" }, {
      cwd = h.root, timeout = 300, env = { DBX_VALGRIND_SPECS = "0" },
    })
    local out = r.stdout .. r.stderr
    assert.are.equal(0, r.code, out)
    for _, bin in ipairs({ "test_units", "test_pgpass", "fuzz_pgpass_corpus", "fuzz_token_corpus" }) do
      assert.matches("ok   " .. bin .. " %(0 errors, 0 bytes definitely lost", out)
    end
    assert.matches("no memory error, no definite leak", out)
  end)
end)
