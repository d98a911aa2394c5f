#!/usr/bin/env bash
# The API reference (`make docs`): LDoc over lua/ and the C binding files,
# configured by docs/config.ld, written to docs/api/ (git-ignored). Debian's
# `ldoc` (package lua-ldoc) runs on Lua 5.1/5.2; it only parses our 5.4 code.
# LDoc's warnings (a doc comment that does not match its function) are
# printed; with DOCS_STRICT=1 they fail the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v ldoc >/dev/null; then
  echo "docs: ldoc is missing: spec/support/deps.sh docs (Debian package lua-ldoc)" >&2
  exit 1
fi

rm -rf docs/api
log=$(mktemp "${TMPDIR:-/tmp}/dbx-ldoc.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! ldoc -c docs/config.ld . >"$log" 2>&1; then
  cat "$log" >&2
  echo "docs: ldoc failed" >&2
  exit 1
fi
# LDoc prints its progress and its warnings together; warnings name a file.
warnings=$(grep -E '^[^ ]+\.(lua|c|md):[0-9]+: ' "$log" || true)
if [ -n "$warnings" ]; then
  echo "$warnings" >&2
  n=$(printf '%s\n' "$warnings" | wc -l)
  if [ "${DOCS_STRICT:-0}" = 1 ]; then
    echo "docs: $n LDoc warning(s) (DOCS_STRICT=1)" >&2
    exit 1
  fi
  echo "docs: $n LDoc warning(s)" >&2
fi
[ -f docs/api/index.html ] || { echo "docs: no docs/api/index.html was written" >&2; exit 1; }
echo "docs: API reference in docs/api/index.html"
