-- A data file for the local workspace simulator: what examples/pipeline.lua
-- needs, plus one of everything else the simulator can be told about.
--
--   eval "$(bin/databricks-simulator --data examples/simulator-data.lua)"
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/pipeline.lua
--
-- The format is described in docs/simulator.md. Every key is optional.
return {
  -- Unity Catalog: get_table and the catalog/schema/table lists.
  tables = {
    ["samples.nyctaxi.trips"] = {
      comment = "NYC taxi trips (simulated)",
      columns = {
        { name = "tpep_pickup_datetime", type = "TIMESTAMP" },
        { name = "tpep_dropoff_datetime", type = "TIMESTAMP" },
        { name = "trip_distance", type = "DOUBLE" },
        { name = "fare_amount", type = "DOUBLE" },
        { name = "pickup_zip", type = "INT" },
        { name = "dropoff_zip", type = "INT" },
      },
    },
  },
  schemas = { ["main.default"] = { comment = "an empty schema" } },

  -- Statements, by their text (whitespace does not matter).
  statements = {
    -- examples/pipeline.lua's query: its :min_miles and :since are bound by
    -- the client; the simulator answers these rows whatever they are, and
    -- honours the row limit (TOP_N).
    [ [[
SELECT pickup_zip, COUNT(*) AS trips, ROUND(AVG(fare_amount), 2) AS avg_fare
FROM samples.nyctaxi.trips
WHERE trip_distance >= :min_miles AND tpep_pickup_datetime >= :since
GROUP BY pickup_zip
ORDER BY trips DESC]] ] = {
      columns = {
        { name = "pickup_zip", type = "INT" },
        { name = "trips", type = "BIGINT" },
        { name = "avg_fare", type = "DOUBLE" },
      },
      rows = {
        { 10001, 412, 14.25 }, { 10003, 300, 12.5 }, { 10011, 287, 13.1 }, { 11201, 153, 17.8 },
        { 10019, 149, 15.05 }, { 10028, 97, 11.4 }, { 11215, 61, 19.35 },
        { nil, 7, 9.0 }, -- nil (or null) is SQL NULL
      },
      run_seconds = 0.3, -- PENDING, RUNNING, then SUCCEEDED, like a warehouse
    },

    -- A large result made up on the fly (the same rows every time for the
    -- same seed); fetch it with disposition EXTERNAL_LINKS.
    ["SELECT * FROM samples.simulator.big"] = {
      generate = {
        rows = 1000000, seed = 42, nulls = 0.02,
        columns = {
          { name = "id", type = "BIGINT", nullable = false },
          { name = "amount", type = "DECIMAL(12,2)" },
          { name = "ratio", type = "DOUBLE" },
          { name = "label", type = "STRING" },
          { name = "day", type = "DATE" },
          { name = "at", type = "TIMESTAMP" },
          { name = "ok", type = "BOOLEAN" },
          { name = "tags", type = "ARRAY<STRING>" },
        },
      },
      chunk_bytes = 4 * 1024 * 1024,
    },
  },

  -- Lakebase: a provisioned instance and an autoscaling endpoint.
  instances = {
    ["analytics-db"] = { read_write_dns = "127.0.0.1", read_only_dns = "127.0.0.1", state = "AVAILABLE" },
  },
  endpoints = {
    ["projects/analytics/branches/main/endpoints/primary"] = { host = "127.0.0.1", state = "ACTIVE" },
  },

  -- Files in Unity Catalog volumes (Files API).
  files = {
    ["/Volumes/main/default/landing/README.txt"] = "Files uploaded here stay until the simulator stops.\n",
  },

  -- Faults, as the control API takes them: here the first SCIM Me call is
  -- answered 503 with Retry-After (a client should retry it).
  faults = {
    { path = "^/api/2%.0/preview/scim/v2/Me$", status = 503, headers = { ["Retry-After"] = "1" }, count = 1 },
  },
}
