#!/usr/bin/env bash
# p99_at_half_peak.sh -- tail latency of a server at a fixed fraction of its peak.
#
# Usage: bench/loadgen/p99_at_half_peak.sh [options] 'SERVER COMMAND'
#
#   1. starts SERVER COMMAND ({PORT} is replaced by a free loopback port in
#      20000-29999), pinned to $SERVER_CPUS (default 0), and waits until it
#      accepts connections;
#   2. measures the peak: loadgen closed loop, -c CONNS, for -d seconds (after
#      -w seconds of warm-up), pinned to $CLIENT_CPUS (default 1);
#   3. runs loadgen in fixed-rate mode at FRACTION x peak (or at -r RATE) with
#      the same connections and prints p50 / p90 / p99 / p99.9 / max, measured
#      from each request's due time (no coordinated omission);
#   4. stops the server (SIGTERM to the PID it started, SIGKILL after 5 s).
#
# Options:
#   -d SEC     measured seconds of each run (10)
#   -w SEC     warm-up seconds before each run, not recorded (2)
#   -c CONNS   connections (64)
#   -f FRAC    fraction of the measured peak for the fixed rate (0.5)
#   -r RATE    fixed rate in requests/s instead of FRAC x peak (the peak is
#              still measured and printed unless -n is given)
#   -n         skip the peak measurement (needs -r)
#   -P PATH    request path (/plaintext)
#   -p PORT    first port to try (20000)
#   -X PCT     before each run, wait (up to 2 min) until the machine's CPU use is
#              at most PCT % (100 = one core), and redo a run (at most 3 times)
#              when other processes used more than PCT % CPU during it
#   -L BIN     loadgen binary (default: build-loadgen/loadgen in the
#              repository, built with cmake + ninja when missing)
#
# Output: a readable summary, then one tab-separated line for scripts:
#   RESULT  peak_rps  rate  achieved_rps  p50_us  p90_us  p99_us  p999_us  max_us
#           errors  client_lag_p99_us  ext_cpu_pct
# ext_cpu_pct is the CPU used by other processes during the fixed-rate run
# (100 = one core): on a shared machine, results with a high value are noise.
#
# Examples:
#   bench/loadgen/p99_at_half_peak.sh \
#       'build/brisk --listen 127.0.0.1:{PORT} --loops 1 --respond "/plaintext=Hello, World!"'
#   # the same rate for two servers: half of fasthttp's peak
#   bench/loadgen/p99_at_half_peak.sh -r 60000 'build/brisk --listen 127.0.0.1:{PORT} ...'
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }

duration=10 warmup=2 conns=64 frac=0.5 rate= skip_peak=0 path=/plaintext port=20000 loadgen= maxext=
while getopts 'd:w:c:f:r:nP:p:X:L:h' opt; do
    case $opt in
    d) duration=$OPTARG ;;
    w) warmup=$OPTARG ;;
    c) conns=$OPTARG ;;
    f) frac=$OPTARG ;;
    r) rate=$OPTARG ;;
    n) skip_peak=1 ;;
    P) path=$OPTARG ;;
    p) port=$OPTARG ;;
    X) maxext=$OPTARG ;;
    L) loadgen=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 >&2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "p99_at_half_peak: one server command expected (see -h)" >&2; exit 2; }
server_tmpl=$1
[ "$skip_peak" = 0 ] || [ -n "$rate" ] || { echo "p99_at_half_peak: -n needs -r RATE" >&2; exit 2; }
SERVER_CPUS=${SERVER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS:-1}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ -z "$loadgen" ]; then
    loadgen=$repo/build-loadgen/loadgen
    if [ ! -x "$loadgen" ]; then
        log "building $loadgen"
        cmake -S "$repo/bench/loadgen" -B "$repo/build-loadgen" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
        ninja -C "$repo/build-loadgen" >/dev/null
    fi
fi
[ -x "$loadgen" ] || die "no loadgen binary at $loadgen"

# First port >= $1 (below 30000) with no local TCP socket on it.
free_port() {
    local p=$1
    while [ "$p" -lt 30000 ]; do
        [ -z "$(ss -Htan "sport = :$p" 2>/dev/null | head -n 1)" ] && { echo "$p"; return 0; }
        p=$((p + 1))
    done
    return 1
}

srv_pid=
logf=$(mktemp "${TMPDIR:-/tmp}/p99_at_half_peak.XXXXXX")
stop_server() {
    [ -n "$srv_pid" ] || return 0
    local i
    kill -TERM "$srv_pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$srv_pid" 2>/dev/null && kill -KILL "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    srv_pid=
}
cleanup() { stop_server; rm -f "$logf"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port "$port") || die "no free port in $port-29999"
cmd=${server_tmpl//\{PORT\}/$port}
log "server: $cmd (CPU $SERVER_CPUS), client: loadgen (CPU $CLIENT_CPUS)"
# exec chain: the PID we record is the server itself.
taskset -c "$SERVER_CPUS" bash -c "exec $cmd" </dev/null >"$logf" 2>&1 &
srv_pid=$!
for ((i = 0; i < 100; i++)); do
    kill -0 "$srv_pid" 2>/dev/null || { tail -n 20 "$logf" >&2; die "the server exited during startup"; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
[ "$i" -lt 100 ] || die "the server does not accept on 127.0.0.1:$port after 10 s"

url=http://127.0.0.1:$port$path
hz=$(getconf CLK_TCK)
# CPU ticks: all CPUs busy (/proc/stat), the server (its PID and direct
# children), and the waited-for children of this shell (loadgen).
sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
srv_ticks() {
    local p sum=0 v
    for p in "$srv_pid" $(ps -o pid= --ppid "$srv_pid" 2>/dev/null); do
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
child_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }
# wait_quiet: with -X, wait until a 1 s sample of the machine's busy CPU (the
# idle server included) is at most maxext %, for at most 2 minutes.
wait_quiet() {
    [ -n "$maxext" ] || return 0
    local i b0 b1
    for ((i = 0; i < 120; i++)); do
        b0=$(sys_busy); sleep 1; b1=$(sys_busy)
        [ $((100 * (b1 - b0) / hz)) -le "$maxext" ] && return 0
    done
    log "the machine did not get quiet (busy > $maxext%) in 2 minutes; measuring anyway"
}
# run_loadgen ARGS...: one loadgen run; sets OUT (its JSON) and EXT (CPU % used
# by other processes meanwhile, 100 = one core: noise on a shared machine).
# With -X, waits for a quiet machine first and redoes noisy runs.
run_loadgen() {
    local b0 s0 c0 t0 b1 s1 c1 t1 try
    for ((try = 0; ; try++)); do
        wait_quiet
        b0=$(sys_busy) s0=$(srv_ticks) c0=$(child_ticks) t0=$(date +%s%N)
        OUT=$(taskset -c "$CLIENT_CPUS" "$loadgen" -c "$conns" -d "$duration" -w "$warmup" --json "$@" "$url")
        b1=$(sys_busy) s1=$(srv_ticks) c1=$(child_ticks) t1=$(date +%s%N)
        EXT=$(awk -v b=$((b1 - b0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v hz="$hz" \
            'BEGIN { e = 100 * (b - s - c) / hz / (t / 1e9); printf "%.0f", e < 0 ? 0 : e }')
        if [ -z "$maxext" ] || [ "$EXT" -le "$maxext" ] || [ "$try" -ge 3 ]; then return 0; fi
        log "other load $EXT% > $maxext%, redo"
    done
}
# json_num JSON KEY: the first number stored under "KEY" (flat keys are unique in loadgen's output).
json_num() { grep -o "\"$2\":[-0-9.e+]*" <<<"$1" | head -n 1 | cut -d: -f2; }

peak=
if [ "$skip_peak" = 0 ]; then
    log "peak: closed loop, $conns connections, ${warmup}s + ${duration}s"
    run_loadgen
    peak=$(json_num "$OUT" requests_per_s)
    peak_ext=$EXT
    log "peak: $peak req/s (errors $(json_num "$OUT" total), client CPU $(json_num "$OUT" cores) cores, other load $EXT%)"
fi
if [ -z "$rate" ]; then
    rate=$(awk -v p="$peak" -v f="$frac" 'BEGIN { printf "%.0f", p * f }')
    [ "$rate" -gt 0 ] || die "measured peak is 0 req/s"
fi

log "fixed rate: $rate req/s, $conns connections, ${warmup}s + ${duration}s"
run_loadgen -R "$rate"
achieved=$(json_num "$OUT" requests_per_s)
# the first p50.. of the JSON are the latency's, the second the client lag's
p50=$(json_num "$OUT" p50) p90=$(json_num "$OUT" p90) p99=$(json_num "$OUT" p99)
p999=$(json_num "$OUT" p999) max=$(json_num "$OUT" max) errors=$(json_num "$OUT" total)
lag_p99=$(grep -o '"client_lag_us":{[^}]*}' <<<"$OUT" | grep -o '"p99":[0-9.]*' | cut -d: -f2)
stop_server

ms() { awk -v u="$1" 'BEGIN { printf "%.3f ms", u / 1000 }'; }
echo "server        $cmd"
[ -n "$peak" ] && printf 'peak          %.0f req/s (closed loop, %s connections; other load %s%% CPU)\n' \
    "$peak" "$conns" "$peak_ext"
printf 'fixed rate    %s req/s -> achieved %.0f req/s, %s errors (other load %s%% CPU)\n' \
    "$rate" "$achieved" "$errors" "$EXT"
echo "latency       p50 $(ms "$p50")  p90 $(ms "$p90")  p99 $(ms "$p99")  p99.9 $(ms "$p999")  max $(ms "$max")"
echo "client lag    p99 $(ms "$lag_p99") (how late loadgen wrote requests due on a free connection)"
printf 'RESULT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${peak:--}" "$rate" "$achieved" "$p50" "$p90" \
    "$p99" "$p999" "$max" "$errors" "$lag_p99" "$EXT"
