--- A pipeline step worth testing offline: the customers that brought the
-- most revenue since a date, from a SQL warehouse.
--
--   lua5.4 examples/offline/revenue.lua [SINCE] [N]    (settings from DATABRICKS_*)
--
-- The logic is a function of a client, so a spec can hand it a client
-- connected to the local simulator (revenue_spec.lua) and a job a client
-- connected to the real workspace.
local M = {}

M.QUERY = [[
SELECT customer, SUM(amount) AS revenue
FROM main.sales.orders
WHERE ordered_at >= :since
GROUP BY customer
ORDER BY revenue DESC]]

--- The top `n` customers since `since` (yyyy-mm-dd): a list of
-- `{customer =, revenue =}`, or nil and the error.
function M.top_customers(client, since, n)
  local result, err = client:sql(M.QUERY, {
    parameters = { { name = "since", value = since, type = "DATE" } },
    row_limit = n,
  })
  if not result then return nil, err end
  local out = {}
  for i, row in ipairs(result.rows) do
    out[i] = { customer = row[1], revenue = tonumber(row[2]) }
  end
  return out
end

-- Run as a script: print the list.
if arg and arg[0] and arg[0]:match("revenue%.lua$") then
  local databricks = require "databricks"
  local cfg = assert(databricks.config_from_env())
  local client <close> = assert(databricks.connect(cfg))
  local top, err = M.top_customers(client, arg[1] or "2026-01-01", tonumber(arg[2] or "10"))
  if not top then
    io.stderr:write("query: ", tostring(err), "\n")
    os.exit(1, true)
  end
  for i, c in ipairs(top) do print(string.format("%2d  %-12s %12.2f", i, c.customer, c.revenue)) end
end

return M
