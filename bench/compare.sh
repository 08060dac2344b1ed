#!/usr/bin/env bash
# bench/compare.sh -- benchmark brisk against the anchor servers with the
# external bench tools.
#
# Usage: bench/compare.sh [BENCH_DIR] [TOOL] [TOOL OPTIONS...]
#   BENCH_DIR  directory of the bench tools: compare, instr_per_req, idle_conns,
#              lib.sh (see their README.md). They are NOT part of brisk.
#              Default: ../shared/bench next to the repository.
#   TOOL       compare (default), instr_per_req or idle_conns
#   OPTIONS    passed to the tool before the brisk server specs, e.g. -r 5 -X 20
#              (compare defaults here to -w plaintext,pipeline,static1k,churn)
# Env: BRISK_BIN       brisk binary to measure (default: build/brisk, (re)built
#                      first, RelWithDebInfo)
#      BRISK_BACKENDS  I/O backends measured side by side, each a server under
#                      test named brisk-BACKEND (default: "io_uring epoll")
#      BRISK_TLS=1     brisk on a ",tls" listener with compare's certificate:
#                      the TLS workloads (compare defaults then to -w tls)
#
# The tools need (Debian 12): wrk nginx h2o golang-go
# golang-github-valyala-fasthttp-dev nghttp2-client valgrind linux-perf
# python3 iproute2. Every server runs on 127.0.0.1 only.
#
# Examples:
#   bench/compare.sh                                  # 4 workloads x 3 reps vs fasthttp, nginx, h2o
#   bench/compare.sh ../shared/bench compare -a fasthttp -r 5 -X 20
#   bench/compare.sh ../shared/bench instr_per_req -n 100000 -m 16
#   bench/compare.sh ../shared/bench idle_conns -n 10000
#   BRISK_TLS=1 bench/compare.sh ../shared/bench compare -r 3 limit-tls='/tmp/canned_tls {PORT} {CERT} {KEY} {DOCROOT}'
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }
case ${1:-} in -h|--help) usage 0 ;; esac

bench_dir=$repo/../shared/bench
if [ $# -gt 0 ] && [ -d "$1" ]; then
    bench_dir=$1
    shift
elif [ $# -gt 0 ] && [[ $1 == */* ]]; then
    echo "compare.sh: bench tools directory '$1' not found" >&2
    exit 1
fi
tool=compare
case ${1:-} in compare|instr_per_req|idle_conns) tool=$1; shift ;; esac

if [ ! -x "$bench_dir/$tool" ] || [ ! -f "$bench_dir/lib.sh" ]; then
    cat >&2 <<MSG
compare.sh: the bench tools were not found in '$bench_dir'.
They are not part of brisk: pass the directory that holds compare,
instr_per_req, idle_conns and lib.sh as the first argument.
MSG
    exit 1
fi
bench_dir=$(cd "$bench_dir" && pwd)

bin=${BRISK_BIN:-$repo/build/brisk}
if [ -z "${BRISK_BIN:-}" ]; then
    cmake -G Ninja -S "$repo" -B "$repo/build" >/dev/null
    cmake --build "$repo/build" --target brisk
fi
[ -x "$bin" ] || { echo "compare.sh: no brisk binary at $bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# One loop: the tools pin the server to SERVER_CPUS (one CPU by default).
# One server under test per I/O backend ($BRISK_BACKENDS, default both).
listen=127.0.0.1:{PORT}
workloads=plaintext,pipeline,static1k,churn
name=brisk
if [ "${BRISK_TLS:-0}" = 1 ]; then
    listen="127.0.0.1:{PORT},tls --tls-cert {CERT} --tls-key {KEY}"
    workloads=tls
    name=brisk-tls
fi
suts=()
for io in ${BRISK_BACKENDS:-io_uring epoll}; do
    suts+=("$name-$io=$(printf '%q' "$bin") --listen $listen --loops 1 --io $io --root {DOCROOT} --respond /plaintext=\"Hello, World!\"")
done

case $tool in
compare)       exec "$bench_dir/compare" -w "$workloads" "$@" "${suts[@]}" ;;
instr_per_req) exec "$bench_dir/instr_per_req" "$@" "${suts[@]}" ;;
idle_conns)    exec "$bench_dir/idle_conns" "$@" "${suts[@]}" ;;
esac
