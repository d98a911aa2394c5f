--- lua-databricks: a Databricks connector for Lua 5.4 with a C core.
-- The public API (DESIGN.md §3). This file is sugar over `databricks.core`:
-- argument shapes and Lua-side conveniences live here, the work is in C.
-- @module databricks
local core = require "databricks.core"

local M = {}

--- The connector's version ("0.1.0").
M.VERSION = core.VERSION

--- The User-Agent sent on every request, e.g.
-- `"LuaDatabricks_Connector/0.1.0 lua/5.4 os/linux"`.
-- @treturn string
M.user_agent = core.user_agent

--- Sets the host application's product (code-level, never from end users).
-- The User-Agent then starts with `<isv>_<product>/<version>`.
-- @tparam string isv partner name, `^[A-Za-z0-9_.+-]+$`
-- @tparam string product product name, same rule
-- @tparam string version semver such as "1.2.3"
-- @return true, or nil and a `config` error
M.set_product = core.set_product

return M
