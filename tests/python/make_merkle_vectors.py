#!/usr/bin/env python3
"""Writes crates/core/tests/data/merkle_vectors.json: known answers for the snapshot Merkle tree
(docs/POUF.md 1.4) and its proofs (1.5), computed by the independent Python implementation in
pouf/merkle.py (whose self-test holds it against a dense build of the whole tree), never by
tufmirror, so that the Rust tests compare two implementations of the POUF rather than one with
itself. Standard library only.

    python3 tests/python/make_merkle_vectors.py          # rewrite the file
    python3 tests/python/make_merkle_vectors.py --check  # exit 1 if the file is not what it writes

Each vector: its `leaves` (sorted by path bytewise), their `leaf_hashes`, `buckets` (the bucket of
each leaf), `merkle_root`, `proofs` (the inclusion proof of each leaf, in leaf order) and `absent`
(non-inclusion proofs of paths that are not leaves: one whose bucket is empty and, when there are
leaves, one in the bucket of the first leaf and one in each bucket of several leaves). Every proof
has snapshot_version 5 and tree_size the number of leaves. The colliding paths are found by brute
force, which is deterministic."""

import argparse
import hashlib
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pouf.fields import index_path_ok, path_bytes  # noqa: E402
from pouf.merkle import Tree, bucket_of, leaf_hash, root_of_leaves, verify_inclusion, verify_non_inclusion  # noqa: E402

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "core", "tests",
                                    "data", "merkle_vectors.json"))
SNAPSHOT_VERSION = 5

DESCRIPTION = (
    "Merkle vectors for docs/POUF.md 1.4-1.5 (65,536 buckets by the first two bytes of SHA-256(path), an RFC 6962 "
    "tree per bucket, a perfect depth-16 tree over the bucket roots), computed by tests/python/make_merkle_vectors.py "
    "with the independent Python implementation tests/python/pouf/merkle.py, not by tufmirror. Per vector: leaves "
    "sorted by path bytewise, leaf_hashes, buckets (the bucket of each leaf), merkle_root, proofs (the inclusion proof "
    "of each leaf, in leaf order) and absent (non-inclusion proofs of paths that are not leaves). snapshot_version is "
    "5 in every proof, tree_size the number of leaves."
)

FIRST_FIVE = ["1/a", "2/ab", "3/a/abc", "ab/cd/abcd", "se/rd/serde"]
THIRTEEN = ["1/a", "2/ab", "2/b1", "3/a/abc", "3/c/c-2", "3/x/x_y", "ab/cd/abcd", "lo/ng/long-crate-name-x",
            "qu/ux/quux", "se/rd/serde", "se/rd/serde_json", "to/ki/tokio", "zz/-t/zz-top"]
# Crate names of the realistic vector: short names of every length class (1.7) and common crates.
REALISTIC = """a b x z ab cc io os ui abc aes git log nom png syn url zip
    ahash anyhow arrayvec async-trait autocfg base64 bitflags byteorder bytes cc cfg-if chrono clap clap_derive
    crossbeam-channel crossbeam-utils digest either env_logger fastrand futures futures-core futures-util getrandom
    glob h2 hashbrown heck hex http hyper idna indexmap itertools itoa lazy_static libc lock_api memchr mime
    mio num-traits num_cpus once_cell parking_lot percent-encoding pin-project-lite ppv-lite86 proc-macro2 quote
    rand rand_core regex regex-syntax reqwest ring rustc_version rustls ryu scopeguard semver serde serde_derive
    serde_json sha2 slab smallvec socket2 strsim syn-mid tempfile thiserror time tokio tokio-util toml tracing
    tracing-core typenum unicode-ident unicode-width uuid version_check walkdir winapi zeroize""".split()


def index_path(name):
    """POUF 1.7: where cargo's sparse protocol looks for a lowercase crate name."""
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def leaves_of(paths):
    """Leaves for made-up index files at these paths (a one-line index entry each), sorted by path."""
    out = []
    for path in sorted(set(paths), key=path_bytes):
        name = path.rsplit("/", 1)[-1]
        entry = {"name": name, "vers": "0.1.0", "deps": [], "cksum": hashlib.sha256(name.encode()).hexdigest(),
                 "features": {}, "yanked": False}
        data = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        out.append({"length": len(data), "path": path, "sha256": hashlib.sha256(data).hexdigest()})
    return out


def names(prefix):
    """prefix0, prefix1, ... (index paths when prefix is one, e.g. ab/cd/abcd)."""
    return (f"{prefix}{n}" for n in itertools.count())


def colliding(prefix, sizes):
    """For each wanted size, that many paths of one bucket of its own, by brute force over
    prefix<n>: the first bucket to reach a size still wanted takes it."""
    groups, taken, wanted, out = {}, set(), list(sizes), []
    for path in names(prefix):
        if not wanted:
            return out
        b = bucket_of(path)
        if b in taken:
            continue
        groups.setdefault(b, []).append(path)
        if len(groups[b]) in wanted:
            wanted.remove(len(groups[b]))
            taken.add(b)
            out.extend(groups[b])


def absent_paths(leaves):
    """An absent path whose bucket is empty; with leaves, also one in the bucket of the first leaf
    and one in every bucket that holds several leaves."""
    counts = {}
    for leaf in leaves:
        counts[bucket_of(leaf["path"])] = counts.get(bucket_of(leaf["path"]), 0) + 1
    out = [next(p for p in names("no/ne/none") if bucket_of(p) not in counts)]
    targets = ([bucket_of(leaves[0]["path"])] if leaves else []) + sorted(b for b, c in counts.items() if c > 1)
    for b in dict.fromkeys(targets):  # without repeats, in order
        out.append(next(p for p in names("no/ne/none") if bucket_of(p) == b))
    return out


def vector(paths):
    """One vector, every proof checked by the verifiers of pouf/merkle.py before it is written."""
    leaves = leaves_of(paths)
    assert all(index_path_ok(leaf["path"]) for leaf in leaves), paths
    tree = Tree(leaves)
    root, n = tree.root.hex(), len(leaves)
    assert root_of_leaves(leaves, "vector") == root
    proofs = [tree.inclusion_proof(i, SNAPSHOT_VERSION) for i in range(n)]
    for proof in proofs:
        verify_inclusion(proof, root, n, SNAPSHOT_VERSION, "vector")
    absent = []
    for path in absent_paths(leaves):
        assert index_path_ok(path), path
        proof = tree.non_inclusion_proof(path, SNAPSHOT_VERSION)
        verify_non_inclusion(proof, path, root, n, SNAPSHOT_VERSION, "vector")
        absent.append({"path": path, "proof": proof})
    return {"leaves": leaves, "leaf_hashes": [leaf_hash(leaf).hex() for leaf in leaves],
            "buckets": [bucket_of(leaf["path"]) for leaf in leaves], "merkle_root": root, "proofs": proofs,
            "absent": absent}


def vectors():
    out = [vector(FIRST_FIVE[:n]) for n in (0, 1, 2, 3, 5)]
    out.append(vector(THIRTEEN))
    # In-bucket RFC 6962 shapes with promotion: buckets of 3 and 5 leaves, alone and among others.
    out.append(vector(colliding("ab/cd/abcd", [3, 5])))
    out.append(vector(colliding("se/rd/serde-", [2, 3, 4, 5]) + THIRTEEN))
    out.append(vector(index_path(name) for name in REALISTIC))
    for v in out[-3:-1]:
        sizes = [v["buckets"].count(b) for b in set(v["buckets"])]
        assert 3 in sizes and 5 in sizes, sizes
    return out


def render():
    return json.dumps({"description": DESCRIPTION, "vectors": vectors()}, indent=1) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    ap.add_argument("--out", default=OUT, help="where to write (default: crates/core/tests/data/merkle_vectors.json)")
    args = ap.parse_args()
    text = render()
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            same = f.read() == text
        print(f"make_merkle_vectors: {args.out} is {'up to date' if same else 'OUT OF DATE'}")
        return 0 if same else 1
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"make_merkle_vectors: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
