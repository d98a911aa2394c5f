-- The PostgreSQL fixture (spec/support/pg.lua) itself: it starts a real
-- server, SCRAM logins through a .pgpass work with the right password and
-- fail with a wrong one, and stop() leaves nothing behind.
local PG = require "support.pg"
local helpers = require "support.helpers"

describe("support.pg", function()
  local pg

  setup(function()
    pg = PG.start()
  end)

  teardown(function()
    if pg then pg:stop() end
    helpers.cleanup()
  end)

  it("starts a server on 127.0.0.1 at a kernel-chosen port, with its socket in its own folder", function()
    assert.equal("127.0.0.1", pg.host)
    assert.is_true(pg.port > 0 and pg.port < 65536)
    assert.truthy(pg.dir:match("^/tmp/dbx%-pg%."))
    assert.truthy(helpers.exists(pg.socket_dir .. "/.s.PGSQL." .. pg.port))
    assert.is_true(PG.alive(pg.pid))
    assert.equal("1\n", pg:sql("select 1"))
    assert.equal("scram-sha-256\n", pg:sql("show password_encryption"))
  end)

  it("raises on failing SQL", function()
    assert.has_error(function() pg:sql("select * from no_such_table") end)
  end)

  it("creates e-mail roles with SCRAM secrets; psql logs in via .pgpass only with the right password", function()
    local user = "o'brien.\"x\"+lake@example.com"
    pg:create_role(user, "right:pa\\ss")
    assert.equal("t\n", pg:sql("select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname = "
      .. PG.literal(user)))
    local dir = helpers.tmpdir("pgfix")
    local file = dir .. "/pgpass"
    local function entry(pw)
      return table.concat({ "127.0.0.1", pg.port, "postgres", user, pw }, ":") .. "\n"
    end
    helpers.write_file(file, entry("right\\:pa\\\\ss"), tonumber("600", 8))
    local code, out, err = pg:psql_login { user = user, pgpassfile = file }
    assert.equal(0, code, err)
    assert.equal(user .. "\n", out)

    helpers.write_file(file, entry("wrong"), tonumber("600", 8))
    code, out, err = pg:psql_login { user = user, pgpassfile = file }
    assert.are_not.equal(0, code)
    assert.equal("", out)
    assert.truthy(err:find("password authentication failed", 1, true), err)
  end)

  it("uses HOME/.pgpass when no PGPASSFILE is given, and never prompts without one", function()
    pg:create_role("home-user", "from-home")
    local home = helpers.tmpdir("pghome")
    local code, _, err = pg:psql_login { user = "home-user", home = home }
    assert.are_not.equal(0, code)
    assert.truthy(err:find("no password supplied", 1, true), err)
    helpers.write_file(home .. "/.pgpass", "*:*:*:home-user:from-home\n", tonumber("600", 8))
    local out
    code, out = pg:psql_login { user = "home-user", home = home }
    assert.equal(0, code)
    assert.equal("home-user\n", out)
  end)

  it("stop() stops its postmaster, removes the folder and is idempotent", function()
    local other = PG.start()
    local pid, dir = other.pid, other.dir
    assert.is_true(PG.alive(pid))
    other:stop()
    assert.is_false(PG.alive(pid))
    assert.is_false(helpers.exists(dir))
    other:stop()
    -- The shared server is untouched.
    assert.equal("1\n", pg:sql("select 1"))
  end)
end)
