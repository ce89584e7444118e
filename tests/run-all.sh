#!/usr/bin/env bash
# Runs every tufmirror test on a fresh machine. It installs what the tests need first:
#   - SoftHSM2 and OpenSC (a real PKCS#11 token for the pkcs11: signer tests) and OpenSSL (the
#     exec: signer tests' signing program), from Debian,
#   - python-tuf (and an independent verifier's needs) and ministack (a local AWS emulator: the KMS
#     that the awskms: signer tests sign with, on loopback) in a virtualenv under target/,
# then runs the whole cargo test suite, and the TUF conformance suite against `tufmirror
# tuf-client` (tests/conformance/run.sh: faketime and the suite's own venv, about 15 s). The
# end-to-end tests use the real binary (CARGO_BIN_EXE_tufmirror), real HTTP on loopback and
# python-tuf as an independent TUF client.
#
# The test run and the conformance suite each run under a time limit (coreutils `timeout`), so that
# a test that hangs fails the run, saying so, instead of holding it forever: TUFMIRROR_TEST_TIMEOUT
# (default 40m, generous on 2 cores) for `cargo test` after the build, which is not limited, and
# TUFMIRROR_CONFORMANCE_TIMEOUT (default 10m) for the conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs COMMAND under LIMIT; when the limit fires (status 124, or 137 when TERM was not enough and
# KILL followed a minute later) it says so, and the status is the run's.
run_limited() {
    local limit=$1
    shift
    local status=0
    timeout --kill-after=60s "$limit" "$@" || status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "    FAILED: \`$*\` did not finish within $limit and was stopped (a hang?);" \
            "tests/run-all.sh's limit, see its header" >&2
    fi
    return "$status"
}

echo "==> SoftHSM2, OpenSC and OpenSSL (PKCS#11 and exec: signer tests)"
if ! dpkg -s softhsm2 opensc openssl >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends softhsm2 opensc openssl >/dev/null
fi

echo "==> preparing the Python test environment (python-tuf, ministack)"
TUFMIRROR_PYTHON="$(bash tests/python/setup-venv.sh)"
export TUFMIRROR_PYTHON
"$TUFMIRROR_PYTHON" -c 'import tuf.api.metadata, ministack, botocore'
echo "    using $TUFMIRROR_PYTHON"

echo "==> cargo test (building, then running under a ${TUFMIRROR_TEST_TIMEOUT:-40m} limit)"
cargo test --locked --workspace --no-run
run_limited "${TUFMIRROR_TEST_TIMEOUT:-40m}" cargo test --locked --workspace

echo "==> TUF conformance suite (docs/conformance.md)"
# The suite comes from, in order: TUF_CONFORMANCE_DIR; an earlier copy under target/; the read-only
# copy in ../shared/tuf-conformance that this workplace lays beside the repository (copied under
# target/ first, since installing it writes into its folder); GitHub. CI must run it: under CI=true a
# machine with none of these fails instead of skipping.
suite_copy=target/conformance/tuf-conformance
shared_suite=../shared/tuf-conformance
if [ -z "${TUF_CONFORMANCE_DIR:-}" ] && [ ! -f "$suite_copy/tuf_conformance/conftest.py" ] \
    && [ -f "$shared_suite/tuf_conformance/conftest.py" ]; then
    echo "    copying $shared_suite to $suite_copy"
    mkdir -p "$(dirname "$suite_copy")"
    rm -rf "$suite_copy"
    cp -R "$shared_suite" "$suite_copy"
    chmod -R u+w "$suite_copy"
fi
if [ -n "${TUF_CONFORMANCE_DIR:-}" ] || [ -f "$suite_copy/tuf_conformance/conftest.py" ] \
    || timeout 20 git ls-remote https://github.com/theupdateframework/tuf-conformance HEAD >/dev/null 2>&1; then
    run_limited "${TUFMIRROR_CONFORMANCE_TIMEOUT:-10m}" bash tests/conformance/run.sh
elif [ "${CI:-}" = "true" ]; then
    echo "    FAILED: tuf-conformance is not on this machine (no ../shared/tuf-conformance, no TUF_CONFORMANCE_DIR)" >&2
    exit 1
else
    echo "    SKIPPED: tuf-conformance is not on this machine and github.com is unreachable"
    echo "    (fetch it elsewhere and set TUF_CONFORMANCE_DIR; docs/conformance.md has the last results)"
fi
