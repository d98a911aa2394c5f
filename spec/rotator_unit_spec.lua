-- The rotator's scheduling rules and its logger, in-process: when the next
-- rotation is due, how failures back off, what Rotator.new refuses (without
-- side effects), and the private, size-rotated log file.
local Rotator = require "databricks.rotator"
local Log = require "databricks.log"
local core = require "databricks.core"
local h = require "support.helpers"

local BASE = { workspace_url = "https://x.cloud.databricks.com", pg_host = "h", pg_username = "u",
               stderr = false }

local function new(extra)
  local o = {}
  for k, v in pairs(BASE) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return Rotator.new(o)
end

describe("Rotator.new", function()
  it("validates without touching anything: no log file, no status file", function()
    local dir = h.tmpdir("rnew")
    local r = assert(new{ log_file = dir .. "/x.log", status_file = dir .. "/s.json" })
    assert.is_table(r)
    assert.is_false(h.exists(dir .. "/x.log"))
    assert.is_false(h.exists(dir .. "/s.json"))
  end)

  for _, case in ipairs({
    { { rotation_interval = 0 }, "from 1 to 1440" },
    { { rotation_interval = 1441 }, "from 1 to 1440" },
    { { rotation_interval = 2.5 }, "whole number" },
    { { auth = "sso" }, "^auth must be m2m, u2m, cli or oidc" },
    { { workspace_url = "ftp://x" }, "https://" },
    { { pg_host = false }, "PostgreSQL host is required" },
    { { instance_name = "a", endpoint = "projects/p/branches/b/endpoints/e" }, "exclusive" },
    { { bogus = 1 }, "unknown rotator option 'bogus'" },
    { { pg_port = "5432" }, "must be a number" },
    { { timeout = 0 }, "between 0 and 3600" },
  }) do
    it("refuses " .. next(case[1]) .. " with a config error", function()
      local opts = {}
      for k, v in pairs(case[1]) do opts[k] = v end
      if opts.pg_host == false then
        local o = {}
        for k, v in pairs(BASE) do o[k] = v end
        o.pg_host = nil
        local r, err = Rotator.new(o)
        assert.is_nil(r)
        assert.matches(case[2], err.message)
        return
      end
      local r, err = new(opts)
      assert.is_nil(r)
      assert.are.equal("config", err.kind)
      assert.matches(case[2], err.message)
      -- The API's callers are told the API's keys, never command-line flags.
      assert.is_nil(err.message:find("%-%-%a"), err.message)
    end)
  end
end)

describe("scheduling", function()
  local r = assert(new{ rotation_interval = 50, random = function() return 0.5 end })

  it("rotates at the interval when the credential outlives it", function()
    assert.are.equal(1000 + 50 * 60, r:next_after_success(1000, 1000 + 3 * 3600))
  end)

  it("rotates before expiry minus a margin when that comes first", function()
    -- One hour credential: margin min(600, 720) = 600 -> 50 min; the interval is 50 min too.
    assert.are.equal(1000 + 3000, r:next_after_success(1000, 1000 + 3600))
    local r2 = assert(new{ rotation_interval = 1440 })
    assert.are.equal(1000 + 3000, r2:next_after_success(1000, 1000 + 3600))
    -- Ten-second credential: margin 2 s.
    assert.are.equal(1008, r2:next_after_success(1000, 1010))
  end)

  it("never schedules in the past", function()
    assert.are.equal(1001, r:next_after_success(1000, 999))
  end)

  it("backs off 5 s doubling, jittered, capped by the credential's life and 5 minutes", function()
    local now = 0
    assert.are.equal(3.75, r:retry_delay(1, now, nil))      -- 5 * (0.5 + 0.25)
    assert.are.equal(7.5, r:retry_delay(2, now, nil))
    assert.are.equal(225, r:retry_delay(20, now, nil))      -- capped at 300
    assert.are.equal(75 * 0.75, r:retry_delay(20, now, 300)) -- a quarter of 300 s left
    assert.are.equal(5 * 0.75, r:retry_delay(20, now, 10))  -- at least 5 s
    assert.are.equal(45, r:retry_delay(20, now, -1))        -- expired: every minute (jittered)
  end)
end)

describe("log", function()
  local dir
  before_each(function() dir = h.tmpdir("log") end)

  it("writes timestamped lines to a 0600 file, creating its folder", function()
    local log = Log.new{ file = dir .. "/sub/rot.log", stderr = false, program = "prog" }
    log:info("hello %s", "world")
    log:close()
    local text = h.read_file(dir .. "/sub/rot.log")
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ prog%[%d+%] INFO: hello world\n$", text)
    assert.are.equal(384, h.mode(dir .. "/sub/rot.log"))
    assert.are.equal(448, h.mode(dir .. "/sub"))
  end)

  it("rotates by size, keeping the configured number of old files, all 0600", function()
    local log = Log.new{ file = dir .. "/r.log", stderr = false, max_bytes = 1000, keep = 2 }
    for i = 1, 60 do log:info("line %03d %s", i, string.rep("x", 40)) end
    log:close()
    assert.is_true(h.exists(dir .. "/r.log.1"))
    assert.is_true(h.exists(dir .. "/r.log.2"))
    assert.is_false(h.exists(dir .. "/r.log.3"))
    for _, f in ipairs({ "r.log", "r.log.1", "r.log.2" }) do
      assert.are.equal(384, h.mode(dir .. "/" .. f))
      assert.is_true(#h.read_file(dir .. "/" .. f) <= 1000)
    end
    assert.matches("line 060", h.read_file(dir .. "/r.log"))
  end)

  it("tightens an existing log file that others could read", function()
    h.write_file(dir .. "/old.log", "old\n", 420) -- 0644
    local log = Log.new{ file = dir .. "/old.log", stderr = false }
    log:info("x")
    log:close()
    assert.are.equal(384, h.mode(dir .. "/old.log"))
  end)

  it("redacts generic secrets and registered ones before writing", function()
    local log = Log.new{ file = dir .. "/s.log", stderr = false }
    log:secret("my-client-secret-value")
    log:info("secret my-client-secret-value token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln Bearer abcdefghij")
    log:close()
    local text = h.read_file(dir .. "/s.log")
    assert.is_nil(text:find("my-client-secret-value", 1, true))
    assert.is_nil(text:find("eyJ", 1, true))
    assert.is_nil(text:find("abcdefghij", 1, true))
  end)

  it("refuses to append to another user's log file", function()
    h.write_file(dir .. "/theirs.log", "theirs\n", 384)
    os.execute("chown nobody " .. h.quote(dir .. "/theirs.log"))
    local f, err = core.logfile_open(dir .. "/theirs.log", 1000, 1)
    assert.is_nil(f)
    assert.matches("refusing to write .*theirs%.log: it is owned by uid %d+, not by this user", err.message)
  end)
end)
