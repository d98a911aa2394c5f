-- REST error bodies of every documented shape become precise errors, as the
-- Databricks SDKs read them (Go apierr, Python errors/deserializer.py):
-- error_code as a number, "CODE: message" text, SCIM scimType/detail,
-- details[] kept as err.details, an empty 404, the private-link login
-- redirect (which the transport never follows), HTML from a gateway.
local databricks = require "databricks"
local core = require "databricks.core"
local Sim = require "support.sim"
local h = require "support.helpers"

local ME = "/api/2.0/preview/scim/v2/Me"
local TABLE = "^/api/2.1/unity%-catalog/tables/"

describe("REST error shapes", function()
  local sim, c

  setup(function()
    sim = Sim.start()
    c = assert(databricks.connect{ host = sim.url, ca_bundle = sim.ca_file, token = sim.pat, retry_timeout = 0 })
  end)
  teardown(function()
    if c then c:close() end
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  local function table_error(fault)
    fault.path = TABLE
    sim:fault(fault)
    local t, err = c:get_table(sim.table)
    assert.is_nil(t)
    return err
  end

  it("keeps a numeric error_code as its decimal text", function()
    local err = table_error{ action = "numeric_error_code", status = 400, error_code = "4001", message = "Bad thing" }
    assert.are.equal("http", err.kind)
    assert.are.equal(400, err.status)
    assert.are.equal("4001", err.error_code)
    assert.matches("Bad thing", err.message)
  end)

  it("reads a plain-text 'CODE: message' body", function()
    local err = table_error{ action = "text_error", status = 409, error_code = "RESOURCE_ALREADY_EXISTS",
                             message = "Table main.default.trips already exists" }
    assert.are.equal(409, err.status)
    assert.are.equal("RESOURCE_ALREADY_EXISTS", err.error_code)
    assert.matches(": Table main%.default%.trips already exists", err.message)
    assert.is_nil(err.message:find("RESOURCE_ALREADY_EXISTS:", 1, true), "the code is not repeated as text")
  end)

  it("reads SCIM errors: message 'scimType detail', code SCIM_<status>", function()
    sim:fault{ path = ME, action = "scim_error", status = 409, error_code = "uniqueness",
               message = "User already exists" }
    local me, err = c:current_user()
    assert.is_nil(me)
    assert.are.equal("SCIM_409", err.error_code)
    assert.matches(": uniqueness User already exists", err.message)
    -- without scimType: the detail alone; detail "null" is the SDKs' internal error
    sim:fault{ path = ME, status = 500, body = { detail = "null", status = "500" } }
    me, err = c:current_user()
    assert.is_nil(me)
    assert.are.equal("SCIM_500", err.error_code)
    assert.matches("SCIM API Internal Error", err.message)
  end)

  it("keeps details[] as err.details, a list of tables", function()
    local err = table_error{ action = "details_error", status = 400, error_code = "INVALID_PARAMETER_VALUE",
                             message = "bad value" }
    assert.are.equal("INVALID_PARAMETER_VALUE", err.error_code)
    assert.is_table(err.details)
    assert.are.equal(2, #err.details)
    assert.are.equal("type.googleapis.com/google.rpc.ErrorInfo", err.details[1]["@type"])
    assert.are.equal("SIMULATED", err.details[1].reason)
    assert.are.equal("details_error", err.details[1].metadata.fault)
    assert.are.equal("sim-request", err.details[2].request_id)
    assert.is_nil(tostring(err):find("details", 1, true), "tostring stays one line about the error")
  end)

  it("scrubs every string in err.details like a message (secrets, control characters)", function()
    local err = table_error{ action = "details_error", status = 400, details = {
      { ["@type"] = "type.googleapis.com/google.rpc.DebugInfo", detail = "token " .. sim.pat .. " was used\r\nforged",
        stack_entries = { "line\27[31m", sim.pat } },
    } }
    local d = err.details[1]
    assert.are.equal("token [REDACTED] was used  forged", d.detail)
    assert.are.equal("line?[31m", d.stack_entries[1])
    assert.are.equal("[REDACTED]", d.stack_entries[2])
  end)

  it("never keeps a string of err.details unscrubbed, however deep it is nested", function()
    local deep = { leaf = "token " .. sim.pat }
    for _ = 1, 20 do deep = { deep } end
    local err = table_error{ action = "details_error", status = 400, details = { deep } }
    local text = require("cjson").encode(err.details)
    assert.is_nil(text:find(sim.pat, 1, true), text)
  end)

  it("reads an empty 404 as NOT_FOUND", function()
    local err = table_error{ action = "empty_404" }
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("NOT_FOUND", err.error_code)
    assert.matches("Not Found", err.message)
  end)

  it("maps other empty bodies to the SDKs' codes by status", function()
    for status, code in pairs({ [400] = "BAD_REQUEST", [403] = "PERMISSION_DENIED", [409] = "RESOURCE_CONFLICT",
                                [501] = "NOT_IMPLEMENTED" }) do
      sim:reset()
      local err = table_error{ status = status, body = "" }
      assert.are.equal(code, err.error_code, tostring(status))
    end
  end)

  it("explains the private-link login redirect as PRIVATE_LINK_VALIDATION_ERROR without following it", function()
    local err = table_error{ action = "private_link" }
    assert.are.equal("auth", err.kind)
    assert.are.equal(403, err.status)
    assert.are.equal("PRIVATE_LINK_VALIDATION_ERROR", err.error_code)
    assert.matches("private connectivity enabled", err.message)
    assert.matches("never follows", err.message)
    assert.are.same({}, sim:requests("^/login%.html"), "the redirect was not followed")
  end)

  it("names an HTML gateway page by its status's reason (BAD_GATEWAY) with its text", function()
    sim:fault{ path = ME, action = "html", status = 502, count = 5 }
    local _, err = c:current_user()
    assert.are.equal(502, err.status)
    assert.are.equal("BAD_GATEWAY", err.error_code)
    assert.matches("502 Service Error", err.message)
  end)

  it("reads API 1.2's {\"error\": \"sentence\"} as the message", function()
    local err = table_error{ status = 400, body = { error = "Cluster 123 does not exist" } }
    assert.are.equal("Cluster 123 does not exist", err.message:match(": (Cluster 123 does not exist)"))
    assert.is_nil(err.error_code)
  end)

  it("core.error values made by Lua keep their details", function()
    local e = core.error{ kind = "http", message = "x", details = { { reason = "R" } } }
    assert.are.equal("R", e.details[1].reason)
  end)
end)
