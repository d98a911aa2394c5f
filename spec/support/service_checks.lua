-- Checks of rendered service files shared by the service specs: systemd's
-- own verifier on a unit, and Python's strict plistlib on a plist.
local cjson = require "cjson"
local h = require "support.helpers"

local M = {}

-- Runs `systemd-analyze --user verify` on a unit file with a private HOME
-- and runtime folder; returns its exit code and everything it printed.
function M.verify_unit(path)
  local scratch = h.tmpdir("sa")
  os.execute("mkdir -p " .. h.quote(scratch .. "/run") .. " && chmod 700 " .. h.quote(scratch .. "/run"))
  local r = h.run({ "systemd-analyze", "--user", "verify", path },
                  { home = scratch, env = { XDG_RUNTIME_DIR = scratch .. "/run" } })
  return r.code, r.stdout .. r.stderr
end

-- Parses a plist with Python's plistlib (strict XML); returns the decoded
-- value, or nil and Python's complaint.
function M.load_plist(path)
  local r = h.run({ "python3", "-c",
    "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))", path })
  if r.code ~= 0 then return nil, r.stderr end
  return cjson.decode(r.stdout)
end

return M
