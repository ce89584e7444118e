#!/usr/bin/env bash
# The long fuzz runs of docs/fuzzing.md: each target, one after another, until 10^7 executions or
# an hour (LONG_SECONDS, LONG_RUNS), from its corpus in fuzz/corpus/<target>/ (seeded by seed.py,
# grown by every earlier run). The default cargo-fuzz build: optimized, AddressSanitizer, debug
# assertions. Each run's libFuzzer output is kept in fuzz/target/long-<target>.log; the last lines
# (final stats) are what docs/fuzzing.md records. Stops at the first finding, whose input is left
# in fuzz/artifacts/<target>/.
#
#   bash fuzz/run-long.sh                     # every target
#   bash fuzz/run-long.sh http_path key_uri   # some
set -euo pipefail
cd "$(dirname "$0")"
seconds=${LONG_SECONDS:-3600}
runs=${LONG_RUNS:-10000000}

python3 seed.py
cargo +nightly fuzz build
if (($# > 0)); then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
for target in "${targets[@]}"; do
    log=target/long-$target.log
    echo "==> $target: until $runs executions or $seconds s (log: fuzz/$log), $(date -u +%H:%M:%S)"
    mkdir -p "corpus/$target"
    start=$SECONDS
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" \
        -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>"$log"; then
        tail -n 40 "$log" >&2
        echo "==> $target FAILED after $((SECONDS - start)) s; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^#[0-9]+\s+(INITED|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$log" || true
    echo "==> $target: done in $((SECONDS - start)) s"
done
