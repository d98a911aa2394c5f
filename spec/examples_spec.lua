-- The examples in examples/ work as their comments say, against the
-- workspace simulator: the pipeline script (parameterised SQL, rows
-- printed), the export script (a streamed EXTERNAL_LINKS result into a CSV
-- file uploaded to a volume, with a progress line on a terminal), the
-- connection validator (a .databrickscfg profile), the C host
-- that embeds Lua, and the rotator daemon set-up (start, first rotation,
-- SIGTERM). The Kubernetes manifest's YAML parses and says what the sidecar
-- set-up needs, and its agent.ini rotates against the simulator.
local Sim = require "support.sim"
local h = require "support.helpers"
local cjson = require "cjson"

local EX = h.root .. "/examples"
local BUILD = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build")

-- How a user runs an example from a checkout: the documented LUA_PATH/CPATH.
local function lua_env(extra)
  local env = {
    LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;",
    LUA_CPATH = BUILD .. "/?.so;;",
  }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function lines(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("examples", function()
  local sim, dir

  setup(function()
    sim = Sim.start()
  end)
  teardown(function()
    if sim then sim:stop() end
    h.cleanup()
  end)
  before_each(function()
    sim:reset()
    dir = h.tmpdir("ex")
  end)

  describe("pipeline.lua", function()
    -- The query text, taken from the example itself so the two never drift.
    local src = assert(h.read_file(EX .. "/pipeline.lua"))
    local QUERY = load("return " .. assert(src:match("local QUERY = (%[%[.-%]%])")))()

    local function pipeline(args, env)
      local argv = { "lua5.4", EX .. "/pipeline.lua" }
      for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
      return h.run(argv, { env = lua_env(env), cwd = dir })
    end

    local function pat_env()
      return { DATABRICKS_HOST = sim.url, DATABRICKS_TOKEN = sim.pat, DATABRICKS_WAREHOUSE_ID = sim.warehouse_id,
               SSL_CERT_FILE = sim.ca_file }
    end

    before_each(function()
      sim:config{ statements = { [QUERY] = {
        columns = { { name = "pickup_zip", type_name = "INT" }, { name = "trips", type_name = "BIGINT" },
                    { name = "avg_fare", type_name = "DOUBLE" } },
        rows = { { 10001, 412, 14.25 }, { 10003, 300, 12.5 }, { cjson.null, 7, 9 } },
      } } }
    end)

    it("binds typed parameters, passes the row limit and prints an aligned table", function()
      local r = pipeline({ "3.5", "2016-02-01", "2" }, pat_env())
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({
        "pickup_zip  trips  avg_fare",
        "10001       412    14.25",
        "10003       300    12.5",
      }, lines(r.stdout))
      assert.matches("^2 row%(s%), statement ", r.stderr)
      local reqs = sim:requests{ path = "^/api/2.0/sql/statements$", method = "POST" }
      assert.are.equal(1, #reqs)
      local body = cjson.decode(reqs[1].body)
      assert.are.equal(QUERY, body.statement)
      assert.are.equal(sim.warehouse_id, body.warehouse_id)
      assert.are.equal(2, body.row_limit)
      table.sort(body.parameters, function(a, b) return a.name < b.name end)
      assert.are.same({ { name = "min_miles", value = "3.5", type = "DOUBLE" },
                        { name = "since", value = "2016-02-01", type = "DATE" } }, body.parameters)
    end)

    it("takes its settings from a profile named in the environment", function()
      local cfg = dir .. "/databrickscfg"
      h.write_file(cfg, string.format("[etl]\nhost = %s\nclient_id = %s\nclient_secret = %s\nhttp_path = %s\n",
        sim.url, sim.client_id, sim.client_secret, "/sql/1.0/warehouses/" .. sim.warehouse_id), 384)
      local r = pipeline({}, { DATABRICKS_CONFIG_FILE = cfg, DATABRICKS_CONFIG_PROFILE = "etl",
                               SSL_CERT_FILE = sim.ca_file })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("NULL        7      9", lines(r.stdout)[4], "a SQL NULL prints as NULL")
      local body = cjson.decode(sim:requests{ path = "^/api/2.0/sql/statements$", method = "POST" }[1].body)
      assert.are.equal(10, body.row_limit)
    end)

    it("exits 2 on bad arguments or conflicting settings, 1 when the query fails", function()
      assert.are.equal(2, pipeline({ "far" }, pat_env()).code)
      local env = pat_env()
      env.DATABRICKS_CLIENT_ID, env.DATABRICKS_CLIENT_SECRET = sim.client_id, sim.client_secret
      local r = pipeline({}, env)
      assert.are.equal(2, r.code)
      assert.matches("more than one authorization method", r.stderr)
      sim:reset() -- the statement has no result any more: the warehouse reports FAILED
      r = pipeline({}, pat_env())
      assert.are.equal(1, r.code)
      assert.matches("^query: sql error", r.stderr)
      assert.are.equal("", r.stdout)
    end)
  end)

  describe("export.lua", function()
    local QUERY = "SELECT * FROM sales"
    local G = require "databricks.simulator.generate"
    local SPEC = { rows = 2500, seed = 5, columns = {
      { name = "id", type = "BIGINT", nullable = false }, { name = "note", type = "STRING" },
      { name = "amount", type = "DECIMAL(10,2)" } } }

    local function csv_field(v)
      if v == nil then return "" end
      if v == "" or v:find('[",\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
      return v
    end

    local function expected_csv()
      local g, out = G.new(SPEC), { "id,note,amount" }
      for r = 0, SPEC.rows - 1 do
        local v = g:values(r)
        out[#out + 1] = csv_field(v[1]) .. "," .. csv_field(v[2]) .. "," .. csv_field(v[3])
      end
      return table.concat(out, "\r\n") .. "\r\n"
    end

    local function env()
      return lua_env{ DATABRICKS_HOST = sim.url, DATABRICKS_TOKEN = sim.pat,
                      DATABRICKS_WAREHOUSE_ID = sim.warehouse_id, SSL_CERT_FILE = sim.ca_file }
    end

    before_each(function()
      sim:config{ statements = { [QUERY] = { generate = SPEC, rows_per_chunk = 500 } } }
    end)

    it("streams the result into a CSV file and uploads it to the volume", function()
      local vol = "/Volumes/" .. sim.volume:gsub("%.", "/") .. "/exports/sales.csv"
      local r = h.run({ "lua5.4", EX .. "/export.lua", QUERY, dir .. "/sales.csv", vol }, { env = env(), cwd = dir })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      local want = expected_csv()
      assert.are.equal(want, h.read_file(dir .. "/sales.csv"))
      assert.matches("^2500 row%(s%) of statement [%w%-]+ %-> .*sales%.csv %(" .. #want .. " bytes%) %-> " ..
        vol:gsub("%p", "%%%0") .. "\n$", r.stdout)
      assert.is_nil(r.stdout:find("\r", 1, true), "a progress line without a terminal")
      local got = sim:request("GET", "/api/2.0/fs/files" .. vol, { token = sim.pat })
      assert.are.equal(200, got.status)
      assert.are.equal(want, got.body)
      local body = cjson.decode(sim:requests{ path = "^/api/2.0/sql/statements$", method = "POST" }[1].body)
      assert.are.equal("EXTERNAL_LINKS", body.disposition)
      assert.are.equal(5, #sim:requests("^/sim%-storage/"))
    end)

    it("draws a progress line when stdout is a terminal", function()
      local vol = "/Volumes/" .. sim.volume:gsub("%.", "/") .. "/exports/tty.csv"
      local cmd = h.join({ "lua5.4", EX .. "/export.lua", QUERY, dir .. "/tty.csv", vol })
      local r = h.run({ "script", "-qec", cmd, "/dev/null" }, { env = env(), cwd = dir })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("\rrows: chunk 5/5 chunks %(100%%%)", r.stdout)
      assert.matches("\rupload: %d+/%d+ bytes %(100%%%)", r.stdout)
      assert.matches("2500 row%(s%)", r.stdout)
    end)

    it("exits 1 with the error and no CSV file when the query fails, 2 on bad usage", function()
      sim:config{ statements = { [QUERY] = { fail = { error_code = "TABLE_OR_VIEW_NOT_FOUND", message = "no sales" } } } }
      local vol = "/Volumes/" .. sim.volume:gsub("%.", "/") .. "/exports/x.csv"
      local r = h.run({ "lua5.4", EX .. "/export.lua", QUERY, dir .. "/x.csv", vol }, { env = env(), cwd = dir })
      assert.are.equal(1, r.code)
      assert.matches("query: sql error.*no sales", r.stderr)
      assert.is_false(h.exists(dir .. "/x.csv"))
      r = h.run({ "lua5.4", EX .. "/export.lua", QUERY, dir .. "/x.csv", "not-a-volume" }, { env = env(), cwd = dir })
      assert.are.equal(2, r.code)
    end)
  end)

  describe("validate.lua", function()
    local function validate(args)
      local argv = { "lua5.4", EX .. "/validate.lua" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      return h.run(argv, { env = lua_env{ SSL_CERT_FILE = sim.ca_file }, cwd = dir })
    end

    local function profiles()
      local path = dir .. "/databrickscfg"
      h.write_file(path, string.format(
        "[DEFAULT]\nhost = https://unused.invalid\ntoken = dapi0000\n\n" ..
        "[prod]\nhost = %s\ntoken = %s\nwarehouse_id = %s\n\n" ..
        "[svc]\nhost = %s\nclient_id = %s\nclient_secret = wrong-secret\n", sim.url, sim.pat, sim.warehouse_id,
        sim.url, sim.client_id), 384)
      return path
    end

    it("prints each check and exits 0 when the profile works", function()
      local r = validate{ profiles(), "prod", sim.table }
      assert.are.equal(0, r.code, r.stderr)
      local out = lines(r.stdout)
      assert.matches("^workspace%s+" .. sim.url:gsub("%p", "%%%0") .. " %(profile prod%)$", out[1])
      assert.matches("^authentication%s+ok%s+200%s+[%d.]+ ms$", out[2])
      assert.matches("^unity_catalog%s+ok%s+200", out[3])
      assert.matches("^statement_execution%s+ok%s+200", out[4])
      assert.matches("^signed in as%s+user@example%.com$", out[5])
      assert.are.equal("connection OK", out[6])
    end)

    it("marks skipped checks, and exits 1 when a check fails", function()
      local r = validate{ profiles(), "svc" }
      assert.are.equal(1, r.code)
      assert.matches("authentication%s+FAIL .*401 invalid_client", r.stdout)
      assert.matches("unity_catalog%s+skipped", r.stdout)
      assert.matches("connection FAILED", r.stdout)
      assert.is_nil(r.stdout:find("wrong-secret", 1, true))
      r = validate{ profiles(), "prod", "main.nope.t" }
      assert.are.equal(1, r.code)
      assert.matches("unity_catalog%s+FAIL%s+404", r.stdout)
    end)

    it("exits 2 for a missing profile, naming the others, and for missing arguments", function()
      local r = validate{ profiles(), "staging" }
      assert.are.equal(2, r.code)
      assert.matches("profile 'staging' not found .*%(profiles: DEFAULT, prod, svc%)", r.stderr)
      assert.are.equal(2, validate{}.code)
    end)
  end)

  describe("the C host (build/examples/c-host)", function()
    local HOST = BUILD .. "/examples/c-host"

    local function host(statement, env)
      return h.run({ HOST, h.root, statement }, { cwd = dir, env = env or {
        DATABRICKS_HOST = sim.url, DATABRICKS_TOKEN = sim.pat, DATABRICKS_WAREHOUSE_ID = sim.warehouse_id,
        SSL_CERT_FILE = sim.ca_file } })
    end

    it("embeds Lua 5.4, loads the module, runs a query and prints the rows", function()
      if not h.exists(HOST) then
        pending("build it with `make example-host` (make test does)")
        return
      end
      local r = host("SELECT 1")
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("1\n1\n", r.stdout)
      assert.matches("1 row%(s%)", r.stderr)
    end)

    it("sends the host application's product first in the User-Agent", function()
      if not h.exists(HOST) then
        pending("build it with `make example-host`")
        return
      end
      assert.are.equal(0, host("SELECT 1").code)
      local ua = sim:requests("^/api/2.0/sql/statements")[1].headers["user-agent"]
      assert.matches("^ExampleCorp_CHost/1%.0%.0 LuaDatabricks_Connector/0%.1%.0 ", ua)
    end)

    it("exits 1 when the query fails and 2 on usage errors", function()
      if not h.exists(HOST) then
        pending("build it with `make example-host`")
        return
      end
      local r = host("SELECT nothing_configured")
      assert.are.equal(1, r.code)
      assert.matches("query failed: sql error", r.stderr)
      assert.are.equal(2, h.run({ HOST }).code)
    end)
  end)

  describe("the rotator daemon set-up (examples/daemon)", function()
    local function env_file(extra)
      h.write_file(dir .. "/secret", sim.client_secret .. "\n", 256)
      local vars = {
        DATABRICKS_HOST = sim.url, DATABRICKS_CLIENT_ID = sim.client_id,
        DATABRICKS_CLIENT_SECRET_FILE = dir .. "/secret", LAKEBASE_INSTANCE = sim.instance,
        PGPASSFILE = dir .. "/pgpass", ROTATOR_LOG_FILE = dir .. "/rotator.log",
        ROTATOR_STATUS_FILE = dir .. "/status.json", SSL_CERT_FILE = sim.ca_file,
      }
      for k, v in pairs(extra or {}) do vars[k] = v end
      local text = {}
      for k, v in pairs(vars) do text[#text + 1] = k .. "=" .. h.quote(v) end
      h.write_file(dir .. "/rotator.env", table.concat(text, "\n") .. "\n", 384)
      return dir .. "/rotator.env"
    end

    -- Starts run-rotator.sh, waits for the first rotation, sends SIGTERM and
    -- reports the exit status and how long stopping took.
    local function start_rotate_stop(envf, caller_env)
      local script = string.format([[
%s %s & p=$!
i=0
while ! grep -q 'INFO: rotated' %s 2>/dev/null; do
  i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.05
done
t0=$(date +%%s%%N); kill -TERM $p; wait $p; rc=$?; t1=$(date +%%s%%N)
echo "rc=$rc ms=$(( (t1 - t0) / 1000000 ))"]], h.quote(EX .. "/daemon/run-rotator.sh"), h.quote(envf),
        h.quote(dir .. "/rotator.log"))
      return h.run({ "sh", "-c", script }, { cwd = dir, env = caller_env, timeout = 40 })
    end

    it("rotates into the .pgpass at start, logs, and stops within a second of SIGTERM with exit 0", function()
      -- What the caller's shell holds must not reach the daemon (env -i).
      local r = start_rotate_stop(env_file(), lua_env{ DATABRICKS_PG_USERNAME = "from-the-callers-shell",
                                                       DATABRICKS_TOKEN = "dapipoisonpoison" })
      local rc, ms = r.stdout:match("rc=(%d+) ms=(%d+)")
      assert.are.equal("0", rc, r.stdout .. r.stderr .. (h.read_file(dir .. "/rotator.log") or ""))
      assert.is_true(tonumber(ms) < 1000, "stopped in " .. ms .. " ms")
      local pgpass = h.read_file(dir .. "/pgpass")
      assert.matches("^127%.0%.0%.1:5432:databricks_postgres:" .. sim.client_id:gsub("%-", "%%-") .. ":eyJ", pgpass)
      assert.are.equal(384, h.mode(dir .. "/pgpass"))
      local log = h.read_file(dir .. "/rotator.log")
      assert.matches("pgpass%-rotator%[%d+%] INFO: rotated Lakebase credential", log)
      assert.matches("INFO: stopping %(SIGTERM%)", log)
      assert.are.equal(384, h.mode(dir .. "/rotator.log"))
      assert.is_nil(log:find(sim.client_secret, 1, true))
      assert.are.equal(1, #sim:requests("^/api/2.0/database/credentials$"))
    end)

    it("refuses an env file others can read, and exits 2 on settings that cannot work", function()
      local envf = env_file()
      os.execute("chmod 644 " .. h.quote(envf))
      local r = h.run({ EX .. "/daemon/run-rotator.sh", envf }, { env = lua_env() })
      assert.are.equal(2, r.code)
      assert.matches("chmod 600", r.stderr)
      r = h.run({ EX .. "/daemon/run-rotator.sh", env_file{ ROTATOR_INTERVAL = "0" } }, { env = lua_env() })
      assert.are.equal(2, r.code)
      assert.matches("interval must be a whole number of minutes", r.stderr)
    end)
  end)

  describe("developing offline (README, 'Develop and test offline')", function()
    it("examples/offline/revenue_spec.lua passes under busted, starting and stopping its own simulator", function()
      local r = h.run({ "busted", "--lua=lua5.4", "-o", "TAP", EX .. "/offline/revenue_spec.lua" },
        { env = lua_env{ PATH = h.root .. "/bin:/usr/bin:/bin" }, cwd = dir, timeout = 120 })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("ok 3 ", r.stdout)
      assert.is_nil(r.stdout:find("not ok", 1, true))
      local _, ps = h.sh("pgrep -f '[r]evenue-data[.]lua' || true")
      assert.are.equal("", ps, "the spec's simulator is gone")
    end)

    it("launch.start says why when the simulator cannot start", function()
      local launch = require "databricks.simulator.launch"
      local started, err = launch.start{ program = dir .. "/no-such-simulator", timeout = 5 }
      assert.is_nil(started)
      assert.matches("did not start", err)
      started, err = launch.start{ program = h.root .. "/bin/databricks-simulator", data = dir .. "/missing.lua" }
      assert.is_nil(started)
      assert.matches("missing%.lua", err)
    end)

    it("examples/offline/revenue.lua runs as a script against a simulator started as the README says", function()
      local t = h.spawn({ h.root .. "/bin/databricks-simulator", "--data", EX .. "/offline/revenue-data.lua" },
        { log = dir .. "/sim.env", home = dir })
      assert.is_truthy(h.wait_for(function() return (h.read_file(dir .. "/sim.env") or ""):find("WAREHOUSE") end, 20))
      local env = {}
      for k, v in (h.read_file(dir .. "/sim.env")):gmatch("export ([%u_]+)=([^\n]*)") do env[k] = v:match("^'(.*)'$") or v end
      local r = h.run({ h.lua, EX .. "/offline/revenue.lua", "2026-01-01", "2" }, { env = lua_env(env) })
      h.stop(t)
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^ 1  acme +1200%.50\n 2  globex +980%.00\n$", r.stdout)
    end)
  end)

  describe("the Kubernetes sidecar manifest (on paper)", function()
    local PATH = EX .. "/k8s/pgpass-sidecar.yaml"
    local text = assert(h.read_file(PATH))

    -- A strict reader for the block-YAML subset the manifest is written in
    -- (mappings, sequences, flow lists of scalars, plain and quoted
    -- scalars, comments, `---`). Anything else is an error, so the manifest
    -- stays plain. It is checked against PyYAML when that is installed.
    local function yaml_subset(src)
      local docs, cur = {}, nil
      local lineno = 0
      for raw in (src .. "\n"):gmatch("([^\n]*)\n") do
        lineno = lineno + 1
        local lead = raw:match("^([ \t]*)")
        assert(not lead:find("\t"), "line " .. lineno .. ": tab in indentation")
        local body = raw:sub(#lead + 1)
        if raw == "---" then
          cur = {}
          docs[#docs + 1] = cur
        elseif body ~= "" and body:sub(1, 1) ~= "#" then
          assert(cur, "line " .. lineno .. ": content before the first ---")
          cur[#cur + 1] = { indent = #lead, text = body, n = lineno }
        end
      end

      local function scalar(s, n)
        local function only_comment(rest)
          assert(rest:match("^%s*$") or rest:match("^%s+#"), "line " .. n .. ": text after a quoted scalar")
        end
        if s:sub(1, 1) == '"' then
          local out, j = {}, 2
          while s:sub(j, j) ~= '"' do
            local c = s:sub(j, j)
            assert(c ~= "", "line " .. n .. ": unterminated string")
            if c == "\\" then
              j = j + 1
              c = s:sub(j, j)
              assert(c == '"' or c == "\\", "line " .. n .. ": unsupported escape")
            end
            out[#out + 1] = c
            j = j + 1
          end
          only_comment(s:sub(j + 1))
          return table.concat(out)
        elseif s:sub(1, 1) == "'" then
          local body, rest = s:match("^'(.-)'(.*)$")
          assert(body and not rest:match("^'"), "line " .. n .. ": quoted '' not supported")
          only_comment(rest)
          return body
        elseif s:sub(1, 1) == "[" then
          local inner, rest = s:match("^%[(.-)%](.*)$")
          assert(inner, "line " .. n .. ": unterminated flow sequence")
          only_comment(rest)
          local out = {}
          for item in (inner .. ","):gmatch("%s*(.-)%s*,") do out[#out + 1] = scalar(item, n) end
          return out
        end
        s = s:gsub("%s+#.*$", "")
        assert(not s:match("^[&*!|>%%@`{]"), "line " .. n .. ": unsupported YAML: " .. s)
        assert(not s:find(": ", 1, true), "line " .. n .. ": ': ' inside a plain scalar")
        if s == "null" or s == "~" then return cjson.null end
        if s == "true" then return true elseif s == "false" then return false end
        assert(not s:match("^0%d"), "line " .. n .. ": ambiguous number with a leading zero (octal?)")
        if s:match("^%-?%d+$") then return math.tointeger(tonumber(s)) end
        return s
      end

      local parse_node
      local function seq_item(t) return t == "-" or t:match("^%- ") end
      local function map_entry(t) return t:match("^([%w_%./%-]+):%s+(.*)$") or t:match("^([%w_%./%-]+):$") end

      local function parse_map(L, i, indent)
        local map = {}
        while L[i] and L[i].indent == indent and not seq_item(L[i].text) do
          local key, rest = L[i].text:match("^([%w_%./%-]+):%s+(.*)$")
          if not key then key = L[i].text:match("^([%w_%./%-]+):$") end
          assert(key, "line " .. L[i].n .. ": expected key: value")
          assert(map[key] == nil, "line " .. L[i].n .. ": duplicate key " .. key)
          if rest == "|" then
            -- A literal block scalar (clip chomping): the more-indented
            -- lines that follow, kept as written. (Blank and #-lines inside
            -- are not supported: the collector above drops them.)
            i = i + 1
            local block, base = {}, L[i] and L[i].indent
            assert(base and base > indent, "line " .. L[i - 1].n .. ": empty block scalar")
            while L[i] and L[i].indent > indent do
              block[#block + 1] = string.rep(" ", L[i].indent - base) .. L[i].text
              i = i + 1
            end
            map[key] = table.concat(block, "\n") .. "\n"
          elseif rest == nil or rest == "" or rest:match("^#") then
            i = i + 1
            if L[i] and L[i].indent > indent then
              map[key], i = parse_node(L, i, L[i].indent)
            elseif L[i] and L[i].indent == indent and seq_item(L[i].text) then
              map[key], i = parse_node(L, i, indent)
            else
              map[key] = cjson.null
            end
          else
            map[key] = scalar(rest, L[i].n)
            i = i + 1
          end
        end
        assert(not L[i] or L[i].indent < indent, "line " .. tostring((L[i] or {}).n) .. ": bad indentation")
        return map, i
      end

      local function parse_seq(L, i, indent)
        local arr = {}
        while L[i] and L[i].indent == indent and seq_item(L[i].text) do
          local rest = L[i].text:match("^%-%s*(.*)$")
          if rest == "" then
            i = i + 1
            assert(L[i] and L[i].indent > indent, "line " .. L[i - 1].n .. ": empty sequence item")
            arr[#arr + 1], i = parse_node(L, i, L[i].indent)
          elseif map_entry(rest) then
            local col = indent + #L[i].text - #rest
            L[i] = { indent = col, text = rest, n = L[i].n }
            arr[#arr + 1], i = parse_map(L, i, col)
          else
            arr[#arr + 1] = scalar(rest, L[i].n)
            i = i + 1
          end
        end
        assert(not L[i] or L[i].indent <= indent, "line " .. tostring((L[i] or {}).n) .. ": bad indentation")
        return arr, i
      end

      parse_node = function(L, i, indent)
        if seq_item(L[i].text) then return parse_seq(L, i, indent) end
        return parse_map(L, i, indent)
      end

      local out = {}
      for d, L in ipairs(docs) do
        assert(#L > 0, "document " .. d .. " is empty")
        local value, i = parse_node(L, 1, L[1].indent)
        assert(i > #L, "line " .. tostring((L[i] or {}).n) .. ": unexpected text")
        out[d] = value
      end
      return out
    end

    -- PyYAML's reading (when available) as JSON, else nil.
    local function pyyaml()
      local r = h.run({ "python3", "-c",
        "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)", PATH })
      if r.code ~= 0 then return nil end
      return cjson.decode(r.stdout)
    end

    local docs = yaml_subset(text)

    local function find(list, pred)
      for _, v in ipairs(list or {}) do
        if pred(v) then return v end
      end
    end
    local function named(name) return function(v) return v.name == name end end
    local function is_rotator(c) return (c.command or {})[1] == "databricks-oauth-rotator" end
    local function of_kind(kind) return find(docs, function(d) return d.kind == kind end) end
    local function pod() return of_kind("Deployment").spec.template.spec end
    local function sidecar() return find(pod().initContainers, is_rotator) or find(pod().containers, is_rotator) end
    local function under(path, mount) return path:sub(1, #mount.mountPath + 1) == mount.mountPath .. "/" end
    local function mount_of(container, path)
      return find(container.volumeMounts, function(m) return under(path, m) end)
    end

    -- The agent's configuration as the rotator reads it (the ConfigMap's
    -- agent.ini, at the path the sidecar's --config names).
    local function agent_config()
      local side = sidecar()
      assert.are.same("--config", side.command[2])
      local m = mount_of(side, side.command[3])
      local vol = find(pod().volumes, named(m.name))
      local cm = of_kind("ConfigMap")
      assert.are.equal(cm.metadata.name, vol.configMap.name)
      local ini = cm.data[side.command[3]:sub(#m.mountPath + 2)]
      assert.is_string(ini, "the ConfigMap has no key for " .. side.command[3])
      local path = h.tmpdir("k8s") .. "/agent.ini"
      h.write_file(path, ini, 420)
      return assert(require("databricks.rotator.config_file").read(path)), ini
    end

    it("parses as YAML (PyYAML agrees with the strict reader, where installed)", function()
      local ok, lyaml = pcall(require, "lyaml")
      if ok then assert.are.same(docs, lyaml.load(text, { all = true })) end
      local py = pyyaml()
      if py then assert.are.same(py, docs) end
      assert.are.equal(3, #docs)
      assert.matches("CHECKED", text)
    end)

    it("is a ServiceAccount, a ConfigMap and a Deployment whose pod runs every container as one non-root user",
      function()
      local deploy = of_kind("Deployment")
      assert.are.equal("apps/v1", deploy.apiVersion)
      assert.are.same(deploy.spec.selector.matchLabels, deploy.spec.template.metadata.labels)
      assert.are.equal(of_kind("ServiceAccount").metadata.name, pod().serviceAccountName)
      local sc = pod().securityContext
      assert.is_true(sc.runAsNonRoot)
      assert.are.equal(1000, sc.runAsUser)
      assert.are.equal(1000, sc.fsGroup)
      for _, list in ipairs({ pod().containers, pod().initContainers or {} }) do
        for _, c in ipairs(list) do assert.is_nil((c.securityContext or {}).runAsUser, c.name) end
      end
    end)

    it("holds no secret: no Secret, no client secret; a projected service account token for the token endpoint",
      function()
      assert.is_nil(of_kind("Secret"))
      assert.is_nil(text:find("client_secret", 1, true))
      assert.is_nil(text:find("CLIENT_SECRET", 1, true))
      local cfg = agent_config()
      local o = cfg.defaults
      assert.are.equal("oidc", o.auth)
      local side = sidecar()
      local m = mount_of(side, o.oidc_token_file)
      assert.is_true(m.readOnly)
      local vol = find(pod().volumes, named(m.name))
      local sat = vol.projected.sources[1].serviceAccountToken
      assert.are.equal(o.oidc_token_file, m.mountPath .. "/" .. sat.path)
      assert.are.equal(o.workspace_url .. "/oidc/v1/token", sat.audience, "the connector's default audience")
      assert.is_true(sat.expirationSeconds >= 600)
    end)

    it("runs databricks-oauth-rotator --config as a native sidecar; every output in the shared in-memory emptyDir",
      function()
      local side = sidecar()
      assert.is_table(side, "no databricks-oauth-rotator container")
      if find(pod().initContainers, is_rotator) then
        assert.are.equal("Always", side.restartPolicy, "an init container must be a native sidecar")
        assert.is_table(side.startupProbe)
      end
      local cfg = agent_config()
      assert.are.equal(1, #cfg.targets)
      local outputs = cfg.targets[1].output
      assert.is_true(#outputs >= 2)
      for _, out in ipairs(outputs) do
        local path = out:match("^%w+:(.+)$")
        local vol = find(pod().volumes, named(mount_of(side, path).name))
        assert.are.equal("Memory", vol.emptyDir.medium, path)
      end
      for _, key in ipairs({ "log_file", "status_file" }) do
        local vol = find(pod().volumes, named(mount_of(side, cfg.defaults[key]).name))
        assert.is_table(vol.emptyDir, key)
      end
      local probe = side.startupProbe.exec.command
      assert.are.equal(outputs[1]:match("^pgpass:(.+)$"), probe[#probe])
    end)

    it("rotates with that agent.ini against the simulator (paths moved into a temporary folder)", function()
      local _, ini = agent_config()
      local root = h.tmpdir("k8s-run")
      local subject = sim:jwt()
      h.write_file(root .. "/token", subject, 384)
      ini = ini:gsub("https://[%w%.%-]+", sim.url):gsub("/var/run/secrets/databricks/token", root .. "/token")
        :gsub("/var/run/", root .. "/"):gsub("client_id = [%w%-]+", "client_id = " .. sim.client_id)
        :gsub("instance_name = [%w%-]+", "instance_name = " .. sim.instance)
      os.execute("mkdir -p " .. h.quote(root .. "/pgpass") .. " " .. h.quote(root .. "/rotator"))
      h.write_file(root .. "/agent.ini", ini, 420)
      local r = h.run({ h.root .. "/bin/databricks-oauth-rotator", "--once", "--config", root .. "/agent.ini",
                        "--ca-bundle", sim.ca_file }, { home = root })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches(":databricks_postgres:", h.read_file(root .. "/pgpass/.pgpass"))
      assert.matches("PGPASSWORD=", h.read_file(root .. "/pgpass/db.env"))
      assert.are.equal(384, h.mode(root .. "/pgpass/.pgpass"))
      h.note_secrets({ subject })
    end)

    it("points the app's PGPASSFILE at the pgpass output, on the same volume mounted read-only", function()
      local side = sidecar()
      local file = agent_config().targets[1].output[1]:match("^pgpass:(.+)$")
      local app = find(pod().containers, function(c) return not is_rotator(c) end)
      assert.is_table(app, "no app container")
      assert.are.equal(file, find(app.env, named("PGPASSFILE")).value)
      local mount = mount_of(app, file)
      assert.is_table(mount, "the app does not mount the .pgpass volume")
      assert.is_true(mount.readOnly)
      assert.are.equal(mount.name, mount_of(side, file).name)
    end)

    it("gives every container resource requests and limits", function()
      local all = {}
      for _, c in ipairs(pod().containers) do all[#all + 1] = c end
      for _, c in ipairs(pod().initContainers or {}) do all[#all + 1] = c end
      for _, c in ipairs(all) do
        assert.is_truthy(c.resources.limits.cpu and c.resources.limits.memory, c.name)
        assert.is_truthy(c.resources.requests.cpu and c.resources.requests.memory, c.name)
        assert.is_false(c.securityContext.allowPrivilegeEscalation, c.name)
      end
    end)

    it("the strict reader rejects what it does not understand", function()
      assert.has_error(function() yaml_subset("---\na: >\n  text\n") end)
      assert.are.same({ { a = "x = 1\n  y\n", b = 2 } }, yaml_subset("---\na: |\n  x = 1\n    y\nb: 2\n"))
      assert.has_error(function() yaml_subset("---\na: 1\n   b: 2\n") end)
      assert.has_error(function() yaml_subset("---\na: 1\na: 2\n") end)
      assert.has_error(function() yaml_subset("---\nmode: 0400\n") end)
      assert.has_error(function() yaml_subset("---\n\tx: 1\n") end)
      assert.are.same({ { a = { 1, "b c", { "x", "y" } }, d = { e = true, f = cjson.null } } },
        yaml_subset("---\na:\n  - 1\n  - 'b c'\n  - [\"x\", y]  # c\nd:\n  e: true\n  f:\n"))
    end)
  end)
end)
