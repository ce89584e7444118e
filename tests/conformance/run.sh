#!/usr/bin/env bash
# Runs the public TUF conformance suite (theupdateframework/tuf-conformance) against
# `tufmirror tuf-client`, or with `--client python-tuf` against python-tuf's own client (the
# reference the suite is written against), for comparison. docs/conformance.md has the results.
#
#   tests/conformance/run.sh [--client tufmirror|python-tuf] [PYTEST ARGS...]
#   tests/conformance/run.sh -k test_snapshot_rollback -rA      # one test, with client output
#
# It sets up what the suite needs, each step skipped when already done:
#   - faketime (Debian package): the suite runs clients at fake times to test expiry;
#   - the suite at the commit below, in target/conformance/tuf-conformance (git clone), or the
#     checkout named by TUF_CONFORMANCE_DIR (for machines without access to GitHub);
#   - a venv at target/conformance/venv with the suite and its pinned dependencies (python-tuf,
#     securesystemslib, pytest) from PyPI;
#   - a debug build of tufmirror, unless TUFMIRROR_BIN names a binary.
# The suite serves its test repositories on loopback; the run itself needs no network.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUITE_COMMIT=eec841c186f81f2d9d8d30460c7e7deefa615f9e
SUITE_URL=https://github.com/theupdateframework/tuf-conformance

client=tufmirror
if [ "${1:-}" = "--client" ]; then
    client=${2:?--client needs tufmirror or python-tuf}
    shift 2
fi

if ! command -v faketime >/dev/null 2>&1; then
    echo "==> installing faketime"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends faketime >/dev/null
fi

suite=${TUF_CONFORMANCE_DIR:-target/conformance/tuf-conformance}
if [ ! -f "$suite/tuf_conformance/conftest.py" ]; then
    echo "==> fetching tuf-conformance $SUITE_COMMIT"
    rm -rf "$suite"
    git clone --quiet "$SUITE_URL" "$suite"
    git -C "$suite" checkout --quiet "$SUITE_COMMIT"
elif [ -d "$suite/.git" ] && [ "$(git -C "$suite" rev-parse HEAD)" != "$SUITE_COMMIT" ]; then
    echo "==> $suite is not at $SUITE_COMMIT: checking it out"
    git -C "$suite" fetch --quiet origin
    git -C "$suite" checkout --quiet "$SUITE_COMMIT"
fi
suite=$(cd "$suite" && pwd)

venv=target/conformance/venv
stamp="$venv/.tuf-conformance-commit"
if [ ! -x "$venv/bin/pytest" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$SUITE_COMMIT" ]; then
    echo "==> preparing $venv (the suite's Python dependencies)"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -e "$suite"
    echo "$SUITE_COMMIT" >"$stamp"
fi
venv=$(cd "$venv" && pwd)

case $client in
    tufmirror)
        if [ -z "${TUFMIRROR_BIN:-}" ]; then
            echo "==> cargo build --bin tufmirror"
            cargo build --quiet --bin tufmirror
        fi
        # The wrapper script is the entrypoint so that the suite finds its .xfails file beside it.
        entrypoint="$PWD/tests/conformance/tufmirror-tuf-client"
        ;;
    python-tuf)
        entrypoint="$venv/bin/python $suite/clients/python-tuf/python_tuf.py"
        ;;
    *)
        echo "unknown client $client (tufmirror or python-tuf)" >&2
        exit 2
        ;;
esac

echo "==> tuf-conformance $SUITE_COMMIT against $client"
cd "$suite"
exec "$venv/bin/pytest" -q -p no:cacheprovider tuf_conformance --entrypoint "$entrypoint" "$@"
