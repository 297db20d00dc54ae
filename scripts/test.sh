#!/usr/bin/env bash
# Sets up, then builds and runs every test through ctest in three builds:
#   asan     gcc Debug with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   release  gcc Release, as shipped (build-release/)
#   clang    clang Debug (build-clang/)
# and a few seconds of libFuzzer per target (scripts/fuzz.sh --smoke).
#   bash scripts/test.sh                 all of it (what CI runs)
#   bash scripts/test.sh -R e2e.test_x   extra arguments go to ctest, asan build only, no fuzzing
#   TN_BUILDS="release" bash scripts/test.sh   pick builds
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

builds=${TN_BUILDS:-asan release clang}
[ $# -gt 0 ] && builds=${TN_BUILDS:-asan}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for b in $builds; do
  case $b in
  asan) dir=${TN_BUILD_DIR:-build-asan} cc=gcc cxx=g++ args=(-DCMAKE_BUILD_TYPE=Debug -DTN_SANITIZE=ON) ;;
  release) dir=build-release cc=gcc cxx=g++ args=(-DCMAKE_BUILD_TYPE=Release) ;;
  clang) dir=build-clang cc=clang cxx=clang++ args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  *)
    echo "test.sh: unknown build '$b' (asan, release, clang)" >&2
    exit 2
    ;;
  esac
  echo "== $b build ($dir)"
  start=$SECONDS
  CC=$cc CXX=$cxx cmake -S . -B "$dir" "${args[@]}" -DTN_BUILD_TESTS=ON >/dev/null
  if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
    grep -E 'error|Error' "$dir/build.log" | head -40 >&2
    echo "== $b build: FAILED to compile (log $dir/build.log)" >&2
    exit 1
  fi
  # Twice the cores: most e2e tests wait on timers, and the timing-strict ones run alone.
  # The browser tests drive the page's script against the server: once, under the
  # sanitizers, is enough (the other builds run every C test).
  skip=()
  [ "$b" != asan ] && [ $# -eq 0 ] && skip=(-E '^browser\.')
  (cd "$dir" && ctest --output-on-failure -j"$((2 * $(nproc)))" "${skip[@]}" "$@")
  echo "== $b build: passed in $((SECONDS - start)) s"
done

if [ $# -eq 0 ] && [ "${TN_SKIP_FUZZ:-}" != 1 ]; then
  bash scripts/fuzz.sh --smoke
fi
