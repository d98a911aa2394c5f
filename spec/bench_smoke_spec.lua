-- The benchmark harness still works: `BENCH_QUICK=1 bench/run.sh` (tiny
-- counts, a few seconds) must measure every row and print the table with a
-- number in each figure and baseline. The figures of a quick run mean
-- nothing, so no target is checked here: only that `make bench` cannot rot.
local h = require "support.helpers"

local ROWS = {
  "rotation --once: CPU user+sys",
  "rotation --once: peak RSS",
  "rotation --once via #! env: CPU",
  "daemon idle Private_Dirty",
  "agent idle Private_Dirty, 20 targets",
  "daemon idle wake-ups",
  "daemon SIGTERM -> exit",
  "client:token() (cached)",
  "client:request() sequential",
  "client:request() raw body",
  "client:request(): instructions",
  "rotation --once: instructions",
  "rotation --once, installed: instructions",
  ".pgpass update, 10 entries",
  ".pgpass update, 1,000 entries",
  ".pgpass update, 10,000 entries",
  ".pgpass growth 1,000 -> 10,000",
  "st:rows() EXTERNAL_LINKS throughput",
  "st:rows() typed conversion cost",
  "st:rows() peak RSS, 1 GiB vs 4 GiB",
  "upload_file throughput",
  "download_file throughput",
  "upload/download peak RSS",
}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The table's rows, by benchmark name: {figure, baseline, ratio, target, result}.
local function parse_table(out)
  local rows = {}
  for line in out:gmatch("[^\n]+") do
    if line:sub(1, 2) == "| " then
      local cells = {}
      for cell in line:gmatch("|([^|]*)") do cells[#cells + 1] = trim(cell) end
      if cells[#cells] == "" then cells[#cells] = nil end
      if #cells == 6 and cells[1] ~= "benchmark" and not cells[1]:match("^%-+$") then
        rows[cells[1]] = { figure = cells[2], baseline = cells[3], ratio = cells[4], target = cells[5],
                           result = cells[6] }
      end
    end
  end
  return rows
end

describe("bench/run.sh", function()
  local r, tmp

  setup(function()
    tmp = h.tmpdir("bench-smoke") -- the run's TMPDIR: what it leaves behind is visible
    r = h.run({ "bench/run.sh" }, { cwd = h.root, env = { BENCH_QUICK = "1", TMPDIR = tmp }, timeout = 120 })
  end)

  teardown(function()
    h.cleanup()
  end)

  it("finishes a quick run with exit status 0", function()
    assert.are.equal(0, r.code, "bench/run.sh failed:\n" .. r.stdout .. r.stderr)
  end)

  it("says the quick figures are not meaningful, and names the machine", function()
    assert.truthy(r.stdout:find("QUICK smoke run", 1, true), r.stdout)
    assert.truthy(r.stdout:match("Machine: [^\n]+, %d+ cores, [^\n]+"), r.stdout)
    assert.truthy(r.stdout:match("Date: %d%d%d%d%-%d%d%-%d%d"), r.stdout)
    assert.truthy(r.stdout:find("FAIL rows do not change the exit status", 1, true), r.stdout)
  end)

  it("prints every row with a number for this project and for the baseline", function()
    local rows = parse_table(r.stdout)
    for _, name in ipairs(ROWS) do
      local row = rows[name]
      assert.is_table(row, "row missing: " .. name .. "\n" .. r.stdout)
      assert.truthy(row.figure:match("%d"), name .. ": no figure: " .. row.figure)
      assert.falsy(row.figure:find("nan", 1, true) or row.figure:find("inf", 1, true), name .. ": " .. row.figure)
      assert.truthy(row.baseline:match("%d"), name .. ": no baseline figure: " .. row.baseline)
      assert.truthy(row.ratio == "-" or row.ratio:match("^%d+%.%d+x$"), name .. ": bad ratio " .. row.ratio)
      assert.truthy(row.target ~= "", name .. ": no target")
      assert.truthy(row.result == "PASS" or row.result == "FAIL" or row.result == "-",
        name .. ": bad result " .. row.result)
    end
    local n = 0
    for _ in pairs(rows) do n = n + 1 end
    assert.are.equal(#ROWS, n, "unexpected rows in:\n" .. r.stdout)
  end)

  it("leaves no process or temp folder behind", function()
    local _, procs = h.sh("ps -eo args")
    assert.falsy(procs:find(tmp, 1, true), "a process of the bench is still running:\n" .. procs)
    local _, left = h.sh("ls -A " .. h.quote(tmp))
    assert.are.equal("", left)
  end)
end)
