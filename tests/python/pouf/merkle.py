"""The snapshot Merkle tree (POUF 1.4), proofs (1.5), leaf lists and diffs (1.6).

Every function that reads a proof, a leaf list or a diff checks the form of what it is given (exact
fields, types) before it trusts it, and raises VerifyError naming `where` on any failure. Hashes
are raw bytes inside, hex outside. `Tree` also builds proofs, for the self-test and
../make_merkle_vectors.py."""

import hashlib

from .cjson import canonical_json
from .fields import (HEX64, VerifyError, exact_keys, need_dict, need_hex64, need_list, need_str, need_uint,
                     path_bytes)

BUCKET_BITS = 16  # the depth of the top tree: 65,536 buckets
MAX_PATH_ENTRIES = 64  # step 2: 16 <= m <= 64

# --------------------------------------------------------------------------------------------
# 1.4 The tree.
# --------------------------------------------------------------------------------------------


def node_hash(left, right):
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _empty_subtrees():
    """E0..E16: E0 = SHA-256("") is an empty bucket, E(k+1) = node(E(k), E(k)) a top node of
    height k+1 with no leaf below it."""
    e = [hashlib.sha256(b"").digest()]
    for _ in range(BUCKET_BITS):
        e.append(node_hash(e[-1], e[-1]))
    return tuple(e)


EMPTY_SUBTREES = _empty_subtrees()
EMPTY_ROOT = EMPTY_SUBTREES[BUCKET_BITS].hex()  # E16, the root of the empty tree


def need_utf8(path, where, what="path"):
    """A path must have UTF-8 bytes (no lone surrogate, which strict JSON can spell as "\\ud800"):
    buckets, leaf hashes and the leaf order are all taken over those bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise VerifyError(where, f"{what} {path!r} has no UTF-8 form") from None
    return path


def check_leaf(leaf, where):
    """Leaf contents: exactly {"length", "path", "sha256"}."""
    exact_keys(leaf, ("length", "path", "sha256"), where)
    need_uint(leaf, "length", where)
    need_utf8(need_str(leaf, "path", where), where)
    need_hex64(leaf, "sha256", where)
    return leaf


def leaf_hash(leaf):
    """SHA-256(0x00 || canonical_json(leaf_contents))."""
    return hashlib.sha256(b"\x00" + canonical_json(leaf)).digest()


def bucket_of(path):
    """The first two bytes of SHA-256(path) as a big-endian number, 0 <= b < 65536."""
    return int.from_bytes(hashlib.sha256(path_bytes(path)).digest()[:2], "big")


def mth(hashes):
    """The RFC 6962 Merkle Tree Hash (a bucket's root); no leaves give E0 = SHA-256("")."""
    n = len(hashes)
    if n == 0:
        return EMPTY_SUBTREES[0]
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:  # the largest power of two smaller than n
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def root_bottom_up(hashes):
    """The POUF's second description of a bucket's shape: pair from the left, promote a lone last
    node. (Only the self-test uses it, to hold the two descriptions against each other.)"""
    if not hashes:
        return EMPTY_SUBTREES[0]
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def top_levels(bucket_roots):
    """The top tree over {bucket: root} (buckets not named are empty), level by level from the
    buckets (k = 0) to the root (k = 16): levels[k] maps j to T[k][j] for the nodes with a leaf
    below them; every other node of level k is E(k). Kept sparse because n leaves touch at most
    16 n of the 131,071 nodes."""
    levels = [dict(bucket_roots)]
    for k in range(BUCKET_BITS):
        below, empty = levels[-1], EMPTY_SUBTREES[k]
        levels.append({j: node_hash(below.get(2 * j, empty), below.get(2 * j + 1, empty))
                       for j in sorted({i >> 1 for i in below})})
    return levels


def top_siblings(levels, b):
    """The 16 siblings from bucket b's root up to the root: at level k, the other child T[k][(b >> k) ^ 1]."""
    return [levels[k].get((b >> k) ^ 1, EMPTY_SUBTREES[k]) for k in range(BUCKET_BITS)]


def top_directions(b):
    """Step 2: the sides of the 16 top siblings of bucket b. Bit j of b is 1 when the node at level
    j is a right child, so its sibling is the left one."""
    return ["L" if (b >> j) & 1 else "R" for j in range(BUCKET_BITS)]


def fold(h, steps):
    """Folds [(direction, sibling)] upwards from h: "L" is h = node(sibling, h), "R" h = node(h, sibling)."""
    for direction, sibling in steps:
        h = node_hash(sibling, h) if direction == "L" else node_hash(h, sibling)
    return h


def check_sorted_paths(paths, where, what="leaves"):
    """Leaf order: bytewise ascending, unique."""
    for a, b in zip(paths, paths[1:]):
        if path_bytes(a) == path_bytes(b):
            raise VerifyError(where, f"{what}: path {a!r} appears twice")
        if path_bytes(a) > path_bytes(b):
            raise VerifyError(where, f"{what} are not sorted bytewise by path: {a!r} comes before {b!r}")


class Tree:
    """The tree of checked leaves sorted by path: its buckets, top levels and root (which leaf lists
    and diffs are checked against), and the proofs of 1.5, built for the self-test and the vectors
    (the proof verifiers below never use this class)."""

    def __init__(self, leaves):
        self.leaves = list(leaves)
        self.buckets = {}  # bucket -> its leaves, in path order (a sub-list of sorted leaves is sorted)
        for leaf in self.leaves:
            self.buckets.setdefault(bucket_of(leaf["path"]), []).append(leaf)
        self.levels = top_levels({b: mth([leaf_hash(x) for x in ls]) for b, ls in self.buckets.items()})
        self.root = self.levels[BUCKET_BITS].get(0, EMPTY_SUBTREES[BUCKET_BITS])

    def inclusion_proof(self, i, snapshot_version):
        """The inclusion proof of leaves[i]: the in-bucket path, built bottom-up, then the top."""
        leaf = self.leaves[i]
        b = bucket_of(leaf["path"])
        members = self.buckets[b]
        steps = bucket_steps([leaf_hash(x) for x in members], members.index(leaf))
        steps += zip(top_directions(b), top_siblings(self.levels, b))
        return {"leaf_contents": leaf, "tree_size": len(self.leaves), "snapshot_version": snapshot_version,
                "merkle_path": {str(k): s.hex() for k, (_, s) in enumerate(steps)},
                "path_directions": {str(k): d for k, (d, _) in enumerate(steps)}}

    def non_inclusion_proof(self, absent, snapshot_version):
        """The non-inclusion proof of a path that no leaf has: its bucket's leaves and top path."""
        if any(leaf["path"] == absent for leaf in self.leaves):
            raise ValueError(f"{absent!r} is a leaf: it has no non-inclusion proof")
        b = bucket_of(absent)
        return {"absent": absent, "snapshot_version": snapshot_version, "tree_size": len(self.leaves),
                "bucket_leaves": list(self.buckets.get(b, [])),
                "bucket_path": [s.hex() for s in top_siblings(self.levels, b)]}


def bucket_steps(hashes, i):
    """[(direction, sibling)] from leaf i to the root of an RFC 6962 tree, built level by level: a
    promoted node has no entry."""
    level, steps = list(hashes), []
    while len(level) > 1:
        if i % 2 == 1:
            steps.append(("L", level[i - 1]))
        elif i + 1 < len(level):
            steps.append(("R", level[i + 1]))
        nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, i = nxt, i // 2
    return steps


def root_of_leaves(leaves, where):
    """Checks the order of checked leaves and returns the root of their tree, hex."""
    check_sorted_paths([leaf["path"] for leaf in leaves], where)
    return Tree(leaves).root.hex()


# --------------------------------------------------------------------------------------------
# 1.5 Proofs.
# --------------------------------------------------------------------------------------------

PROOF_FIELDS = ("leaf_contents", "tree_size", "snapshot_version", "merkle_path", "path_directions")
NON_INCLUSION_FIELDS = ("absent", "snapshot_version", "tree_size", "bucket_leaves", "bucket_path")


def _check_pinned(proof, tree_size, snapshot_version, where):
    """Step 1: the proof names the snapshot and tree size of the verified timestamp."""
    sv = need_uint(proof, "snapshot_version", where)
    ts = need_uint(proof, "tree_size", where)
    if sv != snapshot_version:
        raise VerifyError(where, f"snapshot_version {sv} is not the timestamp's snapshot {snapshot_version}")
    if ts != tree_size:
        raise VerifyError(where, f"tree_size {ts} is not the timestamp's merkle_tree_size {tree_size}")


def _path_steps(proof, where):
    """merkle_path and path_directions as [(direction, sibling)]: keys exactly "0".."m-1" in both,
    16 <= m <= 64, 64-hex siblings, directions "L" or "R"."""
    mpath = need_dict(proof, "merkle_path", where)
    dirs = need_dict(proof, "path_directions", where)
    m = len(mpath)
    wanted_keys = {str(i) for i in range(m)}
    if set(mpath) != wanted_keys or set(dirs) != wanted_keys:
        raise VerifyError(where, f'merkle_path and path_directions must both have exactly the keys "0".."{m - 1}"')
    if not BUCKET_BITS <= m <= MAX_PATH_ENTRIES:
        raise VerifyError(where, f"the path has {m} entries: a proof has between {BUCKET_BITS} and {MAX_PATH_ENTRIES}")
    steps = []
    for i in range(m):
        sibling, direction = mpath[str(i)], dirs[str(i)]
        if not isinstance(sibling, str) or not HEX64.match(sibling):
            raise VerifyError(where, f"merkle_path[{i}] is not 64 lowercase hex digits")
        if direction not in ("L", "R"):
            raise VerifyError(where, f'path_directions[{i}] must be "L" or "R", found {direction!r}')
        steps.append((direction, bytes.fromhex(sibling)))
    return steps


def proof_root(proof, where):
    """Checks the proof's form and its top directions (step 2) and returns the root it folds to
    (step 3), hex."""
    exact_keys(proof, PROOF_FIELDS, where)
    leaf = check_leaf(proof["leaf_contents"], where + ": leaf_contents")
    need_uint(proof, "tree_size", where)
    need_uint(proof, "snapshot_version", where)
    steps = _path_steps(proof, where)
    b = bucket_of(leaf["path"])
    found = "".join(d for d, _ in steps[-BUCKET_BITS:])
    expected = "".join(top_directions(b))
    if found != expected:
        raise VerifyError(where, f"the last {BUCKET_BITS} directions {found} do not spell bucket {b} of "
                                 f"{leaf['path']!r} (expected {expected})")
    return fold(leaf_hash(leaf), steps).hex()


def verify_inclusion(proof, root, tree_size, snapshot_version, where):
    """Steps 1-3 against a verified timestamp's values."""
    exact_keys(proof, PROOF_FIELDS, where)
    _check_pinned(proof, tree_size, snapshot_version, where)
    got = proof_root(proof, where)
    if got != root:
        raise VerifyError(where, f"proof folds to root {got}, the signed merkle_root is {root}")


def verify_file_proof(proof, path, data, root, tree_size, snapshot_version, where):
    """Steps 1-4: the proof verifies, and its leaf is `path` with exactly these bytes."""
    verify_inclusion(proof, root, tree_size, snapshot_version, where)
    leaf = proof["leaf_contents"]
    if leaf["path"] != path:
        raise VerifyError(where, f"proof is for path {leaf['path']!r}, not {path!r}")
    length, digest = len(data), hashlib.sha256(data).hexdigest()
    if leaf["length"] != length or leaf["sha256"] != digest:
        raise VerifyError(where, f"file ({length} bytes, sha256 {digest}) does not match its leaf "
                                 f"({leaf['length']} bytes, sha256 {leaf['sha256']})")


def verify_non_inclusion(proof, absent, root, tree_size, snapshot_version, where):
    """`absent` is not a leaf: the proof lists every leaf of its bucket, none of them `absent`, and
    their bucket root with the 16 top siblings folds to the signed root."""
    exact_keys(proof, NON_INCLUSION_FIELDS, where)
    if need_utf8(need_str(proof, "absent", where), where, "absent") != absent:
        raise VerifyError(where, f"non-inclusion proof is for {proof['absent']!r}, not {absent!r}")
    _check_pinned(proof, tree_size, snapshot_version, where)
    b = bucket_of(absent)

    leaves = need_list(proof, "bucket_leaves", where)
    for i, leaf in enumerate(leaves):
        check_leaf(leaf, f"{where}: bucket_leaves[{i}]")
    check_sorted_paths([leaf["path"] for leaf in leaves], where, "bucket_leaves")
    for leaf in leaves:
        if leaf["path"] == absent:
            raise VerifyError(where, f"bucket_leaves has {absent!r}: the proof shows it present, not absent")
        if bucket_of(leaf["path"]) != b:
            raise VerifyError(where, f"bucket_leaves has {leaf['path']!r} of bucket {bucket_of(leaf['path'])}, "
                                     f"not of bucket {b} of {absent!r}")

    siblings = need_list(proof, "bucket_path", where)
    if len(siblings) != BUCKET_BITS:
        raise VerifyError(where, f"bucket_path must have {BUCKET_BITS} entries, found {len(siblings)}")
    for j, s in enumerate(siblings):
        if not isinstance(s, str) or not HEX64.match(s):
            raise VerifyError(where, f"bucket_path[{j}] is not 64 lowercase hex digits")
    steps = zip(top_directions(b), (bytes.fromhex(s) for s in siblings))
    got = fold(mth([leaf_hash(leaf) for leaf in leaves]), steps).hex()
    if got != root:
        raise VerifyError(where, f"bucket {b} with {len(leaves)} leaves folds to root {got}, "
                                 f"the signed merkle_root is {root}")


# --------------------------------------------------------------------------------------------
# 1.6 Leaf lists and diffs.
# --------------------------------------------------------------------------------------------

LEAF_LIST_FIELDS = ("snapshot_version", "tree_size", "merkle_root", "leaves")
DIFF_FIELDS = ("snapshot_version", "previous_version", "previous_root", "merkle_root", "tree_size",
               "added", "changed", "removed")


def check_leaf_list(obj, where, expect_version=None):
    """A leaf list whose leaves recompute to its merkle_root; returns it."""
    exact_keys(obj, LEAF_LIST_FIELDS, where)
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

    # Each list well formed and sorted by path; no path in two lists.
    for name, lst in (("added", added), ("changed", changed)):
        for i, leaf in enumerate(lst):
            check_leaf(leaf, f"{where}: {name}[{i}]")
        check_sorted_paths([leaf["path"] for leaf in lst], where, name)
    for i, p in enumerate(removed):
        if not isinstance(p, str):
            raise VerifyError(where, f"removed[{i}] must be a path string")
        need_utf8(p, where, f"removed[{i}]")
    check_sorted_paths(removed, where, "removed")
    seen = set()
    for p in [leaf["path"] for leaf in added] + [leaf["path"] for leaf in changed] + removed:
        if p in seen:
            raise VerifyError(where, f"{p!r} is listed in more than one of added/changed/removed")
        seen.add(p)

    # Removed and changed paths exist, changed ones really change, added ones are new.
    current = {leaf["path"]: leaf for leaf in previous}
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
