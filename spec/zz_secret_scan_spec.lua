-- The secret-leak scan, run last (files run in name order): everything the
-- suite printed and wrote — stdout/stderr of every command, logs, status
-- files, rendered service files, in-process error strings the specs noted —
-- must not contain any token, refresh token, credential or client secret a
-- simulator issued or knew during this run. (.pgpass files, token stores and
-- credentials files hold secrets by design and are not scanned.)
local h = require "support.helpers"

local function lines(path)
  local out = {}
  local f = io.open(path, "rb")
  if not f then return out end
  for l in f:lines() do out[#out + 1] = l end
  f:close()
  return out
end

describe("secret-leak scan of everything the suite wrote", function()
  it("finds no issued secret in any output, log, status or service file", function()
    if not h.journal then
      pending("no journal: run through spec/support/run.sh")
      return
    end
    local secrets, seen = {}, {}
    for _, s in ipairs(lines(h.journal .. "/secrets.txt")) do
      if not seen[s] then
        seen[s] = true
        secrets[#secrets + 1] = s
      end
    end
    -- Collect the texts: the output journal, archived files, and whatever
    -- is still in the suite's temporary folder (outside the journal).
    local texts = { { name = "command output", text = h.read_file(h.journal .. "/outputs.log") or "" } }
    local tmp = os.getenv("TMPDIR") or "/tmp"
    local p = io.popen("find " .. h.quote(h.journal .. "/files") .. " " .. h.quote(tmp) ..
      " -type f \\( -name '*.log' -o -name '*.log.[0-9]*' -o -name '*.out' -o -name '*status*.json'" ..
      " -o -name '*.service' -o -name '*.plist' -o -name stdout -o -name stderr \\) -size -4096k 2>/dev/null")
    for file in p:lines() do texts[#texts + 1] = { name = file, text = h.read_file(file) or "" } end
    p:close()
    if #secrets == 0 then
      pending("no simulator ran in this suite run: nothing to look for")
      return
    end
    -- The scan must have something to chew on in a full run.
    local bytes = 0
    for _, t in ipairs(texts) do bytes = bytes + #t.text end
    assert.is_true(#texts > 20 and bytes > 10000,
      string.format("suspiciously little to scan (%d texts, %d bytes)", #texts, bytes))

    local leaks = {}
    for _, t in ipairs(texts) do
      for _, s in ipairs(secrets) do
        if t.text:find(s, 1, true) then
          -- Name the place and the kind of secret, never the secret itself.
          leaks[#leaks + 1] = string.format("%s contains a %d-byte secret starting %q", t.name, #s, s:sub(1, 4))
          break
        end
      end
    end
    assert.are.same({}, leaks)
  end)
end)
