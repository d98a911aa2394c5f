-- What the simulator answers for revenue.lua's query (see docs/simulator.md
-- for the format): the table, the statement with its rows, and a second
-- statement that fails the way a warehouse does. A data file runs in a
-- sandbox, so the query is written out again: the simulator matches it
-- whitespace-insensitively, and answers anything else with a message
-- saying how to declare it (so the two cannot drift apart unnoticed).
return {
  tables = {
    ["main.sales.orders"] = {
      columns = {
        { name = "customer", type = "STRING" },
        { name = "amount", type = "DECIMAL(12,2)" },
        { name = "ordered_at", type = "DATE" },
      },
    },
  },
  statements = {
    [ [[
SELECT customer, SUM(amount) AS revenue
FROM main.sales.orders
WHERE ordered_at >= :since
GROUP BY customer
ORDER BY revenue DESC]] ] = {
      columns = { { name = "customer", type = "STRING" }, { name = "revenue", type = "DECIMAL(14,2)" } },
      rows = { { "acme", "1200.50" }, { "globex", "980.00" }, { "initech", "455.25" } },
    },
    ["SELECT * FROM main.sales.missing"] = {
      fail = { error_code = "TABLE_OR_VIEW_NOT_FOUND", message = "[TABLE_OR_VIEW_NOT_FOUND] main.sales.missing" },
    },
  },
}
