-- A stand-in web browser for U2M sign-in specs (spawned by Sim.browser):
--   lua5.4 spec/support/browser.lua --url AUTHORIZE-URL --ca-file CA
--          [--result-file F] [--timeout S] [--delay S]
-- GETs the authorize URL over HTTPS trusting CA, and when the answer is a
-- redirect follows Location with a plain HTTP GET to the loopback listener,
-- retrying the connection until it accepts or the timeout passes. Writes what
-- happened as JSON to the result file; exit 0 when the callback was delivered.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local socket = require "socket"
local cjson = require "cjson"
local client = dofile(here .. "sim_client.lua")

local function args(argv)
  local opts, i = { timeout = 15 }, 1
  while i <= #argv do
    local k = argv[i]:match("^%-%-(.+)$")
    if not k or argv[i + 1] == nil then
      io.stderr:write("browser: bad arguments\n")
      os.exit(2)
    end
    opts[k:gsub("%-", "_")] = argv[i + 1]
    i = i + 2
  end
  return opts
end

local opts = args(arg)
local result = { url = opts.url }

local function finish(code, err)
  result.error = err
  if opts.result_file then
    local f = io.open(opts.result_file .. ".tmp", "wb")
    if f then
      f:write(cjson.encode(result))
      f:close()
      os.rename(opts.result_file .. ".tmp", opts.result_file)
    end
  end
  if err then io.stderr:write("browser: ", err, "\n") end
  os.exit(code)
end

if not opts.url then finish(2, "--url is required") end
if opts.delay then socket.sleep(tonumber(opts.delay)) end
local timeout = tonumber(opts.timeout) or 15

local res, err = client.request(opts.url, { ca_file = opts.ca_file, timeout = timeout })
if not res then finish(1, "authorize request failed: " .. tostring(err)) end
result.authorize_status = res.status
result.location = res.headers.location
if res.status < 300 or res.status > 399 or not res.headers.location then
  result.authorize_body = res.body
  finish(1, "authorize answered " .. res.status .. " without a redirect")
end

local location = res.headers.location
local deadline = socket.gettime() + timeout
local cb, cerr
repeat
  cb, cerr = client.request(location, { timeout = math.max(1, deadline - socket.gettime()) })
  if cb or not tostring(cerr):find("^connect") then break end
  socket.sleep(0.1)
until socket.gettime() > deadline
if not cb then finish(1, "callback request failed: " .. tostring(cerr)) end
result.callback_status = cb.status
result.callback_body = cb.body
finish(0)
