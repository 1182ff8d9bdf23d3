#!/usr/bin/env bash
# Serve BlockScope to a class from this machine: nginx on http://$HOST:$PORT in front of several
# web workers, which share one measuring process. Ctrl-C (or SIGTERM) stops all of it.
#
# Usage: scripts/serve-class.sh [--no-setup]
#   --no-setup    skip scripts/setup.sh (the environment is already there)
# Environment:
#   HOST (127.0.0.1; 0.0.0.0 for every interface), PORT (8080)
#   WORKERS       web workers (default: one per core the measuring process leaves them, at most 4)
#   RUN_DIR       private runtime folder: configuration, sockets, cache, logs
#                 (default: $TMPDIR/blockscope-class-<uid>-<port>)
#   NGINX_SET     template values for deploy/nginx.conf.template, "NAME=VALUE NAME=VALUE"
#   PYTHON        the Python with BlockScope installed (default: .venv/bin/python)
#   NGINX_BIN     the nginx to run (default: the one on PATH, or /usr/sbin/nginx)
#   STOP_GRACE_S  seconds a stop waits for answers in progress, measurements included (default:
#                 BLOCKSCOPE_MEASURE_BUDGET_S + 15)
#   LOG_CHECK_S   seconds between checks of the logs' sizes (default 10); each log is moved aside
#                 (one older copy kept) past BLOCKSCOPE_LOG_MAX_MB (default 8)
#   BLOCKSCOPE_*  the app's settings (docs/configuration.md), passed to every worker
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
for arg in "$@"; do
    case "$arg" in
        --no-setup) setup=0 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "serve-class.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "serve-class: $*" >&2; }
die() { say "$*"; exit 1; }

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8080}"
PYTHON="${PYTHON:-.venv/bin/python}"

if [ "$setup" = 1 ]; then
    bash scripts/setup.sh
fi
[ -x "$PYTHON" ] || die "$PYTHON is missing: run without --no-setup, or set PYTHON"

# --- nginx -----------------------------------------------------------------------------------------
find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
NGINX="${NGINX_BIN:-$(find_nginx)}"
export -n NGINX  # nginx reads an NGINX environment variable of its own (inherited sockets)
if [ -z "$NGINX" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's nginx package"
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx
        NGINX="$(find_nginx)"
    fi
    [ -n "$NGINX" ] || die "nginx is missing: install Debian's 'nginx' package (apt-get install nginx)"
fi

# Every client connection is an open file: take all this shell may have, for nginx and the workers.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true
nofile="$(ulimit -n)"
connections=$(( nofile / 2 - 64 ))
if [ "$connections" -gt 4096 ]; then connections=4096; fi
if [ "$connections" -lt 1200 ]; then
    say "warning: only $nofile open files allowed (ulimit -Hn); nginx takes $connections connections per worker"
fi

# --- web workers -----------------------------------------------------------------------------------
cores="$(nproc)"
web_cores=$(( cores >= 4 ? cores / 2 : cores ))  # the measuring process keeps the upper half (4+ cores)
default_workers=$(( web_cores > 4 ? 4 : web_cores ))
WORKERS="${WORKERS:-$default_workers}"
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive number, not $WORKERS"

# --- the private runtime folder --------------------------------------------------------------------
RUN_DIR="${RUN_DIR:-${TMPDIR:-/tmp}/blockscope-class-$(id -u)-$PORT}"
LOG_CHECK_S="${LOG_CHECK_S:-10}"
if [ ! -e "$RUN_DIR" ]; then
    mkdir -m 711 -p "$RUN_DIR"
fi
[ -d "$RUN_DIR" ] && [ ! -L "$RUN_DIR" ] && [ -O "$RUN_DIR" ] ||
    die "$RUN_DIR must be a folder of this user's (set RUN_DIR to another one)"
chmod 711 "$RUN_DIR"  # nginx's workers may pass through (they run as nobody when started as root)
RUN_DIR="$(cd "$RUN_DIR" && pwd -P)"
exec 9>"$RUN_DIR/serve-class.lock"
flock -n 9 || die "another serve-class.sh already runs from $RUN_DIR (port $PORT)"

rm -rf "$RUN_DIR/nginx" "$RUN_DIR/sockets"  # a cache from an earlier run may hold other code's pages
mkdir -m 700 "$RUN_DIR/nginx"
# the workers' sockets (uvicorn makes them writable by anyone): only nginx's workers may reach them,
# so nobody on the machine can go around nginx's limits
mkdir -m 700 "$RUN_DIR/sockets"
mkdir -m 700 -p "$RUN_DIR/logs"
user_line=""
if [ "$(id -u)" = 0 ]; then
    # nginx's workers drop root; they need their own folder for temporary files and the cache, and
    # to pass into the sockets' folder (through its group, not through "others")
    user_line="user nobody $(id -gn nobody);"
    chown nobody "$RUN_DIR/nginx"
    chgrp "$(id -gn nobody)" "$RUN_DIR/sockets"
    chmod 710 "$RUN_DIR/sockets"
    runuser -u nobody -- test -x "$RUN_DIR/sockets" 2>/dev/null ||
        die "nginx's workers (user nobody) cannot pass through the folders above $RUN_DIR: set RUN_DIR to a folder under one others may pass through, such as /tmp"
fi
if [ -z "${BLOCKSCOPE_RUNTIME_DIR:-}" ]; then
    export BLOCKSCOPE_RUNTIME_DIR="$RUN_DIR/measuring"  # one measuring process for every worker
fi
mkdir -m 700 -p "$BLOCKSCOPE_RUNTIME_DIR" 2>/dev/null || true
# the workers would refuse to start with a folder they cannot use: say why now, once
"$PYTHON" -c 'import sys
from blockscope.config import get_settings
try:
    get_settings().runtime_path()
except (RuntimeError, ValueError) as exc:
    sys.exit(f"serve-class: {exc}")' || exit 1
[[ "$LOG_CHECK_S" =~ ^[1-9][0-9]*$ ]] || die "LOG_CHECK_S must be a whole number of seconds, not $LOG_CHECK_S"

# --- stopping: everything this script started, and nothing else -----------------------------------
# the measurement budget as the app reads it (any number pydantic takes, 1e1 included), plus 15 s
STOP_GRACE_S="${STOP_GRACE_S:-$("$PYTHON" -c 'from blockscope.config import get_settings
print(int(get_settings().measure_budget_s) + 15)')}"
[[ "$STOP_GRACE_S" =~ ^[0-9]+$ ]] || die "STOP_GRACE_S must be a whole number of seconds, not $STOP_GRACE_S"
nginx_pid=""
helper_pid=""
web_pids=()
stopping=0

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Wait until none of the given processes is alive, until `deadline` (in $SECONDS), or until a second
# Ctrl-C asks to hurry; `left` names the ones still alive.
force=0
wait_gone() {
    local deadline="$1" pid
    shift
    while :; do
        left=""
        for pid in "$@"; do
            if alive "$pid"; then left="$left $pid"; fi
        done
        if [ -z "$left" ] || [ "$SECONDS" -ge "$deadline" ] || [ "$force" = 1 ]; then
            return
        fi
        sleep 0.1 &  # waited for in the background: a second Ctrl-C reaches this script, not sleep
        wait $! || true
    done
}

stop_all() {
    local status=$?
    trap 'force=1; say "stopping now"' INT TERM
    trap - EXIT
    stopping=1
    say "stopping: answers in progress get up to $STOP_GRACE_S s (Ctrl-C again: stop now)"
    alive "$helper_pid" && kill -TERM "$helper_pid" 2>/dev/null
    # nginx first, gracefully (SIGQUIT): it stops accepting, lets every request in progress (a
    # measurement included) get its answer from the workers, and exits when none is left
    alive "$nginx_pid" && kill -QUIT "$nginx_pid" 2>/dev/null
    wait_gone $(( SECONDS + STOP_GRACE_S )) "$nginx_pid"
    if [ -n "$left" ]; then
        say "nginx still had answers in progress; stopping it"
        kill -TERM "$nginx_pid" 2>/dev/null || true
    fi
    # then the workers: nothing reaches them any more; uvicorn finishes what it was answering
    # (--timeout-graceful-shutdown), and the measuring process ends with the worker that started it
    for pid in "${web_pids[@]}"; do
        alive "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    force=0
    wait_gone $(( SECONDS + 10 )) "$nginx_pid" "${web_pids[@]}"
    if [ -n "$left" ]; then
        say "killing$left"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$RUN_DIR/nginx" "$RUN_DIR/sockets"
    say "stopped (logs in $RUN_DIR/logs)"
    exit "$status"
}
trap 'exit 0' INT TERM
trap stop_all EXIT

# Each background job in a process group of its own: Ctrl-C in the terminal reaches this script
# alone, which then stops nginx and the workers in order, rather than every process at once. With
# job control a foreground command would get the terminal (and the Ctrl-C) to itself, so from here
# on every command that takes time runs in the background and is waited for.
set -m

start_worker() {
    local i="$1" sock="$RUN_DIR/sockets/web-$1.sock"
    rm -f "$sock"
    # --timeout-keep-alive above nginx's upstream keepalive_timeout (60 s): nginx always closes an
    # idle connection first, so it never sends a request on one the worker is closing.
    "$PYTHON" -m uvicorn blockscope.main:app --uds "$sock" --no-server-header --no-access-log \
        --timeout-keep-alive 75 --timeout-graceful-shutdown 5 --backlog 2048 \
        </dev/null >>"$RUN_DIR/logs/web-$i.log" 2>&1 &
    web_pids[i]=$!
}

# A command run in the background and waited for, so that Ctrl-C and SIGTERM are acted on at once
# (bash runs a trap only once the foreground command has finished).
helper() {
    "$@" &
    helper_pid=$!
    wait "$helper_pid"
}

# Wait until every address answers /healthz (the workers analyse every kind once before they listen).
wait_healthy() {
    helper "$PYTHON" -c "$WAIT_HEALTHY" "$@"
}
WAIT_HEALTHY=$(cat <<'EOF'
import http.client, socket, sys, time

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=2)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(2)
        self.sock.connect(self.path)

deadline = time.monotonic() + 120
for address in sys.argv[1:]:
    while True:
        try:
            if address.startswith("unix:"):
                conn = UnixConnection(address[5:])
            else:
                host, _, port = address.rpartition(":")
                conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"{address} did not answer /healthz within 120 s")
        time.sleep(0.2)
EOF
)

upstreams=()
for (( i = 1; i <= WORKERS; i++ )); do
    start_worker "$i"
    upstreams+=(--upstream "unix:$RUN_DIR/sockets/web-$i.sock")
done

listen="$HOST:$PORT"
if [[ "$HOST" == *:* ]]; then listen="[$HOST]:$PORT"; fi
sets=(--set "LISTEN=$listen" --set "USER=$user_line" --set "WORKER_CONNECTIONS=$connections"
      --set "WORKER_RLIMIT_NOFILE=$nofile" --set "ERROR_LOG=$RUN_DIR/logs/nginx-error.log"
      --set "ACCESS_LOG=$RUN_DIR/logs/access.log")
for item in ${NGINX_SET:-}; do sets+=(--set "$item"); done
helper "$PYTHON" deploy/render_nginx.py --prefix "$RUN_DIR/nginx" "${upstreams[@]}" "${sets[@]}" \
    -o "$RUN_DIR/nginx.conf"
helper "$NGINX" -t -q -e stderr -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx.conf" ||
    die "nginx refused $RUN_DIR/nginx.conf"

say "starting $WORKERS web workers (logs in $RUN_DIR/logs)"
sockets=()
for (( i = 1; i <= WORKERS; i++ )); do sockets+=("unix:$RUN_DIR/sockets/web-$i.sock"); done
wait_healthy "${sockets[@]}" || die "the web workers did not start: see $RUN_DIR/logs/web-*.log"

"$NGINX" -e stderr -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx.conf" </dev/null &
nginx_pid=$!
probe="$HOST"
if [ "$HOST" = 0.0.0.0 ]; then probe=127.0.0.1; elif [ "$HOST" = "::" ]; then probe="::1"; fi
if [[ "$probe" == *:* ]]; then probe="[$probe]"; fi
wait_healthy "$probe:$PORT" || die "nginx did not answer on $listen: see $RUN_DIR/logs/nginx-error.log"
# start the measuring process now rather than on the first Measure click
helper "$PYTHON" -c "import urllib.request; urllib.request.urlopen('http://$probe:$PORT/api/measuring', timeout=60)" ||
    say "warning: the measuring process did not answer yet; it starts on the first measurement"

say "BlockScope for a class on http://$listen/ ($WORKERS web workers behind nginx)"
if [ "$HOST" = 0.0.0.0 ] && command -v hostname >/dev/null; then
    for address in $(hostname -I 2>/dev/null); do say "  students open http://$address:$PORT/"; done
fi
say "Ctrl-C stops it"

# Logs capped: past the size, a log is copied to NAME.1 (replacing the one before) and emptied in
# place, so each takes at most its cap (plus what arrives between two checks), twice. Every writer
# (nginx, the workers, the measuring process's error log) appends, so it goes on at the new end
# without reopening anything (a line written between the copy and the emptying is lost).
log_max_mb="${BLOCKSCOPE_LOG_MAX_MB:-8}"
log_max_bytes="$("$PYTHON" -c "print(int(float('$log_max_mb') * 2**20))" 2>/dev/null)" ||
    die "BLOCKSCOPE_LOG_MAX_MB must be a number of megabytes, not $log_max_mb"
cap_logs() {
    local log size
    for log in "$RUN_DIR"/logs/*.log "$BLOCKSCOPE_RUNTIME_DIR/measurer.err"; do
        [ -f "$log" ] || continue
        size="$(stat -c %s "$log" 2>/dev/null)" || continue
        if [ "$size" -ge "$log_max_bytes" ]; then
            cp -f "$log" "$log.1" && : >"$log"
        fi
    done
}

# Keep watch: a worker that exits is started again; nginx exiting ends everything.
next_check=$(( SECONDS + LOG_CHECK_S ))
while :; do
    sleep 1 &
    wait $! || true
    if ! alive "$nginx_pid"; then
        wait "$nginx_pid" 2>/dev/null && code=0 || code=$?
        die "nginx stopped on its own (status $code): see $RUN_DIR/logs/nginx-error.log"
    fi
    if [ "$SECONDS" -ge "$next_check" ]; then
        cap_logs &
        wait $! || true
        next_check=$(( SECONDS + LOG_CHECK_S ))
    fi
    for (( i = 1; i <= WORKERS; i++ )); do
        if [ "$stopping" = 0 ] && ! alive "${web_pids[i]}"; then
            say "web worker $i stopped; starting it again (see $RUN_DIR/logs/web-$i.log)"
            start_worker "$i"
        fi
    done
done
