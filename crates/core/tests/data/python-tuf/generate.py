"""Writes a small repository with python-tuf, for tests/trusted/foreign.rs: metadata from another
implementation, every key type this client verifies, a root rotation and both kinds of
delegation. Run from this folder with python-tuf 7 installed (tests/python/setup-venv.sh):

    python generate.py

Keys are generated each run, so the files change every time; commit them together.

- root v1: root key RSA-PSS, timestamp RSA-PKCS#1 v1.5, snapshot ECDSA P-256, targets Ed25519;
  root v2 rotates the timestamp key to a new Ed25519 key (signed by the root key, which stays).
- targets delegates `project/*` to role "project" (RSA-PSS key), which delegates everything to
  four succinct hash bins "bin-0".."bin-3" (one ECDSA key); `project/a.txt` is in its bin.
- everything expires in 2100; consistent snapshots; hashes and lengths in timestamp and snapshot.
"""

from datetime import datetime, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

EXPIRES = datetime(2100, 1, 1, tzinfo=timezone.utc)
SERIALIZER = JSONSerializer(compact=True)


def write(md: Metadata, signers: list, name: str) -> bytes:
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    data = md.to_bytes(SERIALIZER)
    with open(name, "wb") as f:
        f.write(data)
    return data


def pin(version: int, data: bytes) -> MetaFile:
    return MetaFile.from_data(version, data, ["sha256"])


keys = {
    "root": CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256"),
    "timestamp": CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256"),
    "snapshot": CryptoSigner.generate_ecdsa(),
    "targets": CryptoSigner.generate_ed25519(),
}
project_key = CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256")
bins_key = CryptoSigner.generate_ecdsa()

root = Metadata(Root(expires=EXPIRES, consistent_snapshot=True))
for role, signer in keys.items():
    root.signed.add_key(signer.public_key, role)
write(root, [keys["root"]], "1.root.json")

new_timestamp_key = CryptoSigner.generate_ed25519()
root.signed.revoke_key(keys["timestamp"].public_key.keyid, "timestamp")
root.signed.add_key(new_timestamp_key.public_key, "timestamp")
keys["timestamp"] = new_timestamp_key
root.signed.version = 2
write(root, [keys["root"]], "2.root.json")

succinct = SuccinctRoles([bins_key.public_key.keyid], 1, 2, "bin")
meta = {}
for name in succinct.get_roles():
    bin_md = Metadata(Targets(expires=EXPIRES))
    if name == succinct.get_role_for_target("project/a.txt"):
        bin_md.signed.targets["project/a.txt"] = TargetFile.from_data("project/a.txt", b"a\n", ["sha256"])
    meta[f"{name}.json"] = pin(1, write(bin_md, [bins_key], f"1.{name}.json"))

project = Metadata(Targets(expires=EXPIRES))
project.signed.delegations = Delegations({bins_key.public_key.keyid: bins_key.public_key}, succinct_roles=succinct)
meta["project.json"] = pin(1, write(project, [project_key], "1.project.json"))

targets = Metadata(Targets(expires=EXPIRES))
role = DelegatedRole("project", [project_key.public_key.keyid], 1, True, paths=["project/*"])
targets.signed.delegations = Delegations({project_key.public_key.keyid: project_key.public_key}, roles={"project": role})
meta["targets.json"] = pin(1, write(targets, [keys["targets"]], "1.targets.json"))

snapshot = Metadata(Snapshot(expires=EXPIRES, meta=meta))
snapshot_data = write(snapshot, [keys["snapshot"]], "1.snapshot.json")
timestamp = Metadata(Timestamp(expires=EXPIRES, snapshot_meta=pin(1, snapshot_data)))
write(timestamp, [keys["timestamp"]], "timestamp.json")
