--- `databricks-oauth-login`: browser sign-in (OAuth U2M with PKCE) that
-- stores the tokens for `databricks-oauth-rotator --auth u2m` in a private
-- file (0600, folder 0700, written atomically).
-- @module databricks.cli.login
local databricks = require "databricks"
local core = require "databricks.core"
local common = require "databricks.cli.common"
local options = require "databricks.rotator.options"
local credentials = require "databricks.rotator.credentials"
local paths = require "databricks.paths"

local M = {}

local PROGRAM = "databricks-oauth-login"
local DEFAULT_TIMEOUT = 300 -- the library's login_timeout default

M.HELP = [[
Usage: databricks-oauth-login --workspace-url URL [options]

Signs in to Databricks in a browser (OAuth authorization code with PKCE) and
stores the tokens for `databricks-oauth-rotator --auth u2m`.

Options:
  --workspace-url URL      workspace URL (env DATABRICKS_HOST)
  --client-id ID           OAuth app (default: the built-in databricks-cli app)
  --client-secret-file F   secret of a confidential custom app
  --redirect-uri URI       loopback redirect (default http://localhost:8020)
  --scopes "S ..."         scopes (default "offline_access all-apis")
  --token-store PATH       where to store the tokens
                           (default ~/.config/lua-databricks/oauth/<host>.json)
  --no-browser             only print the URL (for machines without a browser:
                           open it on this machine, e.g. through an SSH tunnel
                           of the redirect port)
  --timeout SEC            seconds to wait for the sign-in (default 300)
  --ca-bundle PATH         CA bundle for TLS verification
  --version, --help

Exit status: 0 signed in, 1 sign-in failed, 2 usage error.
]]

M.OPTIONS = {
  ["workspace-url"] = "string", ["client-id"] = "string", ["client-secret-file"] = "string",
  ["client-secret"] = "string", ["redirect-uri"] = "string", scopes = "string", ["token-store"] = "string",
  ["no-browser"] = "flag", timeout = "number", ["ca-bundle"] = "string", version = "flag", help = "flag",
}

-- The library's keys, as this command line names them.
local FLAG_OF = {
  login_timeout = "--timeout", redirect_uri = "--redirect-uri", ca_bundle = "--ca-bundle",
  client_id = "--client-id", client_secret = "--client-secret-file", scopes = "--scopes", token_store = "--token-store",
}

function M.main(argv, getenv)
  getenv = getenv or os.getenv
  local opts, exit_code = common.start(argv or {}, M.OPTIONS, PROGRAM, M.HELP)
  if not opts then return exit_code end
  local function env(name)
    local v = getenv(name)
    return v ~= "" and v or nil
  end
  local host = opts["workspace-url"] or env("DATABRICKS_HOST")
  if not host then return common.usage(PROGRAM .. ": --workspace-url URL (or DATABRICKS_HOST) is required") end
  local normalized, herr = core.normalize_host(host)
  if not normalized then return common.usage(PROGRAM .. ": " .. herr.message) end
  local secret = opts["client-secret"]
  if opts["client-secret-file"] then
    local creds, cerr = credentials.read(opts["client-secret-file"], "--client-secret-file")
    if not creds then return common.usage(PROGRAM .. ": " .. cerr) end
    secret = creds.client_secret
  elseif secret then
    core.add_secret(secret)
    io.stderr:write(PROGRAM, ": warning: --client-secret puts the secret in the process list, visible to ",
      "other users; use --client-secret-file instead\n")
  end
  local store = opts["token-store"] or paths.token_store(normalized)
  -- What the sign-in waits for and for how long, once the URL is out.
  local function open_browser(url)
    if opts["no-browser"] then
      io.stderr:write("Open this URL in a browser on this machine to sign in:\n\n  ", url, "\n\n")
    else
      io.stderr:write("Opening the sign-in page in your browser. If none opens, open this URL in a browser on ",
        "this machine:\n\n  ", url, "\n\n")
      core.open_url(url)
    end
    io.stderr:write(string.format("Waiting up to %g s for the sign-in to finish in the browser (Ctrl-C to stop; "
      .. "--timeout SEC to wait longer)...\n", opts.timeout or DEFAULT_TIMEOUT))
  end
  local tokens, lerr = databricks.login{
    host = normalized, client_id = opts["client-id"], client_secret = secret,
    redirect_uri = opts["redirect-uri"], scopes = opts.scopes, open_browser = open_browser,
    timeout = opts.timeout, ca_bundle = opts["ca-bundle"],
  }
  if not tokens then
    if lerr.kind == "config" then return common.usage(PROGRAM .. ": " .. options.reword(lerr.message, FLAG_OF)) end
    io.stderr:write(PROGRAM, ": sign-in failed: ", options.reword(tostring(lerr), FLAG_OF), "\n")
    return 1
  end
  local ok, werr = core.store_save(store, {
    host = normalized, client_id = opts["client-id"] or "databricks-cli", client_secret = secret,
    scopes = opts.scopes,
  }, tokens)
  if not ok then
    io.stderr:write(PROGRAM, ": signed in, but the tokens could not be stored: ", tostring(werr), "\n")
    return 1
  end
  io.stdout:write(string.format("Signed in to %s. Tokens stored in %s (mode 0600).\n", normalized, store))
  io.stdout:write(string.format("Run: databricks-oauth-rotator --auth u2m --workspace-url %s ...\n", normalized))
  return 0
end

return M
