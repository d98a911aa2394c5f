--- Man pages for the command-line programs, made from their `--help`
-- text (`databricks.cli.helptext`), so a page can never disagree with the
-- program. `make man` writes `man/<program>.1`; `spec/manpage_spec.lua`
-- checks the committed pages are current and that groff reads them
-- without a warning.
-- @module databricks.cli.manpage
local helptext = require "databricks.cli.helptext"

local M = {}

-- Roff-escapes running text: backslashes, hyphens (so options render and
-- search as minus signs), and a leading dot or quote.
local function esc(s)
  s = s:gsub("\\", "\\e")
  s = s:gsub("%-", "\\-")
  if s:match("^[.']") then s = "\\&" .. s end
  return s
end

-- A paragraph (lines joined), escaped.
local function para(lines)
  return esc((table.concat(lines, " "):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")))
end

-- Bold flags, italic argument: "--output KIND:PATH" -> roff.
local function flag_line(e)
  local parts = {}
  for i, name in ipairs(e.names) do
    parts[i] = "\\fB" .. esc(name) .. "\\fR"
  end
  return table.concat(parts, ", ") .. (e.arg and (" \\fI" .. esc(e.arg) .. "\\fR") or "")
end

local HEADS = { Environment = "ENVIRONMENT", ["Exit status"] = "EXIT STATUS", Files = "FILES" }

--- The page of `program` from its help text and a one-line `summary`;
-- `version` and `date` go into the footer.
function M.render(program, summary, help, version, date)
  local h = helptext.parse(help)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add(string.format('.TH %s 1 "%s" "lua-databricks %s" "User Commands"', program:upper(), date, version))
  add(".SH NAME")
  add(esc(program) .. " \\- " .. esc(summary))
  add(".SH SYNOPSIS")
  for i, u in ipairs(h.usage) do
    if i > 1 then add(".br") end
    local prog, args = u:match("^(%S+)%s*(.*)$")
    add("\\fB" .. esc(prog) .. "\\fR " .. esc(args))
  end
  if #h.description > 0 then
    add(".SH DESCRIPTION")
    for i, b in ipairs(h.description) do
      if i > 1 then add(".PP") end
      if b[1]:match("^%s%s") then -- an indented example: keep its lines
        add(".nf")
        add(".RS 4")
        for _, l in ipairs(b) do add(esc((l:gsub("^%s+", "")))) end
        add(".RE")
        add(".fi")
      else
        add(para(b))
      end
    end
  end
  if #h.options > 0 then
    add(".SH OPTIONS")
    for _, g in ipairs(h.groups) do
      if g.title and g.title ~= "Options" then
        add(".SS " .. esc((g.title:match("^([^(]-)%s*%(") or g.title)))
        local note = g.title:match("%((.*)%)")
        if note then add(para({ note:sub(1, 1):upper() .. note:sub(2) .. "." })) end
      end
      for _, e in ipairs(g.options) do
        add(".TP")
        add(flag_line(e))
        if #e.text > 0 then add(para(e.text)) end
      end
    end
  end
  for _, s in ipairs(h.sections) do
    if s.head and HEADS[s.head] then
      add(".SH " .. HEADS[s.head])
    else
      add(".PP")
      if s.head then s.lines[1] = s.head .. ": " .. s.lines[1] end
    end
    add(para(s.lines))
  end
  add(".SH SEE ALSO")
  local see = {}
  for _, p in ipairs(helptext.PROGRAMS) do
    if p[1] ~= program then see[#see + 1] = "\\fB" .. esc(p[1]) .. "\\fR(1)" end
  end
  add(table.concat(see, ", "))
  add(".PP")
  add("https://github.com/lua-databricks/lua-databricks")
  return table.concat(out, "\n") .. "\n"
end

--- Every page: a list of `{file name, text}`.
function M.pages(version, date)
  local out = {}
  for _, p in ipairs(helptext.PROGRAMS) do
    out[#out + 1] = { p[1] .. ".1", M.render(p[1], p[3], helptext.of(p[2]), version, date) }
  end
  return out
end

return M
