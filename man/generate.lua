-- Writes what is generated from the programs' --help texts: man/<program>.1
-- for every databricks-oauth-* program (databricks.cli.manpage; the version
-- of the core, the date of CHANGELOG.md's newest release heading) and the
-- bash completion completion/databricks-oauth.bash
-- (databricks.cli.completion). Run by `make man`; spec/manpage_spec.lua
-- checks the committed files are what this writes (--check).
--   lua5.4 man/generate.lua [--check]
local root = arg[0]:match("^(.*)/man/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath

local manpage = require "databricks.cli.manpage"
local completion = require "databricks.cli.completion"
local options = require "databricks.rotator.options"
local databricks = require "databricks"

local function changelog_date()
  local f = assert(io.open(root .. "/CHANGELOG.md", "rb"))
  local text = f:read("a")
  f:close()
  return text:match("\n## %[[^%]]+%] %- ([^\n]+)") or "Unreleased"
end

local check = arg[1] == "--check"
local stale = 0
local files = {}
for _, page in ipairs(manpage.pages(databricks.VERSION, changelog_date())) do
  files[#files + 1] = { "man/" .. page[1], page[2] }
end
files[#files + 1] = { "completion/databricks-oauth.bash", completion.render(options.OUTPUT_KIND_NAMES) }
os.execute("mkdir -p " .. root .. "/completion")
for _, page in ipairs(files) do
  local path = root .. "/" .. page[1]
  local f = io.open(path, "rb")
  local old = f and f:read("a")
  if f then f:close() end
  if old ~= page[2] then
    stale = stale + 1
    if check then
      io.stderr:write(path, " is out of date: run make man\n")
    else
      f = assert(io.open(path, "wb"))
      f:write(page[2])
      f:close()
      print("wrote " .. path)
    end
  end
end
os.exit(check and stale > 0 and 1 or 0)
