-- One row of databricks.rotator.options is all an option takes (issue 11):
-- a throw-away row added at run time must appear, with no other change, in
-- the rotator's, the installer's and psql's --help and parser, in
-- Rotator.new's validation (messages naming the API key), in the command
-- line's validation (messages naming the flag), as a --config key, and in
-- the service's command line — and every real row must be complete.
local options = require "databricks.rotator.options"
local config_file = require "databricks.rotator.config_file"
local Rotator = require "databricks.rotator"
local service = require "databricks.service"
local rotator_cli = require "databricks.cli.rotator"
local install_cli = require "databricks.cli.install"
local psql_cli = require "databricks.cli.psql"
local args = require "databricks.cli.args"
local h = require "support.helpers"

local ROW = { key = "frobnicate_level", flag = "frobnicate-level", type = "integer", min = 1, max = 9,
              range = "a whole number from 1 to 9", scope = "target", metavar = "N",
              help = "how hard to frobnicate (a throw-away option of this spec)" }

describe("rotator options", function()
  teardown(function() h.cleanup() end)

  describe("a row added at run time", function()
    setup(function() options.add(ROW, "ca_bundle") end)
    teardown(function() options.remove(ROW.key) end)

    local base = { workspace_url = "https://x.cloud.databricks.com", pg_host = "h", pg_username = "u",
                   client_id = "id", client_secret = "s", log_file = "/dev/null", stderr = false }
    local function with(t)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(t) do o[k] = v end
      return o
    end

    it("is in the --help of every program that takes target options", function()
      for _, help in ipairs({ rotator_cli.help(), install_cli.help(), psql_cli.help() }) do
        assert.matches("%-%-frobnicate%-level N%s+how hard to frobnicate", help)
      end
    end)

    it("is parsed by every command line", function()
      for _, cli in ipairs({ rotator_cli, install_cli, psql_cli }) do
        local opts = assert(args.parse({ "--frobnicate-level", "3" }, cli.spec()))
        assert.are.equal(3, options.from_flags(opts, "rotator").frobnicate_level)
      end
    end)

    it("is validated by Rotator.new in the API's words", function()
      local r = assert(Rotator.new(with{ frobnicate_level = 4 }))
      assert.are.equal(4, r.targets[1].o.frobnicate_level)
      local none, err = Rotator.new(with{ frobnicate_level = 12 })
      assert.is_nil(none)
      assert.are.equal("config", err.kind)
      assert.matches("frobnicate_level must be a whole number from 1 to 9", err.message)
      none, err = Rotator.new(with{ frobnicate_level = "high" })
      assert.is_nil(none)
      assert.matches("frobnicate_level", err.message)
    end)

    it("is validated on the command line in the flag's words", function()
      local ok, msg = options.check(options.by_key.frobnicate_level, 12, "cli")
      assert.is_nil(ok)
      assert.matches("%-%-frobnicate%-level must be a whole number from 1 to 9", msg)
    end)

    it("is a key of --config files, in [rotator] and in [target NAME]", function()
      local dir = h.tmpdir("options")
      h.write_file(dir .. "/a.ini", "[rotator]\nfrobnicate_level = 2\n[target one]\nfrobnicate_level = 5\n"
        .. "[target two]\n", 384)
      local cfg = assert(config_file.read(dir .. "/a.ini"))
      assert.are.equal(2, cfg.defaults.frobnicate_level)
      assert.are.equal(5, cfg.targets[1].frobnicate_level)
      h.write_file(dir .. "/b.ini", "[rotator]\nfrobnicate_level = 0\n", 384)
      local none, err = config_file.read(dir .. "/b.ini")
      assert.is_nil(none)
      assert.matches("line 2: frobnicate_level must be a whole number from 1 to 9", err)
    end)

    it("reaches the service's command line and reads back from it", function()
      local argv = service.rotator_argv({ "/usr/bin/databricks-oauth-rotator" },
        { pg_host = "h", frobnicate_level = 7 }, nil)
      assert.are.equal("7", service.flag_value(argv, "--frobnicate-level"))
      local opts = assert(args.parse({ table.unpack(argv, 2) }, rotator_cli.spec()))
      assert.are.equal(7, options.from_flags(opts, "rotator").frobnicate_level)
    end)

    it("is in the generated man pages and the bash completion", function()
      local manpage = require "databricks.cli.manpage"
      local completion = require "databricks.cli.completion"
      local page = manpage.render("databricks-oauth-rotator", "x", rotator_cli.help(), "0", "today")
      assert.is_truthy(page:find("\\fB\\-\\-frobnicate\\-level\\fR \\fIN\\fR", 1, true), page)
      local script = completion.render(options.OUTPUT_KIND_NAMES)
      assert.matches("_dbx_opts_databricks_oauth_rotator='[^']*%-%-frobnicate%-level", script)
      assert.matches("_dbx_values_databricks_oauth_install='[^']*%-%-frobnicate%-level", script)
    end)

    it("is gone again once removed", function()
      options.remove(ROW.key)
      assert.is_nil(rotator_cli.help():find("frobnicate", 1, true))
      assert.is_nil(options.by_key.frobnicate_level)
      local none = Rotator.new(with{ frobnicate_level = 4 })
      assert.is_nil(none)
      options.add(ROW, "ca_bundle")
    end)
  end)

  describe("every row", function()
    it("has a key, a known type and scope, and help where it has a flag", function()
      local TYPES = { string = true, number = true, integer = true, boolean = true, list = true, table = true,
                      ["function"] = true }
      local SCOPES = { target = true, daemon = true, cli = true, install = true, api = true }
      local flags = {}
      for _, row in ipairs(options.ROWS) do
        assert.is_string(row.key)
        assert.is_true(TYPES[row.type] ~= nil, row.key .. ": type " .. tostring(row.type))
        assert.is_true(SCOPES[row.scope] ~= nil, row.key .. ": scope " .. tostring(row.scope))
        if row.flag then
          assert.is_nil(flags[row.flag], "two rows with --" .. row.flag)
          flags[row.flag] = true
          assert.is_string(row.help, row.key .. " has no help")
        end
        if row.secret then assert.is_false(row.service, row.key .. " is secret but reaches the service") end
      end
    end)

    it("round-trips a sample value of each target option through the service's command line", function()
      local SAMPLE = { string = "v", integer = 5, number = 2.5, list = { "pgpass:/p" }, boolean = true }
      local cfg = {}
      for _, row in ipairs(options.ROWS) do
        if row.flag and (row.scope == "target" or row.scope == "daemon") and row.service ~= false
          and row.type ~= "boolean" and not row.choices and not row.check and not row.min then
          cfg[row.key] = SAMPLE[row.type]
        end
      end
      -- The service reads its secret from the installer's credentials file.
      cfg.client_secret_file = "/home/u/.config/lua-databricks/credentials"
      local argv = service.rotator_argv({ "/bin/rotator" }, cfg, cfg.client_secret_file)
      local opts = assert(args.parse({ table.unpack(argv, 2) }, rotator_cli.spec()))
      local back = options.from_flags(opts, "rotator")
      local n = 0
      for k, v in pairs(cfg) do
        assert.are.same(v, back[k], k)
        n = n + 1
      end
      assert.is_true(n >= 10, "only " .. n .. " options were sampled")
    end)
  end)
end)
