-- The systemd notification protocol as the installed unit relies on it
-- (Type=notify, WatchdogSec=): the real rotator daemon, run from the
-- checkout against the workspace simulator with NOTIFY_SOCKET pointing at a
-- datagram socket this spec binds, must send READY=1 after its first
-- rotation, WATCHDOG=1 from its sleep loop, and STOPPING=1 on SIGTERM,
-- exiting 0 within a second.
local h = require "support.helpers"
local Sim = require "support.sim"
local unix = require "socket.unix"

describe("rotator daemon under systemd supervision", function()
  local s, home, sock, pid

  setup(function()
    s = Sim.start()
  end)

  teardown(function()
    if pid then h.stop(pid) end
    if sock then sock:close() end
    if s then s:stop() end
    h.cleanup()
  end)

  it("notifies READY=1, then WATCHDOG=1, and STOPPING=1 on SIGTERM, exiting 0 within a second", function()
    home = h.tmpdir("notify")
    local sockpath = home .. "/notify.sock"
    sock = assert(unix.udp())
    assert(sock:bind(sockpath))
    sock:settimeout(0.05)
    local pidfile, rcfile = home .. "/pid", home .. "/rc"
    -- A shell parent records the daemon's PID and, after it ends, its exit status.
    local wrapper = '"$@" & echo $! > "$DBX_PIDFILE"; wait $!; echo $? > "$DBX_RCFILE"'
    h.spawn({ "sh", "-c", wrapper, "sh", h.root .. "/bin/databricks-oauth-rotator",
              "--ca-bundle", s.ca_file, "--pg-host", "127.0.0.1", "--pg-username", "u",
              "--pgpass-file", home .. "/pgpass", "--log-file", home .. "/rotator.log",
              "--status-file", home .. "/status.json" },
            { home = home, log = home .. "/output",
              env = { DATABRICKS_HOST = s.url, DATABRICKS_CLIENT_ID = s.client_id,
                      DATABRICKS_CLIENT_SECRET = s.client_secret, NOTIFY_SOCKET = sockpath,
                      WATCHDOG_USEC = "2000000", DBX_PIDFILE = pidfile, DBX_RCFILE = rcfile } })

    local messages = {}
    local function receive_until(pred, timeout)
      return h.wait_for(function()
        local m = sock:receive()
        if m then messages[#messages + 1] = m end
        return pred()
      end, timeout, 0)
    end
    local function index_of(text)
      for i, m in ipairs(messages) do
        if m == text then return i end
      end
    end

    -- READY=1 comes once the first rotation is done (.pgpass written).
    assert.is_truthy(receive_until(function() return index_of("READY=1") end, 15),
      "no READY=1; got: " .. table.concat(messages, " | ") .. "\n" .. (h.read_file(home .. "/output") or ""))
    assert.is_truthy(h.read_file(home .. "/pgpass"))
    assert.matches("^STATUS=credential valid until ", messages[1])
    -- With WATCHDOG_USEC=2 s the daemon pings at least every second.
    local ready = index_of("READY=1")
    local function watchdogs()
      local n = 0
      for i = ready + 1, #messages do
        if messages[i] == "WATCHDOG=1" then n = n + 1 end
      end
      return n
    end
    assert.is_truthy(receive_until(function() return watchdogs() >= 2 end, 4),
      "watchdog pings after READY=1: " .. watchdogs())

    pid = assert(tonumber(h.read_file(pidfile)))
    local t0 = h.now()
    h.kill(pid, "TERM")
    assert.is_truthy(h.wait_for(function() return h.read_file(rcfile) end, 3, 0.005))
    local elapsed = h.now() - t0
    pid = nil
    assert.are.equal("0", h.read_file(rcfile):match("%d+"))
    assert.is_true(elapsed < 1.0, string.format("stopped after %.2f s", elapsed))
    receive_until(function() return index_of("STOPPING=1") end, 1)
    assert.is_truthy(index_of("STOPPING=1"), "no STOPPING=1; got: " .. table.concat(messages, " | "))
    assert.is_nil(table.concat(messages, "\n"):find(s.client_secret, 1, true))
  end)
end)
