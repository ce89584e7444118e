# Shared by the benchmark scripts (source it after setting BENCH_NAME, KEEP, and optionally WORK
# and WORK_IS_TEMP): messages on the script's stderr, and a cleanup that stops only the processes
# the script started (their PIDs are in PIDS) and removes its temporary working folder.

# The script's stderr, kept as fd 3 so that messages (also those of cleanup(), which may run while
# a command's output is redirected to a file) reach the terminal.
exec 3>&2
log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&3; }
die() { log "error: $*"; exit 1; }

PIDS=()
WORK_IS_TEMP=0
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Give each one a moment, then SIGKILL.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $WORK_IS_TEMP == 1 && $KEEP != 1 && -n ${WORK:-} ]]; then
        rm -rf -- "$WORK"
    elif [[ -n ${WORK:-} ]]; then
        log "working folder kept: $WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process we started and forgets it.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# A loopback port that was free a moment ago.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
