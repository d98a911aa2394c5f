-- databricks.pgpass: the .pgpass writer (DESIGN.md §5). Each preservation
-- rule has its own spec comparing whole files; a property loop checks
-- generated files against an independently computed expectation; real libpq
-- (psql against a throw-away PostgreSQL) has the last word on the format.
local helpers = require "support.helpers"
local PG = require "support.pg"
local pgpass = require "databricks.pgpass"

local q = helpers.quote
local ROOT = helpers.root
local BUILD = os.getenv("DBX_BUILD") or "build"
local SCALE = tonumber(os.getenv("DBX_SPEC_SCALE") or "1") or 1
local function octal(s) return tonumber(s, 8) end

local function read(path) return helpers.read_file(path) end
local function write(path, data) helpers.write_file(path, data, octal("600")) end

local function entry(host, database, username, password, port)
  return { host = host, port = port, database = database, username = username, password = password }
end

-- The line update writes for an entry (fields escaped, port as given).
local function canonical(e)
  return table.concat({ pgpass.escape(e.host), tostring(e.port or 5432), pgpass.escape(e.database),
    pgpass.escape(e.username), pgpass.escape(e.password) }, ":")
end

local function update(path, e, extra)
  local o = { path = path }
  for k, v in pairs(e) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return pgpass.update(o)
end

local function lookup(path, e)
  return pgpass.lookup { path = path, host = e.host, port = e.port, database = e.database, username = e.username }
end

local function is_root()
  local _, out = helpers.sh("id -u")
  return out:match("^0%s") ~= nil
end

-- Environment for a child lua5.4 that loads this checkout (and, in the ASan
-- run, the sanitizer runtime the module needs).
local function lua_env(extra)
  local env = {
    LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
    LUA_CPATH = ROOT .. "/" .. BUILD .. "/?.so;;",
    LD_PRELOAD = os.getenv("LD_PRELOAD"),
    ASAN_OPTIONS = os.getenv("ASAN_OPTIONS"),
    LSAN_OPTIONS = os.getenv("LSAN_OPTIONS"),
    UBSAN_OPTIONS = os.getenv("UBSAN_OPTIONS"),
  }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function run_lua(script, opts)
  opts = opts or {}
  local argv = { "lua5.4", "-e", script }
  if opts.umask then argv = { "sh", "-c", "umask " .. opts.umask .. " && exec lua5.4 -e \"$1\"", "sh", script } end
  return helpers.run(argv, { env = lua_env(opts.env), home = opts.home, timeout = opts.timeout or 60 })
end

local function inode(path)
  local _, out = helpers.sh("stat -c %i " .. q(path))
  return out
end

local function assert_no_temp_files(dir)
  local _, out = helpers.sh("ls -A " .. q(dir))
  assert.is_nil(out:match("%.tmp%.%d+%.%d+"), "temp file left in " .. dir .. ":\n" .. out)
end

-- An error table as the public API promises: kind, a message that names
-- the file when given, and never the password.
local function assert_error(err, kind, must_contain, password)
  assert.is_table(err)
  assert.equal(kind, err.kind, tostring(err.message))
  for _, s in ipairs(must_contain) do
    assert.truthy(err.message:find(s, 1, true), "message lacks '" .. s .. "': " .. err.message)
  end
  if password then assert.is_nil(tostring(err):find(password, 1, true)) end
end

local E = entry("db.example.com", "databricks_postgres", "me@example.com", "new-token", 5432)

describe("databricks.pgpass", function()
  local dir, file

  before_each(function()
    dir = helpers.tmpdir("pgpass")
    file = dir .. "/.pgpass"
  end)

  teardown(function() helpers.cleanup() end)

  describe("escape", function()
    it("puts a backslash before \\ and :, and leaves everything else", function()
      assert.equal("a\\:b\\\\c d*e", pgpass.escape("a:b\\c d*e"))
      assert.equal("", pgpass.escape(""))
      assert.equal("\xff\xfe", pgpass.escape("\xff\xfe"))
    end)

    it("escapes a whole-field * (else it is the wildcard) and a leading # (else a comment)", function()
      assert.equal("\\*", pgpass.escape("*"))
      assert.equal("**", pgpass.escape("**"))
      assert.equal("\\#h", pgpass.escape("#h"))
      assert.equal("h#", pgpass.escape("h#"))
    end)

    it("round-trips through lookup for generated fields with : \\ * # and spaces", function()
      math.randomseed(7)
      local pieces = { "a", "Z", "0", ":", "\\", "*", " ", "#", "-", "\xc3\xa9", "\xff" }
      local function gen()
        local t = {}
        for i = 1, math.random(1, 10) do t[i] = pieces[math.random(#pieces)] end
        return table.concat(t)
      end
      local lines, keys = {}, {}
      for i = 1, 200 * SCALE do
        local k = { host = gen(), database = gen(), username = gen(), password = gen() .. i }
        keys[i] = k
        lines[i] = table.concat({ pgpass.escape(k.host), "5432", pgpass.escape(k.database),
          pgpass.escape(k.username), pgpass.escape(k.password) }, ":")
      end
      write(file, table.concat(lines, "\n") .. "\n")
      for i, k in ipairs(keys) do
        -- The first line matching a key may be an earlier one with equal fields.
        local want
        for j = 1, i do
          local o = keys[j]
          if o.host == k.host and o.database == k.database and o.username == k.username then
            want = o.password
            break
          end
        end
        assert.equal(want, lookup(file, k), "line " .. i .. ": " .. lines[i])
      end
    end)

    it("raises on a non-string", function()
      assert.has_error(function() pgpass.escape(nil) end)
    end)
  end)

  describe("update keeps every other byte", function()
    it("keeps comments and blank lines around the replaced entry", function()
      local before = "# my databases\n\n#db.example.com:5432:databricks_postgres:me@example.com:commented\n"
        .. "db.example.com:5432:databricks_postgres:me@example.com:old\n\n# end\n"
      write(file, before)
      local r = assert(update(file, E))
      assert.equal("replaced", r.action)
      assert.equal(4, r.line)
      assert.equal(before:gsub(":old\n", ":new-token\n"), read(file))
    end)

    it("keeps the order of the other entries", function()
      local others = { "b:1:d:u:1", "a:2:d:u:2", "c:3:d:u:3" }
      write(file, others[1] .. "\n" .. canonical(entry(E.host, E.database, E.username, "old")) .. "\n"
        .. others[2] .. "\n" .. others[3] .. "\n")
      assert(update(file, E))
      assert.equal(others[1] .. "\n" .. canonical(E) .. "\n" .. others[2] .. "\n" .. others[3] .. "\n", read(file))
    end)

    it("keeps CRLF line ends, including the replaced line's own", function()
      write(file, "# c\r\n" .. canonical(entry(E.host, E.database, E.username, "old")) .. "\r\nx:1:d:u:p\r\n")
      assert(update(file, E))
      assert.equal("# c\r\n" .. canonical(E) .. "\r\nx:1:d:u:p\r\n", read(file))
    end)

    it("writes a new line with CRLF in a CRLF file", function()
      write(file, "# c\r\nx:1:d:u:p\r\n")
      assert.equal("appended", assert(update(file, E)).action)
      assert.equal("# c\r\nx:1:d:u:p\r\n" .. canonical(E) .. "\r\n", read(file))
    end)

    it("keeps a missing final newline when the last line is replaced", function()
      write(file, "x:1:d:u:p\n" .. canonical(entry(E.host, E.database, E.username, "old")))
      assert(update(file, E))
      assert.equal("x:1:d:u:p\n" .. canonical(E), read(file))
    end)

    it("adds a line end before appending to a file without a final newline", function()
      write(file, "# no newline\nx:1:d:u:p")
      local r = assert(update(file, E))
      assert.equal("appended", r.action)
      assert.equal(3, r.line)
      assert.equal("# no newline\nx:1:d:u:p\n" .. canonical(E) .. "\n", read(file))
    end)

    it("keeps bytes that are not UTF-8", function()
      local before = "# caf\xe9 \xff\xfe\nx:1:d:\xc3\x28:p\xe9\n"
        .. canonical(entry(E.host, E.database, E.username, "old")) .. "\n"
      write(file, before)
      assert(update(file, E))
      assert.equal("# caf\xe9 \xff\xfe\nx:1:d:\xc3\x28:p\xe9\n" .. canonical(E) .. "\n", read(file))
    end)

    it("keeps lines that do not parse, even ones that almost hold the entry", function()
      local junk = table.concat({
        "garbage", "   ", "db.example.com:5432:databricks_postgres:me@example.com",
        "db.example.com:5432:databricks_postgres:me@example.com\\",
        "db.example.com:5432:databricks_postgres:me@example.com:nul\0here",
      }, "\n") .. "\n"
      write(file, junk)
      local r = assert(update(file, E))
      assert.equal("appended", r.action)
      assert.equal(junk .. canonical(E) .. "\n", read(file))
    end)

    it("creates a missing file holding just the entry", function()
      local r = assert(update(file, E))
      assert.equal("created", r.action)
      assert.equal(1, r.line)
      assert.equal(canonical(E) .. "\n", read(file))
    end)
  end)

  describe("update matching", function()
    it("replaces the first same entry in place and removes later duplicates", function()
      local old = function(pw) return canonical(entry(E.host, E.database, E.username, pw)) end
      write(file, "a:1:d:u:p\n" .. old("one") .. "\nb:1:d:u:p\n" .. old("two") .. "\r\n# c\n" .. old("three"))
      local r = assert(update(file, E))
      assert.equal("replaced", r.action)
      assert.equal(2, r.removed_duplicates)
      assert.equal("a:1:d:u:p\n" .. canonical(E) .. "\nb:1:d:u:p\n# c\n", read(file))
    end)

    it("compares unescaped field values (needless escapes still match)", function()
      write(file, "db\\.example.com:5432:databricks\\_postgres:me\\@example.com:old\n")
      assert.equal("replaced", assert(update(file, E)).action)
      assert.equal(canonical(E) .. "\n", read(file))
    end)

    it("treats a * field as different from any literal value", function()
      local before = "*:5432:databricks_postgres:me@example.com:wild\n"
      write(file, before)
      local r = assert(update(file, entry("other.example.com", E.database, E.username, "pw")))
      assert.equal("inserted", r.action) -- above the wildcard, which is kept
      assert.equal(canonical(entry("other.example.com", E.database, E.username, "pw")) .. "\n" .. before, read(file))
    end)

    it("compares ports as text, as libpq does (05432 is another entry)", function()
      write(file, "db.example.com:05432:databricks_postgres:me@example.com:old\n")
      assert.equal("appended", assert(update(file, E)).action)
    end)

    it("writes wildcard entries when a key field is \"*\", replacing the same wildcard line", function()
      write(file, "*:*:databricks_postgres:me@example.com:old\n\\*:*:databricks_postgres:me@example.com:literal\n")
      local r = assert(pgpass.update { path = file, host = "*", port = "*", database = E.database,
        username = E.username, password = "new" })
      assert.equal("replaced", r.action)
      assert.equal("*:*:databricks_postgres:me@example.com:new\n\\*:*:databricks_postgres:me@example.com:literal\n",
        read(file))
    end)

    it("reports an unchanged password and leaves the file alone (same inode, same bytes)", function()
      local before = "# keep\r\ndb.example.com:5432:databricks_postgres:me@example.com:new-token:extra\n"
      write(file, before)
      local ino = inode(file)
      local r = assert(update(file, E))
      assert.equal("unchanged", r.action)
      assert.is_false(r.written)
      assert.equal(0, r.removed_duplicates)
      assert.equal(before, read(file))
      assert.equal(ino, inode(file))
    end)

    it("still removes duplicates when the first entry is unchanged", function()
      write(file, canonical(E) .. "\n" .. canonical(entry(E.host, E.database, E.username, "stale")) .. "\n")
      local r = assert(update(file, E))
      assert.equal("unchanged", r.action)
      assert.is_true(r.written)
      assert.equal(1, r.removed_duplicates)
      assert.equal(canonical(E) .. "\n", read(file))
    end)
  end)

  describe("update placement", function()
    it("puts a new entry directly above the first wildcard line that would shadow it", function()
      local before = "# c\nother:1:d:u:x\n*:5432:other_db:*:no-shadow\n*:*:databricks_postgres:*:wild\n*:*:*:*:all\n"
      write(file, before)
      local r = assert(update(file, E))
      assert.equal("inserted", r.action)
      assert.equal(4, r.line)
      assert.equal("# c\nother:1:d:u:x\n*:5432:other_db:*:no-shadow\n" .. canonical(E)
        .. "\n*:*:databricks_postgres:*:wild\n*:*:*:*:all\n", read(file))
      assert.equal("new-token", lookup(file, E))
    end)

    it("appends when wildcard lines do not cover the entry", function()
      local before = "*:*:other_db:*:x\n*:1234:*:*:y\n"
      write(file, before)
      assert.equal("appended", assert(update(file, E)).action)
      assert.equal(before .. canonical(E) .. "\n", read(file))
    end)

    it("replaces an entry in place under a shadowing wildcard and reports the shadowing line", function()
      local before = "# c\n*:*:*:*:all\n" .. canonical(entry(E.host, E.database, E.username, "old")) .. "\n"
      write(file, before)
      local r = assert(update(file, E))
      assert.equal("replaced", r.action)
      assert.equal(2, r.shadowed_by)
      assert.equal("# c\n*:*:*:*:all\n" .. canonical(E) .. "\n", read(file))
      assert.equal("all", lookup(file, E)) -- what libpq will use
    end)
  end)

  describe("update property", function()
    -- Generated files: comments (some holding the entry), blank lines, the
    -- entry itself with varied escaping (duplicates, sometimes already with
    -- the new password), other entries, shadowing and non-shadowing wildcard
    -- lines, lines that do not parse, non-UTF-8 bytes, LF/CRLF per line, and
    -- sometimes no final newline or no file at all. The expectation is
    -- computed from the generator's own knowledge of each line.
    local pieces = { "a", "b", "z", "0", "9", ":", "\\", "*", " ", "#", "-", ".", "@", "\xc3\xa9", "\xff" }

    local function gen_text(min, max)
      local t = {}
      for i = 1, math.random(min, max) do t[i] = pieces[math.random(#pieces)] end
      return table.concat(t)
    end

    local function gen_field()
      local s
      repeat s = gen_text(1, 6) until s ~= "*"
      return s
    end

    -- Escapes as libpq allows: \ and : always, any other byte sometimes.
    local function rand_escape(s, first)
      local out = s:gsub(".", function(c)
        if c == ":" or c == "\\" or math.random() < 0.15 then return "\\" .. c end
      end)
      if first and out:sub(1, 1) == "#" then out = "\\" .. out end
      return out
    end

    local FIELDS = { "host", "port", "database", "username" }

    local function render(fields, password, first_extra)
      local t = {}
      for i, f in ipairs(FIELDS) do
        local v = fields[f]
        if v == "*" then t[i] = "*"
        elseif f == "port" then t[i] = tostring(v)
        else t[i] = rand_escape(v, i == 1) end
      end
      t[5] = rand_escape(password)
      return table.concat(t, ":") .. (first_extra or "")
    end

    local function copy(k)
      return { host = k.host, port = k.port, database = k.database, username = k.username }
    end

    local function gen_line(key, newpw)
      local r = math.random(1, 16)
      if r <= 2 then
        local t = {}
        for i = 1, math.random(0, 12) do t[i] = string.char(math.random(0, 255)) end
        return { kind = "comment", text = "#" .. table.concat(t):gsub("[\r\n]", "x") }
      elseif r == 3 then
        return { kind = "comment", text = "#" .. render(key, "commented") }
      elseif r <= 5 then
        return { kind = "blank", text = "" }
      elseif r <= 8 then
        local pw = math.random() < 0.3 and newpw or gen_text(0, 8)
        return { kind = "same", pw = pw, text = render(key, pw, math.random() < 0.1 and ":extra" or nil) }
      elseif r <= 10 then
        local k, f = copy(key), FIELDS[math.random(4)]
        if f == "port" then k.port = key.port % 65535 + 1 else k[f] = key[f] .. "x" end
        return { kind = "other", text = render(k, gen_text(0, 6)) }
      elseif r <= 12 then
        local k, wild = copy(key), 0
        for _, f in ipairs(FIELDS) do
          if math.random() < 0.5 then k[f] = "*"; wild = wild + 1 end
        end
        if wild == 0 then k.database = "*" end
        local pw = gen_text(1, 6)
        return { kind = "shadow", pw = pw, text = render(k, pw) }
      elseif r <= 14 then
        local k = copy(key)
        local order = { 1, 2, 3, 4 }
        for i = 4, 2, -1 do local j = math.random(i); order[i], order[j] = order[j], order[i] end
        for i = 1, math.random(1, 3) do k[FIELDS[order[i]]] = "*" end
        local f = FIELDS[order[4]]
        if f == "port" then k.port = key.port % 65535 + 1 else k[f] = key[f] .. "y" end
        return { kind = "noshadow", text = render(k, gen_text(1, 6)) }
      else
        local bad = {
          "garbage", "  \t", render(key, "x"):match("^(.*):[^:]*$") or "x",
          canonical { host = key.host, port = key.port, database = key.database, username = key.username,
            password = "nul" } .. "\0",
        }
        return { kind = "invalid", text = bad[math.random(#bad)] }
      end
    end

    local function expected(lines, exists, key, newpw)
      local canon = canonical { host = key.host, port = key.port, database = key.database,
        username = key.username, password = newpw }
      local first_same, first_shadow
      for i, l in ipairs(lines) do
        if l.kind == "same" then first_same = first_same or i end
        if l.kind == "shadow" and not first_same then first_shadow = first_shadow or i end
      end
      local out = {}
      if first_same then
        local removed = 0
        for i, l in ipairs(lines) do
          if i == first_same then
            out[#out + 1] = (l.pw == newpw and l.text or canon) .. l.term
          elseif l.kind == "same" then
            removed = removed + 1
          else
            out[#out + 1] = l.text .. l.term
          end
        end
        local want_lookup = first_shadow and lines[first_shadow].pw or newpw
        return table.concat(out), lines[first_same].pw == newpw and "unchanged" or "replaced", removed,
          first_same, first_shadow, want_lookup
      end
      for _, l in ipairs(lines) do out[#out + 1] = l.text .. l.term end
      local body = table.concat(out)
      local nl = body:find("\n", 1, true)
      local eol = (nl and nl > 1 and body:sub(nl - 1, nl - 1) == "\r") and "\r\n" or "\n"
      if first_shadow then
        table.insert(out, first_shadow, canon .. eol)
        return table.concat(out), "inserted", 0, first_shadow, nil, newpw
      end
      if #body > 0 and body:sub(-1) ~= "\n" then body = body .. eol end
      local count = select(2, body:gsub("\n", ""))
      return body .. canon .. eol, exists and "appended" or "created", 0, count + 1, nil, newpw
    end

    it("changes exactly the expected bytes in a few hundred generated files", function()
      local seed = os.time()
      math.randomseed(seed)
      local counts = {}
      for iter = 1, 300 * SCALE do
        local key = { host = gen_field(), port = math.random(1, 65535), database = gen_field(), username = gen_field() }
        local newpw = gen_text(1, 12)
        local exists = math.random() > 0.05
        local lines = {}
        if exists then
          for i = 1, math.random(0, 14) do
            local l = gen_line(key, newpw)
            l.term = math.random() < 0.6 and "\n" or "\r\n"
            lines[i] = l
          end
          if #lines > 0 and math.random() < 0.3 then lines[#lines].term = "" end
        end
        local path = dir .. "/gen" .. iter
        local before = {}
        for i, l in ipairs(lines) do before[i] = l.text .. l.term end
        if exists then helpers.write_file(path, table.concat(before)) end
        local want, action, removed, line, shadow, want_pw = expected(lines, exists, key, newpw)
        local ctx = string.format("seed %d iteration %d, file before:\n%q", seed, iter, table.concat(before))
        local r, err = pgpass.update { path = path, host = key.host, port = key.port, database = key.database,
          username = key.username, password = newpw }
        assert.is_table(r, ctx .. "\n" .. tostring(err))
        assert.equal(want, read(path), ctx)
        assert.equal(action, r.action, ctx)
        assert.equal(removed, r.removed_duplicates, ctx)
        assert.equal(line, r.line, ctx)
        assert.equal(shadow, r.shadowed_by, ctx)
        assert.equal(want_pw, lookup(path, key), ctx)
        assert.equal(octal("600"), helpers.mode(path), ctx)
        counts[action] = (counts[action] or 0) + 1
      end
      -- The generator reaches every outcome.
      for _, a in ipairs { "created", "appended", "inserted", "replaced", "unchanged" } do
        assert.is_true((counts[a] or 0) > 0, "no case ended " .. a)
      end
      assert_no_temp_files(dir)
    end)
  end)

  describe("file safety", function()
    it("creates a new file 0600 and missing folders 0700 whatever the umask", function()
      for _, umask in ipairs { "000", "022", "277" } do
        local path = dir .. "/u" .. umask .. "/a/b/.pgpass"
        local res = run_lua(string.format([[
          local r, err = require("databricks.pgpass").update{path=%q, host="h", database="d",
            username="u", password="p"}
          assert(r, tostring(err))]], path), { umask = umask })
        assert.equal(0, res.code, res.stderr)
        assert.equal(octal("600"), helpers.mode(path), "umask " .. umask)
        assert.equal(octal("700"), helpers.mode(dir .. "/u" .. umask .. "/a"), "umask " .. umask)
        assert.equal(octal("700"), helpers.mode(dir .. "/u" .. umask .. "/a/b"), "umask " .. umask)
        assert.equal("h:5432:d:u:p\n", read(path))
      end
    end)

    it("writes 0600 over an existing 0600 file with umask 000", function()
      write(file, "x:1:d:u:p\n")
      local res = run_lua(string.format([[
        assert(require("databricks.pgpass").update{path=%q, host="h", database="d", username="u", password="p"})]],
        file), { umask = "000" })
      assert.equal(0, res.code, res.stderr)
      assert.equal(octal("600"), helpers.mode(file))
    end)

    it("rewrites a group/other-readable file (ignored by libpq) as 0600 and says so", function()
      helpers.write_file(file, "x:1:d:u:p\n", octal("644"))
      local r = assert(update(file, E))
      assert.is_true(r.mode_fixed)
      assert.equal(octal("644"), r.previous_mode)
      assert.equal(octal("600"), helpers.mode(file))
      assert.equal("x:1:d:u:p\n" .. canonical(E) .. "\n", read(file))
    end)

    it("fixes the mode even when the password is unchanged", function()
      helpers.write_file(file, canonical(E) .. "\n", octal("640"))
      local r = assert(update(file, E))
      assert.equal("unchanged", r.action)
      assert.is_true(r.written and r.mode_fixed)
      assert.equal(octal("600"), helpers.mode(file))
      assert.equal(canonical(E) .. "\n", read(file))
    end)

    it("updates the target of a symlinked .pgpass and keeps the link", function()
      helpers.sh("mkdir " .. q(dir .. "/real"))
      local target = dir .. "/real/pgpass"
      write(target, "# real\n")
      helpers.sh("ln -s real/pgpass " .. q(file))
      local r = assert(update(file, E))
      assert.equal(dir .. "/real/pgpass", r.path)
      assert.equal("# real\n" .. canonical(E) .. "\n", read(target))
      assert.equal(0, (helpers.sh("test -L " .. q(file))))
      assert.equal("real/pgpass\n", select(2, helpers.sh("readlink " .. q(file))))
      -- The lock is the target folder's own: no lock file anywhere.
      assert.is_false(helpers.exists(file .. ".lock"))
      assert.is_false(helpers.exists(target .. ".lock"))
    end)

    it("follows a chain of links, and creates the file a dangling link names", function()
      helpers.sh("mkdir " .. q(dir .. "/real"))
      helpers.sh("ln -s " .. q(dir .. "/real/new") .. " " .. q(dir .. "/l2"))
      helpers.sh("ln -s l2 " .. q(file))
      local r = assert(update(file, E))
      assert.equal("created", r.action)
      assert.equal(dir .. "/real/new", r.path)
      assert.equal(canonical(E) .. "\n", read(dir .. "/real/new"))
      assert.equal(octal("600"), helpers.mode(dir .. "/real/new"))
      assert.equal(0, (helpers.sh("test -L " .. q(file) .. " && test -L " .. q(dir .. "/l2"))))
    end)

    it("honours PGPASSFILE when no path is given", function()
      local home = helpers.tmpdir("home")
      local target = dir .. "/from-env"
      local res = run_lua([[
        local p = require "databricks.pgpass"
        local r = assert(p.update{host="h", database="d", username="u", password="p"})
        io.write(r.path, "\n", p.default_path(), "\n", p.lookup{host="h", database="d", username="u"})]],
        { env = { PGPASSFILE = target }, home = home })
      assert.equal(0, res.code, res.stderr)
      assert.equal(target .. "\n" .. target .. "\np", res.stdout)
      assert.equal("h:5432:d:u:p\n", read(target))
      assert.is_false(helpers.exists(home .. "/.pgpass"))
    end)

    it("uses $HOME/.pgpass without PGPASSFILE (or with an empty one)", function()
      for _, env in ipairs { {}, { PGPASSFILE = "" } } do
        local home = helpers.tmpdir("home")
        local res = run_lua([[
          local r = assert(require("databricks.pgpass").update{host="h", database="d", username="u", password="p"})
          io.write(r.path)]], { env = env, home = home })
        assert.equal(0, res.code, res.stderr)
        assert.equal(home .. "/.pgpass", res.stdout)
        assert.equal("h:5432:d:u:p\n", read(home .. "/.pgpass"))
      end
    end)

    it("removes only our stale temp files (pattern and owner) and reports them", function()
      write(file, "x:1:d:u:p\n")
      write(file .. ".tmp.99999.0", "stale secret")
      write(file .. ".tmp.x", "not ours: wrong pattern")
      write(file .. ".tmp.1.2.bak", "not ours: wrong pattern")
      write(dir .. "/other.tmp.1.1", "another file's")
      if is_root() then
        write(file .. ".tmp.12.3", "another user's")
        helpers.sh("chown nobody " .. q(file .. ".tmp.12.3"))
      end
      local r = assert(update(file, E))
      assert.equal(1, r.stale_removed)
      assert.is_false(helpers.exists(file .. ".tmp.99999.0"))
      assert.is_true(helpers.exists(file .. ".tmp.x"))
      assert.is_true(helpers.exists(file .. ".tmp.1.2.bak"))
      assert.is_true(helpers.exists(dir .. "/other.tmp.1.1"))
      if is_root() then assert.is_true(helpers.exists(file .. ".tmp.12.3")) end
    end)

    it("waits a bounded time for the lock, then fails with a timeout and changes nothing", function()
      local before = "x:1:d:u:p\n"
      write(file, before)
      local lock = dir -- the folder is the lock
      local function held() return helpers.sh("flock -n " .. q(lock) .. " true") ~= 0 end
      helpers.spawn({ "flock", lock, "sleep", "1.5" })
      assert.is_true(helpers.wait_for(held, 5))
      write(file .. ".tmp.777.0", "a live writer's temp file")
      local t0 = helpers.now()
      local r, err = update(file, E, { lock_timeout = 0.3 })
      local dt = helpers.now() - t0
      assert.is_nil(r)
      assert_error(err, "timeout", { lock, "another process" }, E.password)
      assert.is_true(dt >= 0.29 and dt < 1.5, "waited " .. dt)
      assert.equal(before, read(file))
      assert.is_true(helpers.exists(file .. ".tmp.777.0")) -- never removed while its writer may hold the lock
      assert.is_true(helpers.wait_for(function() return not held() end, 10))
      assert(update(file, E))
      assert.is_false(helpers.exists(file .. ".tmp.777.0"))
    end)

    it("leaves no temp file and no lock file after updates", function()
      for i = 1, 5 do assert(update(file, entry("h", "d", "u" .. i, "p"))) end
      assert_no_temp_files(dir)
      assert.is_false(helpers.exists(file .. ".lock"))
      local _, listing = helpers.sh("ls -A " .. q(dir))
      assert.equal(".pgpass\n", listing)
    end)

    it("passes the C-level tests (crash leftovers are 0600 and removed; lock held by a live writer)", function()
      local res = helpers.run({ ROOT .. "/" .. BUILD .. "/tests/test_pgpass" }, { env = { TMPDIR = dir },
        timeout = 60 })
      assert.equal(0, res.code, res.stdout .. res.stderr)
      assert.truthy(res.stdout:match("%d+ checks, 0 failed\n$"), res.stdout)
    end)
  end)

  describe("refusals leave the file byte-identical", function()
    local before = "# keep\nx:1:d:u:p\n"

    it("refuses a folder", function()
      helpers.sh("mkdir " .. q(file))
      local r, err = update(file, E)
      assert.is_nil(r)
      assert_error(err, "config", { file, "folder", "point the path at a file" }, E.password)
      assert.equal(0, (helpers.sh("test -d " .. q(file))))
      assert.is_false(helpers.exists(file .. ".lock"))
    end)

    it("refuses a FIFO without blocking on it", function()
      helpers.sh("mkfifo " .. q(file))
      local res = run_lua(string.format([[
        local r, err = require("databricks.pgpass").update{path=%q, host="h", database="d", username="u", password="p"}
        io.write(r and "written" or (err.kind .. ": " .. err.message))]], file), { timeout = 10 })
      assert.equal(0, res.code, "blocked or crashed: " .. res.stderr)
      assert.truthy(res.stdout:find("^config: refusing to write .*FIFO"), res.stdout)
      assert.equal(0, (helpers.sh("test -p " .. q(file))))
      assert.is_false(helpers.exists(file .. ".lock"))
    end)

    it("refuses a file owned by another user", function()
      if not is_root() then return pending("needs root to chown") end
      write(file, before)
      helpers.sh("chown nobody " .. q(file))
      local r, err = update(file, E)
      assert.is_nil(r)
      assert_error(err, "config", { file, "owned by uid", "chown" }, E.password)
      assert.equal(before, read(file))
      assert.is_false(helpers.exists(file .. ".lock"))
    end)

    it("reports permission problems with the file, the operation and what to do", function()
      if not is_root() then return pending("needs root to run as nobody") end
      local shared = dir .. "/shared"
      helpers.sh("mkdir -m 0755 " .. q(shared) .. " && chmod 0755 " .. q(dir))
      local res = helpers.run({ "runuser", "-u", "nobody", "--", "lua5.4", "-e", string.format([[
        local r, err = require("databricks.pgpass").update{path=%q, host="h", database="d", username="u",
          password="sekrit-pw"}
        io.write(r and "written" or (err.kind .. ": " .. err.message))]], shared .. "/.pgpass") },
        { env = lua_env() })
      assert.equal(0, res.code, res.stderr)
      assert.equal("io: permission denied creating a temp file to write " .. shared
        .. "/.pgpass: check the folder's owner/permissions", res.stdout)
      assert.is_false(helpers.exists(shared .. "/.pgpass"))
    end)

    it("rejects bad input with a config error naming the field, never the password", function()
      write(file, before)
      local pw = "very-secret-password"
      local cases = {
        { { host = "" }, "host is empty" },
        { { username = "" }, "username is empty" },
        { { database = "" }, "database is empty" },
        { { password = "" }, "password is empty" },
        { { host = "a\nb" }, "host contains a line break" },
        { { username = "a\rb" }, "username contains a line break" },
        { { password = pw .. "\n" }, "password contains a line break" },
        { { password = pw .. "\0x" }, "password contains a NUL byte" },
        { { database = "d\0" }, "database contains a NUL byte" },
        { { port = 0 }, "port must be" },
        { { port = 65536 }, "port must be" },
        { { port = "54x" }, "port must be" },
        { { port = -1 }, "port must be" },
        { { port = 5432.5 }, "port must be" },
        { { host = false }, "host is missing" },
        { { passwd = "x" }, "unknown option(s) passwd" },
      }
      for _, c in ipairs(cases) do
        local o = { path = file, host = "h", database = "d", username = "u", password = pw }
        for k, v in pairs(c[1]) do o[k] = v end
        if o.host == false then o.host = nil end
        local r, err = pgpass.update(o)
        assert.is_nil(r, c[2])
        assert_error(err, "config", { c[2] }, pw)
      end
      assert.equal(before, read(file))
    end)

    it("accepts port \"*\" and numeric strings", function()
      assert(pgpass.update { path = file, host = "h", port = "*", database = "d", username = "u", password = "p" })
      assert(pgpass.update { path = file, host = "h", port = "6543", database = "d", username = "u", password = "p" })
      -- The port-wildcard line shadows the new one, which goes above it.
      assert.equal("h:6543:d:u:p\nh:*:d:u:p\n", read(file))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() pgpass.update("x") end)
      assert.has_error(function() pgpass.update { host = 1, database = "d", username = "u", password = "p" } end)
      assert.has_error(function() pgpass.lookup { host = "h", database = {}, username = "u" } end)
    end)
  end)

  describe("lookup", function()
    it("returns nil for a missing file or no match, and an error for a folder", function()
      assert.is_nil(lookup(file, E))
      write(file, "x:1:d:u:p\n")
      assert.is_nil(lookup(file, E))
      local r, err = lookup(dir, E)
      assert.is_nil(r)
      assert_error(err, "config", { dir, "not a regular file" })
    end)

    it("follows libpq: comments skipped, CR/LF stripped, first match wins, * matches anything", function()
      write(file, "#db.example.com:5432:databricks_postgres:me@example.com:comment\r\n"
        .. "db.example.com:5432:databricks_postgres:me@example.com\r\n"
        .. "db.example.com:*:databricks_postgres:*:first\\:one\\\r\n"
        .. "db.example.com:5432:databricks_postgres:me@example.com:second\n")
      assert.equal("first:one\\", lookup(file, E))
    end)
  end)

  describe("concurrency", function()
    it("loses no entry when several processes update different users of one file at once", function()
      local workers, rounds = 4, 25 * SCALE
      local header = "# shared file\n*:*:*:*:catch-all\n"
      write(file, header)
      local script = [[
        local p = require "databricks.pgpass"
        local w, rounds, path = tonumber(arg[1]), tonumber(arg[2]), arg[3]
        for i = 1, rounds do
          local r, err = p.update{path=path, host="db", database="d", username="worker" .. w .. "@example.com",
            password="w" .. w .. "-" .. i}
          if not r then io.stderr:write(tostring(err), "\n"); os.exit(1) end
        end]]
      helpers.write_file(dir .. "/worker.lua", script)
      local cmds = {}
      for w = 1, workers do
        cmds[w] = helpers.join { "lua5.4", dir .. "/worker.lua", w, rounds, file } .. " & pids=\"$pids $!\""
      end
      local sh = table.concat(cmds, "; ") .. "; rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc"
      local res = helpers.run({ "sh", "-c", sh }, { env = lua_env(), timeout = 120 })
      assert.equal(0, res.code, res.stderr)
      local text = read(file)
      for w = 1, workers do
        local e = entry("db", "d", "worker" .. w .. "@example.com")
        local _, count = text:gsub("\ndb:5432:d:worker" .. w .. "@example%.com:", "")
        assert.equal(1, count, text)
        -- Inserted above the catch-all, so libpq sees them.
        assert.equal("w" .. w .. "-" .. rounds, lookup(file, e))
      end
      assert.equal("# shared file\n", text:sub(1, 14))
      assert.equal("*:*:*:*:catch-all\n", text:sub(-18))
      assert.equal(workers + 2, select(2, text:gsub("\n", "")))
      assert_no_temp_files(dir)
    end)
  end)

  -- The < 20 ms target for a 10,000-entry file is measured by `make bench`
  -- (timings belong in benchmarks, not in specs); here: the result is right.
  describe("large files", function()
    it("replaces one entry of a 10,000-entry file and keeps the other 9,999", function()
      local t = {}
      for i = 1, 10000 do
        t[i] = string.format("host-%d.example.com:5432:databricks_postgres:user%d@example.com:%s", i, i,
          string.rep("x", 40))
      end
      local before = table.concat(t, "\n") .. "\n"
      write(file, before)
      local r = assert(update(file, entry("host-5000.example.com", "databricks_postgres", "user5000@example.com",
        "new-password")))
      assert.equal("replaced", r.action)
      t[5000] = "host-5000.example.com:5432:databricks_postgres:user5000@example.com:new-password"
      assert.equal(table.concat(t, "\n") .. "\n", read(file))
    end)
  end)

  describe("fuzz corpus", function()
    it("replays fuzz/corpus/pgpass through the fuzz driver's invariants", function()
      local res = helpers.run({ ROOT .. "/" .. BUILD .. "/tests/fuzz_pgpass_corpus", ROOT .. "/fuzz/corpus/pgpass" })
      assert.equal(0, res.code, res.stderr)
      local n = tonumber(res.stdout:match("^(%d+) inputs ok"))
      assert.is_true(n and n >= 10, res.stdout)
    end)
  end)

  describe("real libpq agrees", function()
    local pg
    local user = "first.last+lake@example.com"

    setup(function() pg = PG.start() end)
    teardown(function() if pg then pg:stop() end end)

    local function big_password(seed)
      math.randomseed(seed)
      local alphabet = "abcXYZ019:\\:\\*# '\"$-_.~"
      local t = {}
      for i = 1, 1024 do
        local j = math.random(#alphabet)
        t[i] = alphabet:sub(j, j)
      end
      t[1], t[512], t[1024] = ":", "\\", "\\" -- a trailing backslash too
      return table.concat(t)
    end

    local function login(path, extra)
      local o = { user = user, pgpassfile = path }
      for k, v in pairs(extra or {}) do o[k] = v end
      return pg:psql_login(o)
    end

    it("psql logs in with a ~1 KB password containing : and \\ that update wrote", function()
      local pw = big_password(1)
      assert.equal(1024, #pw)
      pg:create_role(user, pw)
      write(file, "# other things\nother.example.com:5432:postgres:someone:x\n*:*:other_db:*:nope\n")
      local r = assert(pgpass.update { path = file, host = "127.0.0.1", port = pg.port, database = "postgres",
        username = user, password = pw })
      assert.equal("appended", r.action)
      local code, out, err = login(file)
      assert.equal(0, code, err)
      assert.equal(user .. "\n", out)
      assert.equal(pw, pgpass.lookup { path = file, host = "127.0.0.1", port = pg.port, database = "postgres",
        username = user })
    end)

    it("rotation: after the server's password changes, update makes psql work again", function()
      local pw1, pw2 = big_password(2), big_password(3)
      local function set(pw)
        return assert(pgpass.update { path = file, host = "127.0.0.1", port = pg.port, database = "postgres",
          username = user, password = pw })
      end
      pg:sql(string.format("ALTER ROLE %s PASSWORD %s", PG.ident(user), PG.literal(pw1)))
      set(pw1)
      assert.equal(0, (login(file)))
      pg:sql(string.format("ALTER ROLE %s PASSWORD %s", PG.ident(user), PG.literal(pw2)))
      assert.are_not.equal(0, (login(file))) -- the old password no longer works
      assert.equal("replaced", set(pw2).action)
      local code, out, err = login(file)
      assert.equal(0, code, err)
      assert.equal(user .. "\n", out)
    end)

    it("a new entry inserted above a catch-all wildcard is the one libpq uses; CRLF files work", function()
      local pw = big_password(3)
      pg:sql(string.format("ALTER ROLE %s PASSWORD %s", PG.ident(user), PG.literal(pw)))
      local path = dir .. "/crlf"
      write(path, "# windows editor\r\n*:*:*:*:wrong-password\r\n")
      local code = login(path)
      assert.are_not.equal(0, code)
      local r = assert(pgpass.update { path = path, host = "127.0.0.1", port = pg.port, database = "postgres",
        username = user, password = pw })
      assert.equal("inserted", r.action)
      local out, err
      code, out, err = login(path)
      assert.equal(0, code, err)
      assert.equal(user .. "\n", out)
    end)

    it("a group-readable file libpq ignored works once update has rewritten it 0600", function()
      local pw = big_password(4)
      pg:sql(string.format("ALTER ROLE %s PASSWORD %s", PG.ident(user), PG.literal(pw)))
      local path = dir .. "/loose"
      helpers.write_file(path, "", octal("644"))
      local r = assert(pgpass.update { path = path, host = "127.0.0.1", port = pg.port, database = "postgres",
        username = user, password = pw })
      assert.is_true(r.mode_fixed)
      local code, _, err = login(path)
      assert.equal(0, code, err)
    end)

    it("a symlinked ~/.pgpass updated through the link works (HOME, no PGPASSFILE)", function()
      local pw = big_password(5)
      pg:sql(string.format("ALTER ROLE %s PASSWORD %s", PG.ident(user), PG.literal(pw)))
      local home = helpers.tmpdir("pghome")
      helpers.sh("mkdir " .. q(home .. "/secrets") .. " && ln -s secrets/pgpass " .. q(home .. "/.pgpass"))
      assert(pgpass.update { path = home .. "/.pgpass", host = "127.0.0.1", port = pg.port, database = "postgres",
        username = user, password = pw })
      local code, out, err = pg:psql_login { user = user, home = home }
      assert.equal(0, code, err)
      assert.equal(user .. "\n", out)
      assert.equal(0, (helpers.sh("test -L " .. q(home .. "/.pgpass"))))
    end)
  end)
end)
