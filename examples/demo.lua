-- make demo: the real rotator, end to end, on this machine.
--
-- 1. starts the bundled local workspace simulator (HTTPS with a throw-away
--    test CA) and a throw-away PostgreSQL; the simulator plays Databricks
--    Lakebase: every credential it issues becomes the role's password;
-- 2. runs `databricks-oauth-rotator --once` with OAuth M2M credentials and a
--    Lakebase instance name, writing a private .pgpass;
-- 3. logs in with plain `psql` (no password given: libpq reads .pgpass);
-- 4. rotates again and logs in with the new credential;
-- 5. removes everything it started.
local root = (arg and arg[0] or ""):match("^(.*)/examples/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath

local Sim = require "support.sim"
local PG = require "support.pg"
local h = require "support.helpers"

local function step(fmt, ...)
  io.stdout:write("\n\27[1m==> ", string.format(fmt, ...), "\27[0m\n")
  io.stdout:flush()
end

local function show(r)
  io.stdout:write(r.stdout)
  io.stderr:write(r.stderr)
  io.stdout:flush()
end

local pg, sim
local ok, err = pcall(function()
  step("Starting a throw-away PostgreSQL and the local workspace simulator")
  pg = PG.start()
  pg:sql("CREATE DATABASE databricks_postgres")
  sim = Sim.start()
  sim:config{ pg = { admin = pg.admin_argv, password_from = "credential" } }
  print(string.format("  workspace:  %s (simulated, test CA %s)", sim.url, sim.ca_file))
  print(string.format("  PostgreSQL: 127.0.0.1:%d", pg.port))

  local dir = h.tmpdir("dbx-demo")
  local pgpass = dir .. "/.pgpass"
  h.write_file(pgpass, "# your other entries stay exactly as they are\nlocalhost:5432:mydb:me:my-own-password\n", 384)
  local argv = { root .. "/bin/databricks-oauth-rotator", "--once", "--workspace-url", sim.url,
                 "--instance-name", sim.instance, "--pg-port", tostring(pg.port), "--pgpass-file", pgpass,
                 "--ca-bundle", sim.ca_file, "--log-file", dir .. "/rotator.log",
                 "--status-file", dir .. "/status.json" }
  local env = { DATABRICKS_CLIENT_ID = sim.client_id, DATABRICKS_CLIENT_SECRET = sim.client_secret }

  step("Rotating: databricks-oauth-rotator --once --instance-name %s", sim.instance)
  local r = h.run(argv, { env = env, home = dir })
  show(r)
  assert(r.code == 0, "the rotation failed")

  step("The rotated .pgpass (%s, mode %o; password shortened here)", pgpass, h.mode(pgpass))
  for line in h.read_file(pgpass):gmatch("[^\n]+") do
    print("  " .. line:gsub("(eyJ[%w%-_]+%.)[%w%-_%.]+", "%1...", 1))
  end

  local function login()
    local code, out, errout = pg:psql_login{ user = sim.client_id, database = "databricks_postgres",
                                             pgpassfile = pgpass }
    io.stdout:write("  psql -h 127.0.0.1 -p ", pg.port, " -U ", sim.client_id, " -d databricks_postgres -w\n")
    io.stdout:write("  -> current_user = ", (out or ""):gsub("%s+$", ""), (errout or ""), "\n")
    assert(code == 0, "psql could not log in")
  end
  step("Logging in with psql, no password given (libpq reads .pgpass)")
  login()

  step("Rotating again (a new credential replaces the old one in place)")
  r = h.run(argv, { env = env, home = dir })
  show(r)
  assert(r.code == 0, "the second rotation failed")
  step("Logging in with the new credential")
  login()
  print("\nDone: the Lakebase credential was rotated twice and psql logged in each time.")
end)
if sim then sim:stop() end
if pg then pg:stop() end
h.cleanup()
if not ok then
  io.stderr:write("\ndemo failed: ", tostring(err), "\n")
  os.exit(1)
end
