-- Installs the Lua modules precompiled (rockspec/rock.mk runs it with the
-- interpreter LuaRocks installs for, $(LUA)):
--   $(LUA) rockspec/precompile.lua SRC_DIR DEST_DIR < list-of-relative-paths
-- Each module is compiled by the very interpreter that will load it
-- (string.dump, debug information kept, so errors still name the file and
-- line), so no luac of another version can produce a chunk it refuses.
-- Parsing source costs Lua about 130 instructions a byte: a `--once`
-- rotation loads ~100 KB of modules, ~9 M instructions saved at every
-- start. Writes nothing into SRC_DIR.
local src, dest = assert(arg[1], "SRC_DIR"), assert(arg[2], "DEST_DIR")
local n = 0
for rel in io.lines() do
  rel = rel:gsub("^%./", "")
  local f = assert(io.open(src .. "/" .. rel, "rb"))
  local text = f:read("a")
  f:close()
  -- Named as `require` finds it, relative to the tree's Lua folder.
  local chunk = assert(load(text, "@" .. rel, "t"))
  local out = assert(io.open(dest .. "/" .. rel, "wb"))
  assert(out:write(string.dump(chunk, false)))
  assert(out:close())
  n = n + 1
end
io.stdout:write("precompiled ", n, " Lua modules into ", dest, "\n")
