-- What a connected client does: raw requests (query encoding, JSON and
-- string bodies, headers), SCIM Me, Unity Catalog tables, SQL on the
-- Statement Execution API (inline, polled, chunked, parameters, failures,
-- cancel on timeout), validate_connection, Lakebase credentials, the Spark
-- Connect URL, and closing.
local databricks = require "databricks"
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

describe("client operations", function()
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
    c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                   warehouse_id = sim.warehouse_id, retry_timeout = 2 })
  end)
  after_each(function() c:close() end)

  describe("request", function()
    it("encodes the query, sends JSON bodies and returns decoded JSON with status and headers", function()
      local body, meta = c:request("POST", "/api/2.0/sql/statements", {
        query = { b = "x y", a = "1/2" },
        body = { statement = "SELECT 1", warehouse_id = sim.warehouse_id, wait_timeout = "5s" },
      })
      assert.are.equal("SUCCEEDED", body.status.state)
      assert.are.equal(200, meta.status)
      assert.is_string(meta.headers["x-request-id"])
      assert.are.equal(meta.headers["x-request-id"], meta.request_id)
      local r = sim:requests("/api/2.0/sql/statements")[1]
      assert.are.equal("a=1%2F2&b=x%20y", r.query)
      assert.are.equal("application/json", r.headers["content-type"])
      assert.are.equal("SELECT 1", cjson.decode(r.body).statement)
    end)

    it("sends a string body as is, with extra headers", function()
      assert(c:request("POST", "/api/2.0/sql/statements", {
        body = '{"statement":"SELECT 1","warehouse_id":"abc123"}',
        headers = { ["X-Custom"] = "yes", ["Content-Type"] = "application/json; charset=utf-8" },
      }))
      local r = sim:requests("/api/2.0/sql/statements")[1]
      assert.are.equal('{"statement":"SELECT 1","warehouse_id":"abc123"}', r.body)
      assert.are.equal("yes", r.headers["x-custom"])
      assert.are.equal("application/json; charset=utf-8", r.headers["content-type"])
    end)

    it("refuses to override Authorization or User-Agent", function()
      for _, name in ipairs({ "Authorization", "user-agent" }) do
        local ok, err = c:request("GET", "/api/2.0/preview/scim/v2/Me", { headers = { [name] = "x" } })
        assert.is_nil(ok)
        assert.are.equal("config", err.kind)
      end
      assert.are.same({}, sim:requests())
    end)

    it("rejects a lower-case method and a path without a leading slash", function()
      local ok, err = c:request("get", "/api/2.0/preview/scim/v2/Me")
      assert.is_nil(ok)
      assert.are.equal("config", err.kind)
      ok, err = c:request("GET", "api/2.0/preview/scim/v2/Me")
      assert.is_nil(ok)
      assert.are.equal("config", err.kind)
    end)
  end)

  it("current_user returns the SCIM Me object", function()
    local me = assert(c:current_user())
    assert.are.equal("user@example.com", me.userName)
    assert.is_true(me.active)
  end)

  it("get_table percent-encodes the name and returns the table info", function()
    sim:config{ tables = { ["main.my schema.t%1"] = { table_type = "MANAGED" } } }
    local t = assert(c:get_table("main.my schema.t%1"))
    assert.are.equal("main.my schema.t%1", t.full_name)
    assert.matches("/tables/main%.my%%20schema%.t%%251$", sim:requests("unity%-catalog")[1].path)
  end)

  describe("sql", function()
    it("returns columns, rows and the statement id for an inline result", function()
      local res = assert(c:sql("SELECT 1"))
      assert.are.same({ "1" }, res.columns)
      assert.are.same({ { "1" } }, res.rows)
      assert.is_string(res.statement_id)
      local body = cjson.decode(sim:requests("/api/2.0/sql/statements")[1].body)
      assert.are.equal("JSON_ARRAY", body.format)
      assert.are.equal("INLINE", body.disposition)
      assert.matches("^%d+s$", body.wait_timeout)
    end)

    it("sends named parameters from a map, typed, and keeps nulls", function()
      local res = assert(c:sql("SELECT :a AS a, :b AS b, :n AS n", { parameters = { a = "x", b = 42, n = 1.5 } }))
      assert.are.same({ "a", "b", "n" }, res.columns)
      assert.are.same({ "x", "42", "1.5" }, res.rows[1])
      local params = cjson.decode(sim:requests("/api/2.0/sql/statements")[1].body).parameters
      assert.are.same({ { name = "a", value = "x" }, { name = "b", value = "42", type = "BIGINT" },
                        { name = "n", value = "1.5", type = "DOUBLE" } }, params)
      local list = assert(c:sql("SELECT :a AS a, :b AS b", { parameters = { { name = "a", value = "v" }, { name = "b" } } }))
      assert.are.equal("v", list.rows[1][1])
      assert.are.equal(databricks.null, list.rows[1][2])
    end)

    it("polls a running statement with growing pauses until it succeeds", function()
      sim:config{ statements = { ["SELECT slow"] = { columns = { { name = "x", type_name = "INT" } },
                                                      rows = { { "7" } }, run_seconds = 1.2 } } }
      local res = assert(c:sql("SELECT slow", { timeout = 10, wait_timeout = 0 }))
      assert.are.same({ { "7" } }, res.rows)
      local polls = sim:requests{ path = "^/api/2%.0/sql/statements/[^/]+$", method = "GET" }
      assert.is_true(#polls >= 1 and #polls <= 12, "polled " .. #polls .. " times: no busy loop")
    end)

    it("follows every result chunk", function()
      local rows = {}
      for i = 1, 25 do rows[i] = { tostring(i), i % 2 == 0 and "even" or cjson.null } end
      sim:config{ statements = { ["SELECT big"] = { columns = { { name = "i", type_name = "INT" },
                                                                 { name = "p", type_name = "STRING" } },
                                                     rows = rows, chunk_size = 4 } } }
      local res = assert(c:sql("SELECT big"))
      assert.are.equal(25, #res.rows)
      for i = 1, 25 do assert.are.equal(tostring(i), res.rows[i][1]) end
      assert.are.equal(databricks.null, res.rows[1][2])
      assert.are.equal("even", res.rows[2][2])
      assert.are.equal(6, #sim:requests("/result/chunks/"))
    end)

    it("reports FAILED as a sql error with the server's message and code", function()
      sim:config{ statements = { ["SELECT boom"] = { fail = { error_code = "DIVIDE_BY_ZERO", message = "division by zero" } } } }
      local res, err = c:sql("SELECT boom")
      assert.is_nil(res)
      assert.are.equal("sql", err.kind)
      assert.are.equal("DIVIDE_BY_ZERO", err.error_code)
      assert.matches("division by zero", err.message)
      assert.is_string(err.statement_id)
    end)

    it("cancels a statement that outlives the timeout", function()
      sim:config{ statements = { ["SELECT forever"] = { columns = { { name = "x" } }, rows = {}, run_seconds = 60 } } }
      local t0 = h.now()
      local res, err = c:sql("SELECT forever", { timeout = 1 })
      assert.is_nil(res)
      assert.are.equal("timeout", err.kind)
      assert.is_true(h.now() - t0 < 8)
      assert.are.equal(1, #sim:requests("/cancel$"))
    end)

    it("needs a warehouse", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
      local res, err = c2:sql("SELECT 1")
      assert.is_nil(res)
      assert.are.equal("config", err.kind)
      assert.matches("warehouse", err.message)
      assert(c2:sql("SELECT 1", { warehouse_id = sim.warehouse_id }))
    end)
  end)

  describe("validate_connection", function()
    it("runs the identity, Unity Catalog and statement checks with status and milliseconds", function()
      local v = c:validate_connection{ table = sim.table }
      assert.is_true(v.ok)
      assert.are.equal("user@example.com", v.user)
      for _, name in ipairs({ "authentication", "unity_catalog", "statement_execution" }) do
        assert.is_true(v.checks[name].ok, name)
        assert.are.equal(200, v.checks[name].status)
        assert.is_number(v.checks[name].ms)
      end
      assert.are.equal("SUCCEEDED", v.checks.statement_execution.state)
    end)

    it("reports a failing check without failing the call", function()
      sim:config{ forbidden_tables = { "main.secret.t" },
                  statements = { ["SELECT 2"] = { fail = { error_code = "BAD", message = "nope" } } } }
      local v = c:validate_connection{ table = "main.secret.t", statement = "SELECT 2" }
      assert.is_false(v.ok)
      assert.is_true(v.checks.authentication.ok)
      assert.is_false(v.checks.unity_catalog.ok)
      assert.are.equal(403, v.checks.unity_catalog.status)
      assert.are.equal("auth", v.checks.unity_catalog.error.kind)
      assert.is_false(v.checks.statement_execution.ok)
      assert.are.equal("sql", v.checks.statement_execution.error.kind)
    end)

    it("skips what it was not given", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
      local v = c2:validate_connection()
      assert.is_true(v.ok)
      assert.is_true(v.checks.unity_catalog.skipped)
      assert.is_true(v.checks.statement_execution.skipped)
    end)

    it("reports bad credentials in the authentication check", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = "dapi" .. string.rep("1", 32),
                                            ca_bundle = sim.ca_file })
      local v = c2:validate_connection()
      assert.is_false(v.ok)
      assert.are.equal(401, v.checks.authentication.status)
      assert.are.equal("auth", v.checks.authentication.error.kind)
    end)
  end)

  describe("database_credential", function()
    it("gets a provisioned-instance credential with a request id", function()
      local cred = assert(c:database_credential{ instance_names = { sim.instance } })
      assert.is_string(cred.token)
      assert.is_true(cred.expires_at > os.time() + 3000)
      local body = cjson.decode(sim:requests("/api/2.0/database/credentials")[1].body)
      assert.are.same({ sim.instance }, body.instance_names)
      assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", body.request_id)
    end)

    it("gets an autoscaling endpoint credential", function()
      local cred = assert(c:database_credential{ endpoint = sim.endpoint })
      assert.is_string(cred.token)
      assert.is_true(cred.expires_at > os.time())
      assert.are.equal(sim.endpoint, cjson.decode(sim:requests("/api/2.0/postgres/credentials")[1].body).endpoint)
    end)

    it("reports an unknown instance with the server's error", function()
      local cred, err = c:database_credential{ instance_names = { "nope" } }
      assert.is_nil(cred)
      assert.are.equal(404, err.status)
      assert.are.equal("RESOURCE_DOES_NOT_EXIST", err.error_code)
    end)

    it("needs exactly one of instance_names and endpoint", function()
      local cred, err = c:database_credential{}
      assert.is_nil(cred)
      assert.are.equal("config", err.kind)
      cred, err = c:database_credential{ instance_names = { "a" }, endpoint = "projects/p/branches/b/endpoints/e" }
      assert.is_nil(cred)
      assert.are.equal("config", err.kind)
    end)
  end)

  describe("spark_connect_url", function()
    it("names the cluster", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                            cluster_id = "0123-456789-abc" })
      assert.are.equal("sc://127.0.0.1:443/;token=" .. sim.pat .. ";x-databricks-cluster-id=0123-456789-abc",
        c2:spark_connect_url())
    end)

    it("opens a serverless session", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                            serverless_compute_id = "auto" })
      assert.matches("^sc://127%.0%.0%.1:443/;token=" .. sim.pat .. ";x%-databricks%-session%-id=%x+%-%x+%-4%x+%-%x+%-%x+$",
        c2:spark_connect_url())
    end)

    it("needs a cluster or serverless", function()
      local url, err = c:spark_connect_url()
      assert.is_nil(url)
      assert.are.equal("config", err.kind)
    end)
  end)

  describe("closing", function()
    it("close is idempotent and a closed client raises on use", function()
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
      c2:close()
      c2:close()
      assert.has_error(function() c2:token() end, "attempt to use a closed databricks client")
      assert.matches("closed", tostring(c2))
    end)

    it("supports to-be-closed variables and garbage collection", function()
      do
        local c2 <close> = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
        assert(c2:current_user())
      end
      for _ = 1, 50 do
        local c3 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
        assert(c3:token())
      end
      collectgarbage()
      collectgarbage()
    end)

    it("tostring shows host and auth type but no secret", function()
      local s = tostring(c)
      assert.matches("databricks.client %(https://127%.0%.0%.1:%d+, pat%)", s)
      assert.is_nil(s:find(sim.pat, 1, true))
    end)
  end)
end)
