#!/usr/bin/env lua5.4
-- Export a query's result to a CSV file, then upload the file to a Unity
-- Catalog volume: a result of any size, in bounded memory.
--
--   lua5.4 examples/export.lua QUERY LOCAL.csv /Volumes/catalog/schema/volume/path.csv
--
-- The rows stream from cloud storage (disposition EXTERNAL_LINKS): while
-- this script writes the rows of one chunk, the next chunks download in
-- parallel, and memory stays bounded by that window, not by the result.
-- They come as the strings the warehouse rendered (typed = false), so the
-- CSV holds exactly those digits; SQL NULL becomes an empty field, an empty
-- string a quoted "". The file is then streamed to the volume. When stdout
-- is a terminal, a progress line is drawn for both steps.
--
-- Settings come from the environment, as for examples/pipeline.lua
-- (DATABRICKS_HOST, credentials, the warehouse), or a profile.
-- Exit status: 0 done, 1 the query, the file or the upload failed, 2 bad
-- arguments or settings.
local databricks = require "databricks"

local query, csv_path, remote = arg[1], arg[2], arg[3]
if not (query and csv_path and remote) or not remote:match("^/Volumes/") then
  io.stderr:write("usage: export.lua QUERY LOCAL.csv /Volumes/catalog/schema/volume/path.csv\n")
  os.exit(2)
end

-- A progress line only for a person watching: `test -t 1` asks whether our
-- stdout (which the shell inherits) is a terminal.
local tty = os.execute("test -t 1") == true

local function progress(label, unit)
  if not tty then return nil end
  return function(done, total)
    if total then
      io.stdout:write(string.format("\r%s %d/%d %s (%3d%%)", label, done, total, unit,
        total > 0 and done * 100 // total or 100))
    else
      io.stdout:write(string.format("\r%s %d %s", label, done, unit))
    end
    io.stdout:flush()
  end
end

local function done_line()
  if tty then io.stdout:write("\n") end
end

local cfg, err = databricks.config_from_env()
if not cfg then
  io.stderr:write("settings: ", tostring(err), "\n")
  os.exit(2)
end
local client <close>, cerr = databricks.connect(cfg)
if not client then
  io.stderr:write("connect: ", tostring(cerr), "\n")
  os.exit(cerr.kind == "config" and 2 or 1)
end

-- One CSV field (RFC 4180): quoted when it holds a quote, a comma or a line
-- break, or is the empty string (so that it differs from NULL).
local function field(v)
  if v == databricks.null then return "" end
  v = tostring(v)
  if v == "" or v:find('[",\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local st <close>, serr = client:execute(query, {
  disposition = "EXTERNAL_LINKS", typed = false, prefetch = 4, timeout = 3600,
  on_progress = progress("rows: chunk", "chunks"),
})
if not st then
  io.stderr:write("query: ", tostring(serr), "\n")
  os.exit(serr.kind == "config" and 2 or 1)
end
local columns, colerr = st:columns() -- waits for the statement
if not columns then
  io.stderr:write("query: ", tostring(colerr), "\n")
  os.exit(1)
end

local out, ferr = io.open(csv_path, "wb")
if not out then
  io.stderr:write("csv: ", tostring(ferr), "\n")
  os.exit(1)
end
out:setvbuf("full", 1 << 20)
local header = {}
for i, c in ipairs(columns) do header[i] = field(c.name) end
out:write(table.concat(header, ","), "\r\n")

-- The iterator raises the error table on failure: pcall keeps the exit tidy.
local rows = 0
local ok, rerr = pcall(function()
  local line = {}
  for row in st:rows() do
    for i = 1, #columns do line[i] = field(row[i]) end
    out:write(table.concat(line, ",", 1, #columns), "\r\n")
    rows = rows + 1
  end
end)
out:close()
done_line()
if not ok then
  io.stderr:write("rows: ", tostring(rerr), "\n")
  os.remove(csv_path)
  os.exit(1)
end

local up, uerr = client:upload_file(remote, csv_path, { overwrite = true, on_progress = progress("upload:", "bytes") })
done_line()
if not up then
  io.stderr:write("upload: ", tostring(uerr), "\n")
  os.exit(1)
end
local info = assert(client:file_info(remote))
io.stdout:write(string.format("%d row(s) of statement %s -> %s (%d bytes) -> %s\n", rows, st.id, csv_path,
  info.size, remote))
