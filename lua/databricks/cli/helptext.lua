--- Reads a program's `--help` text into its parts, for the generated man
-- pages (`databricks.cli.manpage`) and the shell completion
-- (`databricks.cli.completion`). The help texts follow one shape:
-- "Usage:" lines, description paragraphs, an "Options:" block of
-- `  --flag ARG   text` entries (continuation lines indented further), then
-- paragraphs such as "Environment: ..." and "Exit status: ...". The
-- rotator's, installer's and psql's options come from the option table
-- (`databricks.rotator.options`), so everything generated from them agrees
-- with the programs.
-- @module databricks.cli.helptext
local M = {}

--- The programs with a help text: name, the module whose `help` (function)
-- or `HELP` (string) makes it, and a one-line summary.
M.PROGRAMS = {
  { "databricks-oauth-rotator", "databricks.cli.rotator",
    "keep Databricks Lakebase credentials fresh in .pgpass and other files" },
  { "databricks-oauth-install", "databricks.cli.install", "install the Lakebase credential rotator as a user service" },
  { "databricks-oauth-psql", "databricks.cli.psql", "run psql with a fresh Lakebase credential" },
  { "databricks-oauth-login", "databricks.cli.login", "sign in to Databricks in a browser and store the tokens" },
  { "databricks-oauth-status", "databricks.cli.status", "report on the rotator service and each of its targets" },
  { "databricks-oauth-restart", "databricks.cli.restart", "restart the rotator service" },
  { "databricks-oauth-uninstall", "databricks.cli.uninstall", "remove the rotator service" },
}

--- The help text of a program module.
function M.of(module_name)
  local mod = require(module_name)
  if type(mod.help) == "function" then return mod.help() end
  return mod.HELP or mod.help
end

-- Splits text into blocks separated by blank lines.
local function blocks(text)
  local out, cur = {}, {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^%s*$") then
      if #cur > 0 then out[#out + 1] = cur end
      cur = {}
    else
      cur[#cur + 1] = line
    end
  end
  if #cur > 0 then out[#out + 1] = cur end
  return out
end

local function trim(s)
  return (s:match("^%s*(.-)%s*$"))
end

-- The entries of an options block.
local function option_entries(lines)
  local entries = {}
  for _, line in ipairs(lines) do
    local flags, text = line:match("^  (%-%S.-)%s%s+(%S.*)$")
    if flags then
      entries[#entries + 1] = { flags = flags, text = { text } }
    elseif line:match("^  %-") then
      entries[#entries + 1] = { flags = trim(line), text = {} }
    elseif #entries > 0 then
      local t = entries[#entries].text
      t[#t + 1] = trim(line)
    end
  end
  for _, e in ipairs(entries) do
    -- "--help, -h" and "--version, --help": several flags, no argument;
    -- "--output KIND:PATH": one flag and the name of its argument.
    e.names = {}
    for item in e.flags:gmatch("[^,]+") do
      local flag, arg = trim(item):match("^(%-%-?[%w%-]+)%s*(.*)$")
      if flag then
        e.names[#e.names + 1] = flag
        if arg ~= "" then e.arg = arg end
      end
    end
  end
  return entries
end

--- Parses a help text: `{usage = {lines}, description = {blocks},
-- groups = {{title=, options={...}}}, options = {{flags=, names={...},
-- arg=, text={lines}}}, sections = {{head=, lines={...}}}}` (a block is a
-- list of lines). An options block is one with lines starting "  -"; the
-- lines before its first option are its title ("Options:", "Installer
-- options:", ...). `options` lists the options of every group.
function M.parse(help)
  local usage, desc, groups, rest, all = {}, {}, {}, {}, {}
  for _, b in ipairs(blocks(help)) do
    local first_option
    for i, l in ipairs(b) do
      if l:match("^  %-") then
        first_option = i
        break
      end
    end
    if b[1]:match("^Usage:") then
      for _, l in ipairs(b) do usage[#usage + 1] = trim((l:gsub("^Usage:", ""))) end
    elseif first_option then
      local title = {}
      for i = 1, first_option - 1 do title[#title + 1] = trim(b[i]) end
      local lines = {}
      for i = first_option, #b do lines[#lines + 1] = b[i] end
      local t = table.concat(title, " "):gsub(":$", "")
      if #groups > 0 and t == "" then
        for _, e in ipairs(option_entries(lines)) do table.insert(groups[#groups].options, e) end
      else
        groups[#groups + 1] = { title = t ~= "" and t or nil, options = option_entries(lines) }
      end
    elseif #groups == 0 then
      desc[#desc + 1] = b
    else
      local head, first = b[1]:match("^([%w ]+):%s*(.*)$")
      local lines = { head and first or b[1] }
      for i = 2, #b do lines[#lines + 1] = b[i] end
      rest[#rest + 1] = { head = head, lines = lines }
    end
  end
  for _, g in ipairs(groups) do
    for _, e in ipairs(g.options) do all[#all + 1] = e end
  end
  return { usage = usage, description = desc, groups = groups, options = all, sections = rest }
end

return M
