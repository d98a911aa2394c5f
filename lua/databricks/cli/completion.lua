--- Bash completion for every `databricks-oauth-*` program, generated from
-- their `--help` texts (`databricks.cli.helptext`; the rotator's options
-- come from the option table): option names; file names after an option
-- whose argument is a PATH or FILE; the choices of `--auth m2m|u2m|cli`
-- and the like; `KIND:` then a file name after `--output KIND:PATH`.
-- `make completion` writes `completion/databricks-oauth.bash`;
-- `spec/manpage_spec.lua` checks it is current and drives it through bash.
-- @module databricks.cli.completion
local helptext = require "databricks.cli.helptext"

local M = {}

local FILE_ARGS = { PATH = true, FILE = true, F = true, DIR = true, PROGRAM = true }

local function ident(s)
  return (s:gsub("[^%w]", "_"))
end

-- What an option's argument takes: "file", {choices}, {prefixes}, "value" or nil.
local function argument(arg, kinds)
  if not arg then return nil end
  if FILE_ARGS[arg] then return "file" end
  if arg:find("|", 1, true) and not arg:find("%s") then
    local list = {}
    for w in arg:gmatch("[^|]+") do list[#list + 1] = w end
    return { choices = list }
  end
  if arg:match("^KIND:") then
    local list = {}
    for _, k in ipairs(kinds) do list[#list + 1] = k .. ":" end
    return { prefixes = list }
  end
  return "value"
end

--- The completion script. `kinds` lists the output kinds (`--output`).
function M.render(kinds)
  local out = {
    "# bash completion for lua-databricks' databricks-oauth-* commands.",
    "# Generated from the programs' --help (lua/databricks/cli/completion.lua): do not edit; run make completion.",
    "# Install: source it from ~/.bashrc, or copy it to ~/.local/share/bash-completion/completions/ under each",
    "# command's name (or /usr/share/bash-completion/completions/).",
  }
  local function add(s) out[#out + 1] = s end
  local names = {}
  for _, p in ipairs(helptext.PROGRAMS) do
    local prog = ident(p[1])
    names[#names + 1] = p[1]
    local h = helptext.parse(helptext.of(p[2]))
    local opts, files, values = {}, {}, {}
    for _, e in ipairs(h.options) do
      local kind = argument(e.arg, kinds)
      for _, name in ipairs(e.names) do
        if name:sub(1, 2) == "--" then opts[#opts + 1] = name end
        if kind == "file" then
          files[#files + 1] = name
        elseif kind == "value" then
          values[#values + 1] = name
        elseif type(kind) == "table" and kind.choices then
          add(string.format("_dbx_choices_%s_%s='%s'", prog, ident(name), table.concat(kind.choices, " ")))
        elseif type(kind) == "table" then
          add(string.format("_dbx_prefixes_%s_%s='%s'", prog, ident(name), table.concat(kind.prefixes, " ")))
        end
      end
    end
    add(string.format("_dbx_opts_%s='%s'", prog, table.concat(opts, " ")))
    add(string.format("_dbx_files_%s='%s'", prog, table.concat(files, " ")))
    add(string.format("_dbx_values_%s='%s'", prog, table.concat(values, " ")))
  end
  add([==[
_dbx_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  local prog=${1##*/}
  prog=${prog//[^a-zA-Z0-9]/_}
  local key=${prev//[^a-zA-Z0-9]/_}
  local files=_dbx_files_$prog values=_dbx_values_$prog opts=_dbx_opts_$prog
  local choices=_dbx_choices_${prog}_$key prefixes=_dbx_prefixes_${prog}_$key
  COMPREPLY=()
  if [[ " ${!files-} " == *" $prev "* ]]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  elif [[ -n ${!choices-} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${!choices}" -- "$cur")
  elif [[ -n ${!prefixes-} ]]; then
    if [[ $cur == *:* ]]; then
      local kind=${cur%%:*}
      mapfile -t COMPREPLY < <(compgen -f -- "${cur#*:}")
      COMPREPLY=("${COMPREPLY[@]/#/$kind:}")
    else
      mapfile -t COMPREPLY < <(compgen -W "${!prefixes}" -- "$cur")
      compopt -o nospace 2>/dev/null
    fi
  elif [[ " ${!values-} " == *" $prev "* ]]; then
    return 0
  elif [[ $cur == -* || -z $cur ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${!opts-}" -- "$cur")
  fi
  return 0
}]==])
  add("complete -o default -F _dbx_complete " .. table.concat(names, " "))
  return table.concat(out, "\n") .. "\n"
end

return M
