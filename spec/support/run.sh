#!/usr/bin/env bash
# The whole test suite (what `make test` runs): busted over spec/ with Lua 5.4,
# in a scrubbed environment (env -i, a throw-away HOME and TMPDIR) so that a
# developer's DATABRICKS_* variables or ~/.databrickscfg can never leak in.
# Lint and the C-level tests run as specs, so busted's totals are the real
# totals; the last line printed is "N passed, N failed".
#   run.sh [busted args...]     e.g. run.sh spec/pgpass_spec.lua
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dbx-test.XXXXXX")
chmod 0755 "$scratch"
mkdir -p "$scratch/home" "$scratch/tmp" "$scratch/journal"
chmod 0700 "$scratch/home"
trap 'rm -rf "$scratch"' EXIT

env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME="$scratch/home" TMPDIR="$scratch/tmp" LANG=C.UTF-8 \
  DBX_ROOT="$root" DBX_BUILD="${DBX_BUILD:-build}" DBX_JOURNAL="$scratch/journal" \
  ${DBX_PRELOAD:+LD_PRELOAD="$DBX_PRELOAD"} \
  ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
  ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
  ${LSAN_OPTIONS:+LSAN_OPTIONS="$LSAN_OPTIONS"} \
  ${DBX_VALGRIND:+DBX_VALGRIND="$DBX_VALGRIND"} \
  ${DBX_SPEC_SCALE:+DBX_SPEC_SCALE="$DBX_SPEC_SCALE"} \
  busted --cpath="${DBX_BUILD:-build}/?.so" "$@"
