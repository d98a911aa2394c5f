-- `make docs`: the LDoc API reference builds without a single warning, so a
-- doc comment that no longer matches its function fails the suite.
local h = require "support.helpers"

describe("API reference (make docs)", function()
  it("builds with LDoc and no warnings, covering the C client methods", function()
    local r = h.run({ h.root .. "/docs/build.sh" }, { cwd = h.root, env = { DOCS_STRICT = "1" }, timeout = 120 })
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    local index = h.read_file(h.root .. "/docs/api/index.html")
    assert.is_string(index)
    assert.matches("databricks%.rotator", index)
    local client = h.read_file(h.root .. "/docs/api/modules/databricks.client.html")
    assert.is_string(client, "the C binding's LDoc comments produced no page")
    for _, method in ipairs({ "close", "token", "headers", "request", "database_credential",
                              "validate_connection", "execute", "upload_file", "download_file", "file_info",
                              "delete_file", "create_directory", "list_directory", "paginate" }) do
      assert.matches("Client:" .. method, client, 1, true)
    end
    local statement = h.read_file(h.root .. "/docs/api/modules/databricks.statement.html")
    assert.is_string(statement, "the statement's LDoc comments produced no page")
    for _, method in ipairs({ "status", "wait", "columns", "rows", "fetch_all", "cancel", "close" }) do
      assert.matches("Statement:" .. method, statement, 1, true)
    end
  end)
end)
