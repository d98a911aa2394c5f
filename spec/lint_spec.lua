-- Static checks that keep the tree honest: luacheck over every Lua file.
local h = require "support.helpers"

describe("lint", function()
  it("luacheck finds nothing in lua/ bin/ spec/ examples/ bench/", function()
    local dirs = {}
    for _, d in ipairs({ "lua", "bin", "spec", "examples", "bench" }) do
      if h.exists(h.root .. "/" .. d) then dirs[#dirs + 1] = d end
    end
    local argv = { "luacheck", "--no-color", "--formatter", "plain" }
    for _, d in ipairs(dirs) do argv[#argv + 1] = d end
    local r = h.run(argv, { cwd = h.root, timeout = 120 })
    assert.are.equal(0, r.code, "luacheck reported:\n" .. r.stdout .. r.stderr)
  end)
end)
