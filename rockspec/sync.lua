#!/usr/bin/env lua5.4
-- Rewrites the generated lists of every rockspec from the checkout: the
-- scripts (bin/*). (The C sources and the Lua modules need no list:
-- rockspec/rock.mk takes src/*.c and lua/**.lua as they are.) Each list
-- sits between "-- generated: NAME" and "-- end generated" lines;
-- everything else in a rockspec is hand-written.
--   lua5.4 rockspec/sync.lua           rewrite (make rockspec)
--   lua5.4 rockspec/sync.lua --check   exit 1 and name the stale files
local root = (arg[0]:match("^(.*)/rockspec/[^/]*$") or ".")

local function lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  table.sort(out)
  return out
end

local function q(s) return string.format("%q", s) end

local function generated(name, indent)
  local out = {}
  if name == "bin" then
    for _, f in ipairs(lines("cd " .. root .. " && ls bin/*")) do
      out[#out + 1] = string.format("%s[%s] = %s,", indent, q(f:gsub("^bin/", "")), q(f))
    end
  else
    error("unknown generated list " .. name)
  end
  return out
end

local function sync(text)
  local out, skipping = {}, false
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    local indent, name = line:match("^(%s*)%-%- generated: (%w+)")
    if name then
      out[#out + 1] = line
      for _, l in ipairs(generated(name, indent)) do out[#out + 1] = l end
      skipping = true
    elseif line:match("^%s*%-%- end generated") then
      out[#out + 1] = line
      skipping = false
    elseif not skipping then
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local check = arg[1] == "--check"
local stale = {}
for _, path in ipairs(lines("ls " .. root .. "/rockspec/*.rockspec")) do
  local f = assert(io.open(path, "rb"))
  local old = f:read("a")
  f:close()
  local new = sync(old)
  if new ~= old then
    stale[#stale + 1] = path
    if not check then
      f = assert(io.open(path, "wb"))
      f:write(new)
      f:close()
    end
  end
end
if check and #stale > 0 then
  io.stderr:write("stale rockspec lists (run make rockspec): ", table.concat(stale, ", "), "\n")
  os.exit(1)
end
