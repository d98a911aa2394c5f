--- The benchmark server: Debian's nginx on 127.0.0.1 with a per-run test CA
-- and certificate, answering FIXED bodies (OAuth discovery, a client-
-- credentials token, SCIM Me) so that the client's cost dominates every
-- measurement. The bodies are generated per run: the token is a ~1 KB
-- JWT-shaped string whose `exp` is an hour after generation.
--
--   local nginx = require "nginx"            -- bench/ is on package.path
--   local srv = nginx.start{dir = tmp, certs = certs.make(tmp)}
--   srv.url, srv.port, srv.pid, srv.ca_file, srv.access_token, srv.client_id,
--   srv.client_secret, srv.user_name, srv.bodies; srv:stop()
-- Paths served: /oidc/.well-known/oauth-authorization-server,
-- /oidc/v1/token (any method), /api/2.0/preview/scim/v2/Me, and /bench/raw
-- (as many bytes as SCIM Me, text/plain: not JSON); anything else is 404.
--
-- nginx runs in the foreground as a single process (`master_process off`)
-- and a child of this Lua process; stop() signals that PID only, and reaps it.
local socket = require "socket"
local helpers = require "support.helpers"
local quote, read_file, write_file = helpers.quote, helpers.read_file, helpers.write_file

local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"




local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

--- base64url without padding.
function M.b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local k = b and (c and 4 or 3) or 2
    for j = 1, k do
      local v = (n >> (18 - 6 * (j - 1))) & 63
      out[#out + 1] = B64:sub(v + 1, v + 1)
    end
  end
  return table.concat(out)
end

local function random_bytes(n)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local s = f:read(n)
    f:close()
    if s and #s == n then return s end
  end
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

--- A JWT-shaped token of about `size` bytes: RS256-style header, claims
-- (`iss`, `sub`, `aud`, `scope`, `iat`, `nbf`, `exp`), a 256-byte
-- "signature". Never verified by anyone.
function M.jwt(claims, size)
  local header = M.b64url('{"alg":"RS256","kid":"lua-databricks-bench","typ":"JWT"}')
  local sig = M.b64url(random_bytes(256))
  local parts = {}
  for _, k in ipairs({ "iss", "sub", "aud", "scope", "iat", "nbf", "exp" }) do
    local v = claims[k]
    parts[#parts + 1] = string.format('"%s":%s', k, math.type(v) and tostring(v) or string.format('"%s"', v))
  end
  local body = "{" .. table.concat(parts, ",")
  local payload = M.b64url(body .. "}")
  local short = (size or 1024) - (#header + #payload + #sig + 2)
  if short > 30 then
    -- pad with a claim so the whole token is `size` bytes (base64 grows 4/3)
    local pad = string.rep("p", math.floor((short * 3 / 4) - #',"pad":""'))
    payload = M.b64url(body .. ',"pad":"' .. pad .. '"}')
  end
  return header .. "." .. payload .. "." .. sig
end

local function json_string(s)
  assert(not s:find('[%c"\\]'), "json_string: plain text only")
  return '"' .. s .. '"'
end

--- The fixed bodies for a server at `url`.
function M.bodies(url, client_id, user_name, now)
  local iat = math.floor(now)
  local token = M.jwt({ iss = url .. "/oidc", sub = client_id, aud = client_id, scope = "all-apis",
                        iat = iat, nbf = iat, exp = iat + 3600 }, 1024)
  local discovery = string.format(
    '{"issuer":%s,"authorization_endpoint":%s,"token_endpoint":%s,"jwks_uri":%s,'
    .. '"response_types_supported":["code"],"grant_types_supported":["client_credentials",'
    .. '"authorization_code","refresh_token"],"code_challenge_methods_supported":["S256"],'
    .. '"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"]}',
    json_string(url .. "/oidc"), json_string(url .. "/oidc/v1/authorize"),
    json_string(url .. "/oidc/v1/token"), json_string(url .. "/oidc/jwks.json"))
  local token_response = string.format('{"access_token":%s,"token_type":"Bearer","scope":"all-apis",'
    .. '"expires_in":3600}', json_string(token))
  local me = string.format('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"4242424242424242",'
    .. '"userName":%s,"displayName":"Benchmark Service Principal","active":true,'
    .. '"emails":[{"value":%s,"type":"work","primary":true}],'
    .. '"groups":[{"display":"users","type":"direct","value":"1111"},{"display":"admins","type":"direct",'
    .. '"value":"2222"}],"entitlements":[{"value":"workspace-access"},{"value":"databricks-sql-access"}]}',
    json_string(user_name), json_string(user_name))
  local raw = string.rep("lua-databricks benchmark body, not JSON. ", 20):sub(1, #me)
  return { discovery = discovery, token = token_response, me = me, raw = raw, access_token = token }
end

local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return math.tointeger(tonumber(port))
end

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return false end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

local function wait_for(pred, timeout)
  local deadline = socket.gettime() + timeout
  repeat
    if pred() then return true end
    socket.sleep(0.01)
  until socket.gettime() > deadline
  return pred()
end

local Server = {}
Server.__index = Server

function Server:stop()
  if not self.pid then return end
  if alive(self.pid) then
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
    if not wait_for(function() return not alive(self.pid) end, 5) then
      os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
      wait_for(function() return not alive(self.pid) end, 2)
    end
  end
  if self.pipe then self.pipe:close() end -- reaps it
  self.pid, self.pipe = nil, nil
end

local function try_start(opts, attempt)
  local prefix = opts.dir .. "/nginx"
  os.execute("mkdir -p " .. quote(prefix))
  local port = free_port()
  local url = "https://127.0.0.1:" .. port
  local client_id = "bench-client-id-0123456789"
  local client_secret = "dosebench" .. M.b64url(random_bytes(24))
  local user_name = "bench-sp@example.com"
  local bodies = M.bodies(url, client_id, user_name, os.time())
  local template = assert(read_file(here .. "nginx/nginx.conf.in"), "bench/nginx/nginx.conf.in is missing")
  local fields = {
    PREFIX = prefix, PORT = tostring(port), CERT = opts.certs.cert_file, KEY = opts.certs.key_file,
    DISCOVERY = bodies.discovery, TOKEN = bodies.token, ME = bodies.me, RAW = bodies.raw,
  }
  for k, v in pairs(fields) do
    -- Bodies sit inside nginx's single quotes (no quote, variable or
    -- backslash there); paths sit bare (no space, quote, ';' or braces).
    local bad = (k == "DISCOVERY" or k == "TOKEN" or k == "ME" or k == "RAW") and "['$\\]" or "[%s'\"$\\;{}]"
    assert(not v:find(bad), "nginx config field " .. k .. " has a character nginx would interpret")
  end
  local conf = template:gsub("@(%u+)@", function(k) return assert(fields[k], "unknown template field " .. k) end)
  local conf_file = prefix .. "/nginx.conf"
  write_file(conf_file, conf)
  local log = prefix .. "/stderr.log"
  -- A child of this process: the shell prints its PID and becomes nginx
  -- (exec), and the pipe stays open until stop() reaps it with close().
  local p = assert(io.popen(string.format("echo $$; exec %s -p %s -c %s -e %s </dev/null >>%s 2>&1",
    opts.nginx or "nginx", quote(prefix), quote(conf_file), quote(prefix .. "/error.log"), quote(log))))
  local pid = tonumber(p:read("l"))
  assert(pid, "could not start nginx")
  local srv = setmetatable({
    pid = pid, pipe = p, port = port, url = url, prefix = prefix, ca_file = opts.certs.ca_file,
    access_token = bodies.access_token, client_id = client_id, client_secret = client_secret,
    user_name = user_name, bodies = bodies,
  }, Server)
  local up = wait_for(function()
    if not alive(pid) then return true end
    local c = socket.tcp()
    c:settimeout(0.2)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    return ok
  end, 10)
  if up and alive(pid) then return srv end
  srv:stop()
  local why = (read_file(prefix .. "/error.log") or "") .. (read_file(log) or "")
  if attempt < 3 and why:find("Address already in use") then return nil end
  error("nginx did not start on 127.0.0.1:" .. port .. ": " .. why)
end

--- Starts the server. opts: `dir` (the run's temp folder), `certs`
-- ({ca_file, cert_file, key_file}), `nginx` (binary, default "nginx").
function M.start(opts)
  for attempt = 1, 3 do
    local srv = try_start(opts, attempt)
    if srv then return srv end
  end
end

return M
