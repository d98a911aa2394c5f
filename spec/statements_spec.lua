-- Statements at scale (DESIGN.md §6): client:execute and the statement
-- object (id, status, wait, columns, rows, fetch_all, cancel, close, __close,
-- __gc), typed values, cloud fetch of EXTERNAL_LINKS results in parallel
-- from the simulator's "cloud storage" (no Authorization, exactly the link's
-- headers, renewal of expired links, retries), the bounds on chunk chains
-- (trust #3), the INLINE cap, cancel on timeout / close / SIGTERM, progress,
-- and client:sql as execute + fetch_all.
local databricks = require "databricks"
local core = require "databricks.core"
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"
local G = require "databricks.simulator.generate"

-- Under valgrind (make valgrind) everything runs ~20x slower.
local SLOW = os.getenv("DBX_VALGRIND") and 20 or 1

local ALL_TYPES = {
  { name = "b", type = "TINYINT" }, { name = "sh", type = "SMALLINT" }, { name = "i", type = "INT" },
  { name = "l", type = "BIGINT" }, { name = "f", type = "FLOAT" }, { name = "d", type = "DOUBLE" },
  { name = "ok", type = "BOOLEAN" }, { name = "dec", type = "DECIMAL(10,2)" }, { name = "s", type = "STRING" },
  { name = "day", type = "DATE" }, { name = "ts", type = "TIMESTAMP" }, { name = "bin", type = "BINARY" },
  { name = "arr", type = "ARRAY<INT>" }, { name = "m", type = "MAP<STRING,INT>" },
  { name = "st", type = "STRUCT<id:INT,name:STRING>" }, { name = "id", type = "BIGINT", nullable = false },
}

local function same_float(a, b)
  return a == b or (a ~= a and b ~= b)
end

-- The typed value of a raw generated value for a column type.
local function typed(raw, t)
  if raw == nil then return databricks.null end
  if t == "TINYINT" or t == "SMALLINT" or t == "INT" or t == "BIGINT" then return math.tointeger(tonumber(raw)) end
  if t == "FLOAT" or t == "DOUBLE" then
    if raw == "NaN" then return 0 / 0 end
    if raw == "Infinity" then return math.huge end
    if raw == "-Infinity" then return -math.huge end
    return tonumber(raw) + 0.0
  end
  if t == "BOOLEAN" then return raw == "true" end
  return raw
end

describe("statements", function()
  local sim, c

  setup(function()
    sim = Sim.start()
  end)
  teardown(function()
    -- Every link the storage saw is a bearer credential: the suite's secret
    -- scan must not find one in any output.
    pcall(function()
      local urls = {}
      for _, e in ipairs(sim:requests("^/sim%-storage/")) do
        if e.query then urls[#urls + 1] = e.path .. "?" .. e.query end
      end
      h.note_secrets(urls)
    end)
    sim:stop()
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    c = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file,
                                   warehouse_id = sim.warehouse_id, retry_timeout = 5 })
  end)
  after_each(function()
    core.request_stop(0)
    c:close()
  end)

  local function declare(name, spec)
    sim:config{ statements = { [name] = spec } }
  end

  local function gen(name, rows, columns, per_chunk, extra)
    local spec = { generate = { rows = rows, seed = 7, columns = columns }, rows_per_chunk = per_chunk }
    for k, v in pairs(extra or {}) do spec[k] = v end
    declare(name, spec)
    return G.new(spec.generate)
  end

  local function storage_log()
    return sim:requests("^/sim%-storage/")
  end

  describe("execute", function()
    it("returns at once with the statement id and an unfinished state, then waits", function()
      declare("SELECT slowly", { columns = { { name = "x", type = "INT" } }, rows = { { "7" } }, run_seconds = 1 })
      local t0 = h.now()
      local st = assert(c:execute("SELECT slowly"))
      assert.is_true(h.now() - t0 < 0.5 * SLOW, "execute waited for the statement")
      assert.matches("^[%w%-]+$", st.id)
      local body = cjson.decode(sim:requests{ path = "^/api/2%.0/sql/statements$", method = "POST" }[1].body)
      assert.are.equal("0s", body.wait_timeout)
      assert.are.equal("EXTERNAL_LINKS", body.disposition)
      assert.are.equal("JSON_ARRAY", body.format)
      local state = assert(st:status())
      assert.is_true(state == "PENDING" or state == "RUNNING", state)
      assert.is_true(assert(st:wait()))
      assert.are.equal("SUCCEEDED", st:status())
      assert.matches("databricks.statement %(" .. st.id:gsub("%-", "%%-") .. ", SUCCEEDED%)", tostring(st))
      assert.are.same({ { 7 } }, st:fetch_all().rows)
      st:close()
      assert.has_error(function() st:status() end)
      st:close() -- idempotent
    end)

    it("sends every option: parameters, catalog, schema, row and byte limits, query tags (map or list)", function()
      local st = assert(c:execute("SELECT :a AS a, :n AS n", {
        parameters = { a = "x", n = 5 }, catalog = "main", schema = "sales", row_limit = 10, byte_limit = 100000,
        query_tags = { team = "etl", job = "nightly" }, disposition = "INLINE", wait_timeout = 5,
      }))
      assert.are.same({ "x", 5 }, st:fetch_all().rows[1])
      local all = sim:state().statements
      local rec = all[#all]
      assert.are.equal("main", rec.catalog)
      assert.are.equal("sales", rec.schema)
      assert.are.equal(10, rec.row_limit)
      assert.are.equal(100000, rec.byte_limit)
      assert.are.same({ { key = "job", value = "nightly" }, { key = "team", value = "etl" } }, rec.query_tags)
      assert.are.same({ { name = "a", value = "x" }, { name = "n", value = "5", type = "BIGINT" } }, rec.parameters)
      assert(c:execute("SELECT 1", { query_tags = { { key = "flag" }, { key = "k", value = "v" } } })):close()
      all = sim:state().statements
      assert.are.same({ { key = "flag" }, { key = "k", value = "v" } }, all[#all].query_tags)
    end)

    it("refuses bad options with config errors, and wrong types by raising", function()
      for _, o in ipairs({ { disposition = "STREAM" }, { prefetch = 100 }, { wait_timeout = 3 }, { timeout = 0 },
                           { row_limit = -1 }, { decimal = "float" }, { nonsense = 1 } }) do
        local st, err = c:execute("SELECT 1", o)
        assert.is_nil(st)
        assert.are.equal("config", err.kind, tostring(err))
      end
      local tags = {}
      for i = 1, 21 do tags["k" .. i] = "v" end
      local _, err = c:execute("SELECT 1", { query_tags = tags })
      assert.are.equal("config", err.kind)
      assert.has_error(function() c:execute(42) end)
      assert.has_error(function() c:execute("SELECT 1", { typed = "yes" }) end)
      assert.has_error(function() c:execute("SELECT 1", { on_progress = 1 }) end)
      local c2 = assert(databricks.connect{ host = sim.url, token = sim.pat, ca_bundle = sim.ca_file })
      _, err = c2:execute("SELECT 1")
      assert.are.equal("config", err.kind)
      assert.matches("warehouse", err.message)
      c2:close()
      assert.are.same({}, sim:requests("/api/2.0/sql/statements"))
    end)

    it("reports a failed statement from wait, rows, columns and fetch_all, with the statement id", function()
      declare("SELECT boom", { fail = { error_code = "DIVIDE_BY_ZERO", message = "division by zero" } })
      local st = assert(c:execute("SELECT boom"))
      local ok, err = st:wait()
      assert.is_nil(ok)
      assert.are.equal("sql", err.kind)
      assert.are.equal("DIVIDE_BY_ZERO", err.error_code)
      assert.matches("division by zero", tostring(err))
      assert.are.equal(st.id, err.statement_id)
      assert.are.equal("sql", select(2, st:columns()).kind)
      assert.are.equal("sql", select(2, st:fetch_all()).kind)
      local pok, perr = pcall(function() for _ in st:rows() do end end)
      assert.is_false(pok)
      assert.are.equal("sql", perr.kind)
      assert.are.equal(st.id, perr.statement_id)
      st:close()
    end)
  end)

  describe("typed rows", function()
    it("convert every type while the row tables are built (EXTERNAL_LINKS), NULL as databricks.null", function()
      local g = gen("SELECT * FROM types", 1200, ALL_TYPES, 300)
      local st = assert(c:execute("SELECT * FROM types"))
      local cols = assert(st:columns())
      assert.are.equal(#ALL_TYPES, #cols)
      assert.are.same({ name = "dec", type_name = "DECIMAL", type_text = "DECIMAL(10,2)", position = 7,
                        type_precision = 10, type_scale = 2 }, cols[8])
      local n, nulls = 0, 0
      for row in st:rows() do
        local raw = g:values(n)
        for k, col in ipairs(ALL_TYPES) do
          local want, got = typed(raw[k], col.type), row[k]
          if want == databricks.null then nulls = nulls + 1 end
          if type(want) == "number" then
            assert.is_true(math.type(got) == math.type(want) and same_float(got, want),
              string.format("row %d %s: %s (%s) vs %s", n, col.name, tostring(got), math.type(got), tostring(want)))
          else
            assert.are.equal(want, got, string.format("row %d column %s", n, col.name))
          end
        end
        n = n + 1
      end
      assert.are.equal(1200, n)
      assert.is_true(nulls > 0)
      assert.are.equal(4, #storage_log())
      st:close()
    end)

    it("keep strings with typed = false, and DECIMAL as a float with decimal = \"number\"", function()
      local g = gen("SELECT * FROM nums", 300, { { name = "i", type = "INT", nullable = false },
        { name = "dec", type = "DECIMAL(10,2)", nullable = false } }, 100)
      local raw = assert(c:execute("SELECT * FROM nums", { typed = false })):fetch_all()
      assert.are.equal(g:values(0)[1], raw.rows[1][1])
      assert.are.equal(g:values(0)[2], raw.rows[1][2])
      local num = assert(c:execute("SELECT * FROM nums", { decimal = "number" })):fetch_all()
      assert.are.equal(math.tointeger(tonumber(g:values(5)[1])), num.rows[6][1])
      assert.are.equal(tonumber(g:values(5)[2]), num.rows[6][2])
      assert.are.equal("float", math.type(num.rows[6][2]))
      assert.are.same({ "i", "dec" }, num.columns)
      assert.are.equal(300, num.total_row_count)
      assert.is_false(num.truncated)
    end)

    it("are typed for INLINE results too", function()
      local st = assert(c:execute("SELECT 1 AS one, 2.50 AS d, TRUE AS t, NULL AS n, 'x' AS s, 1e3 AS f",
        { disposition = "INLINE" }))
      assert.are.same({ 1, "2.50", true, databricks.null, "x", 1000.0 }, st:fetch_all().rows[1])
    end)

    it("a value that is not of its column's type is a protocol error naming the column", function()
      declare("SELECT bad", { columns = { { name = "ok", type = "INT" }, { name = "amount", type = "INT" } },
        rows = { { "1", "2" }, { "3", "12abc" } } })
      for _, disposition in ipairs({ "EXTERNAL_LINKS", "INLINE" }) do
        local st = assert(c:execute("SELECT bad", { disposition = disposition }))
        local seen = {}
        local ok, err = pcall(function() for row in st:rows() do seen[#seen + 1] = row end end)
        assert.is_false(ok)
        assert.are.equal("protocol", err.kind, disposition)
        assert.matches("'amount'", err.message)
        assert.matches("INT", err.message)
        assert.is_nil(err.message:find("12abc", 1, true), "the value itself is not echoed")
        local _, ferr = assert(c:execute("SELECT bad", { disposition = disposition })):fetch_all()
        assert.are.equal("protocol", ferr.kind)
        st:close()
      end
      -- untyped, the same rows are fine
      assert.are.equal("12abc", assert(c:execute("SELECT bad", { typed = false })):fetch_all().rows[2][2])
    end)
  end)

  describe("cloud fetch", function()
    it("downloads the chunks ahead in parallel, up to prefetch, while rows are read", function()
      gen("SELECT * FROM wide", 4000, { { name = "n", type = "BIGINT" }, { name = "s", type = "STRING" } }, 400)
      sim:config{ storage_delay = 0.2 }
      local st = assert(c:execute("SELECT * FROM wide", { prefetch = 3 }))
      assert(st:wait())
      local n = 0
      for _ in st:rows() do n = n + 1 end
      assert.are.equal(4000, n)
      local rec = sim:storage()
      assert.are.equal(10, #rec.downloads)
      assert.is_true(rec.max_in_flight >= 2, "downloads ran one at a time")
      assert.is_true(rec.max_in_flight <= 4, "more than prefetch + 1 downloads at once: " .. rec.max_in_flight)
      assert.are.equal(rec.max_in_flight, st:_stats().max_parallel)
      st:close()
    end)

    it("never sends the workspace Authorization header or a cookie to storage, only the link's headers", function()
      gen("SELECT * FROM g", 1000, { { name = "n", type = "INT" } }, 200)
      local st = assert(c:execute("SELECT * FROM g"))
      assert.are.equal(1000, #assert(st:fetch_all()).rows)
      local log = storage_log()
      assert.are.equal(5, #log)
      for _, e in ipairs(log) do
        assert.is_nil(e.headers.authorization, "Authorization reached storage")
        assert.is_nil(e.headers.cookie, "a cookie reached storage")
        assert.is_nil(e.headers["user-agent"])
        assert.is_nil(e.headers.accept)
        assert.are.equal("AES256", e.headers["x-amz-server-side-encryption-customer-algorithm"])
        assert.matches("^%w+$", e.headers["x-sim-storage-key"])
        assert.are.equal(200, e.status)
        assert.is_nil(e.denied)
      end
      -- and the workspace got its token on every call
      for _, e in ipairs(sim:requests("^/api/2%.0/sql/statements")) do
        assert.are.equal("Bearer " .. sim.pat, e.headers.authorization)
      end
    end)

    it("works with links that carry no headers", function()
      sim:config{ link_headers = false }
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      assert.are.equal(300, #assert(assert(c:execute("SELECT * FROM g")):fetch_all()).rows)
    end)

    it("renews an expired link (403 from storage) once through result/chunks/{n}", function()
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      sim:fault{ chunk = 1, action = "expired" }
      local st = assert(c:execute("SELECT * FROM g"))
      assert.are.equal(300, #assert(st:fetch_all()).rows)
      assert.are.equal(2, #sim:requests("/result/chunks/1$"))
      local statuses = {}
      for _, e in ipairs(storage_log()) do statuses[#statuses + 1] = e.status end
      table.sort(statuses)
      assert.are.same({ 200, 200, 200, 403 }, statuses)
    end)

    it("renews a link that storage answers 404, and a link already past its expiration before use", function()
      gen("SELECT * FROM g", 200, { { name = "n", type = "INT" } }, 100)
      sim:fault{ chunk = 0, action = "not_found" }
      assert.are.equal(200, #assert(assert(c:execute("SELECT * FROM g")):fetch_all()).rows)
      sim:clear_requests()
      -- links that are dead on arrival: renewed once, then an error raised by the iterator
      sim:config{ link_ttl = 0 }
      local st = assert(c:execute("SELECT * FROM g"))
      local ok, err = pcall(function() for _ in st:rows() do end end)
      assert.is_false(ok)
      assert.is_table(err)
      assert.is_true(err.kind == "protocol" or err.kind == "http", tostring(err))
      assert.matches("renewed", err.message)
      assert.are.equal(st.id, err.statement_id)
      assert.are.equal(0, #storage_log(), "a dead link was sent to storage")
      st:close()
    end)

    it("gives up with an http error when storage refuses the renewed link too", function()
      gen("SELECT * FROM g", 100, { { name = "n", type = "INT" } }, 100)
      sim:fault{ chunk = 0, action = "expired", count = 2 }
      local st = assert(c:execute("SELECT * FROM g"))
      local ok, err = pcall(function() for _ in st:rows() do end end)
      assert.is_false(ok)
      assert.are.equal("http", err.kind)
      assert.are.equal(403, err.status)
      -- chunk 0's first link came with the statement's answer; one renewal
      assert.are.equal(1, #sim:requests("/result/chunks/0$"))
      assert.are.equal(2, #storage_log())
      st:close()
    end)

    it("retries a truncated body and a 503 from storage, as the transport does", function()
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      sim:faults{ { chunk = 1, action = "truncated" }, { path = "^/sim%-storage/", status = 503, count = 1,
                                                           headers = { ["Retry-After"] = "0" } } }
      local st = assert(c:execute("SELECT * FROM g"))
      local res = assert(st:fetch_all())
      assert.are.equal(300, #res.rows)
      assert.are.equal(5, #storage_log())
    end)

    it("a malformed chunk or a chunk with the wrong number of rows raises a protocol error", function()
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      for _, action in ipairs({ "malformed", "wrong_row_count" }) do
        sim:clear_faults()
        sim:fault{ chunk = 2, action = action }
        local st = assert(c:execute("SELECT * FROM g"))
        local n = 0
        local ok, err = pcall(function() for _ in st:rows() do n = n + 1 end end)
        assert.is_false(ok)
        assert.are.equal("protocol", err.kind, action)
        assert.matches("chunk 2", err.message)
        assert.are.equal(200, n, "the chunks before it were read")
        st:close()
      end
    end)

    it("storage errors name the chunk and status, never the link, its query or its headers", function()
      gen("SELECT * FROM g", 100, { { name = "n", type = "INT" } }, 100)
      sim:fault{ path = "^/sim%-storage/", status = 500, count = -1 }
      local st = assert(c:execute("SELECT * FROM g", { timeout = 30 }))
      local ok, err = pcall(function() for _ in st:rows() do end end)
      assert.is_false(ok)
      assert.are.equal("http", err.kind)
      assert.are.equal(500, err.status)
      local text = tostring(err)
      h.note("cloud fetch error", text)
      assert.matches("chunk 0", text)
      for _, t in ipairs(sim:tokens()) do
        if t.kind == "link" or t.kind == "link_header" then
          assert.is_nil(text:find(t.token, 1, true), "a link secret is in the error")
        end
      end
      assert.is_nil(text:find("sim-storage", 1, true))
      assert.is_nil(text:find("127.0.0.1:" .. sim.storage_port, 1, true))
      st:close()
    end)

    it("pre-signed link signatures are redacted by shape too, after their chunk was released", function()
      local text = core.redact("GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        .. "&X-Amz-Credential=AKIAEXAMPLE%2F20261121&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0 failed; "
        .. "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sig=AbCdEfGhIjKlMnOp%3D&se=x; "
        .. "https://storage.googleapis.com/b/o?X-Goog-Signature=00aa11bb22cc33dd; the signature: prose stays")
      assert.is_nil(text:find("0f1e2d3c4b5a", 1, true))
      assert.is_nil(text:find("AKIAEXAMPLE", 1, true))
      assert.is_nil(text:find("AbCdEfGhIjKl", 1, true))
      assert.is_nil(text:find("00aa11bb22cc", 1, true))
      assert.matches("the signature: prose stays", text)
    end)

    it("refuses a link that is not https, or whose headers would inject a header, before sending anything", function()
      local function answer(link)
        return { path = "^/api/2%.0/sql/statements/[^/]+$", method = "GET", status = 200, count = -1, body = {
          statement_id = "ignored", status = { state = "SUCCEEDED" },
          manifest = { total_chunk_count = 1, total_row_count = 1,
                       schema = { columns = { { name = "n", type_name = "INT", position = 0 } } } },
          result = { external_links = { link } } } }
      end
      local base = "127.0.0.1:" .. sim.storage_port .. "/sim-storage/x/chunk-0.json?X-Sim-Signature=abcdefgh"
      for _, link in ipairs({
        { chunk_index = 0, row_offset = 0, row_count = 1, external_link = "http://" .. base },
        { chunk_index = 0, row_offset = 0, row_count = 1, external_link = "https://" .. base,
          http_headers = { ["x-ok"] = "a\r\nAuthorization: Bearer stolen" } },
        { chunk_index = 0, row_offset = 0, row_count = 1, external_link = "https://" .. base,
          http_headers = { ["bad name"] = "v" } },
      }) do
        sim:clear_faults()
        sim:fault(answer(link))
        local st = assert(c:execute("SELECT 1"))
        local ok, err = pcall(function() for _ in st:rows() do end end)
        assert.is_false(ok)
        assert.are.equal("protocol", err.kind)
        assert.matches("refused before any request", err.message)
        assert.is_nil(err.message:find("abcdefgh", 1, true))
        st:close()
      end
      assert.are.equal(0, #storage_log())
    end)

    it("reports progress as chunks done / total, at most ~10 times a second, ending at total", function()
      gen("SELECT * FROM g", 1000, { { name = "n", type = "INT" } }, 100)
      local calls = {}
      local t0 = h.now()
      local st = assert(c:execute("SELECT * FROM g", { on_progress = function(done, total)
        calls[#calls + 1] = { done, total }
      end }))
      for _ in st:rows() do end
      local elapsed = h.now() - t0
      assert.is_true(#calls >= 1)
      assert.are.same({ 10, 10 }, calls[#calls])
      assert.is_true(#calls <= 2 + elapsed * 10, #calls .. " calls in " .. elapsed .. " s")
      for i = 2, #calls do assert.is_true(calls[i][1] > calls[i - 1][1]) end
      -- an erroring callback ends the iteration with an io error
      local st2 = assert(c:execute("SELECT * FROM g"))
      local ok, err = pcall(function() for _ in st2:rows{ on_progress = function() error("boom") end } do end end)
      assert.is_false(ok)
      assert.are.equal("io", err.kind)
      assert.matches("on_progress", err.message)
      st2:close()
    end)

    it("a statement cannot be used from inside its own on_progress callback", function()
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      local st
      st = assert(c:execute("SELECT * FROM g", { on_progress = function() st:status() end }))
      local ok, err = pcall(function() for _ in st:rows() do end end)
      assert.is_false(ok)
      assert.are.equal("io", err.kind)
      assert.matches("own calls", err.message)
      st:close()
    end)

    it("stops its downloads when closed in the middle of the rows", function()
      gen("SELECT * FROM g", 2000, { { name = "n", type = "INT" } }, 100)
      sim:config{ storage_delay = 0.05 }
      local st = assert(c:execute("SELECT * FROM g", { prefetch = 8 }))
      local n = 0
      for _ in st:rows() do
        n = n + 1
        if n == 150 then break end
      end
      st:close()
      assert.is_true(h.wait_for(function() return sim:storage().in_flight == 0 end, 5))
      assert.is_true(#storage_log() < 20)
    end)
  end)

  describe("trust #3", function()
    it("trust #3 a self-pointing next chunk link is a protocol error, not an endless loop (client:sql, INLINE)", function()
      local rows = {}
      for i = 1, 30 do rows[i] = { tostring(i) } end
      declare("SELECT loop", { columns = { { name = "i", type = "INT" } }, rows = rows, rows_per_chunk = 10 })
      sim:fault{ chunk = 1, action = "self_link", count = -1 }
      local t0 = h.now()
      local res, err = c:sql("SELECT loop")
      assert.is_nil(res)
      assert.are.equal("protocol", err.kind)
      assert.matches("points back", err.message)
      assert.is_true(h.now() - t0 < 5 * SLOW)
      assert.is_true(#sim:requests("/result/chunks/") <= 2)
    end)

    it("trust #3 a self-pointing next chunk link is a protocol error with EXTERNAL_LINKS too", function()
      gen("SELECT * FROM g", 300, { { name = "n", type = "INT" } }, 100)
      sim:fault{ chunk = 1, action = "self_link", count = -1 }
      local st = assert(c:execute("SELECT * FROM g"))
      local ok, err = pcall(function() for _ in st:rows() do end end)
      assert.is_false(ok)
      assert.are.equal("protocol", err.kind)
      assert.matches("points back", err.message)
      st:close()
    end)
  end)

  describe("INLINE", function()
    it("is refused above the inline byte limit with the server's message; EXTERNAL_LINKS fetches the same", function()
      sim:config{ inline_byte_limit = 20000 }
      gen("SELECT * FROM wide", 1000, { { name = "s", type = "STRING" } })
      local res, err = c:sql("SELECT * FROM wide")
      assert.is_nil(res)
      assert.are.equal("sql", err.kind)
      assert.matches("Inline byte limit exceeded", err.message)
      res = assert(c:sql("SELECT * FROM wide", { disposition = "EXTERNAL_LINKS" }))
      assert.are.equal(1000, #res.rows)
      assert.is_string(res.rows[1][1] ~= databricks.null and res.rows[1][1] or "")
    end)

    it("streams INLINE chunks through rows() too", function()
      local rows = {}
      for i = 1, 25 do rows[i] = { tostring(i) } end
      declare("SELECT many", { columns = { { name = "i", type = "INT" } }, rows = rows, rows_per_chunk = 4 })
      local st = assert(c:execute("SELECT many", { disposition = "INLINE" }))
      local got = {}
      for row in st:rows() do got[#got + 1] = row[1] end
      assert.are.equal(25, #got)
      for i = 1, 25 do assert.are.equal(i, got[i]) end
      assert.are.equal(6, #sim:requests("/result/chunks/"))
    end)
  end)

  describe("cancel and timeouts", function()
    local function forever()
      declare("SELECT forever", { columns = { { name = "x" } }, rows = {}, run_seconds = 60 })
    end

    it("cancel() cancels on the warehouse", function()
      forever()
      local st = assert(c:execute("SELECT forever"))
      assert.is_true(assert(st:cancel()))
      assert.are.equal(1, #sim:requests("/cancel$"))
      assert.are.equal("CANCELED", st:status())
      local _, err = st:wait()
      assert.are.equal("sql", err.kind)
      st:close()
      assert.are.equal(1, #sim:requests("/cancel$"), "close cancelled a cancelled statement")
    end)

    it("the statement's timeout cancels it; a shorter wait{timeout=} does not", function()
      forever()
      local st = assert(c:execute("SELECT forever", { timeout = 1.5 }))
      local t0 = h.now()
      local ok, err = st:wait{ timeout = 0.3 }
      assert.is_nil(ok)
      assert.are.equal("timeout", err.kind)
      assert.are.equal(0, #sim:requests("/cancel$"))
      ok, err = st:wait()
      assert.is_nil(ok)
      assert.are.equal("timeout", err.kind)
      assert.matches("cancelled", err.message)
      assert.is_true(h.now() - t0 < 4 * SLOW)
      assert.are.equal(1, #sim:requests("/cancel$"))
      local polls = sim:requests{ path = "^/api/2%.0/sql/statements/[^/]+$", method = "GET" }
      assert.is_true(#polls <= 12, "polled " .. #polls .. " times: no busy loop")
      st:close()
    end)

    it("close, __close and __gc cancel a statement that has not finished", function()
      forever()
      assert(c:execute("SELECT forever")):close()
      assert.are.equal(1, #sim:requests("/cancel$"))
      do
        local st <close> = assert(c:execute("SELECT forever"))
        assert.is_string(st.id)
      end
      assert.are.equal(2, #sim:requests("/cancel$"))
      local st = assert(c:execute("SELECT forever"))
      local id = st.id
      st = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
      local cancels = sim:requests("/cancel$")
      assert.are.equal(3, #cancels)
      assert.matches(id:gsub("%-", "%%-"), cancels[3].path)
      -- finished statements are not cancelled
      assert(c:execute("SELECT 1", { wait_timeout = 5 })):close()
      assert.are.equal(3, #sim:requests("/cancel$"))
    end)

    it("a stop request (SIGTERM) while waiting cancels the statement, which the stop does not prevent", function()
      forever()
      local st = assert(c:execute("SELECT forever"))
      core.request_stop(15)
      local ok, err = st:wait()
      core.request_stop(0)
      assert.is_nil(ok)
      assert.are.equal("io", err.kind)
      assert.matches("stop", err.message)
      assert.are.equal(1, #sim:requests("/cancel$"))
      st:close()
    end)

    it("SIGTERM to a process waiting for a statement cancels it and ends the wait", function()
      forever()
      local dir = h.tmpdir("sigterm")
      local script = dir .. "/wait.lua"
      h.write_file(script, string.format([[
        local core = require "databricks.core"
        local databricks = require "databricks"
        assert(core.install_signals())
        local c = assert(databricks.connect{ host = %q, token = %q, ca_bundle = %q, warehouse_id = %q })
        local st = assert(c:execute("SELECT forever"))
        io.open(%q, "w"):close()
        local ok, err = st:wait()
        io.write(tostring(ok), " ", err and err.kind or "-", "\n")
      ]], sim.url, sim.pat, sim.ca_file, sim.warehouse_id, dir .. "/ready"))
      local pid = h.spawn({ "lua5.4", script }, { log = dir .. "/out.log", env = {
        LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
        LUA_CPATH = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/?.so;;" } })
      assert.is_true(h.wait_for(function() return h.exists(dir .. "/ready") end, 10), h.read_file(dir .. "/out.log"))
      h.kill(pid, "TERM")
      assert.is_true(h.wait_for(function() return not h.alive(pid) end, 5))
      assert.matches("nil io", h.read_file(dir .. "/out.log"))
      assert.are.equal(1, #sim:requests("/cancel$"))
    end)
  end)

  describe("client:sql", function()
    it("is execute + fetch_all with the 0.1 defaults: INLINE, strings", function()
      local res = assert(c:sql("SELECT 1 AS one, 2.5 AS x"))
      assert.are.same({ "one", "x" }, res.columns)
      assert.are.same({ { "1", "2.5" } }, res.rows)
      assert.are.equal("one", res.schema[1].name)
      local body = cjson.decode(sim:requests{ path = "^/api/2%.0/sql/statements$", method = "POST" }[1].body)
      assert.are.equal("INLINE", body.disposition)
      assert.are_not.equal("0s", body.wait_timeout)
      assert.are.same({ { 1, 2.5 } }, assert(c:sql("SELECT 1 AS one, 2.5 AS x", { typed = true, decimal = "number" })).rows)
    end)
  end)
end)
