#!/usr/bin/env bash
# The live-workspace test (`make live-test`): connect, validate_connection,
# one SQL statement and one rotation against a real Databricks workspace, for
# each auth mode whose credentials are in the credentials file, each mode in
# its own scrubbed environment (env -i, a fresh HOME), in parallel. Without a
# credentials file every mode is reported as skipped and the exit status is 0.
#
#   spec/live/run.sh [--credentials FILE] [--report PREFIX] [--modes LIST]
#                    [--timeout SECONDS] [--keep]        (--help for details)
#
# Credentials: $DBX_LIVE_CREDENTIALS, else spec/live/credentials.ini (git-
# ignored; format in spec/live/credentials.example.ini). Report:
# spec/live/report.md and report.json, or $DBX_LIVE_REPORT.{md,json}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/${DBX_BUILD:-build}"
if [ ! -f "$build/databricks/core.so" ]; then
  echo "live-test: $build/databricks/core.so is missing: run make first" >&2
  exit 2
fi
# -E: the runner itself ignores LUA_PATH, LUA_CPATH and LUA_INIT too.
exec lua5.4 -E "$here/runner.lua" --root "$root" --build "$build" "$@"
