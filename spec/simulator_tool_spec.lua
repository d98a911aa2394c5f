-- databricks-simulator, the developer tool (DESIGN §10), used as the README
-- says: start it, take the environment it prints (export lines, or one JSON
-- object with --json), point the connector at it with config_from_env(),
-- stop it with SIGTERM or SIGINT, and find its temporary files gone. Usage
-- errors exit 2 (as JSON with --json); the process never loads the
-- connector.
local h = require "support.helpers"
local cjson = require "cjson"

local BIN = h.root .. "/bin/databricks-simulator"
local BUILD = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build")
local DATA = h.root .. "/examples/simulator-data.lua"

-- How a user runs Lua from a checkout: the documented LUA_PATH/CPATH.
local function lua_env(extra)
  local env = { LUA_PATH = h.root .. "/lua/?.lua;" .. h.root .. "/lua/?/init.lua;;", LUA_CPATH = BUILD .. "/?.so;;" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

-- Starts the tool in the background with stdout and stderr kept apart.
-- Returns {pid, out, err, dir}.
local function start(args, opts)
  opts = opts or {}
  local dir = h.tmpdir("simtool")
  local argv = {}
  for _, a in ipairs(opts.prefix or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = BIN
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local out, err = dir .. "/stdout", dir .. "/stderr"
  local p = io.popen(string.format("%s %s </dev/null >%s 2>%s & echo $!", h.clean_env(dir, opts.env),
    h.join(argv), h.quote(out), h.quote(err)))
  local pid = tonumber(p:read("l"))
  p:close()
  return { pid = pid, out = out, err = err, dir = dir }
end

-- Waits until the tool printed `lines` lines (or exited); returns stdout.
local function output(t, lines)
  h.wait_for(function()
    local text = h.read_file(t.out) or ""
    local n = select(2, text:gsub("\n", ""))
    return n >= lines or not h.alive(t.pid)
  end, 20)
  return h.read_file(t.out) or ""
end

-- The variables of `export K=V` and `# K=V` lines (shell quoting undone).
local function parse_env(text)
  local vars, comments = {}, {}
  for line in text:gmatch("[^\n]+") do
    local k, v = line:match("^export ([%u_]+)=(.*)$")
    local target = vars
    if not k then
      k, v = line:match("^# ([%u_]+)=(.*)$")
      target = comments
    end
    if k then target[k] = v:match("^'(.*)'$") or v end
  end
  return vars, comments
end

local function stop(t, sig)
  if h.alive(t.pid) then h.kill(t.pid, sig or "TERM") end
  return h.wait_for(function() return not h.alive(t.pid) end, 5)
end

local function gone(path)
  return h.wait_for(function() return not h.exists(path) end, 5)
end

describe("databricks-simulator (the tool)", function()
  local running = {}

  teardown(function()
    for _, t in ipairs(running) do
      if h.alive(t.pid) then h.stop(t.pid) end
    end
    h.cleanup()
  end)

  local function launch(args, opts)
    local t = start(args, opts)
    running[#running + 1] = t
    return t
  end

  it("prints the environment for config_from_env, serves the pipeline example, and cleans up on SIGTERM", function()
    local t = launch({ "--data", DATA })
    local text = output(t, 6)
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(6, #lines, text .. (h.read_file(t.err) or ""))
    assert.matches("^export DATABRICKS_HOST=https://127%.0%.0%.1:%d+$", lines[1])
    assert.matches("^export SSL_CERT_FILE=", lines[2])
    assert.matches("^export DATABRICKS_TOKEN=dapi", lines[3])
    assert.matches("^export DATABRICKS_WAREHOUSE_ID=", lines[4])
    assert.matches("^# DATABRICKS_CLIENT_ID=", lines[5])
    assert.matches("^# DATABRICKS_CLIENT_SECRET=", lines[6])
    local vars, comments = parse_env(text)
    local tmp = vars.SSL_CERT_FILE:match("^(.*)/tls/ca%.pem$")
    assert.is_string(tmp, vars.SSL_CERT_FILE)
    assert.is_true(h.exists(tmp))

    -- As the README has it: source the lines, run the example.
    local env_file = t.dir .. "/sim.env"
    h.write_file(env_file, text)
    local r = h.run({ "sh", "-c", ". " .. h.quote(env_file) .. " && exec lua5.4 " .. h.quote(h.root
      .. "/examples/pipeline.lua") .. " 2 2016-01-01 3" }, { env = lua_env() })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same("pickup_zip  trips  avg_fare\n10001       412    14.25\n10003       300    12.5\n"
      .. "10011       287    13.1\n", r.stdout)

    -- The commented service principal works for OAuth M2M.
    local m2m = h.run({ "lua5.4", "-e", [[
      local databricks = require "databricks"
      local cfg = assert(databricks.config_from_env())
      local client = assert(databricks.connect(cfg))
      local me = assert(client:current_user())
      io.write(cfg.auth_type or "?", " ", me.userName)
    ]] }, { env = lua_env({ DATABRICKS_HOST = vars.DATABRICKS_HOST, SSL_CERT_FILE = vars.SSL_CERT_FILE,
      DATABRICKS_CLIENT_ID = comments.DATABRICKS_CLIENT_ID,
      DATABRICKS_CLIENT_SECRET = comments.DATABRICKS_CLIENT_SECRET }) })
    assert.are.equal(0, m2m.code, m2m.stderr)
    assert.matches(" " .. comments.DATABRICKS_CLIENT_ID:gsub("%p", "%%%0") .. "$", m2m.stdout)

    assert.is_true(stop(t, "TERM"))
    assert.is_true(gone(tmp), "temporary folder left behind: " .. tmp)
  end)

  it("prints one JSON object with --json, and cleans up on SIGINT", function()
    -- A shell starts background jobs with SIGINT ignored; a terminal's Ctrl-C
    -- reaches a foreground one with the default action, which env restores.
    local t = launch({ "--json" }, { prefix = { "env", "--default-signal=INT" } })
    local text = output(t, 1)
    local line = text:match("^([^\n]*)\n$")
    assert.is_string(line, text)
    local v = cjson.decode(line)
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_WAREHOUSE_ID", "SSL_CERT_FILE", "m2m" }, keys)
    assert.is_string(v.m2m.client_id)
    assert.matches("^dose", v.m2m.client_secret)
    local r = h.run({ "curl", "-sS", "--cacert", v.SSL_CERT_FILE, "-H", "Authorization: Bearer " .. v.DATABRICKS_TOKEN,
      v.DATABRICKS_HOST .. "/api/2.0/preview/scim/v2/Me" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("user@example.com", cjson.decode(r.stdout).userName)
    local tmp = v.SSL_CERT_FILE:match("^(.*)/tls/ca%.pem$")
    assert.is_true(stop(t, "INT"))
    assert.is_true(gone(tmp), "temporary folder left behind: " .. tmp)
  end)

  it("cleans up even when killed with SIGKILL", function()
    local t = launch({ "--json" })
    local v = cjson.decode(output(t, 1))
    local tmp = v.SSL_CERT_FILE:match("^(.*)/tls/ca%.pem$")
    assert.is_true(stop(t, "KILL"))
    assert.is_true(gone(tmp))
  end)

  it("listens on the --port asked for", function()
    local port = h.free_port()
    local t = launch({ "--port", tostring(port) })
    local vars = parse_env(output(t, 6))
    assert.are.equal("https://127.0.0.1:" .. port, vars.DATABRICKS_HOST)
    assert.is_true(stop(t))
  end)

  it("never loads the connector, even when it could", function()
    local t = launch({ "--json" }, { env = lua_env() })
    output(t, 1)
    local maps = h.read_file("/proc/" .. t.pid .. "/maps") or ""
    assert.is_truthy(maps:find("lua", 1, true))
    assert.is_falsy(maps:find("core_impl", 1, true))
    assert.is_falsy(maps:find("databricks/core.so", 1, true))
    assert.is_true(stop(t))
  end)

  it("answers -h and --help", function()
    for _, flag in ipairs({ "-h", "--help" }) do
      local r = h.run({ BIN, flag })
      assert.are.equal(0, r.code)
      assert.matches("^Usage: databricks%-simulator %[%-%-data FILE%] %[%-%-port N%] %[%-%-json%]", r.stdout)
      assert.matches("SIGTERM", r.stdout)
    end
  end)

  it("exits 2 on usage errors, as one JSON object with --json", function()
    local bad_data = h.tmpdir("simtool") .. "/bad.lua"
    h.write_file(bad_data, "return { no_such_thing = 1 }")
    local cases = {
      { { "--frobnicate" }, "unknown option '%-%-frobnicate'" },
      { { "--port", "abc" }, "%-%-port" },
      { { "--port", "70000" }, "port number" },
      { { "extra" }, "unexpected argument 'extra'" },
      { { "--data", "/nonexistent/data.lua" }, "cannot read /nonexistent/data%.lua" },
      { { "--data", bad_data }, "unknown config key no_such_thing" },
    }
    for _, c in ipairs(cases) do
      local r = h.run({ BIN, table.unpack(c[1]) })
      assert.are.equal(2, r.code, table.concat(c[1], " "))
      assert.matches(c[2], r.stderr)
      assert.are.equal("", r.stdout)
      local argv = { BIN, "--json" }
      for _, a in ipairs(c[1]) do argv[#argv + 1] = a end
      local j = h.run(argv)
      assert.are.equal(2, j.code)
      local v = cjson.decode(j.stdout)
      assert.are.equal("usage", v.error.kind)
      assert.matches(c[2], v.error.message)
    end
  end)

  it("takes a JSON data file too", function()
    local file = h.tmpdir("simtool") .. "/data.json"
    h.write_file(file, cjson.encode({
      statements = { ["SELECT answer"] = { columns = { { name = "n", type = "INT" } }, rows = { { 42 } } } },
      files = { ["/Volumes/main/default/v/hello.txt"] = "hi" },
    }))
    local t = launch({ "--json", "--data", file })
    local v = cjson.decode(output(t, 1))
    local r = h.run({ "lua5.4", "-e", [[
      local databricks = require "databricks"
      local client = assert(databricks.connect(assert(databricks.config_from_env())))
      local res = assert(client:sql("SELECT answer"))
      local body = assert(client:request("GET", "/api/2.0/fs/files/Volumes/main/default/v/hello.txt"))
      io.write(res.rows[1][1], " ", tostring(body))
    ]] }, { env = lua_env({ DATABRICKS_HOST = v.DATABRICKS_HOST, SSL_CERT_FILE = v.SSL_CERT_FILE,
      DATABRICKS_TOKEN = v.DATABRICKS_TOKEN, DATABRICKS_WAREHOUSE_ID = v.DATABRICKS_WAREHOUSE_ID }) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("42 hi", r.stdout)
    assert.is_true(stop(t))
  end)
end)
