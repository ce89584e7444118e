#!/bin/sh
# Creates (or reuses) the Python venv for the interoperability tests and prints its interpreter.
#
#   PY=$(tests/python/setup-venv.sh) && TUFMIRROR_PYTHON=$PY cargo test --test python_interop
#
# The venv lives at ${TUFMIRROR_VENV:-target/tufmirror-venv} (a relative path is taken from the
# repository root). It is rebuilt only when tests/python/requirements.txt changes (a stamp file
# holds the hash of the requirements it was built from) or when it is broken. This is the only
# step that talks to PyPI; the tests themselves stay on the loopback interface.
# Progress goes to stderr; stdout is only the interpreter's path.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
req="$root/tests/python/requirements.txt"
venv=${TUFMIRROR_VENV:-target/tufmirror-venv}
case $venv in
    /*) ;;
    *) venv="$root/$venv" ;;
esac
python=${PYTHON:-python3}
py="$venv/bin/python"
stamp="$venv/.tufmirror-requirements.sha256"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup-venv: $python not found (set PYTHON to a Python >= 3.10)" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "setup-venv: python-tuf needs Python >= 3.10; $python is $("$python" -V 2>&1)" >&2
    exit 1
fi

want=$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$req")

if [ -x "$py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$py" -c 'import tuf.ngclient, securesystemslib, cryptography' >/dev/null 2>&1; then
    echo "$py"
    exit 0
fi

echo "setup-venv: creating $venv from $req" >&2
rm -f "$stamp"
if [ -x "$py" ] && "$py" -c 'import sys' >/dev/null 2>&1; then
    : # reuse the interpreter; pip brings the packages to the pinned versions
else
    "$python" -m venv --clear "$venv" >&2
fi
"$py" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
"$py" -c 'import tuf.ngclient, securesystemslib, cryptography' >&2
echo "$want" >"$stamp"
echo "$py"
