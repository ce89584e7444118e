#!/usr/bin/env bash
# Runs every tufmirror test on a fresh machine. It installs what the tests need first:
#   - python-tuf (and an independent verifier's needs) in a virtualenv under target/,
# then runs the whole cargo test suite. The end-to-end tests use the real binary
# (CARGO_BIN_EXE_tufmirror), real HTTP on loopback and python-tuf as an independent TUF client.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> preparing the Python test environment (python-tuf)"
TUFMIRROR_PYTHON="$(bash tests/python/setup-venv.sh)"
export TUFMIRROR_PYTHON
echo "    using $TUFMIRROR_PYTHON"

echo "==> cargo test"
cargo test --locked --workspace
