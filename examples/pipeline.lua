#!/usr/bin/env lua5.4
-- A pipeline step: run a parameterised query on a SQL warehouse and print
-- the rows.
--
--   lua5.4 examples/pipeline.lua [MIN_MILES] [SINCE_DATE] [TOP_N]
--
-- Settings come from the environment, with the names every Databricks tool
-- uses: DATABRICKS_HOST, credentials (DATABRICKS_TOKEN, or
-- DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET) and the warehouse
-- (DATABRICKS_WAREHOUSE_ID or DATABRICKS_HTTP_PATH); or from a profile:
-- DATABRICKS_CONFIG_PROFILE=name [DATABRICKS_CONFIG_FILE=path].
-- samples.nyctaxi.trips is the sample data set every workspace has.
--
-- Exit status: 0 rows printed, 1 the connection or the query failed,
-- 2 bad arguments or settings.
local databricks = require "databricks"

local min_miles = tonumber(arg[1] or "2.5")
local since = arg[2] or "2016-01-01"
local top = math.tointeger(tonumber(arg[3] or "10"))
if not min_miles or not since:match("^%d%d%d%d%-%d%d%-%d%d$") or not top or top < 1 then
  io.stderr:write("usage: pipeline.lua [MIN_MILES] [SINCE_DATE yyyy-mm-dd] [TOP_N]\n")
  os.exit(2)
end

-- Named markers (:name) are bound by the server: values never become SQL text.
local QUERY = [[
SELECT pickup_zip, COUNT(*) AS trips, ROUND(AVG(fare_amount), 2) AS avg_fare
FROM samples.nyctaxi.trips
WHERE trip_distance >= :min_miles AND tpep_pickup_datetime >= :since
GROUP BY pickup_zip
ORDER BY trips DESC]]

-- connect() reads no environment variable itself: the config is built
-- explicitly, and conflicting settings are an error rather than a guess.
local cfg, err = databricks.config_from_env()
if not cfg then
  io.stderr:write("settings: ", tostring(err), "\n")
  os.exit(2)
end

-- One client, one auth type; <close> releases it however the script ends.
local client <close>, cerr = databricks.connect(cfg)
if not client then
  io.stderr:write("connect: ", tostring(cerr), "\n")
  os.exit(cerr.kind == "config" and 2 or 1)
end

local result, qerr = client:sql(QUERY, {
  parameters = {
    { name = "min_miles", value = min_miles, type = "DOUBLE" },
    { name = "since", value = since, type = "DATE" },
  },
  row_limit = top,
  timeout = 300, -- a stopped warehouse can take minutes to start
})
if not result then
  io.stderr:write("query: ", tostring(qerr), "\n")
  os.exit(1, true)
end

-- Values arrive as strings (or databricks.null): print an aligned table.
local widths = {}
for i, name in ipairs(result.columns) do widths[i] = #name end
for _, row in ipairs(result.rows) do
  for i = 1, #result.columns do
    row[i] = row[i] == databricks.null and "NULL" or row[i]
    widths[i] = math.max(widths[i], #row[i])
  end
end
local function line(cells)
  local out = {}
  for i, w in ipairs(widths) do out[i] = string.format("%-" .. w .. "s", cells[i]) end
  print((table.concat(out, "  "):gsub("%s+$", "")))
end
line(result.columns)
for _, row in ipairs(result.rows) do line(row) end
io.stderr:write(string.format("%d row(s), statement %s\n", #result.rows, result.statement_id))
