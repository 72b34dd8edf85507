#!/usr/bin/env bash
# The test command: set-up, format check, AddressSanitizer+UBSan build, the whole CTest suite.
# Tests labelled "shared" need ../shared (or $PTQFLOW_SHARED_DIR); without it they are excluded
# and this script says so loudly at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/setup.sh

echo "== clang-format check" >&2
files=$(git ls-files '*.h' '*.cc' 2>/dev/null || find . -name '*.h' -o -name '*.cc' | grep -v build)
if [ -n "$files" ]; then
  clang-format --dry-run --Werror $files
fi

build=${PTQFLOW_TEST_BUILD_DIR:-$repo/build-asan}
echo "== build ($build, ASan+UBSan)" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPTQFLOW_SANITIZE=ON \
  -DPTQFLOW_WERROR=ON -DPTQFLOW_BUILD_PERF=OFF > /dev/null
cmake --build "$build" -j2

shared=${PTQFLOW_SHARED_DIR:-$repo/../shared}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest_args=(--test-dir "$build" --output-on-failure -j2)
if [ -d "$shared" ]; then
  export PTQFLOW_SHARED_DIR=$shared
  ctest "${ctest_args[@]}"
else
  ctest "${ctest_args[@]}" -LE shared
  cat >&2 <<MSG

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! Tests labelled "shared" did NOT run: no shared material at $shared
!! (set PTQFLOW_SHARED_DIR). CI always has it; these tests are not passed, only skipped.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MSG
fi
