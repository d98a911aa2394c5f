-- Listing paginated REST collections (DESIGN.md §6): client:paginate sends
-- page_token from each answer's next_page_token until it is absent or empty,
-- a repeating token is a protocol error, and iterator errors raise the err
-- table; list_catalogs, list_schemas and list_tables are built on it.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"

describe("paginated listings", function()
  local sim, c

  setup(function()
    sim = Sim.start()
  end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    local tables = {}
    for i = 1, 7 do tables[string.format("main.sales.t%d", i)] = {} end
    tables["main.hr.people"] = {}
    tables["other.x.y"] = {}
    sim:config{ list_page_size = 3, tables = tables, catalogs = { empty = {} } }
    c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file, retry_timeout = 2 })
  end)
  after_each(function() c:close() end)

  local function collect(iter, field)
    local out = {}
    for item in iter do out[#out + 1] = item[field] end
    return out
  end

  it("list_catalogs, list_schemas and list_tables follow every page", function()
    assert.are.same({ "empty", "main", "other" }, collect(c:list_catalogs(), "name"))
    assert.are.same({ "main.default", "main.hr", "main.sales" }, collect(c:list_schemas("main"), "full_name"))
    local names = collect(c:list_tables("main", "sales"), "full_name")
    assert.are.equal(7, #names)
    assert.are.equal("main.sales.t7", names[7])
    local gets = sim:requests("^/api/2%.1/unity%-catalog/tables$")
    assert.are.equal(3, #gets)
    assert.is_nil(gets[1].query:find("page_token", 1, true))
    assert.matches("page_token=", gets[2].query)
    assert.matches("catalog_name=main", gets[3].query)
    assert.matches("schema_name=sales", gets[3].query)
  end)

  it("paginate takes any collection, its query and the name of its list", function()
    local n = 0
    for t in c:paginate("/api/2.1/unity-catalog/tables", { query = { catalog_name = "main", schema_name = "hr" },
                                                             items = "tables" }) do
      n = n + 1
      assert.are.equal("main.hr.people", t.full_name)
    end
    assert.are.equal(1, n)
    assert.are.same({}, collect(c:list_schemas("empty"), "name"))
    assert.has_error(function() c:paginate("/api/2.1/unity-catalog/tables", {}) end)
    assert.has_error(function() c:paginate(42, { items = "x" }) end)
  end)

  it("a page token that repeats is a protocol error, not an endless listing", function()
    sim:fault{ path = "^/api/2%.1/unity%-catalog/tables$", action = "repeat_page_token", count = -1 }
    local seen = 0
    local ok, err = pcall(function()
      for _ in c:list_tables("main", "sales") do seen = seen + 1 end
    end)
    assert.is_false(ok)
    assert.are.equal("protocol", err.kind)
    assert.matches("page token", err.message)
    assert.is_true(seen <= 6)
    assert.is_true(#sim:requests("^/api/2%.1/unity%-catalog/tables$") <= 3)
  end)

  it("an error on any page raises the err table", function()
    local ok, err = pcall(function() for _ in c:list_schemas("nope") do end end)
    assert.is_false(ok)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("CATALOG_DOES_NOT_EXIST", err.error_code)
    sim:config{ list_page_size = 2 }
    sim:fault{ path = "^/api/2%.1/unity%-catalog/catalogs$", query = "page_token", status = 500, count = -1 }
    local names = {}
    ok, err = pcall(function() for cat in c:list_catalogs() do names[#names + 1] = cat.name end end)
    assert.is_false(ok)
    assert.are.equal(500, err.status)
    assert.are.same({ "empty", "main" }, names, "the first page was handed out before the error")
  end)
end)
