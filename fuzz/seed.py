#!/usr/bin/env python3
"""Writes the seed corpora of every fuzz target into fuzz/corpus/<target>/ from the repository's
fixtures (docs/fuzzing.md), so that the repository carries no corpus of its own.

Usage: python3 fuzz/seed.py   (idempotent; existing corpus files are kept)
"""
import hashlib
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
INDEX = ROOT / "tests/fixtures/crates-io-sample/index"
TUF_DATA = ROOT / "crates/core/tests/data/python-tuf"


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = FUZZ / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def index_files(limit=12 * 1024):
    files = sorted(p for p in INDEX.rglob("*") if p.is_file() and p.name != "config.json")
    return [p for p in files if p.stat().st_size <= limit]


def main():
    files = index_files()
    for path in files:
        data = path.read_bytes()
        write("index_file", data)
        write("http_path", str(path.relative_to(INDEX)))
        lines = data.splitlines(keepends=True)
        if len(lines) >= 2:
            # The history target reads files of crate `foo`: rename so that they validate.
            name = json.loads(lines[0])["name"]
            renamed = [l.replace(f'"name": "{name}"'.encode(), b'"name": "foo"', 1) for l in lines]
            old = b"".join(renamed[: len(renamed) // 2 + 1])
            write("index_history", old.rstrip(b"\n") + b"\n---\n" + b"".join(renamed))
    for path in ["config.json", "../x", "se/rd/serde", "3/a/abc", "1/a", "2/ab", "se/rd/Serde", "se/rd/../serde"]:
        write("http_path", path)

    metadata = sorted(TUF_DATA.glob("*.json")) + [ROOT / "keys-example/1.root.json"]
    for path in metadata:
        data = path.read_bytes()
        write("cjson", data)
        kind = json.loads(data)["signed"]["_type"]
        selectors = {"root": [0x00, 0x80], "timestamp": [0x81], "snapshot": [0x02], "targets": [0x03]}[kind]
        for s in selectors:
            write("metadata", bytes([s]) + data)
    vectors = json.loads((ROOT / "crates/core/tests/data/securesystemslib_vectors.json").read_text())
    for case in vectors.get("canonical", []):
        write("cjson", json.dumps(case["value"]))

    merkle = json.loads((ROOT / "crates/core/tests/data/merkle_vectors.json").read_text())
    largest = max(merkle["vectors"], key=lambda v: len(v["leaves"]))
    for proof in largest["proofs"][:20]:
        write("proof", b"\x00" + json.dumps(proof).encode())
    for absent in largest["absent"]:
        write("proof", b"\x01" + json.dumps(absent["proof"]).encode())
    for pick in range(4):
        write("proof", bytes([2, pick, 0, 3, 1]))

    for uri in [
        "file:keys/timestamp.pem",
        "/etc/tufmirror/keys/root.pem",
        "exec:/usr/local/bin/kms-sign?arg=KEY-NAME&arg=%2Fx&timeout=5",
        "exec:sign.sh?arg=key.pem",
        "pkcs11:token=mirror;object=timestamp;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=HSM_PIN",
        "pkcs11:token=alice;object=tuf-root;id=%01%02;type=private?module-path=/usr/lib/opensc-pkcs11.so&pin-source=.pin",
        "pkcs11:serial=0123;slot-id=7;id=%ff?pin-value=s3cret-pin",
        "vault://vault.example.com:8200/transit/tufmirror-timestamp?token-file=/run/vault/token&tls=false",
        "awskms:alias/tufmirror-snapshot?region=eu-west-1&timeout=10",
    ]:
        write("key_uri", uri)

    config = (ROOT / "config/tufmirror.toml").read_text()
    write("config", config)
    write("config", "")
    write("config", '[server]\nlisten = "[::1]:8080"\n\0127.0.0.1:9000\0https://m.example/\0/data\0https://index.crates.io/\0http://proxy:3128\0ca.pem')


if __name__ == "__main__":
    main()
