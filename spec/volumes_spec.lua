-- Files on Unity Catalog volumes (DESIGN.md §6): upload_file (from a path
-- or {data=}), download_file (a 0600 temp file beside the target, renamed
-- only when complete; nothing left behind on failure; an existing file is
-- never replaced without overwrite), file_info, delete_file,
-- create_directory, list_directory (page after page), per-segment path
-- encoding, progress, streaming in bounded memory.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

local SLOW = os.getenv("DBX_VALGRIND") and 20 or 1

-- Bytes that exercise a binary-safe path: every byte value, NULs included.
local function binary(n)
  local parts, all = {}, {}
  for i = 0, 255 do all[#all + 1] = string.char(i) end
  local block = table.concat(all)
  for i = 1, n // 256 do parts[i] = block end
  return table.concat(parts) .. block:sub(1, n % 256)
end

local function listing(dir)
  local _, out = h.sh("ls -A " .. h.quote(dir))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return names
end

describe("files on volumes", function()
  local sim, c, dir, vol

  setup(function()
    sim = Sim.start()
  end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file, retry_timeout = 3 })
    dir = h.tmpdir("volumes")
    vol = "/Volumes/" .. sim.volume:gsub("%.", "/")
  end)
  after_each(function() c:close() end)

  it("uploads a file from disk and downloads it back byte for byte, as 0600", function()
    local data = binary(3 * 1024 * 1024 + 17)
    h.write_file(dir .. "/in.bin", data)
    assert.is_true(assert(c:upload_file(vol .. "/data/in.bin", dir .. "/in.bin")))
    local put = sim:requests{ path = "^/api/2%.0/fs/files/", method = "PUT" }[1]
    assert.are.equal("overwrite=false", put.query)
    assert.are.equal("application/octet-stream", put.headers["content-type"])
    assert.are.equal("Bearer " .. sim.pat, put.headers.authorization)
    local r = assert(c:download_file(vol .. "/data/in.bin", dir .. "/out.bin"))
    assert.are.equal(#data, r.bytes)
    assert.is_true(r.last_modified > 1700000000)
    assert.are.equal(data, h.read_file(dir .. "/out.bin"))
    assert.are.equal(384, h.mode(dir .. "/out.bin"))
    assert.are.same({ "in.bin", "out.bin" }, listing(dir))
  end)

  it("uploads a Lua string; refuses to replace a file unless overwrite", function()
    assert(c:upload_file(vol .. "/s.txt", { data = "one" }))
    local ok, err = c:upload_file(vol .. "/s.txt", { data = "two" })
    assert.is_nil(ok)
    assert.are.equal("http", err.kind)
    assert.are.equal(409, err.status)
    assert.matches("overwrite", err.message)
    assert(c:upload_file(vol .. "/s.txt", { data = "two" }, { overwrite = true }))
    assert(c:download_file(vol .. "/s.txt", dir .. "/s.txt"))
    assert.are.equal("two", h.read_file(dir .. "/s.txt"))
    assert(c:upload_file(vol .. "/empty", { data = "" }))
    assert.are.equal(0, assert(c:download_file(vol .. "/empty", dir .. "/empty")).bytes)
    assert.are.equal("", h.read_file(dir .. "/empty"))
  end)

  it("percent-encodes every path segment and refuses paths that are not plain absolute paths", function()
    local name = vol .. "/dir with space/a%b#c?d&e=f+ü.txt"
    assert(c:upload_file(name, { data = "x" }))
    local put = sim:requests{ path = "^/api/2%.0/fs/files/", method = "PUT" }[1]
    assert.matches("/dir%%20with%%20space/a%%25b%%23c%%3Fd%%26e%%3Df%%2B%%C3%%BC%.txt$", put.path)
    assert.are.equal("overwrite=false", put.query)
    assert.are.equal(1, assert(c:file_info(name)).size)
    for _, bad in ipairs({ "Volumes/x", vol .. "/../other", vol .. "//x", vol .. "/./x", vol .. "/a\nb", "" }) do
      local ok, err = c:upload_file(bad, { data = "x" })
      assert.is_nil(ok, bad)
      assert.are.equal("config", err.kind, bad)
    end
    assert.are.equal(1, #sim:requests{ path = "^/api/2%.0/fs/files/", method = "PUT" })
  end)

  it("file_info describes a file; a missing one is an http 404; delete_file removes it", function()
    assert(c:upload_file(vol .. "/info.bin", { data = string.rep("z", 1234) }))
    local info = assert(c:file_info(vol .. "/info.bin"))
    assert.are.equal(1234, info.size)
    assert.are.equal("application/octet-stream", info.content_type)
    assert.is_true(math.abs(info.last_modified - os.time()) < 120)
    assert.is_true(assert(c:delete_file(vol .. "/info.bin")))
    local none, err = c:file_info(vol .. "/info.bin")
    assert.is_nil(none)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    none, err = c:delete_file(vol .. "/info.bin")
    assert.is_nil(none)
    assert.are.equal(404, err.status)
  end)

  it("never replaces an existing local file unless overwrite", function()
    assert(c:upload_file(vol .. "/f", { data = "remote" }))
    h.write_file(dir .. "/f", "local")
    local ok, err = c:download_file(vol .. "/f", dir .. "/f")
    assert.is_nil(ok)
    assert.are.equal("io", err.kind)
    assert.matches("overwrite", err.message)
    assert.are.equal("local", h.read_file(dir .. "/f"))
    assert(c:download_file(vol .. "/f", dir .. "/f", { overwrite = true }))
    assert.are.equal("remote", h.read_file(dir .. "/f"))
    assert.are.same({ "f" }, listing(dir))
  end)

  it("an interrupted download leaves nothing behind and the old file as it was", function()
    assert(c:upload_file(vol .. "/big", { data = binary(2 * 1024 * 1024) }))
    h.write_file(dir .. "/big", "old contents")
    sim:fault{ path = "^/api/2%.0/fs/files/", method = "GET", action = "reset_mid_body", count = -1 }
    local ok, err = c:download_file(vol .. "/big", dir .. "/big", { overwrite = true })
    assert.is_nil(ok)
    assert.are.equal("network", err.kind, tostring(err))
    assert.are.equal("old contents", h.read_file(dir .. "/big"))
    assert.are.same({ "big" }, listing(dir))
    ok = c:download_file(vol .. "/big", dir .. "/new")
    assert.is_nil(ok)
    assert.are.same({ "big" }, listing(dir))
    -- a missing remote file: an http error, and nothing written
    sim:clear_faults()
    ok, err = c:download_file(vol .. "/nothing", dir .. "/nothing")
    assert.is_nil(ok)
    assert.are.equal(404, err.status)
    assert.are.same({ "big" }, listing(dir))
  end)

  it("reports progress in bytes, at most ~10 times a second, ending at the total", function()
    local data = binary(5 * 1024 * 1024)
    h.write_file(dir .. "/p.bin", data)
    for _, way in ipairs({ "upload", "download" }) do
      local calls = {}
      local t0 = h.now()
      local function on_progress(done, total) calls[#calls + 1] = { done, total } end
      if way == "upload" then
        assert(c:upload_file(vol .. "/p.bin", dir .. "/p.bin", { on_progress = on_progress }))
      else
        assert(c:download_file(vol .. "/p.bin", dir .. "/q.bin", { on_progress = on_progress }))
      end
      local elapsed = h.now() - t0
      assert.is_true(#calls >= 1, way)
      assert.are.same({ #data, #data }, calls[#calls], way)
      assert.is_true(#calls <= 2 + elapsed * 10, way .. ": " .. #calls .. " calls in " .. elapsed .. " s")
    end
    -- a callback error ends the transfer, leaving no file
    local ok, err = c:download_file(vol .. "/p.bin", dir .. "/r.bin", { on_progress = function() error("stop it") end })
    assert.is_nil(ok)
    assert.are.equal("io", err.kind)
    assert.matches("on_progress callback failed: .*stop it", err.message)
    assert.are.same({ "p.bin", "q.bin" }, listing(dir))
  end)

  it("reports a local file that cannot be read", function()
    local ok, err = c:upload_file(vol .. "/x", dir .. "/missing")
    assert.is_nil(ok)
    assert.are.equal("io", err.kind)
    assert.matches("missing", err.message)
    ok, err = c:upload_file(vol .. "/x", dir)
    assert.is_nil(ok)
    assert.matches("not a regular file", err.message)
    ok, err = c:download_file(vol .. "/x", dir .. "/no/such/dir/x")
    assert.is_nil(ok)
    assert.are.equal("io", err.kind)
  end)

  it("creates directories with their parents and lists them page after page", function()
    sim:config{ files_page_size = 2 }
    assert.is_true(assert(c:create_directory(vol .. "/tree/a/b")))
    for i = 1, 5 do assert(c:upload_file(string.format("%s/tree/f%d.txt", vol, i), { data = string.rep("x", i) })) end
    local seen = {}
    for e in c:list_directory(vol .. "/tree") do seen[#seen + 1] = e end
    assert.are.equal(6, #seen)
    assert.are.same({ path = vol .. "/tree/a", name = "a", is_directory = true,
                      last_modified = seen[1].last_modified }, seen[1])
    assert.are.equal("f3.txt", seen[4].name)
    assert.are.equal(3, seen[4].file_size)
    assert.is_false(seen[4].is_directory)
    assert.is_true(math.abs(seen[4].last_modified - os.time()) < 120)
    local gets = sim:requests{ path = "^/api/2%.0/fs/directories/", method = "GET" }
    assert.are.equal(3, #gets)
    assert.matches("page_token=", gets[2].query)
    local ok, err = pcall(function() for _ in c:list_directory(vol .. "/nope") do end end)
    assert.is_false(ok)
    assert.are.equal(404, err.status)
    ok, err = pcall(function() for _ in c:list_directory("relative") do end end)
    assert.is_false(ok)
    assert.are.equal("config", err.kind)
  end)

  it("streams a 64 MiB file up and down in bounded memory", function()
    local script = dir .. "/stream.lua"
    h.write_file(script, string.format([[
      local databricks = require "databricks"
      local c = assert(databricks.connect{ host = %q, token = %q, ca_bundle = %q })
      local f = assert(io.open(%q, "wb"))
      local block = string.rep("0123456789abcdef", 65536)
      for _ = 1, 64 do f:write(block) end
      f:close()
      block = nil
      collectgarbage()
      assert(c:upload_file(%q, %q))
      local r = assert(c:download_file(%q, %q))
      local status = io.open("/proc/self/status"):read("a")
      io.write(r.bytes, " ", status:match("VmHWM:%%s*(%%d+)"), "\n")
    ]], sim.url, sim.pat, sim.ca_file, dir .. "/big.bin", vol .. "/big.bin", dir .. "/big.bin", vol .. "/big.bin",
      dir .. "/copy.bin"))
    local r = h.run({ "lua5.4", script }, { timeout = 120, env = {
      LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
      LUA_CPATH = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" } })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local bytes, hwm = r.stdout:match("^(%d+) (%d+)")
    assert.are.equal(64 * 1024 * 1024, tonumber(bytes))
    assert.is_true(tonumber(hwm) < 40 * 1024, "peak RSS " .. hwm .. " KiB for a 64 MiB file")
    assert.is_true(os.execute("cmp -s " .. h.quote(dir .. "/big.bin") .. " " .. h.quote(dir .. "/copy.bin")))
  end)

  it("SIGTERM during a download ends it and leaves no partial file", function()
    assert(c:upload_file(vol .. "/slow", { data = binary(1024 * 1024) }))
    sim:fault{ path = "^/api/2%.0/fs/files/", method = "GET", action = "hang", count = -1 }
    local script = dir .. "/dl.lua"
    h.write_file(script, string.format([[
      local core = require "databricks.core"
      local databricks = require "databricks"
      assert(core.install_signals())
      local c = assert(databricks.connect{ host = %q, token = %q, ca_bundle = %q })
      local ok, err = c:download_file(%q, %q)
      io.write(tostring(ok), " ", err and err.kind or "-", "\n")
    ]], sim.url, sim.pat, sim.ca_file, vol .. "/slow", dir .. "/target/slow"))
    os.execute("mkdir -p " .. h.quote(dir .. "/target"))
    local pid = h.spawn({ "lua5.4", script }, { log = dir .. "/out.log", env = {
      LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
      LUA_CPATH = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" } })
    assert.is_true(h.wait_for(function() return #listing(dir .. "/target") > 0 end, 10 * SLOW),
      "the download never started")
    h.kill(pid, "TERM")
    assert.is_true(h.wait_for(function() return not h.alive(pid) end, 5 * SLOW))
    assert.matches("nil io", h.read_file(dir .. "/out.log"))
    assert.are.same({}, listing(dir .. "/target"))
  end)
end)
