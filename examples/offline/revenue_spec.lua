-- A busted spec of revenue.lua against the local workspace simulator: no
-- workspace, no network, no secret — the way the README's "Develop and
-- test offline" walks through it.
--
--   busted --lua=lua5.4 examples/offline/revenue_spec.lua
--
-- (with lua-databricks installed, or from a checkout with LUA_PATH/LUA_CPATH
-- pointing at lua/ and build/ and bin/ on PATH.)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path

local databricks = require "databricks"
local launch = require "databricks.simulator.launch"
local revenue = require "revenue"

describe("revenue pipeline, offline", function()
  local sim, client

  setup(function()
    sim = assert(launch.start{ data = here .. "revenue-data.lua" })
    client = assert(databricks.connect(sim:config()))
  end)

  teardown(function()
    if client then client:close() end
    if sim then sim:stop() end
  end)

  it("ranks customers by revenue", function()
    assert.are.same({
      { customer = "acme", revenue = 1200.5 },
      { customer = "globex", revenue = 980 },
    }, assert(revenue.top_customers(client, "2026-01-01", 2)))
  end)

  it("works the same with a service principal (OAuth M2M)", function()
    local m2m <close> = assert(databricks.connect(sim:config{ m2m = true }))
    assert.are.equal(3, #assert(revenue.top_customers(m2m, "2026-01-01", 10)))
  end)

  it("reports what the warehouse reports", function()
    local result, err = client:sql("SELECT * FROM main.sales.missing")
    assert.is_nil(result)
    assert.are.equal("sql", err.kind)
    assert.are.equal("TABLE_OR_VIEW_NOT_FOUND", err.error_code)
  end)
end)
