-- A real browser signs in (issue 15 #8): Debian's chromium, headless, opens
-- the authorize URL that `databricks-oauth-login --no-browser` prints against
-- the simulator, follows the redirect to our loopback listener and renders our
-- page. The browser trusts exactly the simulator's TLS key (SPKI pin), nothing
-- else. What it rendered is kept in build/artifacts/ (a screenshot and the DOM
-- of each page) for a person to look at.
local h = require "support.helpers"
local Sim = require "support.sim"
local certs = require "databricks.simulator.certs"

local LOGIN = h.root .. "/bin/databricks-oauth-login"
local ARTIFACTS = h.root .. "/" .. (os.getenv("DBX_BUILD") or "build") .. "/artifacts"

local function chromium()
  for _, p in ipairs({ "/usr/bin/chromium", "/usr/bin/chromium-browser" }) do
    if h.exists(p) then return p end
  end
end

-- base64(sha256(SubjectPublicKeyInfo)) of the simulator's server certificate.
local function spki_pin(cert_file)
  local r = h.run({ "sh", "-c", "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | "
                    .. "openssl dgst -sha256 -binary | base64", "sh", cert_file })
  assert(r.code == 0, r.stderr)
  return (r.stdout:gsub("%s+", ""))
end

describe("sign-in with a real browser (headless chromium)", function()
  local sim, browser, pin

  setup(function()
    browser = assert(chromium(), "chromium is not installed (spec/support/deps.sh test installs it)")
    sim = Sim.start()
    pin = spki_pin(certs.shared().cert_file)
    os.execute("mkdir -p " .. h.quote(ARTIFACTS))
  end)
  teardown(function()
    sim:stop()
    h.cleanup()
  end)
  before_each(function() sim:reset() end)

  -- Starts the sign-in in the background; returns its folder once the URL
  -- is printed, with the URL.
  local function start_login(extra)
    local dir = h.tmpdir("browser-login")
    local argv = { "sh", "-c", '"$@"; echo "$?" > "$EXIT_FILE"', "sh", LOGIN, "--workspace-url", sim.url,
                   "--ca-bundle", sim.ca_file, "--no-browser", "--token-store", dir .. "/tokens.json" }
    for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
    local pid = h.spawn(argv, { home = dir, log = dir .. "/login.log", env = { EXIT_FILE = dir .. "/exit" } })
    local url = h.wait_for(function()
      return (h.read_file(dir .. "/login.log") or ""):match("(https://127%.0%.0%.1:%d+/oidc/v1/authorize%?%S+)")
    end, 20)
    assert(url, "no authorize URL printed: " .. tostring(h.read_file(dir .. "/login.log")))
    return { dir = dir, pid = pid, url = url }
  end

  local function finish(login, timeout)
    local code = h.wait_for(function() return h.read_file(login.dir .. "/exit") end, timeout or 30)
    return tonumber(code), h.read_file(login.dir .. "/login.log") or ""
  end

  -- Opens url in headless chromium; returns the rendered DOM. Keeps the
  -- DOM and a screenshot as artifacts under name.
  local function render(url, name, dir)
    local shot = ARTIFACTS .. "/" .. name .. ".png"
    os.remove(shot)
    local r = h.run({ browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-extensions", "--disable-background-networking", "--user-data-dir=" .. dir .. "/chromium",
                      "--ignore-certificate-errors-spki-list=" .. pin, "--window-size=800,400",
                      "--screenshot=" .. shot, "--dump-dom", url }, { home = dir, timeout = 90 })
    assert.are.equal(0, r.code, r.stderr)
    h.write_file(ARTIFACTS .. "/" .. name .. ".html", r.stdout)
    local png = h.read_file(shot) or ""
    assert.are.equal("\137PNG\r\n\26\n", png:sub(1, 8), "a screenshot of " .. name)
    return r.stdout
  end

  local function plain_page(dom)
    assert.matches("<html lang=\"en\">", dom)
    assert.not_matches("<script", dom, nil, true)
    assert.not_matches("src=", dom, nil, true)
    assert.not_matches("<link", dom, nil, true)
  end

  it("renders the success page and stores the tokens", function()
    local login = start_login({ "--timeout", "60" })
    assert.matches("[Ww]aiting up to 60 s", h.read_file(login.dir .. "/login.log"))
    local dom = render(login.url, "sign-in-success", login.dir)
    local code, out = finish(login)
    assert.are.equal(0, code, out)
    assert.matches("<title>Signed in</title>", dom)
    assert.matches("You can close this tab", dom)
    plain_page(dom)
    assert.matches("Signed in to " .. sim.url:gsub("%p", "%%%0"), out)
    local store = login.dir .. "/tokens.json"
    assert.are.equal(384, h.mode(store))
    assert.matches('"refresh_token"', h.read_file(store))
    assert.are.equal(1, #sim:requests("/oidc/v1/token"))
  end)

  it("renders the error page when the user denies consent, and stores nothing", function()
    sim:config{ authorize_mode = "deny" }
    local login = start_login({ "--timeout", "60" })
    local dom = render(login.url, "sign-in-denied", login.dir)
    local code, out = finish(login)
    assert.are.equal(1, code, out)
    assert.matches("<title>Sign%-in failed</title>", dom)
    assert.matches("Return to your terminal", dom)
    plain_page(dom)
    assert.matches("access_denied", out)
    assert.is_nil(h.read_file(login.dir .. "/tokens.json"))
  end)

  it("answers a redirect with the wrong state with an error page and keeps waiting", function()
    sim:config{ authorize_mode = "wrong_state" }
    local login = start_login({ "--timeout", "5" })
    local dom = render(login.url, "sign-in-wrong-state", login.dir)
    local code, out = finish(login)
    assert.are.equal(1, code, out)
    assert.matches("<title>Not this sign%-in</title>", dom)
    plain_page(dom)
    assert.matches("state was ignored", out)
    assert.are.same({}, sim:requests("/oidc/v1/token"), "no code exchange after a state mismatch")
    assert.is_nil(h.read_file(login.dir .. "/tokens.json"))
  end)
end)
