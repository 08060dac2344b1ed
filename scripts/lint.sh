#!/usr/bin/env bash
# Static checks over core/ and cli/ with the checked-in configurations:
#   clang-format  (.clang-format)  every C/C++ file of the project is formatted
#   clang-tidy    (.clang-tidy)    needs build/compile_commands.json (cmake --preset default)
#   cppcheck      (flags below)    warnings, performance and portability
# Exits non-zero when any of them reports something.
#   scripts/lint.sh            all three
#   scripts/lint.sh format     one of them (format | tidy | cppcheck)
#   scripts/lint.sh fix-format reformat the files in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
jobs=$(nproc 2>/dev/null || echo 2)
status=0

sources() { git ls-files -- 'core/*.cpp' 'cli/*.cpp'; }
# plugin_abi.h is left as released: tests/plugins/abi_fingerprint.txt pins its bytes; so is the
# copy of the 1.0 header that an old fixture plugin is built from (tests/plugins/abi_1_0).
formatted() {
    git ls-files -- '*.cpp' '*.hpp' '*.h' '*.c' | grep -v -e '^tests/fuzz/corpus/' -e '^core/include/brisk/plugin_abi.h$' -e '^tests/plugins/abi_1_0/'
}

if [ "$what" = fix-format ]; then
    formatted | xargs clang-format -i
    exit 0
fi

if [ "$what" = all ] || [ "$what" = format ]; then
    echo "== clang-format"
    formatted | xargs clang-format --dry-run -Werror || status=1
fi

if [ "$what" = all ] || [ "$what" = tidy ]; then
    echo "== clang-tidy"
    if [ ! -f build/compile_commands.json ]; then
        echo "lint: build/compile_commands.json is missing; run cmake --preset default first" >&2
        exit 1
    fi
    sources | xargs -P "$jobs" -n 4 clang-tidy -p build --quiet 2>/dev/null || status=1
fi

if [ "$what" = all ] || [ "$what" = cppcheck ]; then
    echo "== cppcheck"
    # readdir: each DIR* is used by one thread only.
    cppcheck --enable=warning,performance,portability --std=c++20 --library=posix --inline-suppr \
        --suppress=missingIncludeSystem --suppress=readdirCalled --error-exitcode=1 --quiet -j "$jobs" \
        -I core/include -I core -I cli core cli || status=1
fi

exit "$status"
