#!/usr/bin/env bash
# `make check-asan`: the whole suite with the core built with
# AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   spec/support/check_asan.sh [busted args...]    e.g. ... spec/pgpass_spec.lua
#
# What runs under the sanitizers:
#  1. The C test binaries of the sanitizer build (build-asan/tests/test_*),
#     and every fuzz driver's corpus replay (build-asan/tests/fuzz_*_corpus
#     over fuzz/corpus/*): the exact-size input blocks make over-reads visible.
#  2. The whole busted suite, in one lua5.4 process that loads
#     build-asan/databricks/core.so: every spec that drives the core
#     in-process (units, pgpass, auth, transport, operations, config, ...).
#     Processes the specs start (bin/ scripts, helper lua5.4 children) use the
#     normal build/, as in `make test`.
#
# How: the sanitizer build (clang, CMake folder build-asan, Debug,
# DBX_SANITIZE=ON) leaves the ASan runtime out of the module, so the process
# that loads it must carry the runtime. Rather than LD_PRELOAD (which every
# child would inherit: procps' ps and pgrep hang at start-up under the ASan
# runtime, other programs fail its leak check, and the test binaries, which
# carry clang's static runtime, abort on a second one), busted runs in
# build-asan/lua5.4-asan: the stock Lua 5.4 interpreter's job (liblua5.4 from
# Debian, a minimal main) linked with the sanitizer runtimes. busted is given
# it with --lua (Debian's busted re-executes itself with that interpreter);
# its first package searcher loads build-asan/databricks/core.so for
# `require "databricks.core"`, while DBX_BUILD (and so busted's --cpath and
# every child a spec starts) stays the normal build/.
#
# Reports: every ASan or UBSan finding is fatal (halt_on_error=1, and the
# build uses -fno-sanitize-recover=undefined), printed with a stack trace, and
# also written to build-asan/reports/ (log_path), which this script prints at
# the end; any report fails the run. Leak detection is off here
# (detect_leaks=0): busted exits without closing its Lua state, and leaks are
# what `make valgrind` checks.
#
# Needs clang and its runtime (spec/support/deps.sh asan) and lua5.4's
# development files (spec/support/deps.sh build).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2

build="build-asan"
cc=${CC_ASAN:-clang}
jobs=$(nproc 2>/dev/null || echo 2)
command -v "$cc" >/dev/null 2>&1 || { echo "check_asan: $cc not found (spec/support/deps.sh asan)" >&2; exit 2; }
[ -f "$("$cc" -print-file-name=libclang_rt.asan-x86_64.a)" ] ||
  { echo "check_asan: clang's ASan runtime is missing (spec/support/deps.sh asan)" >&2; exit 2; }

echo "check_asan: building $build (clang, ASan+UBSan, Debug) and build/ (the bin/ scripts load it)"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DDBX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
  cmake --build "$build" -j"$jobs" -- --no-print-directory >/dev/null || {
  cmake --build "$build" -j1 -- --no-print-directory
  exit 2
}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j"$jobs" -- --no-print-directory >/dev/null || exit 2

# The interpreter busted runs in: what `lua5.4 SCRIPT ARGS...` does (arg
# table, generational GC, error with traceback), nothing more.
mkdir -p "$build/interp"
cat >"$build/interp/lua_asan.c" <<'EOF'
/* lua_asan.c (written by spec/support/check_asan.sh) — `lua5.4 SCRIPT
 * ARGS...` linked with the sanitizer runtimes, so C modules built with
 * -fsanitize=address,undefined load into it without LD_PRELOAD. A first
 * package searcher makes `require "databricks.core"` load the sanitizer
 * build's module (DBX_ASAN_CORE), whatever package.cpath says. */
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L;
    int status;
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 1;
    }
    L = luaL_newstate();
    if (!L)
        return 1;
    lua_gc(L, LUA_GCGEN, 0, 0); /* as lua.c does */
    luaL_openlibs(L);
    if (luaL_loadstring(L, "local path = ...\n"
                           "table.insert(package.searchers, 1, function(name)\n"
                           "  if name ~= 'databricks.core' then return nil end\n"
                           "  return assert(package.loadlib(path, 'luaopen_databricks_core')), path\n"
                           "end)") != LUA_OK ||
        (lua_pushstring(L, DBX_ASAN_CORE), lua_pcall(L, 1, 0, 0)) != LUA_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
        return 1;
    }
    lua_createtable(L, argc - 2, 2);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1); /* arg[-1] interpreter, arg[0] script */
    }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, traceback);
    status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (int i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, 1);
    }
    if (status != LUA_OK)
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
EOF
interp="$root/$build/lua5.4-asan"
# shellcheck disable=SC2046
"$cc" -g -O1 -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer \
  -DDBX_ASAN_CORE="\"$root/$build/databricks/core.so\"" \
  $(pkg-config --cflags lua5.4) "$build/interp/lua_asan.c" -o "$interp" $(pkg-config --libs lua5.4) -lm -ldl ||
  { echo "check_asan: cannot build the interpreter" >&2; exit 2; }

reports="$root/$build/reports"
rm -rf "$reports"
mkdir -p "$reports"
common="halt_on_error=1:print_stacktrace=1:log_path=$reports/report:log_exe_name=1"
# log_path sends reports to files only (a child's stderr may be swallowed by
# a spec); they are all printed at the end.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:$common"
export UBSAN_OPTIONS="$common"
status=0
t_start=$(date +%s)

# ---- 1. the C binaries of the sanitizer build ---------------------------------
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dbx-asan.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
echo "check_asan: C test binaries and corpus replays ($build/tests)"
for bin in "$build"/tests/test_* "$build"/tests/fuzz_*_corpus; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  args=()
  case "$name" in
    fuzz_*_corpus) d=${name#fuzz_}; d=${d%_corpus}; [ -d "fuzz/corpus/$d" ] || continue; args=("fuzz/corpus/$d") ;;
  esac
  if env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$scratch" TMPDIR="$scratch" \
       LANG=C.UTF-8 ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
       "$bin" "${args[@]}" >"$scratch/out" 2>&1; then
    echo "  ok   $name: $(tail -n 1 "$scratch/out")"
  else
    echo "  FAIL $name" >&2
    tail -n 40 "$scratch/out" >&2
    status=1
  fi
done

# ---- 2. the suite, busted inside the sanitizer interpreter ----------------------
echo "check_asan: the suite in $interp (databricks.core from $build)"
t0=$(date +%s)
DBX_BUILD=build spec/support/run.sh --lua="$interp" "$@"
rc=$?
echo "check_asan: suite finished in $(( $(date +%s) - t0 )) s (exit $rc)"
[ "$rc" -eq 0 ] || status=1

found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "check_asan: sanitizer reports:" >&2
  for f in $found; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
echo "check_asan: $([ "$status" -eq 0 ] && echo "OK - every C test and every spec passed under ASan+UBSan, no report" ||
  echo "FAILED") ($(( $(date +%s) - t_start )) s)"
exit "$status"
