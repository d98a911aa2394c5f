-- One probe of spec/trust_matrix_spec.lua, in a process of its own (so an
-- auth type that reads the environment — env_oidc, github_oidc — sees
-- exactly the variables the probe gives it):
--   lua5.4 spec/support/trust_probe.lua '<json>'
-- The JSON: `cfg` (a connect config), `calls` (a list of "token",
-- "current_user", "sql <statement>" and "list <path>" (paginate)), `browser` (true: sign in through Sim.browser with the
-- `cfg.ca_bundle`). Prints one JSON object: `{ok = true}` or `{stage =
-- "connect"|call, kind =, text = tostring(err), message =, code =,
-- details =}` — error text only, never a token.
package.path = "spec/?.lua;lua/?.lua;lua/?/init.lua;" .. package.path
local cjson = require "cjson"
local databricks = require "databricks"

local input = assert(arg[1], "usage: trust_probe.lua JSON")
local spec = cjson.decode(input)
local cfg = spec.cfg
if spec.browser then
  local Sim = require "support.sim"
  cfg.open_browser = function(url) Sim.browser(url, { ca_file = cfg.ca_bundle }) end
end

local function report(stage, err)
  io.write(cjson.encode({
    stage = stage, kind = err.kind, text = tostring(err), message = err.message,
    code = err.error_code ~= nil and tostring(err.error_code) or nil,
    details = err.details and cjson.encode(err.details) or nil,
  }))
  os.exit(0)
end

local c, err = databricks.connect(cfg)
if not c then report("connect", err) end
for _, call in ipairs(spec.calls or {}) do
  local ok, cerr
  if call == "token" then
    ok, cerr = c:token()
  elseif call:match("^sql ") then
    ok, cerr = c:sql(call:sub(5), { warehouse_id = "abc123", timeout = 30 })
  elseif call:match("^list ") then
    ok, cerr = pcall(function()
      for _ in c:paginate(call:sub(6), { items = "tables",
                                         query = { catalog_name = "main", schema_name = "sales" } }) do end
    end)
    if ok then ok = true else ok, cerr = nil, cerr end
  else
    ok, cerr = c:current_user()
  end
  if not ok then report(call, cerr) end
end
c:close()
io.write(cjson.encode({ ok = true }))
