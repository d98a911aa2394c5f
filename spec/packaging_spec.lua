-- Packaging: the rockspecs list every script and lint cleanly; a LuaRocks
-- install into a temporary tree gives every Lua module, the C core, working
-- scripts, man pages and the completion, usable through `luarocks path` as
-- the README says, and leaves the source tree exactly as it was.
local h = require "support.helpers"

local ROCKSPECS = { "rockspec/lua-databricks-scm-1.rockspec", "rockspec/lua-databricks-0.1.0-1.rockspec" }

local function load_rockspec(path)
  local env = {}
  local chunk = assert(loadfile(h.root .. "/" .. path, "t", env))
  chunk()
  return env
end

local function ls(pattern)
  local _, out = h.sh("cd " .. h.quote(h.root) .. " && ls " .. pattern)
  local files = {}
  for f in out:gmatch("[^\n]+") do files[#files + 1] = f end
  table.sort(files)
  return files
end

describe("rockspecs", function()
  for _, path in ipairs(ROCKSPECS) do
    describe(path, function()
      local spec = load_rockspec(path)

      it("builds through rockspec/rock.mk, in one install pass with LuaRocks' variables", function()
        assert.are.equal("make", spec.build.type)
        assert.are.equal("rockspec/rock.mk", spec.build.makefile)
        assert.is_false(spec.build.build_pass)
        for _, v in ipairs({ "CC", "CFLAGS", "LIBFLAG", "LUA_INCDIR", "INST_LIBDIR", "INST_LUADIR" }) do
          assert.is_string(spec.build.install_variables[v], v)
        end
      end)

      it("installs every script under bin/", function()
        local want = {}
        for _, f in ipairs(ls("bin/")) do want[f] = "bin/" .. f end
        assert.are.same(want, spec.build.install.bin)
      end)

      it("declares curl and OpenSSL as external dependencies", function()
        assert.is_table(spec.external_dependencies.CURL)
        assert.is_table(spec.external_dependencies.OPENSSL)
      end)

      it("passes luarocks lint", function()
        local r = h.run({ "luarocks", "--lua-version=5.4", "lint", h.root .. "/" .. path })
        assert.are.equal(0, r.code, r.stdout .. r.stderr)
      end)
    end)
  end

  it("versions agree: core, rockspec, CHANGELOG", function()
    local databricks = require "databricks"
    local spec = load_rockspec(ROCKSPECS[2])
    assert.are.equal(databricks.VERSION .. "-1", spec.version)
    local changelog = h.read_file(h.root .. "/CHANGELOG.md")
    if changelog then assert.matches("## %[?" .. databricks.VERSION:gsub("%.", "%%."), changelog) end
  end)
end)

describe("luarocks make", function()
  local tree, copy

  setup(function()
    copy = h.tmpdir("rock-src")
    tree = h.tmpdir("rock-tree")
    -- Build from a copy of the tracked files so the checkout stays clean.
    assert(os.execute(string.format("cd %s && git ls-files -z | xargs -0 -I{} cp --parents {} %s",
      h.quote(h.root), h.quote(copy))))
  end)

  it("installs the module and working scripts into a temporary tree", function()
    local _, before = h.sh("cd " .. h.quote(copy) .. " && find . -type f | sort")
    local r = h.run({ "luarocks", "--lua-version=5.4", "make", "--deps-mode=none", "--tree", tree,
                      "rockspec/lua-databricks-scm-1.rockspec" }, { cwd = copy, timeout = 300 })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.is_true(h.exists(tree .. "/lib/lua/5.4/databricks/core.so"))
    assert.is_true(h.exists(tree .. "/lib/lua/5.4/databricks/core_impl.so"))
    local v = h.run({ tree .. "/bin/databricks-oauth-rotator", "--version" }, { cwd = "/" })
    assert.are.equal(0, v.code, v.stderr)
    assert.matches("^databricks%-oauth%-rotator 0%.1%.0", v.stdout)
    local help = h.run({ tree .. "/bin/databricks-oauth-rotator", "--help" }, { cwd = "/" })
    assert.are.equal(0, help.code)
    assert.matches("%-%-workspace%-url", help.stdout)
    -- Nothing was written into the source tree (no .o, no module).
    local _, after = h.sh("cd " .. h.quote(copy) .. " && find . -type f | sort")
    assert.are.equal(before, after, "luarocks make left build products in the source tree")
    -- Every Lua module is installed, precompiled (rockspec/precompile.lua:
    -- no parsing at each start).
    local _, mods = h.sh("cd " .. h.quote(h.root) .. " && find lua -name '*.lua' | sort")
    for f in mods:gmatch("[^\n]+") do
      local installed = tree .. "/share/lua/5.4/" .. f:gsub("^lua/", "")
      assert.is_true(h.exists(installed), f)
      assert.are.equal("\27Lua", (h.read_file(installed) or ""):sub(1, 4), f .. " is not precompiled")
    end
    -- Library use from the tree, as the README says.
    local use = h.run({ "bash", "-c", string.format([[eval "$(luarocks --lua-version=5.4 path --tree %s)" && ]]
      .. [[lua5.4 -e 'print(require("databricks").VERSION, require("databricks.core").VERSION)']], h.quote(tree)) },
      { cwd = "/" })
    assert.are.equal(0, use.code, use.stderr)
    assert.matches("^0%.1%.0\t0%.1%.0\n$", use.stdout)
    local rock = tree .. "/lib/luarocks/rocks-5.4/lua-databricks/scm-1"
    assert.is_true(h.exists(rock .. "/man/databricks-oauth-rotator.1"), "the man pages are installed")
    assert.is_true(h.exists(rock .. "/completion/databricks-oauth.bash"), "the completion is installed")
    local sim = h.run({ tree .. "/bin/databricks-simulator", "--help" }, { cwd = "/" })
    assert.are.equal(0, sim.code, sim.stderr)
    assert.matches("^Usage: databricks%-simulator", sim.stdout)
  end)
end)

describe("bin scripts from the checkout", function()
  it("run from any working directory", function()
    local r = h.run({ h.root .. "/bin/databricks-oauth-rotator", "--version" }, { cwd = "/" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("0%.1%.0", r.stdout)
    local rel = h.run({ "../bin/databricks-oauth-rotator", "--version" }, { cwd = h.root .. "/lua" })
    assert.are.equal(0, rel.code, rel.stderr)
  end)

  it("reject unknown options with exit 2 and a pointer to --help", function()
    local r = h.run({ h.root .. "/bin/databricks-oauth-rotator", "--frobnicate" })
    assert.are.equal(2, r.code)
    assert.matches("unknown option '%-%-frobnicate'", r.stderr)
    assert.matches("%-%-help", r.stderr)
  end)
end)
