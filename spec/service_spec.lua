-- Specs of databricks.service, the pure half of the service installers:
-- platform and paths, systemd quoting and `%`/`$` escaping, XML escaping,
-- rendering of the unit, the plist and the credentials file, the command
-- lists, parsing the managers' output and the health verdict. Rendered
-- files are also checked by the real parsers: `systemd-analyze --user
-- verify` (must print nothing) and Python's plistlib.
local h = require "support.helpers"
local checks = require "support.service_checks"
local verify_unit, load_plist = checks.verify_unit, checks.load_plist
local service = require "databricks.service"
local systemd = require "databricks.service.systemd"
local launchd = require "databricks.service.launchd"

local SECRET = "dose-SECRET-0123456789abcdef"



-- Arguments that exercise every escape: blanks, quotes, backslashes, the
-- systemd specifier and variable characters, a lone semicolon, XML's
-- specials, non-ASCII.
local NASTY = {
  "plain", "with space", 'dq"uote', "sq'uote", "back\\slash", "100%", "%h", "$HOME", "${HOME}", "$$", ";",
  "a;b", "amp&lt;", "<tag>", "é ü", "", " lead", "trail ", "-dash", "@at", "=eq", "tab\tx",
}

local function sample_cfg()
  return {
    workspace_url = "https://x.cloud.databricks.com", pg_host = "pg.example", pg_port = 6543,
    pg_database = "db", pg_username = "me@example.com", pgpass_file = "/home/u/.pgpass",
    log_file = "/home/u/.databricks_oauth_rotator.log",
    status_file = "/home/u/.local/state/lua-databricks/rotator-status.json", rotation_interval = 30,
    instance_name = "inst", auth = "m2m", ca_bundle = "/etc/ssl/ca.pem", verbose = true,
    client_id = "client-id-123", client_secret = SECRET,
  }
end

describe("service paths and platform", function()
  it("detects the service manager from uname", function()
    assert.are.equal("systemd", service.detect_platform("Linux\n"))
    assert.are.equal("launchd", service.detect_platform("Darwin"))
    local p, err = service.detect_platform("FreeBSD")
    assert.is_nil(p)
    assert.matches("%-%-platform", err)
  end)

  it("puts the unit, plist, credentials and logs under HOME", function()
    local p = assert(service.paths{ HOME = "/home/u/" })
    assert.are.equal("/home/u/.config/systemd/user/databricks-oauth-rotator.service",
      service.service_file("systemd", p))
    assert.are.equal("/home/u/Library/LaunchAgents/com.databricks.oauth-rotator.plist",
      service.service_file("launchd", p))
    assert.are.equal("/home/u/.config/lua-databricks/credentials", p.credentials)
    assert.are.same({ "/home/u/Library/Logs/lua-databricks/rotator.out.log",
                      "/home/u/Library/Logs/lua-databricks/rotator.err.log" }, launchd.extra_files(p))
  end)

  it("keeps credentials beside the stored tokens (XDG_CONFIG_HOME) but the unit in ~/.config", function()
    local p = assert(service.paths{ HOME = "/home/u", XDG_CONFIG_HOME = "/cfg" })
    assert.are.equal("/cfg/lua-databricks/credentials", p.credentials)
    assert.are.equal("/home/u/.config/systemd/user/databricks-oauth-rotator.service",
      service.service_file("systemd", p))
    p = assert(service.paths{ HOME = "/home/u", XDG_CONFIG_HOME = "relative" })
    assert.are.equal("/home/u/.config/lua-databricks/credentials", p.credentials)
  end)

  it("refuses a missing or relative HOME", function()
    assert.is_nil(service.paths{})
    assert.is_nil(service.paths{ HOME = "home" })
  end)

  it("makes paths absolute: ~, relative, . and ..", function()
    assert.are.equal("/home/u/x", service.absolute("~/x", "/home/u", "/cwd"))
    assert.are.equal("/home/u", service.absolute("~", "/home/u", "/cwd"))
    assert.are.equal("/cwd/a/c", service.absolute("./a/b/../c/", "/home/u", "/cwd"))
    assert.are.equal("/etc/x", service.absolute("/etc//./x", "/home/u", "/cwd"))
    assert.are.equal("/x", service.absolute("../../x", "/home/u", "/a"))
  end)

  it("finds a program on PATH like command -v", function()
    local execs = { ["/opt/bin/lua5.4"] = true, ["/usr/bin/lua5.4"] = true }
    local function is_exec(p) return execs[p] == true end
    assert.are.equal("/opt/bin/lua5.4", service.find_program("lua5.4", "rel:/nope:/opt/bin:/usr/bin", is_exec))
    assert.are.equal("/x/lua", service.find_program("/x/lua", "", is_exec))
    assert.is_nil(service.find_program("lua9", "/opt/bin", is_exec))
  end)

  it("runs the checkout script with the absolute interpreter", function()
    local execs = { ["/usr/bin/lua5.4"] = true, ["/src/lua-databricks/bin/databricks-oauth-rotator"] = true }
    local function is_exec(p) return execs[p] == true end
    local prog = assert(service.rotator_program{ arg0 = "bin/databricks-oauth-install", interpreter = "lua5.4",
                                                 cwd = "/src/lua-databricks", path = "/usr/bin", is_exec = is_exec })
    assert.are.same({ "/usr/bin/lua5.4", "/src/lua-databricks/bin/databricks-oauth-rotator" }, prog)
    local rel = assert(service.rotator_program{ arg0 = "../bin/databricks-oauth-install",
                                                interpreter = "/usr/bin/lua5.4",
                                                cwd = "/src/lua-databricks/lua", path = "", is_exec = is_exec })
    assert.are.same(prog, rel)
  end)

  it("runs the LuaRocks tree's bin/ wrapper when installed by LuaRocks", function()
    local tree = "/home/u/.luarocks"
    local execs = { [tree .. "/bin/databricks-oauth-rotator"] = true }
    local prog = assert(service.rotator_program{
      arg0 = tree .. "/lib/luarocks/rocks-5.4/lua-databricks/0.1.0-1/bin/databricks-oauth-install",
      interpreter = "/usr/bin/lua5.4", cwd = "/", path = "/usr/bin", is_exec = function(p) return execs[p] end })
    assert.are.same({ tree .. "/bin/databricks-oauth-rotator" }, prog)
  end)

  it("says what is missing when the rotator or the interpreter cannot be found", function()
    local _, err = service.rotator_program{ arg0 = "/x/bin/databricks-oauth-install", interpreter = "lua5.4",
                                            cwd = "/", path = "/usr/bin", is_exec = function() return false end }
    assert.matches("databricks%-oauth%-rotator", err)
    _, err = service.rotator_program{ arg0 = "/x/bin/i", interpreter = "lua5.4", cwd = "/", path = "/usr/bin",
                                      is_exec = function(p) return p == "/x/bin/databricks-oauth-rotator" end }
    assert.matches("interpreter 'lua5.4'", err)
  end)
end)

describe("service command and environment", function()
  it("passes every rotator setting as a flag, the secret only as a file", function()
    local argv = service.rotator_argv({ "/usr/bin/lua5.4", "/r" }, sample_cfg(), "/home/u/.config/lua-databricks/cred")
    assert.are.same({
      "/usr/bin/lua5.4", "/r", "--workspace-url", "https://x.cloud.databricks.com", "--pg-host", "pg.example",
      "--pg-port", "6543", "--pg-database", "db", "--pg-username", "me@example.com", "--pgpass-file",
      "/home/u/.pgpass", "--log-file", "/home/u/.databricks_oauth_rotator.log", "--status-file",
      "/home/u/.local/state/lua-databricks/rotator-status.json", "--interval", "30", "--instance-name", "inst",
      "--auth", "m2m", "--ca-bundle", "/etc/ssl/ca.pem", "--client-secret-file",
      "/home/u/.config/lua-databricks/cred", "--verbose",
    }, argv)
    for _, a in ipairs(argv) do assert.is_nil(a:find(SECRET, 1, true)) end
  end)

  it("leaves out unset settings", function()
    assert.are.same({ "/r", "--workspace-url", "https://w" },
      service.rotator_argv({ "/r" }, { workspace_url = "https://w" }, nil))
  end)

  it("gives the service the client ID, an absolute PATH and proxies without passwords", function()
    local env, warnings = service.service_env({
      PATH = "/usr/bin:.::relative:/opt/bin", XDG_CONFIG_HOME = "/cfg",
      HTTPS_PROXY = "http://proxy:3128", http_proxy = "http://user:pw@proxy:3128", NO_PROXY = "localhost",
    }, { client_id = "cid" })
    assert.are.same({ { "DATABRICKS_CLIENT_ID", "cid" }, { "PATH", "/usr/bin:/opt/bin" },
                      { "XDG_CONFIG_HOME", "/cfg" }, { "HTTPS_PROXY", "http://proxy:3128" },
                      { "NO_PROXY", "localhost" } }, env)
    assert.are.equal(1, #warnings)
    assert.matches("^http_proxy", warnings[1])
    assert.is_nil(warnings[1]:find("pw", 1, true))
  end)

  it("rejects control characters and invalid UTF-8 in anything rendered", function()
    assert.is_true(service.check_values{ { "a", "x y%\"$é" } })
    local ok, err = service.check_values{ { "--pgpass-file", "a\nExecStartPre=/bin/evil" } }
    assert.is_nil(ok)
    assert.matches("%-%-pgpass%-file contains a control character", err)
    assert.is_nil(service.check_values{ { "x", "\255" } })
  end)
end)

describe("credentials file", function()
  it("is one DATABRICKS_CLIENT_SECRET line, as --client-secret-file and EnvironmentFile= read it", function()
    assert.are.equal("DATABRICKS_CLIENT_SECRET=" .. SECRET .. "\n", service.render_credentials(SECRET))
  end)

  it("is masked for display", function()
    local shown = service.mask_credentials(service.render_credentials(SECRET))
    assert.are.equal("DATABRICKS_CLIENT_SECRET=********\n", shown)
  end)

  it("refuses a secret that would not read back identically", function()
    assert.is_nil(service.render_credentials("a\nb"))
    assert.is_nil(service.render_credentials(" lead"))
    assert.is_nil(service.render_credentials("trail "))
  end)
end)

describe("systemd quoting", function()
  it("escapes %, $, quotes and backslashes and quotes what needs it", function()
    assert.are.equal("/usr/bin/lua5.4", systemd.systemd_quote("/usr/bin/lua5.4"))
    assert.are.equal("--pg-port", systemd.systemd_quote("--pg-port"))
    assert.are.equal('"with space"', systemd.systemd_quote("with space"))
    assert.are.equal("100%%", systemd.systemd_quote("100%"))
    assert.are.equal("$$HOME", systemd.systemd_quote("$HOME"))
    assert.are.equal('"a\\"b"', systemd.systemd_quote('a"b'))
    assert.are.equal('"a\\\\b"', systemd.systemd_quote("a\\b"))
    assert.are.equal('";"', systemd.systemd_quote(";"))
    assert.are.equal('""', systemd.systemd_quote(""))
    assert.are.equal('"/a b/%%h $$x"', systemd.systemd_quote("/a b/%h $x"))
    assert.are.equal('"a\\nb"', systemd.systemd_quote("a\nb"))
  end)

  it("quotes Environment= assignments, % doubled", function()
    assert.are.equal('"PATH=/a b:/c%%d"', systemd.systemd_env("PATH", "/a b:/c%d"))
    assert.are.equal('"X=say \\"hi\\" \\\\o/ $y"', systemd.systemd_env("X", 'say "hi" \\o/ $y'))
  end)

  it("round-trips every nasty argument through an ExecStart= line", function()
    assert.are.same(NASTY, systemd.systemd_split(systemd.systemd_command(NASTY)))
  end)

  it("round-trips generated arguments (property)", function()
    local alphabet = { " ", '"', "'", "\\", "%", "$", ";", "&", "<", ">", "a", "Z", "0", "/", "-", "=", "é", "{", "}",
                       "\t", "h" }
    math.randomseed(20240521)
    for _ = 1, 300 do
      local argv = {}
      for i = 1, math.random(1, 5) do
        local parts = {}
        for j = 1, math.random(0, 8) do parts[j] = alphabet[math.random(#alphabet)] end
        argv[i] = table.concat(parts)
      end
      assert.are.same(argv, systemd.systemd_split(systemd.systemd_command(argv)))
    end
  end)

  it("reads single quotes and %h written by hand", function()
    assert.are.same({ "/bin/x", "a b", "/home/u/y", "100%" },
      systemd.systemd_split("/bin/x 'a b' %h/y 100%%", "/home/u"))
  end)
end)

describe("XML escaping", function()
  it("escapes the five XML specials", function()
    assert.are.equal("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;", launchd.xml_escape("a & b <c> \"d\" 'e'"))
    assert.are.equal("&amp;lt;", launchd.xml_escape("&lt;"))
  end)

  it("round-trips (property)", function()
    local alphabet = { "&", "<", ">", '"', "'", ";", "#", "x", "a", "l", "t", "é", " " }
    math.randomseed(7)
    for _ = 1, 300 do
      local parts = {}
      for j = 1, math.random(0, 12) do parts[j] = alphabet[math.random(#alphabet)] end
      local s = table.concat(parts)
      assert.are.equal(s, launchd.xml_unescape(launchd.xml_escape(s)))
    end
    assert.are.equal("é<", launchd.xml_unescape("&#233;&#x3c;"))
  end)
end)

describe("the systemd unit", function()
  local function unit(argv, env)
    return systemd.render{ argv = argv or { "/usr/bin/lua5.4", h.root .. "/bin/databricks-oauth-rotator",
                                                 "--workspace-url", "https://w" },
                                env = env or { { "DATABRICKS_CLIENT_ID", "cid" }, { "PATH", "/usr/bin:/bin" } },
                                credentials = "/home/u/.config/lua-databricks/credentials", version = "0.1.0" }
  end

  it("is a notify service with a watchdog, restarts on failure, and starts with the user manager", function()
    local text = unit()
    for _, line in ipairs({
      "Type=notify", "NotifyAccess=main", "Restart=on-failure", "RestartSec=30s", "RestartPreventExitStatus=2",
      "WatchdogSec=300s", "TimeoutStopSec=10s", "TimeoutStartSec=300s", "WantedBy=default.target",
      "ExecStart=/usr/bin/lua5.4 " .. h.root .. "/bin/databricks-oauth-rotator --workspace-url https://w",
      'Environment="DATABRICKS_CLIENT_ID=cid"', 'Environment="PATH=/usr/bin:/bin"',
      "NoNewPrivileges=yes", "UMask=0077", "RestrictSUIDSGID=yes", "LockPersonality=yes",
      "MemoryDenyWriteExecute=yes", "SystemCallArchitectures=native",
    }) do
      assert.is_truthy(text:find("\n" .. line .. "\n", 1, true), "missing: " .. line)
    end
    assert.is_nil(text:find("PrivateTmp", 1, true))
    assert.is_nil(text:find("ProtectSystem", 1, true))
    assert.are.equal(1, select(2, text:gsub("\nExecStart=", "")))
  end)

  it("has a watchdog comfortably above the daemon's longest sleep slice (30 s)", function()
    assert.is_true(systemd.WATCHDOG_SEC >= 4 * 30)
  end)

  it("passes `systemd-analyze --user verify` without a word", function()
    local dir = h.tmpdir("unit")
    local path = dir .. "/" .. systemd.UNIT_NAME
    h.write_file(path, unit())
    local code, out = verify_unit(path)
    assert.are.equal("", out)
    assert.are.equal(0, code)
  end)

  it("passes it too with every nasty argument and environment value", function()
    local argv = { "/usr/bin/lua5.4", h.root .. "/bin/databricks-oauth-rotator" }
    for _, a in ipairs(NASTY) do
      if not a:find("\t") then argv[#argv + 1] = a end
    end
    local env = { { "PATH", "/a b/%h:$PATH" }, { "X", 'q"uote\\d' } }
    local dir = h.tmpdir("unit")
    local path = dir .. "/" .. systemd.UNIT_NAME
    local text = unit(argv, env)
    h.write_file(path, text)
    local code, out = verify_unit(path)
    assert.are.equal("", out)
    assert.are.equal(0, code)
    assert.are.same(argv, systemd.program_arguments(text))
  end)

  it("names an executable under a path full of specials so that systemd finds exactly it", function()
    -- systemd-analyze checks that the ExecStart= program exists: this is
    -- systemd's own parser agreeing with our quoting of the first word
    -- (specifiers escaped, no variable expansion there).
    local dir = h.tmpdir("unit")
    local odd = dir .. "/a b%h$x${HOME};&<é"
    assert(os.execute("mkdir -p " .. h.quote(odd) .. " && ln -s /usr/bin/lua5.4 " .. h.quote(odd .. "/lua 5.4")))
    assert.is_true(systemd.check_program(odd .. "/lua 5.4"))
    local path = dir .. "/" .. systemd.UNIT_NAME
    h.write_file(path, unit({ odd .. "/lua 5.4", "$x", "%h" }))
    local code, out = verify_unit(path)
    assert.are.equal("", out)
    assert.are.equal(0, code)
    -- ...and the same check notices a wrong path.
    h.write_file(path, unit({ odd .. "/lua 5.4x" }))
    local _, bad = verify_unit(path)
    assert.matches("not executable", bad)
  end)

  it("refuses program paths systemd cannot run", function()
    assert.is_nil(systemd.check_program('/a"b/lua'))
    assert.is_nil(systemd.check_program("/a'b/lua"))
    assert.is_nil(systemd.check_program("/a\\b/lua"))
    assert.is_nil(systemd.check_program("lua5.4"))
  end)

  it("the verifier does complain about a broken unit (so the silence above means something)", function()
    local dir = h.tmpdir("unit")
    local path = dir .. "/" .. systemd.UNIT_NAME
    h.write_file(path, unit() .. "BogusKey=1\n" .. "[Service]\nExecStartPre=/bin/true \"unbalanced\n")
    local _, out = verify_unit(path)
    assert.are_not.equal("", out)
  end)
end)

describe("the launchd plist", function()
  local function render(argv, env)
    return launchd.render{ label = launchd.LABEL, argv = argv, env = env,
                                 stdout = "/Users/u/Library/Logs/lua-databricks/rotator.out.log",
                                 stderr = "/Users/u/Library/Logs/lua-databricks/rotator.err.log" }
  end

  it("parses strictly and says exactly what launchd needs", function()
    local argv = { "/usr/local/bin/lua5.4", "/Users/u/src/bin/databricks-oauth-rotator",
                   "--workspace-url", "https://w" }
    local dir = h.tmpdir("plist")
    h.write_file(dir .. "/p.plist", render(argv, { { "DATABRICKS_CLIENT_ID", "cid" } }))
    local p = assert(load_plist(dir .. "/p.plist"))
    assert.are.same({
      Label = "com.databricks.oauth-rotator", ProgramArguments = argv,
      EnvironmentVariables = { DATABRICKS_CLIENT_ID = "cid" }, RunAtLoad = true,
      KeepAlive = { SuccessfulExit = false }, ProcessType = "Background", ThrottleInterval = 30,
      ExitTimeOut = 10, Umask = 63,
      StandardOutPath = "/Users/u/Library/Logs/lua-databricks/rotator.out.log",
      StandardErrorPath = "/Users/u/Library/Logs/lua-databricks/rotator.err.log",
    }, p)
  end)

  it("carries every nasty argument and environment value intact (XML-escaped)", function()
    local argv = { "/usr/local/bin/lua5.4", "/Users/a b/&<x>/bin/databricks-oauth-rotator" }
    for _, a in ipairs(NASTY) do argv[#argv + 1] = a end
    local env = { { "PATH", "/a&b:/<c>" }, { "X", "\"'--" } }
    local text = render(argv, env)
    local dir = h.tmpdir("plist")
    h.write_file(dir .. "/p.plist", text)
    local p = assert(load_plist(dir .. "/p.plist"))
    assert.are.same(argv, p.ProgramArguments)
    assert.are.same({ PATH = "/a&b:/<c>", X = "\"'--" }, p.EnvironmentVariables)
    assert.are.same(argv, launchd.program_arguments(text))
  end)
end)

describe("service commands", function()
  it("systemd install: daemon-reload, enable --now; reinstall: enable + restart; linger on request", function()
    local function argvs(cmds)
      local out = {}
      for i, c in ipairs(cmds) do out[i] = table.concat(c.argv, " ") end
      return out
    end
    assert.are.same({ "systemctl --user daemon-reload",
                      "systemctl --user enable --now databricks-oauth-rotator.service" },
      argvs(service.install_commands("systemd", {})))
    assert.are.same({ "systemctl --user daemon-reload", "systemctl --user enable databricks-oauth-rotator.service",
                      "systemctl --user restart databricks-oauth-rotator.service", "loginctl enable-linger" },
      argvs(service.install_commands("systemd", { reinstall = true, linger = true })))
  end)

  it("launchd install: enable, bootstrap gui/<uid>; reinstall boots the old one out first", function()
    local fresh = service.install_commands("launchd", { uid = 501, file = "/p.plist" })
    assert.are.same({ "launchctl", "enable", "gui/501/com.databricks.oauth-rotator" }, fresh[1].argv)
    assert.are.same({ "launchctl", "bootstrap", "gui/501", "/p.plist" }, fresh[2].argv)
    local again = service.install_commands("launchd", { uid = 501, file = "/p.plist", reinstall = true })
    assert.are.same({ "launchctl", "bootout", "gui/501/com.databricks.oauth-rotator" }, again[1].argv)
    assert.is_true(again[1].ignore_failure)
    assert.is_true(again[3].retries > 0)
  end)

  it("uninstall, restart and state commands", function()
    local before, after = service.uninstall_commands("systemd", {})
    assert.are.same({ "systemctl", "--user", "disable", "--now", "databricks-oauth-rotator.service" }, before[1].argv)
    assert.are.same({ "systemctl", "--user", "daemon-reload" }, after[1].argv)
    before = service.uninstall_commands("launchd", { uid = 7 })
    assert.are.same({ "launchctl", "bootout", "gui/7/com.databricks.oauth-rotator" }, before[1].argv)
    assert.are.same({ "systemctl", "--user", "restart", "databricks-oauth-rotator.service" },
      service.restart_commands("systemd", {})[1].argv)
    assert.are.same({ "launchctl", "kickstart", "-k", "gui/7/com.databricks.oauth-rotator" },
      service.restart_commands("launchd", { uid = 7 })[1].argv)
    assert.are.same({ "launchctl", "print", "gui/7/com.databricks.oauth-rotator" },
      service.state_command("launchd", { uid = 7 }))
    assert.are.equal("show", service.state_command("systemd", {})[3])
  end)
end)

describe("service state and health", function()
  it("reads systemctl show", function()
    local m = systemd.parse_state("LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=42\n" ..
      "StatusText=credential valid until 2030-01-01T00:00:00Z\n")
    assert.is_true(m.active)
    assert.are.equal("active (running)", m.state)
    assert.are.equal(42, m.pid)
    assert.are.equal("credential valid until 2030-01-01T00:00:00Z", m.properties.status_text)
    local f = systemd.parse_state("ActiveState=failed\nSubState=failed\nMainPID=0\n")
    assert.is_false(f.active)
    assert.is_nil(f.pid)
  end)

  it("reads launchctl print", function()
    local m = launchd.parse_state("gui/501/com.databricks.oauth-rotator = {\n\tactive count = 1\n" ..
      "\tstate = running\n\tpid = 913\n\tlast exit code = 0\n}\n")
    assert.is_true(m.active)
    assert.are.equal(913, m.pid)
    assert.is_false(launchd.parse_state("x = {\n\tstate = not running\n}\n").active)
  end)

  it("is healthy only when running, the last attempt succeeded and the credential is valid", function()
    local now = 1000
    local running = { active = true, state = "active (running)" }
    local ok = { last_result = "ok", expires_at = now + 600 }
    assert.is_true((service.health(running, ok, now)))
    local healthy, problems = service.health({ active = false, state = "failed" }, ok, now)
    assert.is_false(healthy)
    assert.matches("not running %(failed%)", problems[1])
    healthy, problems = service.health(running, { last_result = "failed", last_error = "auth: bad secret",
                                                  expires_at = now + 600 }, now)
    assert.is_false(healthy)
    assert.matches("failed: auth: bad secret", problems[1])
    healthy, problems = service.health(running, { last_result = "ok", expires_at = now - 1 }, now)
    assert.is_false(healthy)
    assert.matches("expired", problems[1])
    assert.is_false((service.health(running, nil, now)))
    assert.is_false((service.health(nil, ok, now)))
  end)
end)

teardown(function()
  h.cleanup()
end)
