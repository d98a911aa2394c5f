# lua-databricks — top-level commands (CMake does the building).
#   make            build build/databricks/core.so
#   make test       install missing Debian packages (as root), build, run every spec
#   make demo       rotate a Lakebase credential against the local simulator and log in with psql
#   make check-asan the whole suite against an ASan+UBSan build
#   make bench      benchmarks with same-run baselines
#   make clean
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all build test demo check-asan bench fuzz torture docs lint rock clean deps

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j2 -- --no-print-directory

deps:
	@spec/support/deps.sh build test

test: deps build
	@spec/support/run.sh

lint:
	@luacheck -q lua bin spec examples bench

demo: deps build
	@lua5.4 examples/demo.lua

# ASan+UBSan: the module is built with the sanitizers and the stock lua5.4
# interpreter preloads the ASan runtime (it is not instrumented itself).
ASAN_BUILD = build-asan
check-asan: deps
	@spec/support/deps.sh asan
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DDBX_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j2 -- --no-print-directory
	@DBX_BUILD=$(ASAN_BUILD) \
	 DBX_PRELOAD="$$(clang -print-file-name=libclang_rt.asan-x86_64.so)" \
	 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/spec/support/lsan.supp:print_suppressions=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 spec/support/run.sh

bench: deps build
	@spec/support/deps.sh bench
	@lua5.4 bench/run.lua

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz docs/api
