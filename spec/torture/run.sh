#!/usr/bin/env bash
# `make torture`: kill -9 during rotation, concurrent rotators, wall-clock
# jumps and one agent with many targets (some slow or failing), at large
# counts, against the workspace simulator (see spec/torture/torture.lua for
# what each part checks). spec/torture_spec.lua
# runs it with tiny counts in CI.
#
#   TORTURE_KILLS=1000 TORTURE_WRITERS=8 TORTURE_ROUNDS=100 spec/torture/run.sh
#
# Environment (all optional): TORTURE_KILLS (1000), TORTURE_WRITERS (8),
# TORTURE_ROUNDS (100), TORTURE_JUMPS (10), TORTURE_JUMP_LIMIT (2 s),
# TORTURE_TARGETS (20), TORTURE_AGENT_ROUNDS (100), TORTURE_AGENT_LIMIT (2 s),
# TORTURE_PARTS ("kill,writers,clock,agent"), TORTURE_PSQL (0: no PostgreSQL
# check), TORTURE_SEED, TORTURE_VERBOSE=1, DBX_BUILD (build).
#
# Runs in a scrubbed environment (env -i, a throw-away HOME and TMPDIR) like
# the suite. Prints one line of figures per part and a total line; exits 0
# when nothing failed, 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2

build=${DBX_BUILD:-build}
if [ ! -f "$build/databricks/core.so" ] || [ ! -f build/databricks/core.so ]; then
  echo "torture: build first (make)" >&2
  exit 2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dbx-torture.XXXXXX")
chmod 0755 "$scratch"
mkdir -p "$scratch/home" "$scratch/tmp"
chmod 0700 "$scratch/home"
trap 'rm -rf "$scratch"' EXIT

env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME="$scratch/home" TMPDIR="$scratch/tmp" LANG=C.UTF-8 \
  DBX_ROOT="$root" DBX_BUILD="$build" \
  LUA_PATH="$root/spec/?.lua;$root/lua/?.lua;$root/lua/?/init.lua;;" \
  LUA_CPATH="$root/$build/?.so;;" \
  TORTURE_KILLS="${TORTURE_KILLS:-1000}" TORTURE_WRITERS="${TORTURE_WRITERS:-8}" \
  TORTURE_ROUNDS="${TORTURE_ROUNDS:-100}" TORTURE_JUMPS="${TORTURE_JUMPS:-10}" \
  TORTURE_JUMP_LIMIT="${TORTURE_JUMP_LIMIT:-2}" TORTURE_PARTS="${TORTURE_PARTS:-kill,writers,clock,agent}" \
  TORTURE_TARGETS="${TORTURE_TARGETS:-20}" TORTURE_AGENT_ROUNDS="${TORTURE_AGENT_ROUNDS:-100}" \
  TORTURE_AGENT_LIMIT="${TORTURE_AGENT_LIMIT:-2}" \
  ${TORTURE_PSQL:+TORTURE_PSQL="$TORTURE_PSQL"} ${TORTURE_SEED:+TORTURE_SEED="$TORTURE_SEED"} \
  ${TORTURE_VERBOSE:+TORTURE_VERBOSE="$TORTURE_VERBOSE"} \
  lua5.4 spec/torture/torture.lua
