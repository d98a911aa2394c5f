-- busted output handler: gtest-style progress (one line per test, useful in
-- CI logs) followed by the line CI reads, "N passed, N failed", which must be
-- the last line of the output. Errors outside tests (a file that does not
-- load, a failing setup) count as failures.
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.gtest")(options)

  busted.subscribe({ "exit" }, function()
    local failed = handler.failuresCount + handler.errorsCount
    io.stdout:write(string.format("%d passed, %d failed\n", handler.successesCount, failed))
    io.stdout:flush()
    return nil, true
  end)

  return handler
end
