"""The snapshot Merkle tree (POUF 1.4), proofs (1.5), leaf lists and diffs (1.6).

Every function checks the form of what it is given (exact fields, types) before it trusts it, and
raises VerifyError naming `where` on any failure. Hashes are raw bytes inside, hex outside."""

import hashlib

from .cjson import canonical_json
from .fields import (HEX64, VerifyError, exact_keys, need_dict, need_hex64, need_list, need_str, need_uint,
                     path_bytes)

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()

# --------------------------------------------------------------------------------------------
# 1.4 The tree.
# --------------------------------------------------------------------------------------------


def check_leaf(leaf, where):
    """Leaf contents: exactly {"length", "path", "sha256"}."""
    exact_keys(leaf, ("length", "path", "sha256"), where)
    need_uint(leaf, "length", where)
    need_str(leaf, "path", where)
    need_hex64(leaf, "sha256", where)
    return leaf


def leaf_hash(leaf):
    """SHA-256(0x00 || canonical_json(leaf_contents))."""
    return hashlib.sha256(b"\x00" + canonical_json(leaf)).digest()


def node_hash(left, right):
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """The RFC 6962 Merkle Tree Hash; the empty tree is SHA-256("")."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:  # the largest power of two smaller than n
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def root_bottom_up(hashes):
    """The POUF's second description of the shape: pair from the left, promote a lone last node.
    (Only the self-test uses it, to hold the two descriptions against each other.)"""
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
    """Leaf order: bytewise ascending, unique."""
    for a, b in zip(paths, paths[1:]):
        if path_bytes(a) == path_bytes(b):
            raise VerifyError(where, f"{what}: path {a!r} appears twice")
        if path_bytes(a) > path_bytes(b):
            raise VerifyError(where, f"{what} are not sorted bytewise by path: {a!r} comes before {b!r}")


def root_of_leaves(leaves, where):
    """Checks the order of checked leaves and returns their root, hex."""
    check_sorted_paths([leaf["path"] for leaf in leaves], where)
    return mth([leaf_hash(leaf) for leaf in leaves]).hex()


# --------------------------------------------------------------------------------------------
# 1.5 Proofs.
# --------------------------------------------------------------------------------------------

PROOF_FIELDS = ("leaf_contents", "leaf_index", "tree_size", "snapshot_version", "merkle_path", "path_directions")
NON_INCLUSION_FIELDS = ("absent", "snapshot_version", "tree_size", "left", "right")


def expected_directions(index, size):
    """Step 2: the directions that leaf_index and tree_size imply, from the leaf upwards."""
    out = []
    i, n = index, size
    while n > 1:
        if i % 2 == 1:
            out.append("L")
        elif i + 1 < n:
            out.append("R")
        # else: the node is promoted, no entry
        i //= 2
        n = (n + 1) // 2
    return out


def _check_pinned(proof, tree_size, snapshot_version, where):
    """Step 1: the proof names the snapshot and tree size of the verified timestamp."""
    sv = need_uint(proof, "snapshot_version", where)
    ts = need_uint(proof, "tree_size", where)
    if sv != snapshot_version:
        raise VerifyError(where, f"snapshot_version {sv} is not the timestamp's snapshot {snapshot_version}")
    if ts != tree_size:
        raise VerifyError(where, f"tree_size {ts} is not the timestamp's merkle_tree_size {tree_size}")


def proof_root(proof, where):
    """Checks the proof's form and shape (step 2) and returns the root it folds to (step 3), hex."""
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
        sibling, direction = mpath[str(i)], dirs[str(i)]
        if not isinstance(sibling, str) or not HEX64.match(sibling):
            raise VerifyError(where, f"merkle_path[{i}] is not 64 lowercase hex digits")
        if direction not in ("L", "R"):
            raise VerifyError(where, f'path_directions[{i}] must be "L" or "R", found {direction!r}')
        steps.append((direction, bytes.fromhex(sibling)))

    found = "".join(d for d, _ in steps)
    expected = "".join(expected_directions(index, size))
    if found != expected:
        raise VerifyError(where, f"path shape {found or '(empty)'} does not fit leaf_index {index} in a tree of {size} "
                                 f"(expected {expected or '(empty)'})")

    h = leaf_hash(leaf)
    for direction, sibling in steps:
        h = node_hash(sibling, h) if direction == "L" else node_hash(h, sibling)
    return h.hex()


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
    """`absent` lies strictly between two adjacent leaves (or before the first, after the last)."""
    exact_keys(proof, NON_INCLUSION_FIELDS, where)
    if need_str(proof, "absent", where) != absent:
        raise VerifyError(where, f"non-inclusion proof is for {proof['absent']!r}, not {absent!r}")
    _check_pinned(proof, tree_size, snapshot_version, where)
    left, right = proof["left"], proof["right"]
    for side, p in (("left", left), ("right", right)):
        if p is not None:
            verify_inclusion(p, root, tree_size, snapshot_version, f"{where}: {side}")

    if tree_size == 0:
        if left is None and right is None:
            return
        raise VerifyError(where, "an empty tree has no neighbours")
    if left is None and right is None:
        raise VerifyError(where, "a non-empty tree needs at least one neighbour")
    a = path_bytes(absent)
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
