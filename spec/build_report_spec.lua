-- docs/build_report.md stays true: every rule of the connector's structure
-- is there with code and proof; every file it names exists and holds the
-- symbols named beside it; every spec name it quotes is a test that
-- `busted --list` finds in that spec file.
local h = require "support.helpers"

local REPORT = "docs/build_report.md"

local RULES = {
  "Three auth types", "One auth type per connection", "Connector-level User-Agent",
  "`warehouse_id` from `http_path`", "Single `connect()` entry", "Validation calls", "Token refresh",
  "No token in logs", "Environment isolation",
}

-- Sections with their Code and Proof lists (see the report's "How to read").
local function parse(text)
  local sections, cur, list = {}, nil, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local title = line:match("^## %d+%. (.+)$")
    if title then
      cur = { title = title, code = {}, proof = {} }
      sections[#sections + 1] = cur
      list = nil
    elseif line == "**Code**" and cur then
      list = cur.code
    elseif line == "**Proof**" and cur then
      list = cur.proof
    elseif line:match("^%s*$") then
      list = nil
    elseif list then
      local path, rest = line:match("^%- `([^`]+)`(.*)$")
      assert(path, string.format("%s:%d: expected - `path` ...", REPORT, n))
      local ref = { path = path, line = n, words = {} }
      local pattern = list == cur.code and "`([^`]+)`" or '"([^"]+)"'
      for w in rest:gmatch(pattern) do ref.words[#ref.words + 1] = w end
      list[#list + 1] = ref
    end
  end
  return sections
end

describe("docs/build_report.md", function()
  local sections = parse(assert(h.read_file(h.root .. "/" .. REPORT), "docs/build_report.md is missing"))

  local function each(kind, fn)
    for _, s in ipairs(sections) do
      for _, ref in ipairs(s[kind]) do fn(ref, s) end
    end
  end

  it("maps each rule of the connector structure to code and proof", function()
    local titles = {}
    for i, s in ipairs(sections) do titles[i] = s.title end
    assert.are.same(RULES, titles)
    local code, proof = 0, 0
    for _, s in ipairs(sections) do
      assert.is_true(#s.code > 0, s.title .. " names no code")
      assert.is_true(#s.proof > 0, s.title .. " names no spec")
      code, proof = code + #s.code, proof + #s.proof
    end
    assert.is_true(code >= 40 and proof >= 45, string.format("only %d code and %d proof lines parsed", code, proof))
  end)

  it("names files that exist, holding the symbols named beside them", function()
    local problems = {}
    each("code", function(ref, s)
      local text = h.read_file(h.root .. "/" .. ref.path)
      if not text then
        problems[#problems + 1] = string.format("line %d (%s): %s does not exist", ref.line, s.title, ref.path)
      else
        for _, w in ipairs(ref.words) do
          if not text:find(w, 1, true) then
            problems[#problems + 1] = string.format("line %d (%s): %s does not contain `%s`", ref.line, s.title,
              ref.path, w)
          end
        end
      end
    end)
    assert.are.same({}, problems)
  end)

  it("quotes spec names that busted lists in the spec files named", function()
    local files, seen = {}, {}
    each("proof", function(ref)
      assert.is_true(#ref.words > 0, "line " .. ref.line .. " quotes no test name")
      assert.matches("^spec/[%w_]+_spec%.lua$", ref.path)
      if not seen[ref.path] then
        seen[ref.path] = true
        files[#files + 1] = ref.path
      end
    end)
    local missing = {}
    for _, f in ipairs(files) do
      if not h.exists(h.root .. "/" .. f) then missing[#missing + 1] = f .. " does not exist" end
    end
    assert.are.same({}, missing)
    local argv = { "busted", "--list", "--cpath=" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so" }
    for _, f in ipairs(files) do argv[#argv + 1] = f end
    local r = h.run(argv, { cwd = h.root, env = { DBX_ROOT = h.root, DBX_BUILD = os.getenv("DBX_BUILD") } })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local listed = {}
    for file, name in r.stdout:gmatch("(spec/[%w_]+%.lua):%d+: ([^\n]+)") do
      listed[file .. "\0" .. name] = true
    end
    each("proof", function(ref, s)
      for _, name in ipairs(ref.words) do
        if not listed[ref.path .. "\0" .. name] then
          missing[#missing + 1] = string.format("line %d (%s): %s has no test \"%s\"", ref.line, s.title, ref.path,
            name)
        end
      end
    end)
    assert.are.same({}, missing)
  end)
end)
