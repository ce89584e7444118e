#!/usr/bin/env bash
# Proxy overhead: `cargo generate-lockfile` for a project with 198 packages (the fixture in
# tests/fixtures/crates-io-sample), through `tufmirror proxy` vs straight to the mirror.
#
#   bench/proxy.sh                      # 7 rounds, alternating direct / proxy
#   ROUNDS=11 bench/proxy.sh
#
# The mirror is a `tufmirror serve` daemon on loopback over the fixture index: one
# `tufmirror sync` from a throw-away `python3 -m http.server` over tests/fixtures/.../index fills
# its store, then it serves with its upstream pointed at a closed port and
# `revalidate_after = refresh_interval = "1000d"`, so no answer waits for an upstream. The proxy
# runs in front of it (`tufmirror proxy --mirror ... --root <the daemon's 1.root.json>`), with its
# own state folder, for the whole run. Each measured run is a fresh copy of the project (no
# Cargo.lock) with a fresh CARGO_HOME, so cargo asks for every index file; one unmeasured run of
# each warms the daemon, the proxy and the page cache. Each run's Cargo.lock must equal the
# fixture's. Prints the median wall time of each and proxy / direct (target: at most 1.2x).
#
# Options (environment):
#   ROUNDS=7           measured runs of each, alternating direct, proxy
#   WARMUP=1           unmeasured runs of each first
#   TUFMIRROR_LOG=warn RUST_LOG of the daemon and the proxy
#   WORK=              working folder (default: a fresh mktemp -d under target/); kept when set
#   KEEP=0             1: keep the default working folder after the run
#   NO_BUILD=0         1: use the existing target/release/tufmirror
#   TUFMIRROR_BIN=     the tufmirror binary (default target/release/tufmirror)
#   CARGO_BIN=cargo    the cargo that resolves
set -euo pipefail

ROUNDS=${ROUNDS:-7}
WARMUP=${WARMUP:-1}
TUFMIRROR_LOG=${TUFMIRROR_LOG:-warn}
KEEP=${KEEP:-0}
NO_BUILD=${NO_BUILD:-0}
CARGO_BIN=${CARGO_BIN:-cargo}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FIXTURE=$ROOT/tests/fixtures/crates-io-sample

BENCH_NAME=proxy.sh
source "$ROOT/bench/lib.sh"

command -v python3 >/dev/null || die "python3 is needed for the throw-away upstream"
command -v curl >/dev/null || die "curl is needed"
command -v "$CARGO_BIN" >/dev/null || die "no $CARGO_BIN"

wait_http() { # url, seconds: any HTTP answer
    local url=$1 deadline=$((SECONDS + $2))
    until curl -sS -o /dev/null "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

now_ms() { date +%s%3N; }

# --- build ---------------------------------------------------------------------------------------
if [[ $NO_BUILD != 1 ]]; then
    log "cargo build --release (tufmirror)"
    cargo build --release -q -p tufmirror --bin tufmirror >&2
fi
TUFMIRROR=${TUFMIRROR_BIN:-$ROOT/target/release/tufmirror}
[[ -x $TUFMIRROR ]] || die "missing $TUFMIRROR (run without NO_BUILD=1)"
"$TUFMIRROR" proxy --help >/dev/null 2>&1 || die "$TUFMIRROR has no proxy subcommand"

# --- working folder ------------------------------------------------------------------------------
if [[ -z ${WORK:-} ]]; then
    mkdir -p "$ROOT/target"
    WORK=$(mktemp -d "$ROOT/target/bench-proxy.XXXXXX")
    WORK_IS_TEMP=1
else
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
fi
log "working folder $WORK"
(cd "$FIXTURE/index" && find . -type f -printf '%P\n' | sed 's#.*/##' | LC_ALL=C sort) >"$WORK/crates.txt"
NCRATES=$(wc -l <"$WORK/crates.txt")
NPACKAGES=$(grep -c '^\[\[package\]\]' "$FIXTURE/project/Cargo.lock")

# --- the daemon: config, one sync from a throw-away upstream -------------------------------------
DAEMON=$WORK/daemon
mkdir -p "$DAEMON"
TM_PORT=$(free_port)
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
[mirror]
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
NOPROXY=(env -u HTTPS_PROXY -u HTTP_PROXY -u ALL_PROXY -u https_proxy -u http_proxy -u all_proxy)

if [[ ! -f $DAEMON/sync.done ]]; then
    rm -rf "$DAEMON/data"
    UP_PORT=$(free_port)
    write_config "$UP_PORT"
    python3 -m http.server --bind 127.0.0.1 --directory "$FIXTURE/index" "$UP_PORT" >"$WORK/upstream.log" 2>&1 &
    UP_PID=$!
    PIDS+=("$UP_PID")
    wait_http "http://127.0.0.1:$UP_PORT/$(cd "$FIXTURE/index" && find . -type f -printf '%P\n' | head -1)" 20 \
        || die "python upstream did not start"
    log "tufmirror sync of $NCRATES crates (upstream: python3 http.server on port $UP_PORT)"
    (cd "$DAEMON" && "${NOPROXY[@]}" RUST_LOG=warn "$TUFMIRROR" sync --config tufmirror.toml >&2) || die "tufmirror sync failed"
    stop_pid "$UP_PID"
    touch "$DAEMON/sync.done"
fi
write_config "$(free_port)" # serve with an upstream that is not there

(cd "$DAEMON" && exec "${NOPROXY[@]}" RUST_LOG="$TUFMIRROR_LOG" "$TUFMIRROR" serve --config tufmirror.toml) \
    >"$WORK/serve.stdout" 2>"$WORK/serve.log" &
PIDS+=("$!")
TM_URL=http://127.0.0.1:$TM_PORT
wait_http "$TM_URL/tuf/timestamp.json" 60 || die "tufmirror serve did not answer (see $WORK/serve.log)"

# --- the proxy -----------------------------------------------------------------------------------
PX_PORT=$(free_port)
"${NOPROXY[@]}" RUST_LOG="$TUFMIRROR_LOG" "$TUFMIRROR" proxy --mirror "$TM_URL" \
    --root "$DAEMON/data/keys/1.root.json" --listen "127.0.0.1:$PX_PORT" --state "$WORK/proxy-state" \
    >"$WORK/proxy.log" 2>&1 &
PIDS+=("$!")
PX_URL=http://127.0.0.1:$PX_PORT
wait_http "$PX_URL/healthz" 60 || die "tufmirror proxy did not answer (see $WORK/proxy.log)"
for url in "$TM_URL" "$PX_URL"; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$url/index/se/rd/serde")
    [[ $code == 200 ]] || die "$url/index/se/rd/serde: HTTP $code"
done

# --- runs ----------------------------------------------------------------------------------------
strip() { grep -v '^#' "$1"; }
N=0
run_once() { # name url -> prints milliseconds
    local name=$1 url=$2
    N=$((N + 1))
    local dir=$WORK/runs/$N-$name
    mkdir -p "$dir/project/.cargo" "$dir/cargo-home"
    # An empty [workspace]: the copy sits under target/, inside tufmirror's own workspace.
    { cat "$FIXTURE/project/Cargo.toml"; printf '\n[workspace]\n'; } >"$dir/project/Cargo.toml"
    cp -r "$FIXTURE/project/src" "$dir/project/"
    printf '[source.crates-io]\nreplace-with = "mirror"\n\n[source.mirror]\nregistry = "sparse+%s/index/"\n' "$url" \
        >"$dir/project/.cargo/config.toml"
    local t0 t1
    t0=$(now_ms)
    (cd "$dir/project" && "${NOPROXY[@]}" CARGO_HOME="$dir/cargo-home" CARGO_TARGET_DIR="$dir/target" \
        CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse CARGO_TERM_PROGRESS_WHEN=never \
        "$CARGO_BIN" generate-lockfile -q) >"$dir/cargo.log" 2>&1 || { cat "$dir/cargo.log" >&2; die "$name: cargo failed"; }
    t1=$(now_ms)
    cmp -s <(strip "$dir/project/Cargo.lock") <(strip "$FIXTURE/project/Cargo.lock") \
        || die "$name: Cargo.lock differs from the fixture's ($dir/project/Cargo.lock)"
    rm -rf "$dir"
    echo $((t1 - t0))
}

for i in $(seq 1 "$WARMUP"); do
    d=$(run_once direct "$TM_URL") || exit 1
    p=$(run_once proxy "$PX_URL") || exit 1
    log "warm-up $i: direct $d ms, proxy $p ms"
done
: >"$WORK/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
    d=$(run_once direct "$TM_URL") || exit 1
    p=$(run_once proxy "$PX_URL") || exit 1
    log "round $round/$ROUNDS: direct $d ms, proxy $p ms"
    printf 'direct\t%s\nproxy\t%s\n' "$d" "$p" >>"$WORK/results.tsv"
done

# --- report --------------------------------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "proxy overhead: cargo generate-lockfile, $NPACKAGES packages ($NCRATES index files), fresh CARGO_HOME per run, $ROUNDS round(s)"
echo "machine: nproc $(nproc), $CPU; $("$CARGO_BIN" --version)"
echo
awk -F'\t' '
    function median(list, n,    i, j, t, a) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { all[$1] = all[$1] " " $2 }
    $1 == "direct" { d = $2 }
    $1 == "proxy" { ratios = ratios " " $2 / d }
    END {
        printf "| cargo reads | median | min | max | runs (ms) |\n|---|---:|---:|---:|---|\n"
        n = split("direct proxy", names, " ")
        for (k = 1; k <= n; k++) {
            s = names[k]; m = split(substr(all[s], 2), v, " ")
            lo = v[1]; hi = v[1]; for (i = 2; i <= m; i++) { if (v[i] + 0 < lo + 0) lo = v[i]; if (v[i] + 0 > hi + 0) hi = v[i] }
            M[s] = median(all[s])
            printf "| %s | %.0f ms | %d ms | %d ms | %s |\n", (s == "direct" ? "the mirror (direct)" : "the proxy"), M[s], lo, hi, substr(all[s], 2)
        }
        printf "| **proxy / direct** | **%.2fx** | | | median of the per-round ratios: %.2fx |\n", M["proxy"] / M["direct"], median(ratios)
    }' "$WORK/results.tsv"
