# lua-databricks — top-level commands (CMake does the building).
#   make              build build/databricks/core.so
#   make demo         rotate a Lakebase credential against the local simulator, then log in with psql
#   make simulator    the local workspace simulator from the checkout (prints the environment to use;
#                     SIMULATOR_ARGS, default --data examples/simulator-data.lua; Ctrl-C stops it)
#   make test         install missing Debian packages (as root), build, run every spec
#   make check-asan   the whole suite against an ASan+UBSan build
#   make valgrind     the C-heavy specs under valgrind memcheck
#   make trust        the trust rules (DESIGN.md §9): their specs, then the rule x auth type table
#   make bench        benchmarks, each beside a baseline measured in the same run
#   make fuzz         every libFuzzer driver for FUZZ_SECONDS (default 60) each
#   make torture      kill -9 / concurrency / clock-jump runs at large counts
#   make docs         API reference (LDoc) into docs/api
#   make live-test    connect, validate, SQL and rotate against a real workspace (credentials file)
#   make example-host the C program that embeds Lua and the module (examples/c-host)
#   make rockspec     rewrite the generated file lists of every rockspec from the checkout
#   make man          regenerate man/*.1 and completion/databricks-oauth.bash from the programs' --help
#   make clean
BUILD ?= build

.PHONY: all build deps test demo simulator check-asan valgrind bench fuzz torture docs live-test \
        example-host lint rockspec man trust clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j2 -- --no-print-directory

deps:
	@spec/support/deps.sh build test fuzz

test: deps build example-host
	@spec/support/run.sh

lint:
	@luacheck -q lua bin spec examples bench

demo: deps build
	@lua5.4 examples/demo.lua

SIMULATOR_ARGS ?= --data examples/simulator-data.lua
simulator:
	@spec/support/deps.sh simulator
	@bin/databricks-simulator $(SIMULATOR_ARGS)

check-asan: deps example-host
	@spec/support/deps.sh asan
	@spec/support/check_asan.sh

valgrind: deps build
	@spec/support/check_valgrind.sh

trust: deps build
	@spec/support/run.sh spec/trust_spec.lua spec/trust_matrix_spec.lua; status=$$?; \
	 echo; cat $(BUILD)/trust-table.txt; exit $$status

bench: deps build
	@bench/run.sh

FUZZ_SECONDS ?= 60
fuzz:
	@spec/support/deps.sh build fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

TORTURE_KILLS ?= 1000
TORTURE_WRITERS ?= 8
TORTURE_ROUNDS ?= 100
TORTURE_TARGETS ?= 20
TORTURE_AGENT_ROUNDS ?= 100
torture: deps build
	@TORTURE_KILLS=$(TORTURE_KILLS) TORTURE_WRITERS=$(TORTURE_WRITERS) TORTURE_ROUNDS=$(TORTURE_ROUNDS) \
	 TORTURE_TARGETS=$(TORTURE_TARGETS) TORTURE_AGENT_ROUNDS=$(TORTURE_AGENT_ROUNDS) \
	 spec/torture/run.sh

docs:
	@spec/support/deps.sh docs
	@docs/build.sh

live-test: deps build
	@spec/live/run.sh

# The embedding example: a C host linking Lua 5.4 that loads databricks.core.
example-host: build
	@mkdir -p $(BUILD)/examples
	@$(CC) -std=c11 -Wall -Wextra -Werror -O2 -o $(BUILD)/examples/c-host examples/c-host/host.c \
	  $$(pkg-config --cflags --libs lua5.4) -lm -ldl

rockspec:
	@lua5.4 rockspec/sync.lua

man: build
	@lua5.4 man/generate.lua

clean:
	rm -rf $(BUILD) build-asan build-fuzz docs/api
