-- Helpers shared by the specs: temporary folders, files, file modes, and
-- running commands with a scrubbed environment. Everything here is plain
-- Lua 5.4 plus lua-socket (for sleeping) so it never depends on the code
-- under test.
local socket = require "socket"

local M = {}

M.root = os.getenv("DBX_ROOT") or (io.popen("pwd"):read("l"))
M.lua = "lua5.4"

function M.quote(s)
  s = tostring(s)
  if s:match("^[%w%._/:=,+%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.join(argv)
  local out = {}
  for i, a in ipairs(argv) do out[i] = M.quote(a) end
  return table.concat(out, " ")
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.read_file = slurp

function M.write_file(path, data, mode)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  if mode then M.sh(string.format("chmod %o %s", mode, M.quote(path))) end
end

-- Runs a shell command; returns its exit code and stdout.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

local tmp_counter = 0
local tmp_made = {}
-- A fresh private folder under $TMPDIR (or /tmp); removed by M.cleanup().
function M.tmpdir(prefix)
  tmp_counter = tmp_counter + 1
  local base = os.getenv("TMPDIR") or "/tmp"
  local code, out = M.sh(string.format("mktemp -d %s/%s.XXXXXX", M.quote(base), prefix or "dbx"))
  assert(code == 0, "mktemp failed")
  local dir = out:gsub("%s+$", "")
  tmp_made[#tmp_made + 1] = dir
  return dir
end

-- The suite-wide journal (spec/support/run.sh sets DBX_JOURNAL): what the
-- suite printed and wrote, kept for spec/zz_secret_scan_spec.lua, which
-- checks that no issued token or secret appears anywhere in it.
M.journal = os.getenv("DBX_JOURNAL")

-- What the secret scan reads: logs, captured output, status files, rendered
-- service files (not .pgpass, token stores or credentials files, whose job
-- is to hold secrets).
local SCANNED = { "%.log$", "%.log%.%d+$", "%.out$", "status[^/]*%.json$", "%.service$", "%.plist$",
                  "/stdout$", "/stderr$" }

local journal_counter = 0
local function archive(dir)
  if not M.journal then return end
  journal_counter = journal_counter + 1
  local p = io.popen("find " .. M.quote(dir) .. " -type f -size -2048k 2>/dev/null")
  for file in p:lines() do
    for _, pat in ipairs(SCANNED) do
      if file:match(pat) then
        local dest = string.format("%s/files/%d%s", M.journal, journal_counter, file)
        os.execute(string.format("mkdir -p %s && cp -p %s %s 2>/dev/null", M.quote(dest:match("^(.*)/")),
          M.quote(file), M.quote(dest)))
        break
      end
    end
  end
  p:close()
end

local spawned = {}

function M.cleanup()
  -- A spec that failed before its own stop must not leave a process behind.
  for i = #spawned, 1, -1 do
    M.stop(spawned[i], 1)
    spawned[i] = nil
  end
  for i = #tmp_made, 1, -1 do
    archive(tmp_made[i])
    os.execute("rm -rf " .. M.quote(tmp_made[i]))
    tmp_made[i] = nil
  end
end

-- Adds text to the journal (e.g. error strings a spec produced in-process).
function M.note(label, text)
  if not M.journal then return end
  local f = io.open(M.journal .. "/outputs.log", "ab")
  if f then
    f:write("== ", label, " ==\n", text, "\n")
    f:close()
  end
end

-- Records secrets (issued tokens, client secrets) the scan must not find.
function M.note_secrets(list)
  if not M.journal then return end
  local f = io.open(M.journal .. "/secrets.txt", "ab")
  if f then
    for _, s in ipairs(list) do
      if type(s) == "string" and #s >= 8 then f:write(s, "\n") end
    end
    f:close()
  end
end

-- Octal permission bits of a path (as a number such as 384 for 0600), or nil.
function M.mode(path)
  local code, out = M.sh("stat -c %a " .. M.quote(path))
  if code ~= 0 then return nil end
  return tonumber(out:match("%d+"), 8)
end

function M.exists(path)
  return os.execute("test -e " .. M.quote(path)) == true
end

-- The environment every spec subprocess gets: nothing inherited except PATH,
-- a throw-away HOME and the language. Extra variables come from `env`.
function M.clean_env(home, env)
  local vars = {
    PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME = home,
    LANG = "C.UTF-8",
    TMPDIR = os.getenv("TMPDIR") or "/tmp",
  }
  for k, v in pairs(env or {}) do vars[k] = v or nil end
  local keys = {}
  for k in pairs(vars) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { "env", "-i" }
  for _, k in ipairs(keys) do
    if vars[k] ~= false then parts[#parts + 1] = M.quote(k .. "=" .. vars[k]) end
  end
  return table.concat(parts, " ")
end

-- Runs argv (a list) with a scrubbed environment.
-- opts: env (table), home (dir; default a new tmpdir), stdin (string),
--       cwd (dir), timeout (seconds, default 60).
-- Returns {code=, stdout=, stderr=}.
function M.run(argv, opts)
  opts = opts or {}
  local dir = M.tmpdir("run")
  local home = opts.home or dir
  local out, err, inp = dir .. "/stdout", dir .. "/stderr", dir .. "/stdin"
  M.write_file(inp, opts.stdin or "")
  local cmd = string.format("%s%s timeout -k 5 %d %s <%s >%s 2>%s",
    opts.cwd and ("cd " .. M.quote(opts.cwd) .. " && ") or "",
    M.clean_env(home, opts.env), opts.timeout or 60, M.join(argv),
    M.quote(inp), M.quote(out), M.quote(err))
  local _, _, code = os.execute(cmd)
  local result = { code = code, stdout = slurp(out) or "", stderr = slurp(err) or "" }
  -- Labelled by program only: some specs pass a secret in argv on purpose
  -- (to check the warning about it), and argv is not the program's output.
  M.note(tostring(argv[1]), result.stdout .. result.stderr)
  return result
end

-- Starts argv in the background (scrubbed environment); returns its PID.
function M.spawn(argv, opts)
  opts = opts or {}
  local home = opts.home or M.tmpdir("spawn")
  local log = opts.log or "/dev/null"
  local cmd = string.format("%s%s %s </dev/null >%s 2>&1 & echo $!",
    opts.cwd and ("cd " .. M.quote(opts.cwd) .. " && ") or "",
    M.clean_env(home, opts.env), M.join(argv), M.quote(log))
  local p = io.popen(cmd)
  local pid = tonumber(p:read("l"))
  p:close()
  spawned[#spawned + 1] = pid
  return pid
end

-- Is the process running? A zombie counts as gone: PID 1 in some
-- containers never reaps orphans, and kill -0 would still succeed.
function M.alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("a") or ""
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

function M.kill(pid, sig)
  os.execute(string.format("kill -%s %d 2>/dev/null", sig or "TERM", pid))
end

-- Waits until pred() is true or `timeout` seconds pass; returns pred()'s value.
function M.wait_for(pred, timeout, step)
  local deadline = socket.gettime() + (timeout or 10)
  repeat
    local v = pred()
    if v then return v end
    socket.sleep(step or 0.02)
  until socket.gettime() > deadline
  return pred()
end

-- Stops a process we started: TERM, then KILL after `grace` seconds.
function M.stop(pid, grace)
  if not pid or not M.alive(pid) then return end
  M.kill(pid, "TERM")
  if not M.wait_for(function() return not M.alive(pid) end, grace or 3) then
    M.kill(pid, "KILL")
    M.wait_for(function() return not M.alive(pid) end, 2)
  end
end

-- A TCP port on 127.0.0.1 that was free a moment ago.
function M.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- Writes an executable shell script (a stand-in command for PATH).
function M.write_script(path, body)
  M.write_file(path, "#!/bin/sh\n" .. body, 493) -- 0755
end

M.now = socket.gettime
M.sleep = socket.sleep

-- Loads the module under test from the checkout's build.
function M.databricks()
  return require "databricks"
end

return M
