#!/usr/bin/env bash
# Runs integration tests N times on each I/O backend and counts the failures:
# the proof that a timing-sensitive test (SIGTERM or reload under load) holds.
# Not part of CI; run it by hand after a change to the stop or reload path.
#
#   scripts/repeat_tests.sh [-n 50] [-b build] [-i "epoll io_uring"] TEST...
#   scripts/repeat_tests.sh -n 50 test_reload.ShutdownTimeoutTest.test_sigterm_under_load_drops_no_accepted_request
#
# TEST is a unittest name relative to tests/integration (module.Class.test).
# Prints one line per backend and test: runs, failures; exits 1 on any failure.
# Each run is bounded by the test's own timeouts and by `timeout 300`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=50
build=build
backends="epoll io_uring"
while getopts "n:b:i:" opt; do
    case $opt in
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    i) backends=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "$#" -gt 0 ] || { echo "usage: $0 [-n runs] [-b build-dir] [-i backends] TEST..." >&2; exit 2; }

bin=$PWD/$build/brisk
[ -x "$bin" ] || { echo "$bin: not built" >&2; exit 2; }
log=$(mktemp -d /tmp/brisk-repeat-XXXXXX)
status=0
for test in "$@"; do
    for io in $backends; do
        failed=0
        for ((i = 1; i <= runs; i++)); do
            if ! (cd tests/integration &&
                BRISK_BIN=$bin BRISK_IO=$io PYTHONDONTWRITEBYTECODE=1 \
                    timeout 300 /usr/bin/python3 -m unittest "$test") >"$log/$test.$io.$i.log" 2>&1; then
                failed=$((failed + 1))
                echo "  $io run $i failed: $log/$test.$io.$i.log" >&2
            fi
        done
        echo "$test [$io]: $runs runs, $failed failed"
        [ "$failed" -eq 0 ] || status=1
    done
done
exit $status
