-- A short libFuzzer run of every driver in fuzz/ (10 seconds each, two at a
-- time on two CPUs: about a minute), so CI fuzzes on every change; `make
-- fuzz` runs the same drivers for longer. It needs clang and its libFuzzer
-- runtime (spec/support/deps.sh fuzz) and is skipped without them.
--
-- The run starts from the committed seeds (it reads every one of them
-- through the AddressSanitizer build first, so the inputs of bugs fixed so
-- far are checked with ASan here too) and keeps new inputs in a temp folder,
-- not in the checkout.
local h = require "support.helpers"

local SECONDS = "10"

local function has_libfuzzer()
  local code, out = h.sh("clang -print-file-name=libclang_rt.fuzzer-x86_64.a")
  if code ~= 0 then return false end
  local path = out:gsub("%s+$", "")
  return path:sub(1, 1) == "/" and h.exists(path)
end

describe("fuzzing (short libFuzzer run)", function()
  after_each(function() h.cleanup() end)

  it("finds no crash in any driver in " .. SECONDS .. " seconds each", function()
    if not has_libfuzzer() then
      pending("clang's libFuzzer runtime is not installed (spec/support/deps.sh fuzz)")
      return
    end
    local work = h.tmpdir("fuzz-work")
    local r = h.run({ h.root .. "/fuzz/run.sh" }, {
      cwd = h.root, timeout = 600,
      env = { FUZZ_SECONDS = SECONDS, FUZZ_WORK = work },
    })
    local report = r.stdout .. r.stderr
    assert.are.equal(0, r.code, report)
    assert.matches("no crash", r.stdout)
    local drivers = 0
    for line in r.stdout:gmatch("[^\n]+") do
      local name, runs, result = line:match("^(%w+)%s+(%d+)%s+%S+%s+%S+%s+%S+%s+%S+%s+(%S+)$")
      if name then
        drivers = drivers + 1
        assert.are.equal("ok", result, line)
        assert.is_true(tonumber(runs) > 100, "fuzz_" .. name .. " hardly ran: " .. line)
      end
    end
    assert.is_true(drivers >= 9, "expected a line per driver:\n" .. report)
  end)
end)
