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
set -euo pipefail
cd "$(dirname "$0")/.."

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

echo "==> cargo test"
cargo test --locked --workspace

echo "==> TUF conformance suite (docs/conformance.md)"
# The suite is fetched from GitHub; a machine that has neither a copy (TUF_CONFORMANCE_DIR, or an
# earlier clone under target/) nor access to github.com skips it, saying so.
if [ -n "${TUF_CONFORMANCE_DIR:-}" ] || [ -f target/conformance/tuf-conformance/tuf_conformance/conftest.py ] \
    || timeout 20 git ls-remote https://github.com/theupdateframework/tuf-conformance HEAD >/dev/null 2>&1; then
    bash tests/conformance/run.sh
else
    echo "    SKIPPED: tuf-conformance is not on this machine and github.com is unreachable"
    echo "    (fetch it elsewhere and set TUF_CONFORMANCE_DIR; docs/conformance.md has the last results)"
fi
