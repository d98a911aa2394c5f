#!/usr/bin/env bash
# `make check-asan`: the whole suite against an AddressSanitizer +
# UndefinedBehaviorSanitizer build of the core.
#
#   spec/support/check_asan.sh [busted args...]    e.g. ... spec/pgpass_spec.lua
#
# * Builds with clang into its own CMake folder, build-asan (Debug,
#   DBX_SANITIZE=ON), so the normal build/ is left alone.
# * The lua5.4 interpreter is not instrumented, so the shared ASan runtime is
#   preloaded into it (run.sh turns DBX_PRELOAD into LD_PRELOAD); the module
#   build-asan/databricks/core.so leaves the __asan_* symbols to it. The C test
#   binaries carry clang's static runtime and need nothing.
# * LD_PRELOAD also reaches every child the specs start through a shell (sh,
#   mktemp, psql, ...). Those programs are not ours and some of them leak on
#   purpose at exit, so leak detection is off here (detect_leaks=0): leaks are
#   what `make valgrind` (spec/support/check_valgrind.sh) checks.
# * Every ASan or UBSan report is fatal (halt_on_error=1; the build also uses
#   -fno-sanitize-recover=undefined) and printed with a stack trace to stderr,
#   where the failing spec shows it. Reports are also written to
#   build-asan/reports/ (log_path), so a report from a child process whose
#   stderr a spec swallowed is still seen: this script fails when any exists.
#
# Needs clang and its runtime (spec/support/deps.sh asan).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

build=build-asan
cc=${CC_ASAN:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "check_asan: $cc not found (install it: spec/support/deps.sh asan)" >&2
  exit 2
fi
runtime=$("$cc" -print-file-name=libclang_rt.asan-x86_64.so)
if [ ! -f "$runtime" ]; then
  echo "check_asan: the ASan runtime libclang_rt.asan-x86_64.so was not found (spec/support/deps.sh asan)" >&2
  exit 2
fi

echo "check_asan: building $build (clang, ASan+UBSan, Debug)"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DDBX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 2
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null || {
  cmake --build "$build" -j1 -- --no-print-directory
  exit 2
}

reports="$root/$build/reports"
rm -rf "$reports"
mkdir -p "$reports"
chmod 0777 "$reports" # children running as postgres may write here too

common="halt_on_error=1:print_stacktrace=1:log_path=$reports/report:log_exe_name=1"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:$common"
export UBSAN_OPTIONS="$common"
export DBX_PRELOAD="$runtime"
export DBX_BUILD="$build"

echo "check_asan: running the suite with LD_PRELOAD=$runtime"
start=$(date +%s)
spec/support/run.sh "$@"
rc=$?
echo "check_asan: suite finished in $(( $(date +%s) - start )) s (exit $rc)"

found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "check_asan: sanitizer reports were written:" >&2
  for f in $found; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  rc=1
fi
if [ "$rc" -eq 0 ]; then
  echo "check_asan: OK - every spec passed under ASan+UBSan, no sanitizer report"
fi
exit "$rc"
