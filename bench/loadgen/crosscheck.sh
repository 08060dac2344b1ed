#!/usr/bin/env bash
# crosscheck.sh -- wrk and loadgen side by side on the same servers.
#
# Usage: bench/loadgen/crosscheck.sh [options] [SERVER...]
#   SERVER     brisk | fasthttp | nginx | h2o | NAME=COMMAND ({PORT}, {DOCROOT})
#              (default: brisk fasthttp nginx)
#   -w LIST    workloads: plaintext (-c64), pipeline (-c256, 16 requests per
#              write: wrk with lua/pipeline.lua, loadgen -p 16) (default both)
#   -r N       repetitions; the tool order alternates (default 1)
#   -d SEC     measured seconds per tool run (10)
#   -W SEC     warm-up seconds (loadgen) after each server start (3)
#   -X PCT     before each tool run, wait (up to 2 min) until the machine's CPU
#              use is at most PCT % (100 = one core), and redo the run (at most 3
#              times) when other processes used more than PCT % CPU during it
#              (ext%); default: neither
#   -B DIR     bench tools directory with lib.sh, lua/ and the anchors
#              (default ../shared/bench next to the repository)
#   -L BIN     loadgen binary (default build-loadgen/loadgen, built if missing)
# Env: BRISK_BIN (default build/brisk), SERVER_CPUS (0), CLIENT_CPUS (1).
#
# Each (workload, repetition, server) starts a fresh server pinned to
# SERVER_CPUS (started and stopped by lib.sh of the bench tools), warms it up,
# then runs `wrk -t1` and `loadgen -t1` for -d seconds each, pinned to
# CLIENT_CPUS, and prints one line per tool: req/s, the client's CPU (cli%,
# 100 = one core, and microseconds per request), the server's CPU% and the
# CPU% used by everything else (ext%, noise). Where the server, not the
# client, is the bottleneck (srv% near 100, cli% well below), the two tools
# should report the same req/s.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit "${1:-0}"; }

WORKLOADS=plaintext,pipeline REPS=1 DUR=10 WARM=3 BENCH=$repo/../shared/bench LOADGEN= MAXEXT=
while getopts 'w:r:d:W:X:B:L:h' opt; do
    case $opt in
    w) WORKLOADS=$OPTARG ;; r) REPS=$OPTARG ;; d) DUR=$OPTARG ;; W) WARM=$OPTARG ;; X) MAXEXT=$OPTARG ;;
    B) BENCH=$OPTARG ;; L) LOADGEN=$OPTARG ;; h) usage 0 ;; *) usage 2 >&2 ;;
    esac
done
shift $((OPTIND - 1))
[ -f "$BENCH/lib.sh" ] || { echo "crosscheck: no lib.sh in $BENCH (use -B DIR)" >&2; exit 1; }
source "$BENCH/lib.sh"
need_tools wrk taskset setsid ss /usr/bin/time

BRISK_BIN=${BRISK_BIN:-$repo/build/brisk}
if [ -z "$LOADGEN" ]; then
    LOADGEN=$repo/build-loadgen/loadgen
    if [ ! -x "$LOADGEN" ]; then
        cmake -S "$repo/bench/loadgen" -B "$repo/build-loadgen" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
            ninja -C "$repo/build-loadgen" >/dev/null || die "cannot build loadgen"
    fi
fi
[ -x "$LOADGEN" ] || die "no loadgen at $LOADGEN"

[ $# -gt 0 ] || set -- brisk fasthttp nginx
for s in "$@"; do
    if [ "$s" = brisk ]; then
        [ -x "$BRISK_BIN" ] || die "no brisk binary at $BRISK_BIN"
        add_server "brisk=$BRISK_BIN --listen 127.0.0.1:{PORT} --loops 1 --respond \"/plaintext=Hello, World!\""
    else
        add_server "$s"
    fi
done
prepare_anchors
raise_nofile

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crosscheck.XXXXXX")
chmod 755 "$WORK"
DOCROOT=$WORK/docroot
make_docroot "$DOCROOT"
CLIENT_PID=
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$CLIENT_PID" ]; then kill -TERM "$CLIENT_PID" 2>/dev/null; wait "$CLIENT_PID" 2>/dev/null; fi
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# wait_quiet: with -X, wait until a 1 s sample of the machine's busy CPU (the
# idle server included) is at most MAXEXT %, for at most 2 minutes.
wait_quiet() {
    [ -n "$MAXEXT" ] || return 0
    local i b0 b1
    for ((i = 0; i < 120; i++)); do
        b0=$(sys_busy); sleep 1; b1=$(sys_busy)
        [ $((100 * (b1 - b0) / CLK_TCK)) -le "$MAXEXT" ] && return 0
    done
    log "the machine did not get quiet (busy > $MAXEXT%) in 2 minutes; measuring anyway"
}

# client TOOL OUTFILE: one measured run of TOOL for the current workload, in the
# background + wait so that the traps can stop it. /usr/bin/time appends
# "TIME user sys" (the client's CPU seconds) to OUTFILE.
client() {
    local tool=$1 out=$2 url=http://127.0.0.1:$PORT/plaintext
    local -a cmd
    if [ "$tool" = wrk ]; then
        cmd=(wrk -t1 -c"$CONNS" -d"$DUR"s)
        [ "$DEPTH" -gt 1 ] && cmd+=(-s "$BENCH/lua/pipeline.lua" "$url" -- "$DEPTH") || cmd+=("$url")
    else
        cmd=("$LOADGEN" -t1 -c"$CONNS" -d"$DUR" -p"$DEPTH" "$url")
    fi
    /usr/bin/time -f 'TIME %U %S' -a -o "$out" taskset -c "$CLIENT_CPUS" "${cmd[@]}" >"$out" 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID"
    CLIENT_PID=
}

# rps TOOL FILE: requests/s reported by the tool; errs TOOL FILE: errors + non-2xx.
rps() {
    if [ "$1" = wrk ]; then awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$2"
    else awk '$1 == "requests" { printf "%.0f", $3 }' "$2"; fi
}
errs() {
    if [ "$1" = wrk ]; then
        awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $5 } END { print e + 0 }' "$2"
    else
        awk '$1 == "errors" { e += $3 + $5 + $7 + $9 + $11 } $1 == "status" { gsub(/[()]/, ""); e += $NF } END { print e + 0 }' "$2"
    fi
}

printf '%-9s %-9s %-7s %10s %6s %8s %6s %6s %5s\n' workload server tool req/s cli% us/req srv% ext% err
IFS=, read -ra WLS <<<"$WORKLOADS"
PORT=$((20000 + RANDOM % 5000))
for wl in "${WLS[@]}"; do
    case $wl in
    plaintext) CONNS=64 DEPTH=1 ;;
    pipeline) CONNS=256 DEPTH=16 ;;
    *) die "unknown workload '$wl'" ;;
    esac
    for ((rep = 1; rep <= REPS; rep++)); do
        tools=(wrk loadgen)
        [ $((rep % 2)) -eq 0 ] && tools=(loadgen wrk)
        for i in "${!SRV_NAMES[@]}"; do
            name=${SRV_NAMES[$i]}
            rundir=$WORK/$wl-$rep-$name
            PORT=$(next_free_port $((PORT + 1)))
            [ "$PORT" -lt 30000 ] || PORT=$(next_free_port 20000)
            cmd=$(server_cmd "${SRV_SPECS[$i]}" "$PORT" "$rundir")
            start_server "$name" "$cmd" "$PORT" "$rundir/server.log" || continue
            check=$(http_check "$PORT" /plaintext hello)
            [ "$check" = ok ] || log "$name: response check: $check"
            taskset -c "$CLIENT_CPUS" "$LOADGEN" -c"$CONNS" -d"$WARM" -p"$DEPTH" \
                "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1
            for tool in "${tools[@]}"; do
                out=$rundir/$tool.txt
                for ((try = 0; ; try++)); do
                    wait_quiet
                    s0=$(srv_cpu_ticks) b0=$(sys_busy) t0=$(date +%s%N)
                    client "$tool" "$out"
                    s1=$(srv_cpu_ticks) b1=$(sys_busy) t1=$(date +%s%N)
                    r=$(rps "$tool" "$out")
                    read -r cu cs < <(awk '$1 == "TIME" { print $2, $3 }' "$out")
                    line=$(awk -v wl="$wl" -v n="$name" -v tool="$tool" -v r="${r:-0}" -v cu="${cu:-0}" \
                        -v cs="${cs:-0}" -v s=$((s1 - s0)) -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
                        -v dur="$DUR" -v e="$(errs "$tool" "$out")" 'BEGIN {
                            sec = t / 1e9; cli = cu + cs
                            ext = 100 * ((b - s) / hz - cli) / sec; if (ext < 0) ext = 0
                            printf "%-9s %-9s %-7s %10d %6.0f %8.2f %6.0f %6.0f %5d\n", wl, n, tool, r,
                                   100 * cli / dur, (r > 0 ? 1e6 * cli / (r * dur) : 0), 100 * s / hz / sec, ext, e }')
                    ext=$(awk '{ print $8 }' <<<"$line")
                    if [ -z "$MAXEXT" ] || [ "$ext" -le "$MAXEXT" ] || [ "$try" -ge 3 ]; then break; fi
                    log "$wl $name $tool: other load ${ext}% > ${MAXEXT}%, redo"
                done
                echo "$line"
            done
            stop_server
        done
    done
done
