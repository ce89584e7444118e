#!/usr/bin/env bash
# The CI fuzzing step (docs/fuzzing.md): every cargo-fuzz target built once and run briefly from
# seeds generated from the fixtures. Fails on a crash (a panic, a failed property, a timeout or
# an out-of-memory); prints a message and succeeds where the nightly toolchain is missing.
#
# The whole step, installing cargo-fuzz and building included, stays under FUZZ_BUDGET seconds
# (default 280, under the five minutes CI allows): what is left after the install and the build
# is shared between the targets, at most FUZZ_MAX_SECONDS (default 30) and FUZZ_MAX_RUNS runs
# each. The targets are built unoptimized and without AddressSanitizer (`--dev -s none`): that
# build takes about half the CPU time of the default one (optimized, ASan), which alone would
# use up the five minutes on two cores; debug assertions and overflow checks stay on. The long
# runs in docs/fuzzing.md use the default build. FUZZ_TARGET_DIR (default fuzz/target) is the
# build folder.
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS
budget=${FUZZ_BUDGET:-280}
max_seconds=${FUZZ_MAX_SECONDS:-30}
max_runs=${FUZZ_MAX_RUNS:-2000000}
cargo_fuzz_version=0.13.2

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "==> fuzz: skipped: no nightly toolchain (rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> fuzz: installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi
if command -v python3 >/dev/null; then
    python3 seed.py
else
    echo "==> fuzz: no python3: running without seeds"
fi

echo "==> fuzz: building ($((SECONDS - start)) s so far)"
target_dir=${FUZZ_TARGET_DIR:-target}
build=(--dev -s none --target-dir "$target_dir")
cargo +nightly fuzz build "${build[@]}"
mapfile -t targets < <(cargo +nightly fuzz list)

left=$((budget - (SECONDS - start) - 5 * ${#targets[@]}))
each=$((left / ${#targets[@]}))
if ((each > max_seconds)); then each=$max_seconds; fi
if ((each < 3)); then
    # A slow or busy machine: still replay the seeds and search a little, over the budget.
    echo "==> fuzz: the install and build took $((SECONDS - start)) s of the ${budget} s; 3 s per target" >&2
    each=3
fi
for target in "${targets[@]}"; do
    echo "==> fuzz: $target for ${each} s or $max_runs runs"
    mkdir -p "corpus/$target"
    # -timeout: one input running 10 s is a hang; -rss_limit_mb: a huge allocation is a crash.
    if ! cargo +nightly fuzz run "${build[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$each" -runs="$max_runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        2>"$target_dir/fuzz-$target.log"; then
        tail -n 60 "$target_dir/fuzz-$target.log" >&2
        echo "==> fuzz: $target FAILED; the input is in fuzz/artifacts/$target/ (reproduce:" \
            "cargo +nightly fuzz run $target fuzz/artifacts/$target/<file>)" >&2
        exit 1
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec)|^Done" "$target_dir/fuzz-$target.log" || true
done
echo "==> fuzz: done in $((SECONDS - start)) s"
