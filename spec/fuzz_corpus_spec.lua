-- The fuzz drivers without libFuzzer: every driver fuzz/fuzz_NAME.c has a
-- replay twin built by the normal build (spec/c/fuzz_NAME_corpus.c ->
-- build/tests/fuzz_NAME_corpus) and a committed seed corpus
-- (fuzz/corpus/NAME/), and every seed passes the driver's checks. The seeds
-- include the inputs that found the bugs fixed so far, so this is also their
-- regression test (under `make check-asan` the same binaries run with
-- AddressSanitizer, which is what sees the over-reads among them).
local h = require "support.helpers"

local BUILD = os.getenv("DBX_BUILD") or "build"

local function ls(dir, pattern)
  local code, out = h.sh("ls -1 " .. h.quote(dir))
  local names = {}
  if code ~= 0 then return names end
  for name in out:gmatch("[^\n]+") do
    if not pattern or name:match(pattern) then names[#names + 1] = name end
  end
  return names
end

local drivers = {}
for _, f in ipairs(ls(h.root .. "/fuzz", "^fuzz_.+%.c$")) do
  drivers[#drivers + 1] = f:match("^fuzz_(.+)%.c$")
end

describe("fuzz corpus replay", function()
  it("has a driver for every parser of outside input", function()
    local want = { "pgpass", "userlist", "jwt", "hostname", "ini", "timeutil", "loopback", "token", "httperr",
                   "redact", "cliexpiry", "errshape", "chunk", "manifest" }
    local have = {}
    for _, d in ipairs(drivers) do have[d] = true end
    for _, d in ipairs(want) do assert.is_true(have[d], "fuzz/fuzz_" .. d .. ".c is missing") end
  end)

  for _, name in ipairs(drivers) do
    it("replays fuzz/corpus/" .. name .. " through fuzz_" .. name .. "'s checks", function()
      local corpus = h.root .. "/fuzz/corpus/" .. name
      local seeds = #ls(corpus)
      assert.is_true(seeds >= 5, "fuzz/corpus/" .. name .. " needs seeds (has " .. seeds .. ")")
      assert.is_true(h.exists(h.root .. "/spec/c/fuzz_" .. name .. "_corpus.c"),
        "spec/c/fuzz_" .. name .. "_corpus.c (the replay twin) is missing")
      local bin = h.root .. "/" .. BUILD .. "/tests/fuzz_" .. name .. "_corpus"
      local r = h.run({ bin, corpus }, { timeout = 60 })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.are.equal(seeds, tonumber(r.stdout:match("^(%d+) inputs ok")), r.stdout)
    end)
  end
end)
