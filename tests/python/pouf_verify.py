#!/usr/bin/env python3
"""An independent verifier of POUF-tufmirror-1 (docs/POUF.md), in plain Python 3 (stdlib only).

It is written from the POUF, not from crates/core, so that a disagreement between the two shows up
as a failing test rather than as two copies of the same mistake.

Modes
-----
``pouf_verify.py OUTDIR``
    Audits the output directory of ``tufmirror publish``:

    * TUF: the root chain from ``tuf/1.root.json`` (or ``--trusted-root``), key ids (POUF 1.2),
      signature thresholds (Ed25519 and ECDSA P-256, verified here in pure Python), the current
      timestamp -> ``N.snapshot.json`` -> ``M.targets.json`` -> ``config.json`` chain of lengths and
      hashes;
    * Merkle (POUF 1.4, 1.5): for every index file of ``snapshots/N/index`` the inclusion proof
      ``snapshots/N/proofs/<path>`` against the timestamp's ``merkle_root``/``merkle_tree_size`` and
      the file's bytes; the files, the proofs and the leaf list name the same paths;
    * the leaf list ``snapshots/N/leaves.json`` recomputes to the signed root (RFC 6962 MTH);
    * history (POUF 1.6): ``history/1..N.diff.json`` replayed from the empty tree, each root
      checked against every ``history/V.timestamp.json`` that names that snapshot (two timestamps
      naming different roots for one snapshot are an equivocation), removal records in the targets
      metadata of every snapshot equal to the diff's ``removed``; every other retained snapshot's
      leaf list and proofs are checked against the replayed root too;
    * the newest root and the current timestamp, snapshot and targets are not expired (what every
      TUF client refuses; ``--allow-expired`` to audit an old copy);
    * with ``--check-layout``, the symbolic links of POUF 2.3.

    ``--no-signatures`` skips the signature checks, to show that the Merkle layer alone catches a
    forged ``merkle_root`` (as it must if the online timestamp key is compromised).

    Prints ``pouf_verify: <n> proofs ok, root <hex> (...)`` and exits 0, or prints the failing
    file and the reason and exits 1.

``pouf_verify.py --proof FILE --root HEX --size N --version V --path P [--file F]``
    Checks one inclusion proof (and, with ``--file``, that the file is its leaf), or one
    non-inclusion proof (a proof object with ``"absent"``; no ``--file``). Exit 0 / 1.

``pouf_verify.py --self-test``
    Known-answer tests of the primitives (canonical JSON, Merkle shapes, Ed25519 RFC 8032).

Exit status: 0 verified, 1 verification failed, 2 usage error, 3 internal error of this script
(a bug here must never pass for a rejected proof).
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
import time
import traceback

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
EXPIRES = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
CRATE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")


class VerifyError(Exception):
    """A verification failure: `where` names the file (or object), `reason` says what is wrong."""

    def __init__(self, where, reason):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


# --------------------------------------------------------------------------------------------
# Canonical JSON (POUF 1.1), as securesystemslib's encode_canonical writes it.
# --------------------------------------------------------------------------------------------


def _canonical_parts(obj, out):
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, str):
        out.append('"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"')
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _canonical_parts(item, out)
        out.append("]")
    elif isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str):
                raise ValueError(f"canonical JSON object keys are strings, found {key!r}")
        out.append("{")
        # Python compares str by code point, which is the order of their UTF-8 bytes.
        for i, key in enumerate(sorted(obj)):
            if i:
                out.append(",")
            _canonical_parts(key, out)
            out.append(":")
            _canonical_parts(obj[key], out)
        out.append("}")
    else:
        raise ValueError(f"no canonical JSON form for {type(obj).__name__} ({obj!r})")


def canonical_json(obj):
    """The canonical JSON bytes of a JSON value (ints only, only `"` and `\\` escaped)."""
    out = []
    _canonical_parts(obj, out)
    # surrogatepass is not used: a lone surrogate has no UTF-8 form and must be refused.
    return "".join(out).encode("utf-8")


def _refuse_float(text):
    raise ValueError(f"floating point number {text} (TUF and the POUF allow integers only)")


def _refuse_constant(text):
    raise ValueError(f"non-JSON constant {text}")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate object key {key!r}")
        obj[key] = value
    return obj


def parse_json(data, where):
    """Strict JSON: UTF-8, no duplicate keys, no floats, no NaN/Infinity."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise VerifyError(where, f"not valid JSON: {e}") from None


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise VerifyError(path, f"cannot read: {e.strerror or e}") from None


def load_json(path):
    return parse_json(read_bytes(path), path)


# --------------------------------------------------------------------------------------------
# Field checks.
# --------------------------------------------------------------------------------------------


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def need_uint(obj, key, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not is_uint(v):
        raise VerifyError(where, f"{key!r} must be a non-negative integer, found {v!r}")
    return v


def need_str(obj, key, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, str):
        raise VerifyError(where, f"{key!r} must be a string, found {v!r}")
    return v


def need_hex64(obj, key, where):
    v = need_str(obj, key, where)
    if not HEX64.match(v):
        raise VerifyError(where, f"{key!r} must be 64 lowercase hex digits, found {v!r}")
    return v


def need_dict(obj, key, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, dict):
        raise VerifyError(where, f"{key!r} must be an object, found {type(v).__name__}")
    return v


def need_list(obj, key, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, list):
        raise VerifyError(where, f"{key!r} must be an array, found {type(v).__name__}")
    return v


def exact_keys(obj, keys, where):
    if not isinstance(obj, dict):
        raise VerifyError(where, f"expected an object, found {type(obj).__name__}")
    if set(obj) != set(keys):
        missing = sorted(set(keys) - set(obj))
        extra = sorted(set(obj) - set(keys))
        raise VerifyError(where, f"object must have exactly the fields {sorted(keys)} (missing {missing}, unexpected {extra})")


def index_path_ok(path):
    """POUF 1.7: the sparse-index path of a lowercase crate name."""
    if not isinstance(path, str):
        return False
    name = path.rsplit("/", 1)[-1]
    if not CRATE_NAME.match(name):
        return False
    n = len(name)
    if n == 1:
        expected = "1/" + name
    elif n == 2:
        expected = "2/" + name
    elif n == 3:
        expected = f"3/{name[0]}/{name}"
    else:
        expected = f"{name[:2]}/{name[2:4]}/{name}"
    return path == expected


def path_bytes(p):
    return p.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Merkle tree (POUF 1.4).
# --------------------------------------------------------------------------------------------


def check_leaf(leaf, where):
    exact_keys(leaf, ("length", "path", "sha256"), where)
    need_uint(leaf, "length", where)
    need_str(leaf, "path", where)
    need_hex64(leaf, "sha256", where)
    return leaf


def leaf_hash(leaf):
    """SHA-256(0x00 || canonical_json(leaf_contents)), raw 32 bytes."""
    return hashlib.sha256(b"\x00" + canonical_json(leaf)).digest()


def node_hash(left, right):
    """SHA-256(0x01 || left || right), raw 32 bytes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes, lo=0, hi=None):
    """RFC 6962 Merkle Tree Hash of hashes[lo:hi] (raw bytes); the empty tree is SHA-256("")."""
    if hi is None:
        hi = len(hashes)
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[lo]
    k = 1
    while k * 2 < n:  # the largest power of two smaller than n
        k *= 2
    return node_hash(mth(hashes, lo, lo + k), mth(hashes, lo + k, hi))


def root_bottom_up(hashes):
    """The POUF's second description of the shape: pair from the left, promote a lone last node."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def check_sorted_paths(paths, where, what="leaves"):
    for a, b in zip(paths, paths[1:]):
        if path_bytes(a) == path_bytes(b):
            raise VerifyError(where, f"{what}: path {a!r} appears twice")
        if path_bytes(a) > path_bytes(b):
            raise VerifyError(where, f"{what} are not sorted bytewise by path: {a!r} comes before {b!r}")


def root_of_leaves(leaves, where):
    """Checks order and uniqueness, returns the hex root."""
    check_sorted_paths([l["path"] for l in leaves], where)
    return mth([leaf_hash(l) for l in leaves]).hex()


# --------------------------------------------------------------------------------------------
# Proofs (POUF 1.5).
# --------------------------------------------------------------------------------------------

PROOF_FIELDS = ("leaf_contents", "leaf_index", "tree_size", "snapshot_version", "merkle_path", "path_directions")
NON_INCLUSION_FIELDS = ("absent", "snapshot_version", "tree_size", "left", "right")


def expected_directions(index, size):
    out = []
    i, n = index, size
    while n > 1:
        if i % 2 == 1:
            out.append("L")
        elif i + 1 < n:
            out.append("R")
        i //= 2
        n = (n + 1) // 2
    return out


def proof_root(proof, where):
    """Checks the proof's form and shape (step 2) and returns the root it folds to (step 3)."""
    exact_keys(proof, PROOF_FIELDS, where)
    leaf = check_leaf(proof["leaf_contents"], where + ": leaf_contents")
    index = need_uint(proof, "leaf_index", where)
    size = need_uint(proof, "tree_size", where)
    need_uint(proof, "snapshot_version", where)
    mpath = need_dict(proof, "merkle_path", where)
    dirs = need_dict(proof, "path_directions", where)
    if index >= size:
        raise VerifyError(where, f"leaf_index {index} is not below tree_size {size}")
    k = len(mpath)
    wanted_keys = {str(i) for i in range(k)}
    if set(mpath) != wanted_keys or set(dirs) != wanted_keys:
        raise VerifyError(where, f'merkle_path and path_directions must both have exactly the keys "0".."{k - 1}"')
    steps = []
    for i in range(k):
        sibling = mpath[str(i)]
        direction = dirs[str(i)]
        if not isinstance(sibling, str) or not HEX64.match(sibling):
            raise VerifyError(where, f"merkle_path[{i}] is not 64 lowercase hex digits")
        if direction not in ("L", "R"):
            raise VerifyError(where, f'path_directions[{i}] must be "L" or "R", found {direction!r}')
        steps.append((direction, bytes.fromhex(sibling)))
    expected = expected_directions(index, size)
    found = [d for d, _ in steps]
    if found != expected:
        raise VerifyError(
            where,
            f"path shape {''.join(found) or '(empty)'} does not fit leaf_index {index} in a tree of {size} "
            f"(expected {''.join(expected) or '(empty)'})",
        )
    h = leaf_hash(leaf)
    for direction, sibling in steps:
        h = node_hash(sibling, h) if direction == "L" else node_hash(h, sibling)
    return h.hex()


def verify_inclusion(proof, root, tree_size, snapshot_version, where):
    """POUF 1.5 steps 1-3 against a verified timestamp's values."""
    exact_keys(proof, PROOF_FIELDS, where)
    sv = need_uint(proof, "snapshot_version", where)
    ts = need_uint(proof, "tree_size", where)
    if sv != snapshot_version:
        raise VerifyError(where, f"snapshot_version {sv} is not the timestamp's snapshot {snapshot_version}")
    if ts != tree_size:
        raise VerifyError(where, f"tree_size {ts} is not the timestamp's merkle_tree_size {tree_size}")
    got = proof_root(proof, where)
    if got != root:
        raise VerifyError(where, f"proof folds to root {got}, the signed merkle_root is {root}")


def verify_file_proof(proof, path, data, root, tree_size, snapshot_version, where):
    """POUF 1.5 steps 1-4."""
    verify_inclusion(proof, root, tree_size, snapshot_version, where)
    leaf = proof["leaf_contents"]
    if leaf["path"] != path:
        raise VerifyError(where, f"proof is for path {leaf['path']!r}, not {path!r}")
    length = len(data)
    digest = hashlib.sha256(data).hexdigest()
    if leaf["length"] != length or leaf["sha256"] != digest:
        raise VerifyError(
            where,
            f"file ({length} bytes, sha256 {digest}) does not match its leaf "
            f"({leaf['length']} bytes, sha256 {leaf['sha256']})",
        )


def verify_non_inclusion(proof, absent, root, tree_size, snapshot_version, where):
    exact_keys(proof, NON_INCLUSION_FIELDS, where)
    if need_str(proof, "absent", where) != absent:
        raise VerifyError(where, f"non-inclusion proof is for {proof['absent']!r}, not {absent!r}")
    sv = need_uint(proof, "snapshot_version", where)
    ts = need_uint(proof, "tree_size", where)
    if sv != snapshot_version:
        raise VerifyError(where, f"snapshot_version {sv} is not the timestamp's snapshot {snapshot_version}")
    if ts != tree_size:
        raise VerifyError(where, f"tree_size {ts} is not the timestamp's merkle_tree_size {tree_size}")
    left, right = proof["left"], proof["right"]
    for side, p in (("left", left), ("right", right)):
        if p is not None:
            verify_inclusion(p, root, tree_size, snapshot_version, f"{where}: {side}")
    a = path_bytes(absent)
    if tree_size == 0:
        if left is None and right is None:
            return
        raise VerifyError(where, "an empty tree has no neighbours")
    if left is None and right is None:
        raise VerifyError(where, "a non-empty tree needs at least one neighbour")
    if left is not None and not path_bytes(left["leaf_contents"]["path"]) < a:
        raise VerifyError(where, f"left neighbour {left['leaf_contents']['path']!r} does not sort before {absent!r}")
    if right is not None and not a < path_bytes(right["leaf_contents"]["path"]):
        raise VerifyError(where, f"right neighbour {right['leaf_contents']['path']!r} does not sort after {absent!r}")
    if left is not None and right is not None:
        if right["leaf_index"] != left["leaf_index"] + 1:
            raise VerifyError(where, f"neighbours {left['leaf_index']} and {right['leaf_index']} are not adjacent leaves")
    elif left is None:
        if right["leaf_index"] != 0:
            raise VerifyError(where, f"with no left neighbour the right one must be leaf 0, not {right['leaf_index']}")
    elif left["leaf_index"] != tree_size - 1:
        raise VerifyError(where, f"with no right neighbour the left one must be the last leaf, not {left['leaf_index']}")


# --------------------------------------------------------------------------------------------
# Leaf lists and diffs (POUF 1.6).
# --------------------------------------------------------------------------------------------


def check_leaf_list(obj, where, expect_version=None):
    exact_keys(obj, ("snapshot_version", "tree_size", "merkle_root", "leaves"), where)
    version = need_uint(obj, "snapshot_version", where)
    size = need_uint(obj, "tree_size", where)
    root = need_hex64(obj, "merkle_root", where)
    leaves = need_list(obj, "leaves", where)
    for i, leaf in enumerate(leaves):
        check_leaf(leaf, f"{where}: leaves[{i}]")
    if expect_version is not None and version != expect_version:
        raise VerifyError(where, f"snapshot_version {version}, expected {expect_version}")
    if size != len(leaves):
        raise VerifyError(where, f"tree_size {size} but {len(leaves)} leaves")
    got = root_of_leaves(leaves, where)
    if got != root:
        raise VerifyError(where, f"leaves recompute to root {got}, the list says {root}")
    return obj


DIFF_FIELDS = ("snapshot_version", "previous_version", "previous_root", "merkle_root", "tree_size", "added", "changed", "removed")


def apply_diff(previous, diff, where, expect_version=None, previous_root=None):
    """Applies a diff to the previous snapshot's sorted leaves; returns (leaves, root hex)."""
    exact_keys(diff, DIFF_FIELDS, where)
    version = need_uint(diff, "snapshot_version", where)
    prev_version = need_uint(diff, "previous_version", where)
    prev_root = need_hex64(diff, "previous_root", where)
    root = need_hex64(diff, "merkle_root", where)
    size = need_uint(diff, "tree_size", where)
    added = need_list(diff, "added", where)
    changed = need_list(diff, "changed", where)
    removed = need_list(diff, "removed", where)
    if expect_version is not None and version != expect_version:
        raise VerifyError(where, f"snapshot_version {version}, expected {expect_version}")
    if prev_version + 1 != version:
        raise VerifyError(where, f"previous_version {prev_version} does not precede snapshot_version {version}")
    if previous_root is not None and prev_root != previous_root:
        raise VerifyError(where, f"previous_root {prev_root}, but the previous snapshot's root is {previous_root}")
    for name, lst in (("added", added), ("changed", changed)):
        for i, leaf in enumerate(lst):
            check_leaf(leaf, f"{where}: {name}[{i}]")
        check_sorted_paths([l["path"] for l in lst], where, name)
    for i, p in enumerate(removed):
        if not isinstance(p, str):
            raise VerifyError(where, f"removed[{i}] must be a path string")
    check_sorted_paths(removed, where, "removed")
    current = {l["path"]: l for l in previous}
    seen = set()
    for name, paths in (("added", [l["path"] for l in added]), ("changed", [l["path"] for l in changed]), ("removed", removed)):
        for p in paths:
            if p in seen:
                raise VerifyError(where, f"{p!r} is listed in more than one of added/changed/removed")
            seen.add(p)
    for p in removed:
        if p not in current:
            raise VerifyError(where, f"removes {p!r}, which snapshot {prev_version} does not have")
        del current[p]
    for leaf in changed:
        old = current.get(leaf["path"])
        if old is None:
            raise VerifyError(where, f"changes {leaf['path']!r}, which snapshot {prev_version} does not have")
        if old == leaf:
            raise VerifyError(where, f"lists {leaf['path']!r} as changed, but its length and hash are the same")
        current[leaf["path"]] = leaf
    for leaf in added:
        if leaf["path"] in current:
            raise VerifyError(where, f"adds {leaf['path']!r}, which snapshot {prev_version} already has")
        current[leaf["path"]] = leaf
    leaves = [current[p] for p in sorted(current, key=path_bytes)]
    if len(leaves) != size:
        raise VerifyError(where, f"gives {len(leaves)} leaves, it says tree_size {size}")
    got = root_of_leaves(leaves, where)
    if got != root:
        raise VerifyError(where, f"gives root {got}, it says merkle_root {root}")
    return leaves, root


# --------------------------------------------------------------------------------------------
# Signatures (POUF 1.2): Ed25519 (RFC 8032) and ECDSA P-256, in pure Python. Only verification,
# only public data, so constant time does not matter.
# --------------------------------------------------------------------------------------------

_EP = 2**255 - 19
_EL = 2**252 + 27742317777372353535851937790883648493
_ED = -121665 * pow(121666, _EP - 2, _EP) % _EP
_SQRT_M1 = pow(2, (_EP - 1) // 4, _EP)


def _ed_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _EP
    b = (p[1] + p[0]) * (q[1] + q[0]) % _EP
    c = 2 * p[3] * q[3] * _ED % _EP
    d = 2 * p[2] * q[2] % _EP
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _EP, g * h % _EP, f * g % _EP, e * h % _EP)


def _ed_mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _ed_add(q, p)
        p = _ed_add(p, p)
        s >>= 1
    return q


def _ed_equal(p, q):
    return (p[0] * q[2] - q[0] * p[2]) % _EP == 0 and (p[1] * q[2] - q[1] * p[2]) % _EP == 0


def _ed_recover_x(y, sign):
    if y >= _EP:
        return None
    x2 = (y * y - 1) * pow(_ED * y * y + 1, _EP - 2, _EP) % _EP
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_EP + 3) // 8, _EP)
    if (x * x - x2) % _EP != 0:
        x = x * _SQRT_M1 % _EP
    if (x * x - x2) % _EP != 0:
        return None
    if (x & 1) != sign:
        x = _EP - x
    return x


def _ed_decompress(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _ed_recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _EP)


_ED_GY = 4 * pow(5, _EP - 2, _EP) % _EP
_ED_G = (_ed_recover_x(_ED_GY, 0), _ED_GY, 1, _ed_recover_x(_ED_GY, 0) * _ED_GY % _EP)
_ED_ID = (0, 1, 1, 0)


def ed25519_verify(public, msg, sig):
    """RFC 8032 verification ([S]B = R + [k]A), refusing S >= L and small-order A or R."""
    if len(public) != 32 or len(sig) != 64:
        return False
    a = _ed_decompress(public)
    r = _ed_decompress(sig[:32])
    if a is None or r is None:
        return False
    if _ed_equal(_ed_mul(8, a), _ED_ID) or _ed_equal(_ed_mul(8, r), _ED_ID):
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _EL:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % _EL
    return _ed_equal(_ed_mul(s, _ED_G), _ed_add(r, _ed_mul(k, a)))


_P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_P256_A = _P256_P - 3
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P256_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)


def _p256_add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0]:
        if (p[1] + q[1]) % _P256_P == 0:
            return None
        lam = (3 * p[0] * p[0] + _P256_A) * pow(2 * p[1], -1, _P256_P) % _P256_P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, _P256_P) % _P256_P
    x = (lam * lam - p[0] - q[0]) % _P256_P
    return (x, (lam * (p[0] - x) - p[1]) % _P256_P)


def _p256_mul(k, p):
    q = None
    while k > 0:
        if k & 1:
            q = _p256_add(q, p)
        p = _p256_add(p, p)
        k >>= 1
    return q


def _der_read(data, pos, tag):
    """Reads one DER TLV with tag `tag` at `pos`; returns (value, next position)."""
    if pos + 2 > len(data) or data[pos] != tag:
        raise ValueError("unexpected DER tag")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 2 or pos + n > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos:pos + n], "big")
        if length < 0x80 or (n == 2 and length < 0x100):
            raise ValueError("non-minimal DER length")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return data[pos:pos + length], pos + length


_OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")
_OID_PRIME256V1 = bytes.fromhex("2a8648ce3d030107")


def p256_public_from_pem(pem):
    lines = [l.strip() for l in pem.strip().splitlines()]
    if not lines or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise ValueError("not a PEM public key")
    der = base64.b64decode("".join(lines[1:-1]), validate=True)
    spki, end = _der_read(der, 0, 0x30)
    if end != len(der):
        raise ValueError("trailing bytes after SubjectPublicKeyInfo")
    alg, pos = _der_read(spki, 0, 0x30)
    bits, pos = _der_read(spki, pos, 0x03)
    if pos != len(spki):
        raise ValueError("trailing bytes in SubjectPublicKeyInfo")
    oid1, p = _der_read(alg, 0, 0x06)
    oid2, p = _der_read(alg, p, 0x06)
    if oid1 != _OID_EC_PUBLIC_KEY or oid2 != _OID_PRIME256V1 or p != len(alg):
        raise ValueError("not an EC P-256 public key")
    if len(bits) != 66 or bits[0] != 0 or bits[1] != 4:
        raise ValueError("not an uncompressed P-256 point")
    x = int.from_bytes(bits[2:34], "big")
    y = int.from_bytes(bits[34:66], "big")
    if x >= _P256_P or y >= _P256_P or (y * y - (x * x * x + _P256_A * x + _P256_B)) % _P256_P != 0:
        raise ValueError("point is not on P-256")
    return (x, y)


def _der_uint(data, pos):
    v, pos = _der_read(data, pos, 0x02)
    if not v or v[0] & 0x80 or (len(v) > 1 and v[0] == 0 and not v[1] & 0x80):
        raise ValueError("not a minimal positive DER INTEGER")
    return int.from_bytes(v, "big"), pos


def p256_verify(point, msg, sig):
    try:
        seq, end = _der_read(sig, 0, 0x30)
        if end != len(sig):
            return False
        r, pos = _der_uint(seq, 0)
        s, pos = _der_uint(seq, pos)
        if pos != len(seq):
            return False
    except ValueError:
        return False
    if not (1 <= r < _P256_N and 1 <= s < _P256_N):
        return False
    e = int.from_bytes(hashlib.sha256(msg).digest(), "big")
    w = pow(s, -1, _P256_N)
    x = _p256_add(_p256_mul(e * w % _P256_N, _P256_G), _p256_mul(r * w % _P256_N, point))
    return x is not None and x[0] % _P256_N == r


def key_id(key_obj):
    return hashlib.sha256(canonical_json(key_obj)).hexdigest()


def make_verifier(key_obj, where):
    """A function (msg, sig bytes) -> bool for a key object, or None for key types not verified here."""
    keytype, scheme = key_obj.get("keytype"), key_obj.get("scheme")
    keyval = key_obj.get("keyval")
    public = keyval.get("public") if isinstance(keyval, dict) else None
    if not isinstance(public, str):
        raise VerifyError(where, "key object without keyval.public")
    if (keytype, scheme) == ("ed25519", "ed25519"):
        if not re.fullmatch(r"[0-9a-f]{64}", public):
            raise VerifyError(where, "ed25519 keyval.public must be 64 lowercase hex digits")
        raw = bytes.fromhex(public)
        if _ed_decompress(raw) is None:
            raise VerifyError(where, "ed25519 public key is not a curve point")
        return lambda msg, sig: ed25519_verify(raw, msg, sig)
    if keytype in ("ecdsa", "ecdsa-sha2-nistp256") and scheme == "ecdsa-sha2-nistp256":
        try:
            point = p256_public_from_pem(public)
        except (ValueError, binascii.Error) as e:
            raise VerifyError(where, f"bad ecdsa-sha2-nistp256 public key: {e}") from None
        return lambda msg, sig: p256_verify(point, msg, sig)
    return None


# --------------------------------------------------------------------------------------------
# TUF metadata (POUF 1.3).
# --------------------------------------------------------------------------------------------


class Root:
    def __init__(self, signed, where):
        self.signed = signed
        self.version = need_uint(signed, "version", where)
        keys = need_dict(signed, "keys", where)
        roles = need_dict(signed, "roles", where)
        self.verifiers = {}
        for kid, obj in keys.items():
            if not isinstance(obj, dict):
                raise VerifyError(where, f"keys[{kid}] is not an object")
            computed = key_id(obj)
            if kid != computed:
                raise VerifyError(where, f"key id {kid} is not the SHA-256 of its canonical key object ({computed})")
            v = make_verifier(obj, f"{where}: keys[{kid[:8]}]")
            if v is not None:
                self.verifiers[kid] = v
        self.roles = {}
        for role in ("root", "targets", "snapshot", "timestamp"):
            entry = roles.get(role)
            if not isinstance(entry, dict):
                raise VerifyError(where, f"root does not define the {role} role")
            keyids = need_list(entry, "keyids", where)
            threshold = need_uint(entry, "threshold", where)
            if threshold < 1:
                raise VerifyError(where, f"{role} threshold is 0")
            if not all(isinstance(k, str) for k in keyids):
                raise VerifyError(where, f"{role} keyids must be strings")
            self.roles[role] = (keyids, threshold)

    def check_signatures(self, role, envelope, where):
        keyids, threshold = self.roles[role]
        msg = canonical_json(envelope["signed"])
        good = set()
        for s in envelope["signatures"]:
            if not isinstance(s, dict) or not isinstance(s.get("keyid"), str) or not isinstance(s.get("sig"), str):
                raise VerifyError(where, "malformed signature entry")
            kid = s["keyid"]
            if kid in good or kid not in keyids or kid not in self.verifiers:
                continue
            try:
                sig = bytes.fromhex(s["sig"])
            except ValueError:
                continue
            if self.verifiers[kid](msg, sig):
                good.add(kid)
        if len(good) < threshold:
            raise VerifyError(
                where,
                f"{role} metadata has {len(good)} valid signature(s) from distinct keys of root v{self.version}, "
                f"needs {threshold}",
            )


def parse_envelope(data, role, where):
    env = parse_json(data, where)
    if not isinstance(env, dict) or not isinstance(env.get("signed"), dict) or not isinstance(env.get("signatures"), list):
        raise VerifyError(where, 'not a TUF envelope {"signed": {...}, "signatures": [...]}')
    signed = env["signed"]
    if signed.get("_type") != role:
        raise VerifyError(where, f"_type is {signed.get('_type')!r}, expected {role!r}")
    spec = signed.get("spec_version")
    if not isinstance(spec, str) or spec.split(".")[0] != "1":
        raise VerifyError(where, f"unsupported spec_version {spec!r}")
    need_uint(signed, "version", where)
    expires = need_str(signed, "expires", where)
    if not EXPIRES.match(expires):
        raise VerifyError(where, f"expires {expires!r} is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        canonical_json(signed)
    except ValueError as e:
        raise VerifyError(where, f"signed part has no canonical JSON form: {e}") from None
    return env


def check_meta_pin(entry, data, where, what, version=None, require_pins=True):
    """A `meta` or `targets` entry: version (if given), length and hashes.sha256 of `data`."""
    if not isinstance(entry, dict):
        raise VerifyError(where, f"no entry for {what}")
    if version is not None and entry.get("version") != version:
        raise VerifyError(where, f"{what} entry names version {entry.get('version')!r}, expected {version}")
    if "length" in entry or require_pins:
        if entry.get("length") != len(data):
            raise VerifyError(where, f"{what}: length {entry.get('length')!r} but the file has {len(data)} bytes")
    hashes = entry.get("hashes")
    if hashes is not None or require_pins:
        if not isinstance(hashes, dict) or "sha256" not in hashes:
            raise VerifyError(where, f"{what}: no hashes.sha256")
        digest = hashlib.sha256(data).hexdigest()
        if hashes["sha256"] != digest:
            raise VerifyError(where, f"{what}: sha256 {hashes['sha256']} but the file hashes to {digest}")


# --------------------------------------------------------------------------------------------
# The audit of a published directory.
# --------------------------------------------------------------------------------------------


class Audit:
    def __init__(self, out, trusted_root=None, signatures=True, check_layout=False, log=None, now=None):
        self.out = out
        # None: no expiry checks. Otherwise "YYYY-MM-DDTHH:MM:SSZ", which compares as a string.
        self.now = now
        self.trusted_root_path = trusted_root or os.path.join(out, "tuf", "1.root.json")
        self.signatures = signatures
        self.check_layout = check_layout
        self.log = log or (lambda msg: None)
        self.roots = []  # the verified chain, oldest first

    def p(self, *parts):
        return os.path.join(self.out, *parts)

    # -- TUF ------------------------------------------------------------------------------

    def load_roots(self):
        where = self.trusted_root_path
        data = read_bytes(where)
        env = parse_envelope(data, "root", where)
        root = Root(env["signed"], where)
        if self.signatures:
            root.check_signatures("root", env, where)
        if env["signed"].get("consistent_snapshot") is not True:
            raise VerifyError(where, "consistent_snapshot must be true (POUF 1.3)")
        self.roots = [root]
        newest_bytes = data
        if self.trusted_root_path != self.p("tuf", "1.root.json") and os.path.exists(self.p("tuf", "1.root.json")):
            if read_bytes(self.p("tuf", "1.root.json")) != data and root.version == 1:
                raise VerifyError(self.p("tuf", "1.root.json"), "differs from the trusted root v1")
        v = root.version + 1
        while True:
            path = self.p("tuf", f"{v}.root.json")
            if not os.path.exists(path):
                break
            data = read_bytes(path)
            env = parse_envelope(data, "root", path)
            new = Root(env["signed"], path)
            if self.signatures:
                self.roots[-1].check_signatures("root", env, path + " (by the previous root)")
                new.check_signatures("root", env, path + " (by itself)")
            if new.version != v:
                raise VerifyError(path, f"version {new.version}, expected {v}")
            self.roots.append(new)
            newest_bytes = data
            v += 1
        alias = self.p("tuf", "root.json")
        if os.path.exists(alias) and read_bytes(alias) != newest_bytes:
            raise VerifyError(alias, f"is not the newest root (v{self.roots[-1].version})")

    def check_signed(self, role, env, where, any_root=False):
        """Signatures of `role` by the newest root, or (for history) by any root of the chain."""
        if not self.signatures:
            return
        if not any_root:
            self.roots[-1].check_signatures(role, env, where)
            return
        errors = []
        for root in reversed(self.roots):
            try:
                root.check_signatures(role, env, where)
                return
            except VerifyError as e:
                errors.append(e.reason)
        raise VerifyError(where, "not signed by the " + role + " role of any trusted root: " + "; ".join(errors))

    def timestamp_values(self, env, where):
        signed = env["signed"]
        meta = need_dict(signed, "meta", where)
        snap = meta.get("snapshot.json")
        if not isinstance(snap, dict):
            raise VerifyError(where, 'no meta["snapshot.json"]')
        n = need_uint(snap, "version", where + ': meta["snapshot.json"]')
        root = need_hex64(signed, "merkle_root", where)
        size = need_uint(signed, "merkle_tree_size", where)
        return n, root, size

    def load_snapshot_chain(self, n, where_ts, ts_entry, any_root):
        """k.snapshot.json and the targets it names; returns (snapshot env, targets env, targets path)."""
        spath = self.p("tuf", f"{n}.snapshot.json")
        sdata = read_bytes(spath)
        if ts_entry is not None:
            check_meta_pin(ts_entry, sdata, where_ts, "snapshot.json", version=n)
        senv = parse_envelope(sdata, "snapshot", spath)
        self.check_signed("snapshot", senv, spath, any_root)
        if senv["signed"]["version"] != n:
            raise VerifyError(spath, f"version {senv['signed']['version']}, expected {n}")
        smeta = need_dict(senv["signed"], "meta", spath)
        tentry = smeta.get("targets.json")
        if not isinstance(tentry, dict) or not is_uint(tentry.get("version")):
            raise VerifyError(spath, 'no meta["targets.json"] with a version')
        m = tentry["version"]
        tpath = self.p("tuf", f"{m}.targets.json")
        tdata = read_bytes(tpath)
        check_meta_pin(tentry, tdata, spath, "targets.json", version=m)
        tenv = parse_envelope(tdata, "targets", tpath)
        self.check_signed("targets", tenv, tpath, any_root)
        if tenv["signed"]["version"] != m:
            raise VerifyError(tpath, f"version {tenv['signed']['version']}, expected {m}")
        need_dict(tenv["signed"], "targets", tpath)
        return senv, tenv, tpath

    def check_removals(self, tenv, tpath, k, removed):
        records = tenv["signed"].get("x-tufmirror-removals")
        if not isinstance(records, list):
            raise VerifyError(tpath, '"x-tufmirror-removals" must be present and an array (POUF 1.6)')
        paths = []
        for i, rec in enumerate(records):
            w = f"{tpath}: x-tufmirror-removals[{i}]"
            exact_keys(rec, ("path", "snapshot_version", "reason"), w)
            paths.append(need_str(rec, "path", w))
            need_str(rec, "reason", w)
            if need_uint(rec, "snapshot_version", w) != k:
                raise VerifyError(w, f"snapshot_version {rec['snapshot_version']}, expected {k}")
        if sorted(paths, key=path_bytes) != list(removed) or len(set(paths)) != len(paths):
            raise VerifyError(
                tpath,
                f"removal records {sorted(paths, key=path_bytes)} are not exactly the paths that diff {k} removes {list(removed)}",
            )

    # -- Merkle -----------------------------------------------------------------------------

    def check_snapshot_tree(self, k, root, size, expected_leaves=None):
        """Leaf list, files and proofs of retained snapshot k; returns the number of proofs."""
        base = self.p("snapshots", str(k))
        lpath = os.path.join(base, "leaves.json")
        ll = check_leaf_list(load_json(lpath), lpath, expect_version=k)
        if ll["merkle_root"] != root or ll["tree_size"] != size:
            raise VerifyError(
                lpath,
                f"leaves give merkle_root {ll['merkle_root']} with {ll['tree_size']} leaves, the signed values for snapshot {k} "
                f"are merkle_root {root} with merkle_tree_size {size}",
            )
        leaves = ll["leaves"]
        if expected_leaves is not None and leaves != expected_leaves:
            raise VerifyError(lpath, "leaves differ from those that the diffs produce")
        for leaf in leaves:
            if not index_path_ok(leaf["path"]):
                raise VerifyError(lpath, f"{leaf['path']!r} is not a sparse-index path of a crate name (POUF 1.7)")
        index_dir = os.path.join(base, "index")
        proofs_dir = os.path.join(base, "proofs")
        files = self.walk(index_dir, skip_config=True)
        proof_files = self.walk(proofs_dir, skip_config=False)
        leaf_paths = [l["path"] for l in leaves]
        if sorted(files, key=path_bytes) != leaf_paths:
            extra = sorted(set(files) - set(leaf_paths))[:5]
            missing = sorted(set(leaf_paths) - set(files))[:5]
            raise VerifyError(index_dir, f"index files are not the leaves (files without leaf: {extra}, leaves without file: {missing})")
        if sorted(proof_files, key=path_bytes) != leaf_paths:
            extra = sorted(set(proof_files) - set(leaf_paths))[:5]
            missing = sorted(set(leaf_paths) - set(proof_files))[:5]
            raise VerifyError(proofs_dir, f"proof files are not the leaves (extra: {extra}, missing: {missing})")
        for i, path in enumerate(leaf_paths):
            fpath = os.path.join(index_dir, *path.split("/"))
            ppath = os.path.join(proofs_dir, *path.split("/"))
            proof = load_json(ppath)
            verify_file_proof(proof, path, read_bytes(fpath), root, size, k, ppath)
            if proof["leaf_index"] != i:
                raise VerifyError(ppath, f"leaf_index {proof['leaf_index']}, but {path!r} is leaf {i} of leaves.json")
        return len(leaf_paths), leaves

    @staticmethod
    def walk(top, skip_config):
        found = []
        if not os.path.isdir(top):  # an empty snapshot need not have proofs/; missing files show below
            return found
        for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
            rel = os.path.relpath(dirpath, top)
            for name in filenames:
                if skip_config and rel == "." and (name == "config.json" or name.endswith(".config.json")):
                    continue
                found.append(name if rel == "." else "/".join(rel.split(os.sep) + [name]))
        return found

    def check_symlink(self, path, target):
        if not os.path.islink(path):
            raise VerifyError(path, f"must be a symbolic link to {target} (POUF 2.3)")
        got = os.readlink(path)
        if got.rstrip("/") != target:
            raise VerifyError(path, f"links to {got!r}, expected {target!r} (POUF 2.3)")

    # -- the whole audit ---------------------------------------------------------------------

    def run(self):
        self.load_roots()
        self.log(f"root chain v1..v{self.roots[-1].version} ok")

        ts_path = self.p("tuf", "timestamp.json")
        ts_bytes = read_bytes(ts_path)
        ts = parse_envelope(ts_bytes, "timestamp", ts_path)
        self.check_signed("timestamp", ts, ts_path)
        n, root, size = self.timestamp_values(ts, ts_path)
        ts_version = ts["signed"]["version"]

        if self.check_layout:
            self.check_symlink(self.p("current"), f"snapshots/{n}")
            self.check_symlink(self.p("index"), "current/index")
            self.check_symlink(ts_path, "../current/timestamp.json")

        # The current chain timestamp -> snapshot -> targets -> config.json.
        senv, tenv, tpath = self.load_snapshot_chain(n, ts_path, ts["signed"]["meta"]["snapshot.json"], any_root=False)
        if self.now is not None:
            newest_root = self.roots[-1].signed
            for what, signed in (("root", newest_root), ("timestamp", ts["signed"]), ("snapshot", senv["signed"]),
                                 ("targets", tenv["signed"])):
                if signed["expires"] <= self.now:
                    raise VerifyError(f"current {what} metadata v{signed['version']}",
                                      f"expired at {signed['expires']} (now {self.now}); --allow-expired to audit anyway")
        cfg_entry = tenv["signed"]["targets"].get("config.json")
        for cfg in (self.p("index", "config.json"), self.p("snapshots", str(n), "index", "config.json")):
            check_meta_pin(cfg_entry, read_bytes(cfg), tpath, f"target config.json ({cfg})")
        cfg_hashed = self.p("index", f"{cfg_entry['hashes']['sha256']}.config.json")
        check_meta_pin(cfg_entry, read_bytes(cfg_hashed), tpath, f"target config.json ({cfg_hashed})")
        served = os.path.realpath(self.p("index"))
        if served != os.path.realpath(self.p("snapshots", str(n), "index")):
            raise VerifyError(self.p("index"), f"serves {served}, not snapshot {n}'s index")

        # The current snapshot, as a client sees it: every file with its proof against the signed root.
        if not os.path.isdir(self.p("snapshots", str(n))):
            raise VerifyError(self.p("snapshots", str(n)), "the current snapshot is not published")
        proofs, current_leaves = self.check_snapshot_tree(n, root, size)
        self.log(f"snapshot {n}: {proofs} proofs ok against merkle_root {root}")

        # Every timestamp of history, by the snapshot it names.
        named = {}  # snapshot version -> (root, size, timestamp path)
        hdir = self.p("history")
        ts_versions = []
        for name in os.listdir(hdir) if os.path.isdir(hdir) else []:
            m = re.fullmatch(r"([1-9][0-9]*)\.timestamp\.json", name)
            if m:
                ts_versions.append(int(m.group(1)))
        ts_versions.sort()
        if ts_version not in ts_versions:
            raise VerifyError(self.p("history", f"{ts_version}.timestamp.json"), "the current timestamp is missing from history (POUF 2.1)")
        last_named = 0
        for v in ts_versions:
            hp = self.p("history", f"{v}.timestamp.json")
            hbytes = read_bytes(hp)
            if v == ts_version and hbytes != ts_bytes:
                raise VerifyError(hp, "differs from the current tuf/timestamp.json of the same version")
            henv = parse_envelope(hbytes, "timestamp", hp)
            if henv["signed"]["version"] != v:
                raise VerifyError(hp, f"version {henv['signed']['version']}, the file name says {v}")
            self.check_signed("timestamp", henv, hp, any_root=True)
            hn, hroot, hsize = self.timestamp_values(henv, hp)
            check_meta_pin(henv["signed"]["meta"]["snapshot.json"], read_bytes(self.p("tuf", f"{hn}.snapshot.json")),
                           hp, f"snapshot.json ({hn}.snapshot.json)", version=hn)
            if hn < last_named:
                raise VerifyError(hp, f"names snapshot {hn} after an older timestamp named snapshot {last_named} (rollback)")
            last_named = hn
            if hn > n:
                raise VerifyError(hp, f"names snapshot {hn}, newer than the current snapshot {n}")
            if hn in named and named[hn][:2] != (hroot, hsize):
                raise VerifyError(hp, f"names root {hroot}/{hsize} for snapshot {hn}, {named[hn][2]} names {named[hn][0]}/{named[hn][1]} (equivocation)")
            named.setdefault(hn, (hroot, hsize, hp))
        if ts_versions and ts_versions[-1] != ts_version:
            raise VerifyError(ts_path, f"version {ts_version} but history has timestamp {ts_versions[-1]}")

        # Replay every diff from the empty tree.
        leaves, prev_root = [], EMPTY_ROOT
        roots = {0: (EMPTY_ROOT, 0)}
        leaves_at = {}
        if not os.path.isdir(self.p("snapshots")):
            raise VerifyError(self.p("snapshots"), "missing directory")
        retained = sorted(int(d) for d in os.listdir(self.p("snapshots")) if re.fullmatch(r"[1-9][0-9]*", d))
        for k in range(1, n + 1):
            dpath = self.p("history", f"{k}.diff.json")
            self.log(f"replaying {dpath}")
            diff = load_json(dpath)
            leaves, prev_root = apply_diff(leaves, diff, dpath, expect_version=k, previous_root=prev_root)
            roots[k] = (prev_root, len(leaves))
            if k in named and named[k][:2] != roots[k]:
                raise VerifyError(dpath, f"gives root {prev_root}/{len(leaves)}, {named[k][2]} signs {named[k][0]}/{named[k][1]}")
            if k in retained:
                leaves_at[k] = list(leaves)
            _, tenv_k, tpath_k = (senv, tenv, tpath) if k == n else self.load_snapshot_chain(k, None, None, any_root=True)
            self.check_removals(tenv_k, tpath_k, k, diff["removed"])
        if roots[n] != (root, size):
            raise VerifyError(ts_path, f"signs root {root}/{size}, the diffs give {roots[n][0]}/{roots[n][1]}")

        if current_leaves != leaves_at[n]:
            raise VerifyError(self.p("snapshots", str(n), "leaves.json"), "leaves differ from those that the diffs produce")
        self.log(f"diffs 1..{n} replay to every signed root")
        older = []
        for k in retained:
            if k > n:
                raise VerifyError(self.p("snapshots", str(k)), f"is newer than the current snapshot {n}")
            if k != n:
                self.check_snapshot_tree(k, roots[k][0], roots[k][1], expected_leaves=leaves_at[k])
                older.append(k)
        return {
            "proofs": proofs,
            "root": root,
            "snapshot": n,
            "size": size,
            "timestamp": ts_version,
            "diffs": n,
            "timestamps": len(ts_versions),
            "root_version": self.roots[-1].version,
            "older": older,
        }


# --------------------------------------------------------------------------------------------
# Self test: known answers, and the two shape descriptions of POUF 1.4 against each other.
# --------------------------------------------------------------------------------------------


def self_test():
    checks = 0

    def eq(a, b, what):
        nonlocal checks
        checks += 1
        if a != b:
            raise AssertionError(f"{what}: {a!r} != {b!r}")

    eq(canonical_json({"b": 1, "a": [True, None, "x"]}), b'{"a":[true,null,"x"],"b":1}', "sort, no white space")
    eq(canonical_json({"k": 'a"b\\c\nd\x01\u00e9\u2028'}), '{"k":"a\\"b\\\\c\nd\x01\u00e9\u2028"}'.encode(), "escapes")
    eq(canonical_json({"a#": 1, 'a"': 2}), b'{"a\\"":2,"a#":1}', "sort by code point, not escaped bytes")
    eq(canonical_json({"\U0001F600": 1, "\uFF61": 2}), '{"\uFF61":2,"\U0001F600":1}'.encode(), "code point, not UTF-16, order")
    eq(canonical_json("e\u0301"), b'"e\xcc\x81"', "no NFC")
    eq(canonical_json([-5, 0, 2**64 - 1]), b"[-5,0,18446744073709551615]", "integers")
    for bad in (1.5, float("nan"), {1: 2}, b"x"):
        try:
            canonical_json(bad)
        except ValueError:
            checks += 1
        else:
            raise AssertionError(f"canonical_json accepted {bad!r}")
    try:
        parse_json(b'{"a": 1.0}', "t")
    except VerifyError:
        checks += 1
    else:
        raise AssertionError("parse_json accepted a float")
    try:
        parse_json(b'{"a": 1, "a": 2}', "t")
    except VerifyError:
        checks += 1
    else:
        raise AssertionError("parse_json accepted a duplicate key")

    eq(mth([]).hex(), EMPTY_ROOT, "empty root")
    eq(EMPTY_ROOT, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty root value")
    leaf = {"length": 6, "path": 'se/rd/se"r\\de', "sha256": hashlib.sha256(b"hello\n").hexdigest()}
    eq(canonical_json(leaf), ('{"length":6,"path":"se/rd/se\\"r\\\\de","sha256":"' + leaf["sha256"] + '"}').encode(), "leaf bytes")
    eq(leaf_hash(leaf), hashlib.sha256(b"\x00" + canonical_json(leaf)).digest(), "leaf hash")

    for n in range(0, 70):
        leaves = [{"length": i, "path": f"{i:05}", "sha256": hashlib.sha256(str(i).encode()).hexdigest()} for i in range(n)]
        hashes = [leaf_hash(l) for l in leaves]
        root = mth(hashes)
        eq(root, root_bottom_up(hashes), f"MTH = bottom-up at size {n}")
        for i in range(n):
            # Build the proof bottom-up, independently of expected_directions, then verify it.
            level, idx, mpath, dirs = list(hashes), i, {}, {}
            while len(level) > 1:
                if idx % 2 == 1:
                    mpath[str(len(mpath))] = level[idx - 1].hex()
                    dirs[str(len(dirs))] = "L"
                elif idx + 1 < len(level):
                    mpath[str(len(mpath))] = level[idx + 1].hex()
                    dirs[str(len(dirs))] = "R"
                nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
                if len(level) % 2:
                    nxt.append(level[-1])
                level, idx = nxt, idx // 2
            proof = {"leaf_contents": leaves[i], "leaf_index": i, "tree_size": n, "snapshot_version": 3,
                     "merkle_path": mpath, "path_directions": dirs}
            verify_inclusion(proof, root.hex(), n, 3, "self-test")
            checks += 1
            if n > 1:
                bad = dict(proof, leaf_index=(i + 1) % n)
                try:
                    verify_inclusion(bad, root.hex(), n, 3, "self-test")
                except VerifyError:
                    checks += 1
                else:
                    if expected_directions((i + 1) % n, n) != expected_directions(i, n):
                        raise AssertionError(f"shape check missed index {i}->{(i + 1) % n} at size {n}")
                    # Same shape: the fold must then differ because the leaf hash sits elsewhere.
                    raise AssertionError(f"moved leaf index verified at size {n}, index {i}")

    # RFC 8032 section 7.1, tests 1 and 2.
    pk1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    eq(ed25519_verify(pk1, b"", sig1), True, "RFC 8032 test 1")
    eq(ed25519_verify(pk1, b"x", sig1), False, "RFC 8032 test 1, wrong message")
    pk2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig2 = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    eq(ed25519_verify(pk2, b"\x72", sig2), True, "RFC 8032 test 2")
    eq(ed25519_verify(pk2, b"\x72", sig2[:63] + bytes([sig2[63] ^ 1])), False, "RFC 8032 test 2, flipped bit")
    eq(key_id({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pk1.hex()}}),
       hashlib.sha256(('{"keytype":"ed25519","keyval":{"public":"' + pk1.hex() + '"},"scheme":"ed25519"}').encode()).hexdigest(),
       "key id")
    eq(expected_directions(4, 5), ["L"], "directions of the last of 5")
    eq(expected_directions(6, 7), ["L", "L"], "directions of the last of 7 (promoted once)")
    eq(expected_directions(0, 1), [], "directions of a single leaf")
    eq(index_path_ok("se/rd/serde") and index_path_ok("1/a") and index_path_ok("2/ab") and index_path_ok("3/s/syn"), True, "paths")
    eq(index_path_ok("se/rd/Serde") or index_path_ok("3/x/syn") or index_path_ok("2/abc") or index_path_ok("../x"), False, "bad paths")
    return checks


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------


def proof_mode(args):
    where = args.proof
    proof = load_json(args.proof)
    root = args.root
    if isinstance(proof, dict) and "absent" in proof:
        if args.file:
            raise VerifyError(where, "a non-inclusion proof says a path is absent: there is no --file to check")
        verify_non_inclusion(proof, args.path, root, args.size, args.version, where)
        print(f"pouf_verify: non-inclusion proof ok: {args.path} is not in snapshot {args.version} ({args.size} leaves, root {root})")
        return
    if args.file:
        verify_file_proof(proof, args.path, read_bytes(args.file), root, args.size, args.version, where)
    else:
        verify_inclusion(proof, root, args.size, args.version, where)
        if proof["leaf_contents"]["path"] != args.path:
            raise VerifyError(where, f"proof is for path {proof['leaf_contents']['path']!r}, not {args.path!r}")
    print(f"pouf_verify: proof ok: {args.path} is leaf {proof['leaf_index']} of snapshot {args.version} ({args.size} leaves, root {root})")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent POUF-tufmirror-1 verifier (stdlib only).")
    ap.add_argument("outdir", nargs="?", help="output directory of `tufmirror publish`")
    ap.add_argument("--trusted-root", help="root metadata to trust (default: OUTDIR/tuf/1.root.json)")
    ap.add_argument("--no-signatures", action="store_true", help="skip signature checks (to test the Merkle layer alone)")
    ap.add_argument("--check-layout", action="store_true", help="also check the symbolic links of POUF 2.3")
    ap.add_argument("--allow-expired", action="store_true",
                    help="do not refuse expired current metadata (to audit an old copy)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--proof", help="check one proof file instead of a directory")
    ap.add_argument("--root", help="with --proof: the signed merkle_root (hex)")
    ap.add_argument("--size", type=int, help="with --proof: the signed merkle_tree_size")
    ap.add_argument("--version", type=int, help="with --proof: the snapshot version the timestamp names")
    ap.add_argument("--path", help="with --proof: the index path asked for")
    ap.add_argument("--file", help="with --proof: the file's bytes (inclusion proofs)")
    ap.add_argument("--self-test", action="store_true", help="run known-answer tests of the primitives")
    args = ap.parse_args(argv)

    try:
        if args.self_test:
            n = self_test()
            print(f"pouf_verify: self-test ok ({n} checks)")
            return 0
        if args.proof:
            if args.root is None or args.size is None or args.version is None or args.path is None:
                ap.error("--proof needs --root, --size, --version and --path")
            if not HEX64.match(args.root) or args.size < 0 or args.version < 0:
                ap.error("--root must be 64 lowercase hex digits, --size and --version non-negative")
            proof_mode(args)
            return 0
        if not args.outdir:
            ap.error("give OUTDIR, --proof ... or --self-test")
        log = (lambda m: print("pouf_verify: " + m, file=sys.stderr)) if args.verbose else None
        now = None if args.allow_expired else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        r = Audit(args.outdir, args.trusted_root, signatures=not args.no_signatures,
                  check_layout=args.check_layout, log=log, now=now).run()
        older = f", older retained snapshots {','.join(map(str, r['older']))} ok" if r["older"] else ""
        print(
            f"pouf_verify: {r['proofs']} proofs ok, root {r['root']} (snapshot {r['snapshot']}, tree size {r['size']}, "
            f"timestamp v{r['timestamp']}, root v{r['root_version']}, {r['diffs']} diffs replayed, "
            f"{r['timestamps']} timestamps checked{older}"
            f"{', signatures NOT checked' if args.no_signatures else ''})"
        )
        return 0
    except VerifyError as e:
        print(f"pouf_verify: FAIL: {e.where}: {e.reason}")
        return 1
    except SystemExit:
        raise
    except Exception:  # a bug in this script: never report it as a verdict on the data
        traceback.print_exc()
        print("pouf_verify: INTERNAL ERROR (a bug in pouf_verify.py, not a verdict)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
