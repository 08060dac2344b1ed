#!/usr/bin/env bash
# Rolling restart of three brisk processes behind HAProxy, under traffic.
#
#   examples/haproxy/rolling-restart.sh [--quick]
#
# Starts, on loopback ports in a temporary directory, three brisks (each
# `--listen 127.0.0.1:PORT,proxy`) and HAProxy in front of them
# (haproxy.cfg: send-proxy-v2, health checks, retries with redispatch). A
# client sends requests through HAProxy the whole time while each brisk in
# turn gets SIGTERM (it stops accepting, finishes what is in flight and
# exits), is started again and must answer before the next one goes.
# Prints how many requests were sent and how many failed; exits 0 only when
# none failed. Every process is started here, stopped by PID and the
# directory removed on exit.
#
# Environment: BRISK (default <repo>/build/brisk), HAPROXY (default haproxy).
# --quick: fewer client threads and shorter pauses (for the integration test).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BRISK=${BRISK:-$repo/build/brisk}
HAPROXY=${HAPROXY:-haproxy}
clients=4
settle=2        # seconds of traffic before and after the restarts
max_seconds=120 # the client stops by itself after this, whatever happens
if [ "${1:-}" = "--quick" ]; then
    clients=2
    settle=1
    max_seconds=60
fi

command -v "$HAPROXY" >/dev/null || { echo "rolling-restart: $HAPROXY not found (apt-get install haproxy)" >&2; exit 2; }
[ -x "$BRISK" ] || { echo "rolling-restart: brisk not found at $BRISK (set BRISK)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/brisk-haproxy.XXXXXX")
declare -a brisk_pid=("" "" "" "")
declare -a port=("" "" "" "")
haproxy_pid=""
client_pid=""

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    stop_pid "$client_pid"
    stop_pid "$haproxy_pid"
    for i in 1 2 3; do stop_pid "${brisk_pid[$i]}"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_brisk() {  # start_brisk N
    local n=$1
    "$BRISK" --listen "127.0.0.1:${port[$n]},proxy" --loops 1 --log-level warn \
        --respond "/plaintext=Hello from brisk$n" --respond "/health=ok" \
        >>"$tmp/brisk$n.log" 2>&1 &
    brisk_pid[$n]=$!
}

wait_brisk() {  # wait_brisk N: until it answers directly (with a PROXY header), at most 10 s
    local n=$1 i
    for i in $(seq 100); do
        if curl -sf --max-time 1 --haproxy-protocol "http://127.0.0.1:${port[$n]}/health" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "${brisk_pid[$n]}" 2>/dev/null || { echo "rolling-restart: brisk$n exited:" >&2; cat "$tmp/brisk$n.log" >&2; return 1; }
        sleep 0.1
    done
    echo "rolling-restart: brisk$n does not answer" >&2
    return 1
}

haproxy_status() {  # haproxy_status NAME: the server's status in HAProxy (UP, DOWN, ...)
    python3 - "$tmp/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 17 and f[0] == "brisks" and f[1] == sys.argv[2]:
        print(f[17].split()[0])
PY
}

wait_up() {  # wait_up N: until HAProxy's health checks have it UP again, at most 10 s
    local n=$1 i
    for i in $(seq 100); do
        [ "$(haproxy_status "brisk$n" 2>/dev/null || true)" = "UP" ] && return 0
        sleep 0.1
    done
    echo "rolling-restart: HAProxy does not see brisk$n up" >&2
    return 1
}

# --- brisks and HAProxy
frontend=$(free_port)
for n in 1 2 3; do port[$n]=$(free_port); done
for n in 1 2 3; do start_brisk "$n"; done
for n in 1 2 3; do wait_brisk "$n"; done
sed -e "s|@STATS_SOCKET@|$tmp/haproxy.sock|" -e "s|@FRONTEND_PORT@|$frontend|" \
    -e "s|@PORT1@|${port[1]}|" -e "s|@PORT2@|${port[2]}|" -e "s|@PORT3@|${port[3]}|" \
    "$here/haproxy.cfg" >"$tmp/haproxy.cfg"
"$HAPROXY" -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
for i in $(seq 100); do [ -S "$tmp/haproxy.sock" ] && break; sleep 0.1; done
for n in 1 2 3; do wait_up "$n"; done

# --- traffic: threads sending GET /plaintext through HAProxy until told to stop
cat >"$tmp/client.py" <<'PY'
import http.client, os, sys, threading, time
port, stop_file, max_seconds, threads = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
sent = failed = 0
errors = []
lock = threading.Lock()
deadline = time.monotonic() + max_seconds

def worker():
    global sent, failed
    conn = None
    while time.monotonic() < deadline and not os.path.exists(stop_file):
        ok, why = False, ""
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/plaintext")
            r = conn.getresponse()
            body = r.read()
            ok = r.status == 200 and body.startswith(b"Hello from brisk")
            why = "status %d %r" % (r.status, body[:60])
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:
            why = repr(e)
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            sent += 1
            if not ok:
                failed += 1
                if len(errors) < 10:
                    errors.append(why)

ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
for e in errors:
    print("failed:", e, file=sys.stderr)
print("requests sent: %d, failed: %d" % (sent, failed))
PY
python3 "$tmp/client.py" "$frontend" "$tmp/stop" "$max_seconds" "$clients" >"$tmp/client.out" &
client_pid=$!
sleep "$settle"

# --- the rolling restart, one brisk at a time
for n in 1 2 3; do
    old=${brisk_pid[$n]}
    kill -TERM "$old"
    code=0
    wait "$old" || code=$?
    brisk_pid[$n]=""
    [ "$code" -eq 0 ] || echo "rolling-restart: brisk$n exited with $code after SIGTERM" >&2
    start_brisk "$n"
    wait_brisk "$n"
    wait_up "$n"
    echo "rolling-restart: brisk$n restarted (pid ${brisk_pid[$n]})" >&2
done

sleep "$settle"
touch "$tmp/stop"
wait "$client_pid" || true
client_pid=""
cat "$tmp/client.out"
read -r sent failed < <(sed -n 's/^requests sent: \([0-9]*\), failed: \([0-9]*\)$/\1 \2/p' "$tmp/client.out")
if [ -z "${sent:-}" ] || [ "$sent" -eq 0 ] || [ "$failed" -ne 0 ]; then
    echo "rolling-restart: FAILED" >&2
    tail -n 20 "$tmp/haproxy.log" >&2 || true
    exit 1
fi
echo "rolling-restart: OK"
