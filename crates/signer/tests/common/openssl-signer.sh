# An exec: signing program around openssl, for the tests: `$1` is `ed25519` or `p256`, `$2` the
# PEM key file, the last argument the operation (docs/key-management.md: the exec: protocol).
set -eu
kind=$1 key=$2
eval "op=\${$#}"
case $op in
public-key) exec openssl pkey -in "$key" -pubout ;;
sign)
  case $kind in
  ed25519) tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
           cat >"$tmp/message"; openssl pkeyutl -sign -rawin -inkey "$key" -in "$tmp/message" ;;
  p256) exec openssl dgst -sha256 -sign "$key" ;;
  esac ;;
*) echo "unknown operation $op" >&2; exit 2 ;;
esac
