#!/usr/bin/env bash
# The benchmark suite: what `make bench` runs (see bench/README.md).
#   bench/run.sh                 full run (a few minutes), one table at the end
#   BENCH_QUICK=1 bench/run.sh   tiny counts, seconds: proves the harness works
#                                (spec/bench_smoke_spec.lua); figures mean nothing
# Exit status: 0 when every row was measured, FAIL rows included (targets on
# shared machines are noisy); non-zero only when the bench itself broke.
#
# Everything runs in a private temp folder with a scrubbed environment
# (env -i): a local nginx on 127.0.0.1 with a per-run test CA, the C
# helpers compiled from bench/*.c, throw-away HOME, .pgpass, logs. The only
# processes signalled are the ones this run started, by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Tools: installed from Debian's packages by spec/support/deps.sh (as root)
# when one is missing.
need=(nginx curl cc pkg-config openssl lua5.4)
for t in "${need[@]}"; do
  if ! command -v "$t" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$t" ]; then
    spec/support/deps.sh build test bench
    break
  fi
done
if ! pkg-config --exists libcurl || ! lua5.4 -e 'require "socket"' 2>/dev/null; then
  spec/support/deps.sh build test
fi
if [ ! -f build/databricks/core.so ]; then
  make --no-print-directory build
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dbx-bench.XXXXXX")
chmod 0700 "$scratch"
cleanup() {
  # nginx writes its PID here; stop it if the Lua side could not (killed run).
  local pidfile="$scratch/nginx/nginx.pid"
  if [ -s "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$scratch/bin"
cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$scratch/bin/procstat" bench/procstat.c
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc "${cflags[@]}" -o "$scratch/bin/curl_loop" bench/curl_loop.c $(pkg-config --cflags --libs libcurl)

results=${BENCH_RESULTS-}
if [ -z "${BENCH_QUICK:-}" ] && [ -z "$results" ]; then
  mkdir -p bench/results
  results="$root/bench/results/latest.txt"
fi

env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME="$scratch/home" TMPDIR="$scratch" LANG=C.UTF-8 \
  LUA_PATH="$root/bench/?.lua;$root/spec/?.lua;$root/lua/?.lua;;" LUA_CPATH=";;" \
  BENCH_ROOT="$root" BENCH_TMP="$scratch" BENCH_BIN="$scratch/bin" \
  BENCH_QUICK="${BENCH_QUICK:-}" BENCH_IDLE="${BENCH_IDLE:-}" BENCH_RESULTS="$results" \
  BENCH_ONLY="${BENCH_ONLY:-}" \
  lua5.4 bench/main.lua
