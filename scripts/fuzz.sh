#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a while.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 60 s, every target)
#   bash scripts/fuzz.sh --smoke                             (a few seconds each, for CI)
# Seeds come from tests/fuzz/corpus/<target>/; new inputs stay in build-fuzz/corpus/<target>/.
# A crash is written to build-fuzz/crashes/<target>/ and the run fails: copy the file into
# tests/fuzz/regress/<target>/ with the fix, and every normal test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=60
if [ "${1:-}" = --smoke ]; then secs=${TN_FUZZ_SMOKE_SECS:-4}; shift; fi
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
build=${TN_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build" -DTN_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t" crashes="$build/crashes/$t"
  mkdir -p "$work" "$crashes"
  maxlen=65536
  [ "$t" = http ] && maxlen=8192
  log="$build/fuzz-$t.log"
  if "$build/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$secs" \
      -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" -print_final_stats=1 \
      -artifact_prefix="$crashes/" >"$log" 2>&1; then
    echo "fuzz $t: ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${secs}s"
  else
    echo "fuzz $t: FAILED (log $log, inputs in $crashes/)" >&2
    tail -40 "$log" >&2
    fail=1
  fi
done
exit $fail
