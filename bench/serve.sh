#!/usr/bin/env bash
# Serving benchmark: tufmirror vs nginx over the same index files on the same machine.
#
#   bench/serve.sh                          # 20,000 files, wrk -t2 -c64 -d15s, one round
#   FILES=50000 DURATION=30s CONNECTIONS=128 ROUNDS=3 bench/serve.sh
#
# It generates a synthetic sparse index (crates/testkit), serves it with nginx (static files,
# sendfile) and with `tufmirror serve` (filled by one `tufmirror sync` from a throw-away
# python3 http.server over the same folder), then loads each in turn with wrk and the same
# random path mix (bench/paths.lua) and prints requests/s, p99 latency and tufmirror/nginx.
#
# Options (environment):
#   FILES=20000        index files generated (synthetic_index FILES SEED)
#   SEED=1             synthetic index seed; also seeds the path draw
#   DURATION=15s       wrk -d per run
#   CONNECTIONS=64     wrk -c
#   THREADS=2          wrk -t
#   ROUNDS=1           runs per server, alternating nginx, tufmirror; the median is reported
#   WARMUP=3s          an unreported wrk run against each server first ("0" to skip)
#   ON_DEMAND=true     [mirror] on_demand of the daemon (true: one redb read per request)
#   NGINX_WORKERS=     worker_processes (default: nproc)
#   NGINX_FILE_CACHE=on  open_file_cache in nginx.conf (off: every request opens the file)
#   TUFMIRROR_LOG=warn RUST_LOG of `tufmirror serve`
#   WORK=              working folder (default: a fresh mktemp -d under target/); kept when set
#   KEEP=0             1: keep the default working folder after the run
#   NO_INSTALL=0       1: never apt-get install nginx/wrk (fail instead)
#   NO_BUILD=0         1: use the existing target/release binaries
#   TUFMIRROR_BIN=     the tufmirror binary to sync and serve with (default target/release/tufmirror),
#                      e.g. a build of another branch
set -euo pipefail

FILES=${FILES:-20000}
SEED=${SEED:-1}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-3s}
ON_DEMAND=${ON_DEMAND:-true}
NGINX_WORKERS=${NGINX_WORKERS:-$(nproc)}
NGINX_FILE_CACHE=${NGINX_FILE_CACHE:-on}
TUFMIRROR_LOG=${TUFMIRROR_LOG:-warn}
KEEP=${KEEP:-0}
NO_INSTALL=${NO_INSTALL:-0}
NO_BUILD=${NO_BUILD:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BENCH_NAME=serve.sh
source "$ROOT/bench/lib.sh"

# Runs a command in the background and waits for it, so that a signal reaches the traps at once
# (bash runs traps only after a foreground command ends) and cleanup() stops it too.
run() {
    "$@" &
    local pid=$! status=0
    PIDS+=("$pid")
    wait "$pid" || status=$?
    local keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
    return "$status"
}

# --- tools ---------------------------------------------------------------------------------------
need_apt() {
    [[ $NO_INSTALL == 1 ]] && die "$1 is missing and NO_INSTALL=1"
    command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get"
    local as_root=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "$1 is missing; run as root or install it"
        as_root=(sudo)
    fi
    log "installing $*"
    # RUNLEVEL=1: the Debian package must not start a system nginx on port 80.
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q "${@:2}" >&2 \
        || { "${as_root[@]}" apt-get update -q >&2 && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q "${@:2}" >&2; }
}
NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
if [[ -z $NGINX ]]; then
    need_apt nginx nginx-light || need_apt nginx nginx
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[[ -x $NGINX ]] || die "nginx not found"
command -v wrk >/dev/null || need_apt wrk wrk
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v python3 >/dev/null || die "python3 is needed for the throw-away upstream"
command -v curl >/dev/null || need_apt curl curl


wait_http() { # url, seconds
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# --- build ---------------------------------------------------------------------------------------
if [[ $NO_BUILD != 1 ]]; then
    log "cargo build --release (tufmirror, synthetic_index example)"
    cargo build --release -q -p tufmirror --bin tufmirror >&2
    cargo build --release -q -p tufmirror-testkit --example synthetic_index >&2
fi
TUFMIRROR=${TUFMIRROR_BIN:-$ROOT/target/release/tufmirror}
SYNTH=$ROOT/target/release/examples/synthetic_index
[[ -x $TUFMIRROR && -x $SYNTH ]] || die "missing $TUFMIRROR or $SYNTH (run without NO_BUILD=1)"

# --- working folder ------------------------------------------------------------------------------
if [[ -z ${WORK:-} ]]; then
    mkdir -p "$ROOT/target"
    WORK=$(mktemp -d "$ROOT/target/bench-serve.XXXXXX")
    WORK_IS_TEMP=1
else
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
fi
INDEX=$WORK/index
log "working folder $WORK"

# --- data ----------------------------------------------------------------------------------------
if [[ ! -f $WORK/index.done || $(cat "$WORK/index.done") != "$FILES $SEED" ]]; then
    rm -rf "$INDEX" "$WORK/index.done"
    log "writing a synthetic index: $FILES files, seed $SEED"
    "$SYNTH" "$FILES" "$SEED" "$INDEX" | grep -E '^(generated|written)' >&2
    echo "$FILES $SEED" >"$WORK/index.done"
fi
(cd "$INDEX" && find . -type f -printf '%P\n' | LC_ALL=C sort) >"$WORK/paths.txt"
# Crate names: the last path component (index paths are lowercase, names are case-insensitive).
sed 's#.*/##' "$WORK/paths.txt" >"$WORK/crates.txt"
NPATHS=$(wc -l <"$WORK/paths.txt")
[[ $NPATHS -eq $FILES ]] || die "expected $FILES files in $INDEX, found $NPATHS"
INDEX_BYTES=$(find "$INDEX" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
log "$NPATHS index files, $INDEX_BYTES bytes"

# --- tufmirror: config, sync from a throw-away upstream ------------------------------------------
DAEMON=$WORK/daemon
mkdir -p "$DAEMON"
TM_PORT=$(free_port)
UP_PORT=$(free_port)
write_config() { # upstream port
    cat >"$DAEMON/tufmirror.toml" <<EOF
[server]
listen = "127.0.0.1:$TM_PORT"
public_url = "http://127.0.0.1:$TM_PORT"
request_timeout = "20s"
[storage]
data_dir = "data"
[upstream]
index_url = "http://127.0.0.1:$1/"
download_hosts = ["127.0.0.1"]
timeout = "30s"
retries = 2
max_concurrency = 16
[mirror]
on_demand = $ON_DEMAND
list_file = "$WORK/crates.txt"
revalidate_after = "1000d"
refresh_interval = "1000d"
[keys]
root_dir = "data/keys"
targets = "file:data/keys/targets.pem"
snapshot = "file:data/keys/snapshot.pem"
timestamp = "file:data/keys/timestamp.pem"
EOF
}
# The daemon talks to loopback only: no proxy.
NOPROXY=(env -u HTTPS_PROXY -u HTTP_PROXY -u ALL_PROXY -u https_proxy -u http_proxy -u all_proxy)

if [[ ! -f $DAEMON/sync.done || $(cat "$DAEMON/sync.done") != "$FILES $SEED" ]]; then
    rm -rf "$DAEMON/data" "$DAEMON/sync.done"
    write_config "$UP_PORT"
    python3 -m http.server --bind 127.0.0.1 --directory "$INDEX" "$UP_PORT" >"$WORK/upstream.log" 2>&1 &
    UP_PID=$!
    PIDS+=("$UP_PID")
    wait_http "http://127.0.0.1:$UP_PORT/$(head -1 "$WORK/paths.txt")" 20 || die "python upstream did not start"
    log "tufmirror sync (upstream: python3 http.server on port $UP_PORT)"
    t0=$SECONDS
    run "${NOPROXY[@]}" -C "$DAEMON" RUST_LOG=warn "$TUFMIRROR" sync --config tufmirror.toml >&2 \
        || die "tufmirror sync failed"
    log "sync took $((SECONDS - t0)) s"
    stop_pid "$UP_PID"
    echo "$FILES $SEED" >"$DAEMON/sync.done"
fi
# Serve with an upstream that is not there: every answer must come from the store.
DEAD_PORT=$(free_port)
write_config "$DEAD_PORT"

# --- nginx ---------------------------------------------------------------------------------------
NG=$WORK/nginx
NG_PORT=$(free_port)
mkdir -p "$NG/logs" "$NG/tmp"
# open_file_cache keeps a descriptor per cached file in each worker: it must fit under the
# open-files limit beside the connections (a worker that runs out fails accept() and open()).
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
NG_CACHE_MAX=$((NOFILE - CONNECTIONS - 256))
if [[ $NGINX_FILE_CACHE == on ]]; then
    ((NG_CACHE_MAX >= 1000)) || die "open-files limit $NOFILE too low for open_file_cache; NGINX_FILE_CACHE=off"
    ((NG_CACHE_MAX > FILES)) && NG_CACHE_MAX=$FILES
    NG_CACHE="max=$NG_CACHE_MAX inactive=600s"
else
    NG_CACHE=off
fi
NG_USER=""
[[ $(id -u) == 0 ]] && NG_USER="user root;" # workers must read the 0700 mktemp folder
cat >"$NG/nginx.conf" <<EOF
$NG_USER
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile $NOFILE;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    etag on;
    default_type text/plain;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    open_file_cache $NG_CACHE;
    server {
        listen 127.0.0.1:$NG_PORT;
        location /index/ {
            alias $INDEX/;
        }
    }
}
EOF
"$NGINX" -t -q -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' >&2 || die "nginx.conf rejected"
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;' 2>"$NG/logs/stderr.log" &
NG_PID=$!
PIDS+=("$NG_PID")

# --- tufmirror serve -----------------------------------------------------------------------------
"${NOPROXY[@]}" -C "$DAEMON" RUST_LOG="$TUFMIRROR_LOG" "$TUFMIRROR" serve --config tufmirror.toml \
    >"$WORK/serve.stdout" 2>"$WORK/serve.log" &
TM_PID=$!
PIDS+=("$TM_PID")

NG_URL=http://127.0.0.1:$NG_PORT
TM_URL=http://127.0.0.1:$TM_PORT
FIRST=$(head -1 "$WORK/paths.txt")
wait_http "$NG_URL/index/$FIRST" 20 || die "nginx did not answer (see $NG/logs)"
wait_http "$TM_URL/index/$FIRST" 60 || die "tufmirror did not answer (see $WORK/serve.log)"

# --- check: both answer 200 with the same bytes, tufmirror with a proof --------------------------
log "checking a few paths on both servers"
for p in $(awk -v n="$NPATHS" 'BEGIN { srand(7) } { a[NR] = $0 } END { for (i = 0; i < 8; i++) print a[int(rand() * n) + 1] }' "$WORK/paths.txt") "$FIRST"; do
    for url in "$NG_URL" "$TM_URL"; do
        code=$(curl -sS -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$url/index/$p")
        [[ $code == 200 ]] || die "$url/index/$p: HTTP $code"
        cmp -s "$WORK/body" "$INDEX/$p" || die "$url/index/$p: body differs from the file"
    done
    grep -qi '^tuf-merkle-proof: ' "$WORK/headers" || die "$TM_URL/index/$p: no tuf-merkle-proof header"
done
HDR_TM=$(curl -sS -o /dev/null -w '%{size_header}' "$TM_URL/index/$FIRST")
HDR_NG=$(curl -sS -o /dev/null -w '%{size_header}' "$NG_URL/index/$FIRST")
log "response headers for $FIRST: tufmirror $HDR_TM bytes, nginx $HDR_NG bytes"

# --- load ----------------------------------------------------------------------------------------
to_us() { # "123.45us" | "1.23ms" | "1.02s" -> microseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.1f", v }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.1f", v * 1000 }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.1f", v * 60e6 }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.1f", v * 1e6 }
        else { printf "nan" } }'
}

run_wrk() { # name url duration out
    run wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency -s "$ROOT/bench/paths.lua" "$2" -- "$WORK/paths.txt" "$SEED" >"$4" 2>&1 \
        || { cat "$4" >&2; die "wrk against $1 failed"; }
    if grep -q 'Non-2xx or 3xx responses' "$4"; then
        cat "$4" >&2
        die "$1 answered non-2xx/3xx responses"
    fi
    if grep -q 'Socket errors' "$4"; then
        log "warning: $1: $(grep 'Socket errors' "$4" | sed 's/^ *//')"
    fi
}

if [[ $WARMUP != 0 ]]; then
    log "warm-up: $WARMUP each"
    run_wrk nginx "$NG_URL" "$WARMUP" "$WORK/warmup-nginx.txt"
    run_wrk tufmirror "$TM_URL" "$WARMUP" "$WORK/warmup-tufmirror.txt"
fi

: >"$WORK/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
    for server in nginx tufmirror; do
        url=$NG_URL
        [[ $server == tufmirror ]] && url=$TM_URL
        out=$WORK/wrk-$server-$round.txt
        log "round $round/$ROUNDS: $server, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
        run_wrk "$server" "$url" "$DURATION" "$out"
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
        p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
        mbs=$(awk '/^Transfer\/sec:/ { print $2 }' "$out")
        [[ -n $rps && -n $p99 ]] || { cat "$out" >&2; die "cannot parse wrk output"; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$rps" "$p50" "$p99" "$mbs" >>"$WORK/results.tsv"
    done
done

# --- report --------------------------------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's#.*/##')
WRK_VERSION=$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')
echo
echo "serving benchmark: $NPATHS index files ($INDEX_BYTES bytes), wrk $WRK_VERSION -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS round(s)"
echo "machine: nproc $(nproc), $CPU; nginx $NGINX_VERSION ($NGINX_WORKERS workers, open_file_cache $NG_CACHE); tufmirror on_demand=$ON_DEMAND"
echo
awk -F'\t' '
    function median(list, n,    i, j, t, a) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rps[$1] = rps[$1] " " $3; p50[$1] = p50[$1] " " $4; p99[$1] = p99[$1] " " $5; mbs[$1] = $6; all[$1] = all[$1] " " int($3) }
    END {
        printf "| server | requests/s | p50 latency | p99 latency | transfer/s (last run) | runs (req/s) |\n"
        printf "|---|---:|---:|---:|---:|---|\n"
        n = split("nginx tufmirror", names, " ")
        for (k = 1; k <= n; k++) {
            s = names[k]
            R[s] = median(rps[s]); P50[s] = median(p50[s]); P99[s] = median(p99[s])
            printf "| %s | %.0f | %.2f ms | %.2f ms | %s | %s |\n", s, R[s], P50[s] / 1000, P99[s] / 1000, mbs[s], substr(all[s], 2)
        }
        printf "| **tufmirror / nginx** | **%.2f×** | %.2f× | %.2f× | | |\n", R["tufmirror"] / R["nginx"], P50["tufmirror"] / P50["nginx"], P99["tufmirror"] / P99["nginx"]
    }' "$WORK/results.tsv"
echo
log "raw wrk output: $WORK/wrk-*.txt (removed on exit unless KEEP=1 or WORK= is set)"
