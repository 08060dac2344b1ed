#!/usr/bin/env bash
# Builds brisk and runs the whole test suite (CMakePresets.json):
#   1. build/       warnings as errors, every test (fuzz corpora replayed too)
#   2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, every test
#                   (no -Werror: instrumented code trips gcc's flow warnings)
#   3. build-tsan/  ThreadSanitizer, the tests where threads meet (label tsan)
# and scripts/lint.sh (clang-format, clang-tidy, cppcheck) after the first.
# Installs missing Debian packages first. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

bash scripts/deps.sh

# One test renders a directory listing in headless Chromium. Chromium is big
# and only that test needs it: a machine that cannot install it skips the test.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } ||
        echo "test.sh: chromium could not be installed; the listing render test will skip" >&2
fi

jobs=$(nproc 2>/dev/null || echo 2)
export CTEST_OUTPUT_ON_FAILURE=1
# Sanitizer reports fail the run; the integration tests also look for them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

failed=()

for preset in default asan tsan; do
    echo "== cmake --preset $preset"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    ctest --preset "$preset" --timeout 600 || failed+=("$preset")
    # clang-format, clang-tidy and cppcheck, once build/ has its compile commands.
    if [ "$preset" = default ]; then
        scripts/lint.sh || failed+=("lint")
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo "test.sh: FAILED in ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: all tests passed (build/, build-asan/, build-tsan/)"
