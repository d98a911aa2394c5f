-- luacheck configuration for lua/, bin/, spec/, examples/, bench/.
std = "lua54"
max_line_length = 130
codes = true
color = false -- plain output: scripts (the before-stop hook) read the totals

files["spec/**/*_spec.lua"] = { std = "+busted" }
files["spec/**/*.lua"] = { std = "+busted" }
files["examples/**/*_spec.lua"] = { std = "+busted" }
exclude_files = { "build/**", "build-*/**", ".luarocks/**" }
