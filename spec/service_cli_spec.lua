-- Specs of the service command lines: databricks-oauth-install, -status,
-- -restart and -uninstall, run as subprocesses from the checkout with a
-- temporary HOME, against the workspace simulator (the verification
-- rotation is real), and with stand-in systemctl/launchctl/loginctl first
-- on PATH (spec/support/fakebin) that record their arguments in
-- $DBX_FAKE_DIR/calls.log and never touch the system.
local h = require "support.helpers"
local checks = require "support.service_checks"
local verify_unit, load_plist = checks.verify_unit, checks.load_plist
local Sim = require "support.sim"
local cjson = require "cjson"
local service = require "databricks.service"
local systemd = require "databricks.service.systemd"

local FAKEBIN = h.root .. "/spec/support/fakebin"
local UNIT = ".config/systemd/user/databricks-oauth-rotator.service"
local PLIST = "Library/LaunchAgents/com.databricks.oauth-rotator.plist"
local CREDENTIALS = ".config/lua-databricks/credentials"
local STATUS = ".local/state/lua-databricks/rotator-status.json"

local function uid()
  local _, out = h.sh("id -u")
  return out:match("%d+")
end



-- Every file under `dir` whose content contains `needle` (relative paths).
local function files_containing(dir, needle)
  local _, out = h.sh("cd " .. h.quote(dir) .. " && find . -type f")
  local found = {}
  for f in out:gmatch("[^\n]+") do
    local text = h.read_file(dir .. "/" .. f:sub(3)) or ""
    if text:find(needle, 1, true) then found[#found + 1] = f:sub(3) end
  end
  table.sort(found)
  return found
end

-- Names, types, modes, sizes and checksums of everything under `dir`.
local function snapshot(dir)
  local _, list = h.sh("cd " .. h.quote(dir) .. " && find . -printf '%p %y %m %s\\n' | sort")
  local _, sums = h.sh("cd " .. h.quote(dir) .. " && find . -type f -exec sha256sum {} + | sort")
  return list .. sums
end

-- The `Environment=` assignments of a unit, as a table.
local function unit_env(text)
  local env = {}
  for line in text:gmatch("\nEnvironment=([^\n]*)") do
    for _, kv in ipairs(systemd.systemd_split(line)) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      env[k] = v
    end
  end
  return env
end

describe("service command lines", function()
  local s

  setup(function()
    s = Sim.start()
  end)

  teardown(function()
    if s then s:stop() end
    h.cleanup()
  end)

  -- A fresh HOME and stand-in folder; `f.run(cmd, argv, opts)` runs
  -- bin/databricks-oauth-<cmd> there.
  local function fixture(extra_env)
    local f = { home = h.tmpdir("svc-home"), fake = h.tmpdir("svc-fake") }
    f.env = { DATABRICKS_HOST = s.url, DATABRICKS_CLIENT_ID = s.client_id,
              DATABRICKS_CLIENT_SECRET = s.client_secret, DBX_FAKE_DIR = f.fake,
              PATH = FAKEBIN .. ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
    for k, v in pairs(extra_env or {}) do f.env[k] = v end
    function f.run(cmd, argv, opts)
      opts = opts or {}
      local full = { (opts.bin or (h.root .. "/bin")) .. "/databricks-oauth-" .. cmd }
      for _, a in ipairs(argv or {}) do full[#full + 1] = a end
      local env = {}
      for k, v in pairs(f.env) do env[k] = v end
      for k, v in pairs(opts.env or {}) do env[k] = v end
      return h.run(full, { home = f.home, env = env, cwd = opts.cwd or f.home, timeout = 120 })
    end
    function f.install(argv, opts)
      local full = { "--ca-bundle", s.ca_file, "--pg-host", "127.0.0.1", "--pg-username", "u" }
      for _, a in ipairs(argv or {}) do full[#full + 1] = a end
      return f.run("install", full, opts)
    end
    function f.calls()
      local out = {}
      for line in (h.read_file(f.fake .. "/calls.log") or ""):gmatch("[^\n]+") do
        out[#out + 1] = line:gsub("\t", " ")
      end
      return out
    end
    function f.reset_calls() os.remove(f.fake .. "/calls.log") end
    function f.fake_output(name, text) h.write_file(f.fake .. "/" .. name .. ".out", text) end
    function f.fake_rc(name, rc) h.write_file(f.fake .. "/" .. name .. ".rc", tostring(rc)) end
    function f.path(rel) return f.home .. "/" .. rel end
    function f.read(rel) return h.read_file(f.path(rel)) end
    return f
  end

  describe("every command", function()
    for _, cmd in ipairs({ "install", "status", "restart", "uninstall" }) do
      it(cmd .. " answers --help and --version and rejects unknown options with 2", function()
        local f = fixture()
        local r = f.run(cmd, { "--help" })
        assert.are.equal(0, r.code, r.stderr)
        assert.matches("^Usage: databricks%-oauth%-" .. cmd, r.stdout)
        r = f.run(cmd, { "--version" })
        assert.are.equal(0, r.code)
        assert.matches("^databricks%-oauth%-" .. cmd .. " 0%.1%.0", r.stdout)
        r = f.run(cmd, { "--frobnicate" })
        assert.are.equal(2, r.code)
        assert.matches("unknown option '%-%-frobnicate'", r.stderr)
        assert.is_nil(h.read_file(f.fake .. "/calls.log"))
      end)
    end

    it("install --help lists every rotator flag", function()
      local r = fixture().run("install", { "--help" })
      local rotator = require "databricks.cli.rotator"
      for flag in pairs(rotator.OPTIONS) do
        if flag ~= "once" and flag ~= "json" and flag ~= "check" and flag ~= "client-secret" then
          assert.matches("%-%-" .. flag:gsub("%-", "%%-"), r.stdout)
        end
      end
      for _, flag in ipairs({ "platform", "dry%-run", "no%-verify", "linger" }) do
        assert.matches("%-%-" .. flag, r.stdout)
      end
    end)
  end)

  describe("install on systemd", function()
    it("verifies, writes the unit and the 0600 credentials, reloads and enables --now", function()
      local f = fixture()
      local r = f.install({ "--platform", "systemd" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.are.same({ "systemctl --user daemon-reload",
                        "systemctl --user enable --now databricks-oauth-rotator.service" }, f.calls())
      -- The verification rotation really ran: .pgpass and the status file exist.
      assert.is_truthy(f.read(".pgpass"))
      assert.are.equal("ok", cjson.decode(f.read(STATUS)).last_result)
      -- Files and modes.
      assert.are.equal(tonumber("600", 8), h.mode(f.path(CREDENTIALS)))
      assert.are.equal(tonumber("700", 8), h.mode(f.path(".config/lua-databricks")))
      assert.are.equal(tonumber("644", 8), h.mode(f.path(UNIT)))
      assert.are.equal("DATABRICKS_CLIENT_SECRET=" .. s.client_secret .. "\n", f.read(CREDENTIALS))
      local unit = f.read(UNIT)
      local argv = systemd.program_arguments(unit)
      local _, lua = h.sh("command -v lua5.4")
      assert.are.same({
        (lua:gsub("%s+$", "")), h.root .. "/bin/databricks-oauth-rotator", "--workspace-url", s.url,
        "--pg-host", "127.0.0.1", "--pg-username", "u", "--pgpass-file", f.path(".pgpass"),
        "--log-file", f.path(".databricks_oauth_rotator.log"), "--status-file", f.path(STATUS),
        "--ca-bundle", s.ca_file, "--client-secret-file", f.path(CREDENTIALS),
      }, argv)
      assert.are.equal(s.client_id, unit_env(unit).DATABRICKS_CLIENT_ID)
      assert.matches("\nType=notify\n", unit)
      assert.matches("\nWatchdogSec=%d+s\n", unit)
      assert.matches("\nWantedBy=default.target\n", unit)
      assert.matches("loginctl enable%-linger", r.stdout)
    end)

    it("never puts the secret anywhere but the 0600 credentials file, nor prints it", function()
      local f = fixture()
      local r = f.install({ "--platform", "systemd" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ CREDENTIALS }, files_containing(f.home, s.client_secret))
      assert.is_nil((r.stdout .. r.stderr):find(s.client_secret, 1, true))
      assert.is_nil((h.read_file(f.fake .. "/calls.log") or ""):find(s.client_secret, 1, true))
    end)

    it("writes a unit that `systemd-analyze --user verify` accepts silently", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      local code, out = verify_unit(f.path(UNIT))
      assert.are.equal("", out)
      assert.are.equal(0, code)
    end)

    it("writes a unit whose command line rotates on its own environment alone", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      assert.is_nil(f.read(".pgpass"))
      local unit = f.read(UNIT)
      local argv = systemd.program_arguments(unit)
      argv[#argv + 1] = "--once"
      -- No DATABRICKS_* from the installer's environment: only the unit's.
      local r = h.run(argv, { home = f.home, env = unit_env(unit) })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(f.read(".pgpass"))
    end)

    it("maps every rotator flag into the service, paths made absolute", function()
      local f = fixture()
      os.execute("mkdir -p " .. h.quote(f.path("work")))
      local r = f.install({ "--platform", "systemd", "--no-verify", "--pg-port", "6543", "--pg-database", "db",
                            "--interval", "30", "--instance-name", s.instance, "--auth", "m2m", "--verbose",
                            "--pgpass-file", "pg/pass", "--log-file", "../rot.log", "--status-file", "~/st.json" },
                          { cwd = f.path("work") })
      assert.are.equal(0, r.code, r.stderr)
      local argv = systemd.program_arguments(f.read(UNIT))
      local function flag(name) return service.flag_value(argv, name) end
      assert.are.equal("6543", flag("--pg-port"))
      assert.are.equal("db", flag("--pg-database"))
      assert.are.equal("30", flag("--interval"))
      assert.are.equal(s.instance, flag("--instance-name"))
      assert.are.equal("m2m", flag("--auth"))
      assert.are.equal(f.path("work/pg/pass"), flag("--pgpass-file"))
      assert.are.equal(f.path("rot.log"), flag("--log-file"))
      assert.are.equal(f.path("st.json"), flag("--status-file"))
      assert.are.equal("--verbose", argv[#argv])
    end)

    it("takes the workspace and the PostgreSQL settings from the environment as the rotator does", function()
      local f = fixture({ DATABRICKS_PG_HOST = "pg.env", DATABRICKS_PG_USERNAME = "env-user",
                          PGPASSFILE = "env.pgpass" })
      local r = f.run("install", { "--platform", "systemd", "--no-verify" })
      assert.are.equal(0, r.code, r.stderr)
      local argv = systemd.program_arguments(f.read(UNIT))
      assert.are.equal(s.url, service.flag_value(argv, "--workspace-url"))
      assert.are.equal("pg.env", service.flag_value(argv, "--pg-host"))
      assert.are.equal("env-user", service.flag_value(argv, "--pg-username"))
      assert.are.equal(f.path("env.pgpass"), service.flag_value(argv, "--pgpass-file"))
    end)

    it("copies a --client-secret-file into its own credentials file", function()
      local f = fixture({ DATABRICKS_CLIENT_SECRET = false })
      h.write_file(f.path("my-secret"), s.client_secret .. "\n", tonumber("600", 8))
      local r = f.install({ "--platform", "systemd", "--client-secret-file", "my-secret" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("DATABRICKS_CLIENT_SECRET=" .. s.client_secret .. "\n", f.read(CREDENTIALS))
      assert.are.equal(f.path(CREDENTIALS),
        service.flag_value(systemd.program_arguments(f.read(UNIT)), "--client-secret-file"))
    end)

    it("handles blanks, quotes, %, $, & and < in every path", function()
      local base = h.tmpdir("svc-odd")
      local home = base .. '/h "o" %h $x & <me>'
      local checkout = base .. "/my checkout %x $y"
      assert(os.execute("mkdir -p " .. h.quote(home) .. " && ln -s " .. h.quote(h.root) .. " " .. h.quote(checkout)))
      local f = fixture()
      f.home = home
      local r = f.install({ "--platform", "systemd" }, { bin = checkout .. "/bin" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      local unit = f.read(UNIT)
      assert.matches("%%%%h %$%$x", unit)
      local argv = systemd.program_arguments(unit)
      assert.are.equal(checkout .. "/bin/databricks-oauth-rotator", argv[2])
      assert.are.equal(home .. "/.pgpass", service.flag_value(argv, "--pgpass-file"))
      assert.are.equal(home .. "/" .. CREDENTIALS, service.flag_value(argv, "--client-secret-file"))
      local code, out = verify_unit(f.path(UNIT))
      assert.are.equal("", out)
      assert.are.equal(0, code)
      argv[#argv + 1] = "--once"
      local run = h.run(argv, { home = home, env = unit_env(unit) })
      assert.are.equal(0, run.code, run.stderr)
    end)

    it("--dry-run prints every file, mode and command, masks the secret and touches nothing", function()
      local f = fixture()
      h.write_file(f.path(".pgpass"), "other:5432:db:me:pw\n", tonumber("600", 8))
      os.execute("mkdir -p " .. h.quote(f.path(".config/systemd/user")))
      local before = snapshot(f.home)
      local r = f.install({ "--platform", "systemd", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(before, snapshot(f.home))
      assert.is_nil(h.read_file(f.fake .. "/calls.log"))
      assert.is_nil((r.stdout .. r.stderr):find(s.client_secret, 1, true))
      assert.matches("==> " .. f.path(CREDENTIALS):gsub("%p", "%%%0") .. " %(mode 0600, folder 0700%)", r.stdout)
      assert.matches("DATABRICKS_CLIENT_SECRET=%*%*%*%*%*%*%*%*", r.stdout)
      assert.matches("==> " .. f.path(UNIT):gsub("%p", "%%%0") .. " %(mode 0644%)", r.stdout)
      assert.matches("\nExecStart=[^\n]+%-%-client%-secret%-file", r.stdout)
      assert.matches("\n%$ [^\n]*databricks%-oauth%-rotator [^\n]*%-%-once\n", r.stdout)
      assert.matches("\n%$ systemctl %-%-user daemon%-reload\n%$ systemctl %-%-user enable %-%-now " ..
                     "databricks%-oauth%-rotator%.service\n", r.stdout)
    end)

    it("installs nothing and runs no command when the verification rotation fails", function()
      local f = fixture({ DATABRICKS_CLIENT_SECRET = "wrong-secret-123456" })
      local r = f.install({ "--platform", "systemd" })
      assert.are.equal(1, r.code)
      assert.matches("verification rotation failed", r.stderr)
      assert.matches("%-%-no%-verify", r.stderr)
      assert.is_nil(f.read(UNIT))
      assert.is_nil(f.read(CREDENTIALS))
      assert.is_nil(h.read_file(f.fake .. "/calls.log"))
      assert.is_nil((r.stdout .. r.stderr):find("wrong-secret-123456", 1, true))
    end)

    it("exits 2 on a configuration error, before writing or running anything", function()
      local cases = {
        { env = { DATABRICKS_HOST = false }, argv = {}, msg = "workspace URL" },
        { argv = { "--once" }, msg = "%-%-once does not apply" },
        { argv = { "--platform", "upstart" }, msg = "systemd or launchd" },
        { argv = { "--interval", "0" }, msg = "%-%-interval" },
        { argv = { "--auth", "magic" }, msg = "%-%-auth" },
        { argv = { "--pg-username", "a\nb" }, msg = "control character" },
      }
      for _, c in ipairs(cases) do
        local f = fixture(c.env)
        local argv = { "--platform", "systemd" }
        for _, a in ipairs(c.argv) do argv[#argv + 1] = a end
        local r = f.install(argv)
        assert.are.equal(2, r.code, c.msg .. ": " .. r.stderr)
        assert.matches(c.msg, r.stderr)
        assert.are.equal("", select(2, h.sh("cd " .. h.quote(f.home) .. " && find . -mindepth 1")))
        assert.is_nil(h.read_file(f.fake .. "/calls.log"))
      end
    end)

    it("puts a custom --token-store into the credentials file, never into the unit", function()
      local f = fixture()
      local r = f.install{ "--platform", "systemd", "--token-store", "/elsewhere/tokens.json" }
      assert.are.equal(0, r.code, r.stderr)
      assert.is_nil(f.read(UNIT):find("/elsewhere/tokens.json", 1, true))
      assert.matches("\nDATABRICKS_TOKEN_STORE=/elsewhere/tokens.json\n", "\n" .. f.read(CREDENTIALS))
      assert.are.equal(384, h.mode(f.home .. "/" .. CREDENTIALS))
    end)

    it("reinstall updates the unit in place and restarts the service", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd" }).code)
      f.reset_calls()
      local r = f.install({ "--platform", "systemd", "--interval", "20" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("Updated ", r.stdout)
      assert.are.same({ "systemctl --user daemon-reload", "systemctl --user enable databricks-oauth-rotator.service",
                        "systemctl --user restart databricks-oauth-rotator.service" }, f.calls())
      assert.are.equal("20", service.flag_value(systemd.program_arguments(f.read(UNIT)), "--interval"))
      local _, list = h.sh("ls -A " .. h.quote(f.path(".config/systemd/user")))
      assert.are.equal("databricks-oauth-rotator.service\n", list)
    end)

    it("reinstall without the secret keeps the stored one (and verifies with it)", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd" }).code)
      local r = f.install({ "--platform", "systemd", "--interval", "25" },
                          { env = { DATABRICKS_CLIENT_SECRET = false } })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("Kept the client secret stored in", r.stdout)
      local argv = systemd.program_arguments(f.read(UNIT))
      assert.are.equal(f.path(CREDENTIALS), service.flag_value(argv, "--client-secret-file"))
      assert.are.equal("DATABRICKS_CLIENT_SECRET=" .. s.client_secret .. "\n", f.read(CREDENTIALS))
    end)

    it("a refused `loginctl enable-linger` is a warning, not a failed install", function()
      local f = fixture()
      f.fake_rc("loginctl.enable-linger", 1)
      local r = f.install({ "--platform", "systemd", "--no-verify", "--linger" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("enable%-linger` failed", r.stderr)
      assert.matches("administrator", r.stdout)
    end)

    it("--linger enables lingering after enabling the service", function()
      local f = fixture()
      local r = f.install({ "--platform", "systemd", "--no-verify", "--linger" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ "systemctl --user daemon-reload",
                        "systemctl --user enable --now databricks-oauth-rotator.service",
                        "loginctl enable-linger" }, f.calls())
    end)

    it("exits 1 and says what to do when systemctl fails", function()
      local f = fixture()
      f.fake_rc("systemctl.enable", 1)
      local r = f.install({ "--platform", "systemd", "--no-verify" })
      assert.are.equal(1, r.code)
      assert.matches("enable %-%-now databricks%-oauth%-rotator%.service` failed", r.stderr)
      assert.matches("XDG_RUNTIME_DIR", r.stderr)
    end)
  end)

  describe("install on launchd", function()
    it("writes a strict plist, pre-creates 0600 logs and bootstraps gui/<uid>", function()
      local f = fixture()
      local r = f.install({ "--platform", "launchd", "--pg-username", "u & <me>" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      local plist = f.path(PLIST)
      assert.are.same({ "launchctl enable gui/" .. uid() .. "/com.databricks.oauth-rotator",
                        "launchctl bootstrap gui/" .. uid() .. " " .. plist }, f.calls())
      assert.are.equal(tonumber("644", 8), h.mode(plist))
      local p = assert(load_plist(plist))
      assert.are.equal("com.databricks.oauth-rotator", p.Label)
      assert.is_true(p.RunAtLoad)
      assert.are.same({ SuccessfulExit = false }, p.KeepAlive)
      assert.are.equal("Background", p.ProcessType)
      assert.are.equal("/", p.ProgramArguments[1]:sub(1, 1))
      assert.are.equal(h.root .. "/bin/databricks-oauth-rotator", p.ProgramArguments[2])
      assert.are.equal("u & <me>", service.flag_value(p.ProgramArguments, "--pg-username"))
      assert.are.equal(f.path(CREDENTIALS), service.flag_value(p.ProgramArguments, "--client-secret-file"))
      assert.are.equal(s.client_id, p.EnvironmentVariables.DATABRICKS_CLIENT_ID)
      for _, log in ipairs({ p.StandardOutPath, p.StandardErrorPath }) do
        assert.are.equal(f.path("Library/Logs/lua-databricks"), service.dirname(log))
        assert.are.equal(tonumber("600", 8), h.mode(log))
      end
      assert.are.equal(tonumber("700", 8), h.mode(f.path("Library/Logs/lua-databricks")))
      assert.are.same({ CREDENTIALS }, files_containing(f.home, s.client_secret))
    end)

    it("reinstall boots the old agent out first and keeps the logs", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "launchd" }).code)
      h.write_file(f.path("Library/Logs/lua-databricks/rotator.err.log"), "old line\n")
      f.reset_calls()
      local r = f.install({ "--platform", "launchd", "--interval", "15", "--no-verify" })
      assert.are.equal(0, r.code, r.stderr)
      local target = "gui/" .. uid()
      assert.are.same({ "launchctl bootout " .. target .. "/com.databricks.oauth-rotator",
                        "launchctl enable " .. target .. "/com.databricks.oauth-rotator",
                        "launchctl bootstrap " .. target .. " " .. f.path(PLIST) }, f.calls())
      assert.are.equal("old line\n", f.read("Library/Logs/lua-databricks/rotator.err.log"))
      assert.are.equal("15", service.flag_value(assert(load_plist(f.path(PLIST))).ProgramArguments, "--interval"))
    end)

    it("handles blanks, quotes, &, < and % in HOME", function()
      local base = h.tmpdir("svc-odd")
      local f = fixture()
      f.home = base .. "/h 'o' \"q\" & <x> %y"
      assert(os.execute("mkdir -p " .. h.quote(f.home)))
      local r = f.install({ "--platform", "launchd" })
      assert.are.equal(0, r.code, r.stderr)
      local p = assert(load_plist(f.path(PLIST)))
      assert.are.equal(f.path(".pgpass"), service.flag_value(p.ProgramArguments, "--pgpass-file"))
      assert.are.equal(f.path("Library/Logs/lua-databricks/rotator.out.log"), p.StandardOutPath)
    end)

    it("--dry-run touches nothing", function()
      local f = fixture()
      local before = snapshot(f.home)
      local r = f.install({ "--platform", "launchd", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(before, snapshot(f.home))
      assert.is_nil(h.read_file(f.fake .. "/calls.log"))
      assert.matches("<key>ProgramArguments</key>", r.stdout)
      assert.matches("rotator%.err%.log %(mode 0600", r.stdout)
      assert.matches("\n%$ launchctl bootstrap gui/%d+ ", r.stdout)
    end)
  end)

  describe("uninstall", function()
    it("systemd: stops and disables, removes the unit, reloads; keeps the credentials unless --purge", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      f.reset_calls()
      local r = f.run("uninstall", { "--platform", "systemd" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ "systemctl --user disable --now databricks-oauth-rotator.service",
                        "systemctl --user daemon-reload" }, f.calls())
      assert.is_nil(f.read(UNIT))
      assert.is_truthy(f.read(CREDENTIALS))
      assert.matches("%-%-purge", r.stdout)
      f.reset_calls()
      r = f.run("uninstall", { "--platform", "systemd", "--purge" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("not installed", r.stdout)
      assert.is_nil(f.read(CREDENTIALS))
      assert.are.same({}, f.calls())
    end)

    it("removes the unit even when systemctl fails, and exits 1", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      f.fake_rc("systemctl.disable", 1)
      local r = f.run("uninstall", { "--platform", "systemd" })
      assert.are.equal(1, r.code)
      assert.is_nil(f.read(UNIT))
    end)

    it("launchd: boots the agent out and removes the plist", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "launchd", "--no-verify" }).code)
      f.reset_calls()
      local r = f.run("uninstall", { "--platform", "launchd", "--purge" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ "launchctl bootout gui/" .. uid() .. "/com.databricks.oauth-rotator" }, f.calls())
      assert.is_nil(f.read(PLIST))
      assert.is_nil(f.read(CREDENTIALS))
    end)

    it("--dry-run changes nothing", function()
      local f = fixture()
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      f.reset_calls()
      local before = snapshot(f.home)
      local r = f.run("uninstall", { "--platform", "systemd", "--purge", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(before, snapshot(f.home))
      assert.are.same({}, f.calls())
      assert.matches("would remove", r.stdout)
    end)
  end)

  describe("restart", function()
    it("restarts the systemd unit or kickstarts the launchd agent; 3 when not installed", function()
      local f = fixture()
      local r = f.run("restart", { "--platform", "systemd" })
      assert.are.equal(3, r.code)
      assert.matches("not installed", r.stderr)
      assert.are.equal(0, f.install({ "--platform", "systemd", "--no-verify" }).code)
      assert.are.equal(0, f.install({ "--platform", "launchd", "--no-verify" }).code)
      f.reset_calls()
      assert.are.equal(0, f.run("restart", { "--platform", "systemd" }).code)
      assert.are.equal(0, f.run("restart", { "--platform", "launchd" }).code)
      assert.are.same({ "systemctl --user restart databricks-oauth-rotator.service",
                        "launchctl kickstart -k gui/" .. uid() .. "/com.databricks.oauth-rotator" }, f.calls())
      f.fake_rc("systemctl.restart", 5)
      assert.are.equal(1, f.run("restart", { "--platform", "systemd" }).code)
    end)
  end)

  describe("status", function()
    local ACTIVE = "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\n" ..
                   "StatusText=credential valid until soon\n"

    local function installed(platform)
      local f = fixture()
      local r = f.install({ "--platform", platform })
      assert.are.equal(0, r.code, r.stderr)
      return f
    end

    local function edit_status(f, changes)
      local doc = cjson.decode(f.read(STATUS))
      for k, v in pairs(changes) do doc[k] = v end
      h.write_file(f.path(STATUS), cjson.encode(doc))
    end

    it("exits 3 when not installed (also with --json)", function()
      local f = fixture()
      local r = f.run("status", { "--platform", "systemd" })
      assert.are.equal(3, r.code)
      assert.matches("not installed", r.stdout)
      r = f.run("status", { "--platform", "launchd", "--json" })
      assert.are.equal(3, r.code)
      assert.is_false(cjson.decode(r.stdout).installed)
    end)

    it("exits 0 and reports success, expiry and minutes left when all is well", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", ACTIVE)
      local r = f.run("status", { "--platform", "systemd" })
      assert.are.equal(0, r.code, r.stdout .. r.stderr)
      assert.matches("healthy", r.stdout)
      assert.matches("active %(running%), pid 4242", r.stdout)
      assert.matches("last success:%s+%d%d%d%d%-", r.stdout)
      assert.matches("expires %S+ %(%d+ min left%)", r.stdout)
      assert.matches("last error:%s+none", r.stdout)
      assert.matches("credential valid until soon", r.stdout)
      assert.are.same({ "systemctl --user show databricks-oauth-rotator.service -p " .. systemd.PROPERTIES },
        { f.calls()[#f.calls()] })
    end)

    it("--json gives the verdict, the manager state and the status file", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", ACTIVE)
      local r = f.run("status", { "--platform", "systemd", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local doc = cjson.decode(r.stdout)
      assert.is_true(doc.installed)
      assert.is_true(doc.healthy)
      assert.are.same({}, doc.problems)
      assert.is_true(r.stdout:find('"problems":[]', 1, true) ~= nil)
      assert.is_true(doc.manager.active)
      assert.are.equal("ok", doc.status.last_result)
      assert.is_true(doc.minutes_left >= 55 and doc.minutes_left <= 60)
      assert.are.equal(f.path(STATUS), doc.status_file)
    end)

    it("exits 1 when the service is not running", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", "ActiveState=failed\nSubState=failed\nMainPID=0\n")
      local r = f.run("status", { "--platform", "systemd" })
      assert.are.equal(1, r.code)
      assert.matches("UNHEALTHY", r.stdout)
      assert.matches("not running", r.stdout)
    end)

    it("exits 1 when the last attempt failed, and shows the error", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", ACTIVE)
      edit_status(f, { last_result = "failed", last_error = "auth: invalid_client", last_error_kind = "auth" })
      local r = f.run("status", { "--platform", "systemd" })
      assert.are.equal(1, r.code)
      assert.matches("last error:%s+auth: invalid_client %[auth%]", r.stdout)
    end)

    it("exits 1 when the credential has expired", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", ACTIVE)
      edit_status(f, { expires_at = os.time() - 120 })
      local r = f.run("status", { "--platform", "systemd", "--json" })
      assert.are.equal(1, r.code)
      local doc = cjson.decode(r.stdout)
      assert.is_false(doc.healthy)
      assert.matches("expired", doc.problems[1])
    end)

    it("exits 1 when there is no status file yet", function()
      local f = installed("systemd")
      f.fake_output("systemctl.show", ACTIVE)
      os.remove(f.path(STATUS))
      assert.are.equal(1, f.run("status", { "--platform", "systemd" }).code)
    end)

    it("reads the status file the installed service writes", function()
      local f = fixture()
      os.execute("mkdir -p " .. h.quote(f.path("elsewhere")))
      assert.are.equal(0, f.install({ "--platform", "systemd", "--status-file", "elsewhere/st.json" }).code)
      f.fake_output("systemctl.show", ACTIVE)
      local r = f.run("status", { "--platform", "systemd", "--json" })
      assert.are.equal(0, r.code, r.stdout)
      assert.are.equal(f.path("elsewhere/st.json"), cjson.decode(r.stdout).status_file)
    end)

    it("asks launchd on macOS", function()
      local f = installed("launchd")
      f.fake_output("launchctl.print", "gui/501/com.databricks.oauth-rotator = {\n\tstate = running\n" ..
                                       "\tpid = 77\n\tlast exit code = 0\n}\n")
      local r = f.run("status", { "--platform", "launchd" })
      assert.are.equal(0, r.code, r.stdout)
      assert.matches("running, pid 77", r.stdout)
      f.fake_rc("launchctl.print", 113)
      r = f.run("status", { "--platform", "launchd" })
      assert.are.equal(1, r.code)
      assert.matches("not loaded", r.stdout)
    end)
  end)
end)
