-- Throw-away TLS material for the workspace simulator (its per-run CA, the
-- specs and the bench), made with the openssl CLI: a test CA and a server
-- certificate for DNS:localhost and IP:127.0.0.1 signed by it (EC P-256,
-- valid two days).
--   certs.make(dir)  -> {ca_file=, cert_file=, key_file=} (dir must exist)
--   certs.shared()   -> the same, made once per process under $TMPDIR (and
--                       removed when the Lua state closes)
-- The CA key never leaves `dir`; nothing here touches the system trust store.
local M = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function run(cmd, what)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  if not ok then
    error(string.format("certs: %s failed (exit %s): %s", what, tostring(code), out), 3)
  end
end

local EXT = table.concat({
  "basicConstraints = critical, CA:FALSE",
  "keyUsage = critical, digitalSignature, keyEncipherment",
  "extendedKeyUsage = serverAuth",
  "subjectAltName = DNS:localhost, IP:127.0.0.1",
  "subjectKeyIdentifier = hash",
  "authorityKeyIdentifier = keyid, issuer",
  "",
}, "\n")

function M.make(dir)
  local p = function(name) return dir .. "/" .. name end
  local files = { ca_file = p("ca.pem"), cert_file = p("server.pem"), key_file = p("server.key") }
  local f = assert(io.open(p("server.ext"), "wb"))
  f:write(EXT)
  f:close()
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  run(string.format("openssl req -x509 %s -keyout %s -out %s -days 2 -subj %s"
    .. " -addext %s -addext %s -addext %s",
    ec, quote(p("ca.key")), quote(files.ca_file), quote("/CN=lua-databricks test CA"),
    quote("basicConstraints=critical,CA:TRUE"), quote("keyUsage=critical,keyCertSign,cRLSign"),
    quote("subjectKeyIdentifier=hash")), "making the test CA")
  run(string.format("openssl req %s -keyout %s -out %s -subj %s",
    ec, quote(files.key_file), quote(p("server.csr")), quote("/CN=localhost")), "making the server key")
  run(string.format("openssl x509 -req -in %s -CA %s -CAkey %s -set_serial %d -days 2 -extfile %s -out %s",
    quote(p("server.csr")), quote(files.ca_file), quote(p("ca.key")), math.random(1, 1 << 30),
    quote(p("server.ext")), quote(files.cert_file)), "signing the server certificate")
  os.execute("chmod 600 " .. quote(p("ca.key")) .. " " .. quote(files.key_file))
  return files
end

local shared
function M.shared()
  if shared then return shared end
  local base = os.getenv("TMPDIR") or "/tmp"
  local h = io.popen("mktemp -d " .. quote(base .. "/dbx-sim-certs.XXXXXX"))
  local dir = h:read("l")
  h:close()
  assert(dir and dir ~= "", "certs: mktemp failed")
  shared = M.make(dir)
  shared.dir = dir
  -- Removed when this Lua state closes (normal interpreter exit); running
  -- simulators have already loaded their key and certificate by then.
  M._cleanup = setmetatable({}, { __gc = function() os.execute("rm -rf " .. quote(dir)) end })
  return shared
end

return M
