--- The rotator's first-run check (`databricks-oauth-rotator --check`,
-- `Rotator:check()`): for each target, which token source would be used
-- and why, which files would be written with which modes, then a real
-- token from the token endpoint and a real credential from the credential
-- API — each reported — while nothing is written anywhere (the credential
-- is discarded). A rotation would succeed exactly when every step is ok.
-- @module databricks.rotator.check
local core = require "databricks.core"
local options = require "databricks.rotator.options"
local paths = require "databricks.paths"

local M = {}

-- Why this token source: the rule the rotator follows, naming options in
-- `vocabulary` ("cli": flags).
local function source_reason(o, secret, store, vocabulary)
  local function n(key) return options.name(options.by_key[key], vocabulary) end
  if o.auth then return "forced by " .. n("auth") .. " " .. o.auth end
  if o.client_id and secret then
    return "a client id and a client secret are set (" .. (o.client_secret_file and
      (n("client_secret_file") .. " " .. o.client_secret_file)
      or (vocabulary == "cli" and "DATABRICKS_CLIENT_SECRET or --client-secret" or "client_secret")) .. ")"
  end
  if o.oidc_token_file then
    return "an OIDC token file is given (" .. n("oidc_token_file") .. " " .. o.oidc_token_file .. ")"
  end
  if o.oidc_token_env then
    return "an OIDC token variable is named (" .. n("oidc_token_env") .. " " .. o.oidc_token_env .. ")"
  end
  if store and core.file_mode(store) then return "tokens stored by databricks-oauth-login are in " .. store end
  local why = "no client secret, no OIDC token and no stored sign-in (" .. tostring(store) .. ")"
  if o.client_id then why = "a client id but no client secret; " .. why end
  return why .. ": the Databricks CLI"
end

local function file_line(path, what)
  local resolved, err = core.check_private(path)
  if not resolved then return { path = path, what = what, ok = false, detail = err.message } end
  local mode = core.file_mode(resolved)
  local detail
  if not mode then
    detail = "will be created, mode 0600"
  elseif mode == 384 then
    detail = "exists, mode 0600"
  else
    detail = string.format("exists, mode %04o: will be made 0600", mode)
  end
  if resolved ~= path then detail = detail .. " (a link to " .. resolved .. ")" end
  return { path = path, what = what, ok = true, detail = detail }
end

--- The check of rotator `r` (see the module comment). Returns `{ok =,
-- targets = {{name =, source =, source_reason =, files = {{path =, what
-- =, ok =, detail =}}, steps = {{step =, ok =, detail =}}, ok =}}}`.
function M.run(r)
  local out = { ok = true, targets = {} }
  local shared = { file_line(r.log.file, "log"), file_line(r.status_file, "status file") }
  for _, target in ipairs(r.targets) do
    local o = target.o
    local t = { name = target.name, files = {}, steps = {}, ok = true }
    for _, f in ipairs(shared) do t.files[#t.files + 1] = f end
    for _, outp in ipairs(r:_outputs(o)) do
      local path = outp.path or core.pgpass_default_path()
      t.files[#t.files + 1] = file_line(path, outp.kind)
    end
    for _, f in ipairs(t.files) do t.ok = t.ok and f.ok end
    local function step(name, ok, detail)
      t.steps[#t.steps + 1] = { step = name, ok = ok and true or false, detail = detail }
      t.ok = t.ok and ok and true or false
      return ok
    end

    local secret, store = r:_secret(o)
    store = store or o.token_store
    if not store and o.workspace_url then
      local host = core.normalize_host(o.workspace_url)
      store = host and paths.token_store(host)
    end
    t.source_reason = source_reason(o, secret, store, r.vocabulary == "cli" and "cli" or "api")
    local client, source = r:_client(o)
    if not client then
      step("token source", false, tostring(r:_in_words(source)))
    else
      t.source = source
      local tok, terr = client:token()
      if step("token endpoint", tok ~= nil, tok and "a token was issued" or tostring(r:_in_words(terr))) then
        local report, cerr = core.rotate_target(client, {
          instance_name = o.instance_name, endpoint = o.endpoint, ttl = o.ttl, pg_host = o.pg_host,
          pg_port = o.pg_port, pg_database = o.pg_database, pg_username = o.pg_username,
          min_validity = o.min_validity, no_write = true,
        })
        if report then
          core.add_secret(report.password)
          report.password = nil
          local what = (o.instance_name and ("instance " .. o.instance_name)) or (o.endpoint and ("endpoint "
            .. o.endpoint)) or "the workspace token (no instance or endpoint)"
          step("credential API", true, string.format("%s: a credential for %s@%s:%d/%s valid %d min (discarded)%s",
            what, report.pg_username, report.pg_host, report.pg_port, report.pg_database,
            math.floor(((report.expires_at or 0) - r.clock()) / 60), report.state and report.state ~= "AVAILABLE"
              and report.state ~= "ACTIVE" and (", state " .. report.state) or ""))
        else
          step("credential API", false, tostring(r:_in_words(cerr)))
        end
      end
    end
    out.ok = out.ok and t.ok
    out.targets[#out.targets + 1] = t
  end
  return out
end

--- The check as text, one line per fact (what `--check` prints).
function M.text(report)
  local lines = { "databricks-oauth-rotator --check: nothing is rotated or written" }
  local function add(fmt, ...) lines[#lines + 1] = string.format(fmt, ...) end
  for _, t in ipairs(report.targets) do
    add("")
    add("target %s", t.name)
    add("  token source    %s (%s)", t.source or "none", t.source_reason or "?")
    for _, f in ipairs(t.files) do
      add("  %-15s %s: %s%s", f.what, f.path, f.ok and "" or "REFUSED: ", f.detail)
    end
    for _, s in ipairs(t.steps) do
      add("  %-15s %s  %s", s.step, s.ok and "ok  " or "FAIL", s.detail)
    end
  end
  add("")
  add(report.ok and "A rotation would succeed." or "A rotation would fail: see FAIL and REFUSED above.")
  return table.concat(lines, "\n") .. "\n"
end

return M
