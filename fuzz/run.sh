#!/usr/bin/env bash
# Builds every libFuzzer driver in fuzz/ (clang, -fsanitize=fuzzer,address,
# undefined, against the core's sources) and runs each for FUZZ_SECONDS.
# `make fuzz` calls it; spec/fuzz_short_spec.lua runs it with 10 seconds.
#
#   fuzz/run.sh [driver...]        drivers: the NAME of fuzz/fuzz_NAME.c (default: all)
#
# Environment:
#   FUZZ_SECONDS  seconds per driver (default 60)
#   FUZZ_JOBS     drivers run at the same time (default: the number of CPUs)
#   FUZZ_BUILD    build folder (default build-fuzz): objects, binaries, logs,
#                 artifacts/<driver>/ (crash reproducers)
#   FUZZ_WORK     where new inputs are kept, one folder per driver (default
#                 fuzz/corpus-work, git-ignored); the committed seeds in
#                 fuzz/corpus/<driver>/ are read, never written
#   FUZZ_CC       the compiler (default clang; Debian: clang libclang-rt-14-dev)
#
# Prints one line per driver (runs, execs/s, coverage, features, corpus,
# result) and, for a crash, the reproducer's path and the commands that
# replay it. Exits 0 when no driver found anything, 1 when one did, 2 when
# the toolchain is missing or the build failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
build=${FUZZ_BUILD:-$root/build-fuzz}
work=${FUZZ_WORK:-$root/fuzz/corpus-work}
cc=${FUZZ_CC:-clang}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
case "$work" in /*) ;; *) work="$root/$work" ;; esac

die() { echo "fuzz: $*" >&2; exit 2; }

command -v "$cc" >/dev/null 2>&1 || die "$cc not found (Debian: apt-get install clang libclang-rt-14-dev; or spec/support/deps.sh fuzz)"
runtime=$("$cc" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)
[ -f "$runtime" ] || die "clang's libFuzzer runtime is missing (Debian: apt-get install libclang-rt-14-dev)"
pkg-config --exists lua5.4 libcurl libcrypto || die "lua5.4, libcurl or libcrypto development files are missing (spec/support/deps.sh build)"

if [ $# -gt 0 ]; then
  drivers=("$@")
else
  drivers=()
  for f in fuzz/fuzz_*.c; do
    n=${f#fuzz/fuzz_}
    drivers+=("${n%.c}")
  done
fi
for d in "${drivers[@]}"; do
  [ -f "fuzz/fuzz_$d.c" ] || die "no driver fuzz/fuzz_$d.c"
done

mkdir -p "$build/obj" "$build/logs" "$work"

# ---- build ------------------------------------------------------------------
# The core's objects are compiled once (instrumented for coverage, not linked
# with libFuzzer's main) into an archive; each driver links what it needs.
# A stamp of the sources and flags decides when to rebuild.
pkg_cflags=$(pkg-config --cflags lua5.4 libcurl libcrypto)
pkg_libs=$(pkg-config --libs lua5.4 libcurl libcrypto)
cflags="-g -O1 -fno-omit-frame-pointer -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wno-unused-parameter
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -Isrc $pkg_cflags"
lib_stamp=$( { echo "$cc $cflags"; "$cc" --version | head -n 1; cat src/*.c src/*.h; } | sha1sum | cut -c1-40)

t0=$(date +%s)
if [ "$(cat "$build/libdbx.stamp" 2>/dev/null)" != "$lib_stamp" ] || [ ! -f "$build/libdbx.a" ]; then
  echo "fuzz: compiling the core (src/*.c) for fuzzing into $build"
  rm -f "$build"/obj/*.o "$build/libdbx.a" "$build/libdbx.stamp"
  # shellcheck disable=SC2086
  if ! printf '%s\n' src/*.c | xargs -P "$jobs" -I{} sh -c \
      'o="$1/obj/$(basename "$2" .c).o"; exec "$3" $4 -fsanitize=fuzzer-no-link -c "$2" -o "$o"' \
      sh "$build" {} "$cc" "$cflags"; then
    die "compiling the core failed"
  fi
  ar rcs "$build/libdbx.a" "$build"/obj/*.o || die "ar failed"
  echo "$lib_stamp" >"$build/libdbx.stamp"
fi
for d in "${drivers[@]}"; do
  stamp=$( { echo "$lib_stamp"; cat "fuzz/fuzz_$d.c" fuzz/*.h; } | sha1sum | cut -c1-40)
  if [ "$(cat "$build/fuzz_$d.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$build/fuzz_$d" ]; then
    echo "fuzz: building $build/fuzz_$d"
    # shellcheck disable=SC2086
    "$cc" $cflags -fsanitize=fuzzer "fuzz/fuzz_$d.c" "$build/libdbx.a" $pkg_libs -lm -o "$build/fuzz_$d" ||
      die "building fuzz/fuzz_$d.c failed"
    echo "$stamp" >"$build/fuzz_$d.stamp"
  fi
done
build_s=$(( $(date +%s) - t0 ))

# ---- run ----------------------------------------------------------------------
run_one() {
  local d=$1 dict=() log="$build/logs/$1.log"
  mkdir -p "$work/$d" "$build/artifacts/$d"
  [ -f "fuzz/dict/$d.dict" ] && dict=(-dict="fuzz/dict/$d.dict")
  # A scrubbed environment: the drivers load lua-cjson from the default
  # cpath, so no LUA_* variable of the caller may redirect them.
  env -u LUA_INIT -u LUA_INIT_5_4 -u LUA_PATH -u LUA_PATH_5_4 -u LUA_CPATH -u LUA_CPATH_5_4 -u LD_PRELOAD \
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    "$build/fuzz_$d" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$d/" "${dict[@]}" \
      "$work/$d" "fuzz/corpus/$d" >"$log" 2>&1
  echo $? >"$build/logs/$d.rc"
}

echo "fuzz: running ${#drivers[@]} driver(s) for $seconds s each, $jobs at a time (build ${build_s} s)"
t0=$(date +%s)
running=0
for d in "${drivers[@]}"; do
  rm -f "$build/logs/$d.rc"
  run_one "$d" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
run_s=$(( $(date +%s) - t0 ))

# ---- report -------------------------------------------------------------------
status=0
printf '%-10s %10s %9s %7s %7s %8s  %s\n' driver runs execs/s cov ft corpus result
for d in "${drivers[@]}"; do
  log="$build/logs/$d.log"
  rc=$(cat "$build/logs/$d.rc" 2>/dev/null || echo 99)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  result=ok
  if [ "$rc" != 0 ] || [ -n "$repro" ]; then
    result="FAILED (exit $rc)"
    status=1
  fi
  printf '%-10s %10s %9s %7s %7s %8s  %s\n' "$d" "${runs:--}" "${eps:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
  if [ "$result" != ok ]; then
    {
      echo "---- fuzz_$d: $(grep -m1 -E 'ERROR: |check failed|runtime error|deadly signal|timeout' "$log" || echo "see the log")"
      [ -n "$repro" ] && echo "     reproducer: $repro" &&
        echo "     replay:     $build/fuzz_$d $repro   (or build/tests/fuzz_${d}_corpus $repro)"
      echo "     log:        $log"
      tail -n 40 "$log" | sed 's/^/     | /'
    } >&2
  fi
done
echo "fuzz: ${#drivers[@]} driver(s), ${seconds} s each, run time ${run_s} s, build ${build_s} s: $([ "$status" = 0 ] && echo "no crash" || echo "CRASHES FOUND")"
exit "$status"
