"""Known-answer tests of the primitives: canonical JSON; the tree of POUF 1.4 (its printed constants,
the two descriptions of a bucket's shape against each other, merkle.Tree against a dense build of
the whole top tree); proofs of 1.5 built both ways, verified, and refused once mutated; and the
signature checks (RFC 8032 vectors; what OpenSSL accepts and this verifier must refuse)."""

import base64
import copy
import hashlib
import itertools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .cjson import canonical_json
from .fields import VerifyError, index_path_ok, parse_json
from .merkle import (EMPTY_ROOT, EMPTY_SUBTREES, Tree, apply_diff, bucket_of, bucket_steps, check_leaf_list, fold,
                     leaf_hash, mth, node_hash, root_bottom_up, top_directions, verify_inclusion, verify_non_inclusion)
from .metadata import SMALL_ORDER_Y, ed25519_decodes, key_id, make_verifier

_ED_L = 2**252 + 27742317777372353535851937790883648493
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class _Checks:
    def __init__(self):
        self.count = 0

    def eq(self, a, b, what):
        self.count += 1
        if a != b:
            raise AssertionError(f"{what}: {a!r} != {b!r}")

    def refuses(self, f, reason, what):
        """f raises VerifyError, and its reason says `reason` (so that the intended rule refused it)."""
        self.count += 1
        try:
            f()
        except VerifyError as e:
            if reason not in e.reason:
                raise AssertionError(f"{what}: refused, but for another reason than {reason!r}: {e.reason}") from None
            return
        raise AssertionError(f"{what}: accepted")

    def raises(self, exc, f, what):
        self.count += 1
        try:
            f()
        except exc:
            return
        raise AssertionError(f"{what}: no {exc.__name__}")


def run():
    t = _Checks()
    _canonical_json(t)
    _merkle(t)
    _ed25519(t)
    _p256(t)
    for p in ("se/rd/serde", "1/a", "2/ab", "3/s/syn"):
        t.eq(index_path_ok(p), True, f"index path {p}")
    for p in ("se/rd/Serde", "3/x/syn", "2/abc", "../x"):
        t.eq(index_path_ok(p), False, f"not an index path: {p}")
    return t.count


def _canonical_json(t):
    t.eq(canonical_json({"b": 1, "a": [True, None, "x"]}), b'{"a":[true,null,"x"],"b":1}', "sort, no white space")
    t.eq(canonical_json({"k": 'a"b\\c\nd\x01\u00e9\u2028'}), '{"k":"a\\"b\\\\c\nd\x01\u00e9\u2028"}'.encode(), "escapes")
    t.eq(canonical_json({"a#": 1, 'a"': 2}), b'{"a\\"":2,"a#":1}', "sort by code point, not escaped bytes")
    t.eq(canonical_json({"\U0001F600": 1, "\uFF61": 2}), '{"\uFF61":2,"\U0001F600":1}'.encode(), "code point, not UTF-16, order")
    t.eq(canonical_json("e\u0301"), b'"e\xcc\x81"', "no NFC")
    t.eq(canonical_json([-5, 0, 2**64 - 1]), b"[-5,0,18446744073709551615]", "integers")
    for bad in (1.5, float("nan"), {1: 2}, b"x", "\ud800"):
        t.raises(ValueError, lambda: canonical_json(bad), f"canonical_json of {bad!r}")
    t.raises(VerifyError, lambda: parse_json(b'{"a": 1.0}', "t"), "parse_json of a float")
    t.raises(VerifyError, lambda: parse_json(b'{"a": 1, "a": 2}', "t"), "parse_json of a duplicate key")
    t.raises(VerifyError, lambda: parse_json(b'{"a": NaN}', "t"), "parse_json of NaN")


def _merkle(t):
    leaf = {"length": 6, "path": 'se/rd/se"r\\de', "sha256": hashlib.sha256(b"hello\n").hexdigest()}
    t.eq(canonical_json(leaf), ('{"length":6,"path":"se/rd/se\\"r\\\\de","sha256":"' + leaf["sha256"] + '"}').encode(), "leaf bytes")
    t.eq(leaf_hash(leaf), hashlib.sha256(b"\x00" + canonical_json(leaf)).digest(), "leaf hash")

    # The constants and the example that POUF 1.4 prints.
    t.eq(EMPTY_SUBTREES[0], hashlib.sha256(b"").digest(), "E0 = SHA-256(\"\")")
    t.eq(EMPTY_ROOT, "03f0e06610687f70ab58d0e39ae4abb846a5ad17ec789db9d910d27f0ec52ba3", "E16, the empty root")
    t.eq(Tree([]).root.hex(), EMPTY_ROOT, "root of no leaves")
    t.eq(_DenseTree([]).root.hex(), EMPTY_ROOT, "root of 65,536 empty buckets, built densely")
    t.eq(hashlib.sha256(b"se/rd/serde").hexdigest()[:4], "2a0b", "SHA-256 of se/rd/serde")
    t.eq(bucket_of("se/rd/serde"), 10763, "bucket of se/rd/serde")
    t.eq("".join(top_directions(10763)), "LLRLRRRRRLRLRLRR", "top directions of bucket 10763 = 0b0010101000001011")

    # Inside a bucket: the recursive MTH against the bottom-up description, and the bottom-up
    # proof of every leaf against RFC 6962's recursive PATH.
    for n in range(70):
        hashes_ = [hashlib.sha256(b"%d" % i).digest() for i in range(n)]
        t.eq(mth(hashes_), root_bottom_up(hashes_), f"MTH = bottom-up at size {n}")
        for i in range(n):
            steps = bucket_steps(hashes_, i)
            t.eq(steps, _rfc6962_path(hashes_, i), f"path of leaf {i} of {n}, bottom-up = RFC 6962 PATH")
            t.eq(fold(hashes_[i], steps), mth(hashes_), f"path of leaf {i} of {n} folds to MTH")

    collisions = _colliding_paths([2, 3, 4, 5, 6, 7])
    trees = {
        "empty": [],
        "index paths": _leaves(_INDEX_PATHS),
        "colliding buckets": _leaves([p for group in collisions for p in group] + _INDEX_PATHS[:6]),
    }
    for name, leaves in trees.items():
        _check_tree(t, name, leaves)
    _check_leaf_lists(t, trees["colliding buckets"])


def _check_tree(t, name, leaves):
    """Sparse root = dense root, both builders give the same proofs, which verify, and every
    mutation of them is refused for the right reason."""
    tree, dense = Tree(leaves), _DenseTree(leaves)
    t.eq(tree.root, dense.root, f"{name}: sparse and dense roots")
    root, n = tree.root.hex(), len(leaves)
    for i in range(n):
        proof = tree.inclusion_proof(i, 3)
        t.eq(proof, dense.inclusion_proof(i, 3), f"{name}: proof of leaf {i}, both builders")
        verify_inclusion(proof, root, n, 3, "self-test")
        t.count += 1
        _inclusion_mutations(t, f"{name}: leaf {i}", proof, leaves, root, n)
    for absent in _absent_paths(leaves):
        proof = tree.non_inclusion_proof(absent, 3)
        t.eq(proof, dense.non_inclusion_proof(absent, 3), f"{name}: non-inclusion of {absent}, both builders")
        verify_non_inclusion(proof, absent, root, n, 3, "self-test")
        t.count += 1
        _non_inclusion_mutations(t, f"{name}: absent {absent}", proof, leaves, root, n)
    for i, leaf in enumerate(leaves):  # a present path has no valid non-inclusion proof
        forged = dense.non_inclusion_proof(leaf["path"], 3)
        t.refuses(lambda: verify_non_inclusion(forged, leaf["path"], root, n, 3, "t"), "proof shows it present",
                  f"{name}: non-inclusion of present leaf {i}")


def _inclusion_mutations(t, what, proof, leaves, root, n):
    """One change at a time; `reason` is a piece of the message that says which rule refused it."""
    m = len(proof["merkle_path"])
    top = m - 16
    b = bucket_of(proof["leaf_contents"]["path"])

    def check(mutate, reason, how):
        p = copy.deepcopy(proof)
        mutate(p)
        t.refuses(lambda: verify_inclusion(p, root, n, 3, "t"), reason, f"{what}, {how}")

    def set_path(p, k, sibling=None, direction=None):
        if sibling is not None:
            p["merkle_path"][str(k)] = sibling
        if direction is not None:
            p["path_directions"][str(k)] = direction

    flip = {"L": "R", "R": "L"}
    for k in range(m):
        check(lambda p: set_path(p, k, sibling=_flip_bit(p["merkle_path"][str(k)])), "folds to root",
              f"sibling {k} flipped")
    for k in range(top):  # inside the bucket a direction is free, so only the fold catches it
        check(lambda p: set_path(p, k, direction=flip[p["path_directions"][str(k)]]), "folds to root",
              f"direction {k} flipped")
    for j in range(16):
        check(lambda p: set_path(p, top + j, direction=flip[p["path_directions"][str(top + j)]]),
              "do not spell bucket", f"top direction {j} flipped")
    others = [x for x in leaves if x != proof["leaf_contents"]]
    foreign = next((x for x in others if bucket_of(x["path"]) != b), None)
    if foreign is not None:
        check(lambda p: p.update(leaf_contents=foreign), "do not spell bucket",
              f"leaf {foreign['path']} of another bucket")

        def rewired(p):  # the foreign leaf, with the top directions spelling its bucket
            p["leaf_contents"] = foreign
            for j, d in enumerate(top_directions(bucket_of(foreign["path"]))):
                set_path(p, top + j, direction=d)
        check(rewired, "folds to root", f"leaf {foreign['path']} with the directions of its bucket")
    for same in [x for x in others if bucket_of(x["path"]) == b][:1]:
        check(lambda p: p.update(leaf_contents=same), "folds to root", f"leaf {same['path']} of the same bucket")
    check(lambda p: p["leaf_contents"].update(length=p["leaf_contents"]["length"] + 1), "folds to root", "length + 1")
    check(lambda p: p["leaf_contents"].update(sha256=_flip_bit(p["leaf_contents"]["sha256"])), "folds to root",
          "sha256 flipped")
    check(lambda p: p["leaf_contents"].update(extra=1), "exactly the fields", "leaf with an extra field")
    for key in proof:
        check(lambda p: p.pop(key), "exactly the fields", f"without {key}")
    check(lambda p: p.update(leaf_index=0), "exactly the fields", "with the old leaf_index")
    check(lambda p: p.update(tree_size=n + 1), "merkle_tree_size", "tree_size + 1")
    check(lambda p: p.update(snapshot_version=4), "timestamp's snapshot", "snapshot_version + 1")
    check(lambda p: p.update(tree_size=str(n)), "non-negative integer", "tree_size a string")
    check(lambda p: p.update(snapshot_version=True), "non-negative integer", "snapshot_version true")

    def drop_last(p):
        del p["merkle_path"][str(m - 1)], p["path_directions"][str(m - 1)]
    check(drop_last, "between 16 and 64" if m == 16 else "do not spell bucket", "top entry dropped")
    check(lambda p: p["path_directions"].pop(str(m - 1)), "exactly the keys", "a direction missing")
    check(lambda p: p["merkle_path"].update({str(m): EMPTY_ROOT}), "exactly the keys", "an extra sibling")
    check(lambda p: p["merkle_path"].update({"00": p["merkle_path"].pop("0")}), "exactly the keys", 'key "00"')
    check(lambda p: set_path(p, 0, direction="l"), '"L" or "R"', 'direction "l"')
    check(lambda p: set_path(p, 0, sibling=p["merkle_path"]["0"].upper()), "64 lowercase hex", "upper-case sibling")
    check(lambda p: p["merkle_path"].update({"0": 0}), "64 lowercase hex", "sibling 0")
    for extra, reason in ((64 - m, "folds to root"), (65 - m, "between 16 and 64")):  # m = 64 passes step 2

        def lengthen(p, extra=extra):
            steps = [("R", EMPTY_ROOT)] * extra
            steps += [(p["path_directions"][str(k)], p["merkle_path"][str(k)]) for k in range(m)]
            p["merkle_path"] = {str(k): s for k, (_, s) in enumerate(steps)}
            p["path_directions"] = {str(k): d for k, (d, _) in enumerate(steps)}
        check(lengthen, reason, f"m = {m + extra}")


def _non_inclusion_mutations(t, what, proof, leaves, root, n):
    """As _inclusion_mutations, for a non-inclusion proof."""
    absent, b = proof["absent"], bucket_of(proof["absent"])
    members = proof["bucket_leaves"]

    def check(mutate, reason, how, asked=absent):
        p = copy.deepcopy(proof)
        mutate(p)
        t.refuses(lambda: verify_non_inclusion(p, asked, root, n, 3, "t"), reason, f"{what}, {how}")

    def sorted_leaves(ls):
        return sorted(ls, key=lambda leaf: leaf["path"].encode())

    for i in range(len(members)):
        check(lambda p: p["bucket_leaves"].pop(i), "folds to root", f"bucket leaf {i} missing")
        check(lambda p: p["bucket_leaves"].insert(i, p["bucket_leaves"][i]), "appears twice", f"bucket leaf {i} twice")
        check(lambda p: p["bucket_leaves"][i].update(length=0), "folds to root", f"bucket leaf {i} changed")
        check(lambda p: p["bucket_leaves"][i].pop("sha256"), "exactly the fields", f"bucket leaf {i} without sha256")
    if len(members) > 1:
        check(lambda p: p["bucket_leaves"].reverse(), "not sorted", "bucket leaves reversed")
    stranger = next(leaf for leaf in _leaves(f"st/ra/strange{k}" for k in range(99)) if bucket_of(leaf["path"]) != b)
    check(lambda p: p.update(bucket_leaves=sorted_leaves(p["bucket_leaves"] + [stranger])), "not of bucket",
          "a leaf of another bucket added")
    neighbour = next(leaf for leaf in _leaves(_paths_in_bucket(b, "ne/ig/neigh", 1)) if leaf["path"] != absent)
    check(lambda p: p.update(bucket_leaves=sorted_leaves(p["bucket_leaves"] + [neighbour])), "folds to root",
          "a made-up leaf of the bucket added")
    present = _leaves([absent])[0]
    check(lambda p: p.update(bucket_leaves=sorted_leaves(p["bucket_leaves"] + [present])), "proof shows it present",
          "the absent path among the bucket leaves")
    for j in range(16):
        check(lambda p: p["bucket_path"].__setitem__(j, _flip_bit(p["bucket_path"][j])), "folds to root",
              f"bucket_path[{j}] flipped")
    check(lambda p: p["bucket_path"].pop(), "16 entries", "15 top siblings")
    check(lambda p: p["bucket_path"].append(EMPTY_ROOT), "16 entries", "17 top siblings")
    check(lambda p: p["bucket_path"].__setitem__(0, p["bucket_path"][0].upper()), "64 lowercase hex",
          "upper-case sibling")
    check(lambda p: p.update(bucket_path=dict(enumerate(p["bucket_path"]))), "must be an array",
          "bucket_path an object")
    for key in proof:
        check(lambda p: p.pop(key), "exactly the fields", f"without {key}")
    check(lambda p: p.update(left=None, right=None), "exactly the fields", "the old left/right fields added")
    check(lambda p: p.update(tree_size=n + 1), "merkle_tree_size", "tree_size + 1")
    check(lambda p: p.update(snapshot_version=2), "timestamp's snapshot", "snapshot_version - 1")
    check(lambda p: None, "is for", "asked for another path", asked=absent + "x")
    # Renamed to a present path: its own bucket's leaves, a foreign bucket's leaves, or (the absent
    # path's bucket being empty) a fold from the wrong bucket give it away. (Renamed to another
    # absent path it may well verify, e.g. in the empty tree: that is a true statement.)
    for leaf in leaves[:1] + [x for x in members[:1] if x != leaves[0]]:
        p = leaf["path"]
        reason = "proof shows it present" if bucket_of(p) == b else "not of bucket" if members else "folds to root"
        check(lambda q: q.update(absent=p), reason, f"renamed to present {p}", asked=p)


def _check_leaf_lists(t, leaves):
    """1.6: a leaf list and a diff from the empty tree recompute to the root; out of order they are refused."""
    leaves = sorted(leaves, key=lambda leaf: leaf["path"].encode())
    root = Tree(leaves).root.hex()
    ll = {"snapshot_version": 1, "tree_size": len(leaves), "merkle_root": root, "leaves": leaves}
    t.eq(check_leaf_list(ll, "t"), ll, "leaf list")
    t.refuses(lambda: check_leaf_list(dict(ll, leaves=leaves[::-1]), "t"), "not sorted", "leaf list reversed")
    t.refuses(lambda: check_leaf_list(dict(ll, merkle_root=EMPTY_ROOT), "t"), "recompute to root",
              "leaf list, wrong root")
    diff = {"snapshot_version": 1, "previous_version": 0, "previous_root": EMPTY_ROOT, "merkle_root": root,
            "tree_size": len(leaves), "added": leaves, "changed": [], "removed": []}
    t.eq(apply_diff([], diff, "t", 1, EMPTY_ROOT), (leaves, root), "diff from the empty tree")
    back = dict(diff, snapshot_version=2, previous_version=1, previous_root=root, merkle_root=EMPTY_ROOT, tree_size=0,
                added=[], removed=[leaf["path"] for leaf in leaves])
    t.eq(apply_diff(leaves, back, "t", 2, root), ([], EMPTY_ROOT), "diff back to the empty tree")


# -- Independent builders: the dense top tree of POUF 1.4's T[k][j], RFC 6962's recursive PATH ----


class _DenseTree:
    """All 131,071 nodes of the top tree, T[k][j] exactly as POUF 1.4 defines them, with buckets
    computed from the hex digest and in-bucket paths by RFC 6962's recursion, so that nothing but
    the hash primitives and mth is shared with merkle.Tree."""

    def __init__(self, leaves):
        self.leaves = list(leaves)
        self.members = {}
        for leaf in self.leaves:
            self.members.setdefault(_bucket(leaf["path"]), []).append(leaf)
        level = [hashlib.sha256(b"").digest()] * 65536
        for b, ls in self.members.items():
            level[b] = mth([leaf_hash(x) for x in ls])
        self.t = [level]
        while len(level) > 1:
            level = [node_hash(level[2 * j], level[2 * j + 1]) for j in range(len(level) // 2)]
            self.t.append(level)
        self.root = self.t[16][0]

    def top(self, b):
        """[(direction, sibling)] from bucket b to the root."""
        return [("L" if j % 2 else "R", self.t[k][j ^ 1]) for k, j in enumerate(b >> k for k in range(16))]

    def inclusion_proof(self, i, version):
        leaf = self.leaves[i]
        b = _bucket(leaf["path"])
        members = self.members[b]
        steps = _rfc6962_path([leaf_hash(x) for x in members], members.index(leaf)) + self.top(b)
        return {"leaf_contents": leaf, "tree_size": len(self.leaves), "snapshot_version": version,
                "merkle_path": {str(k): s.hex() for k, (_, s) in enumerate(steps)},
                "path_directions": {str(k): d for k, (d, _) in enumerate(steps)}}

    def non_inclusion_proof(self, absent, version):
        """Also for a present path (the self-test's forgery)."""
        b = _bucket(absent)
        return {"absent": absent, "snapshot_version": version, "tree_size": len(self.leaves),
                "bucket_leaves": list(self.members.get(b, [])), "bucket_path": [s.hex() for _, s in self.top(b)]}


def _bucket(path):
    return int(hashlib.sha256(path.encode()).hexdigest()[:4], 16)


def _rfc6962_path(hashes, m):
    """RFC 6962 2.1.1 PATH(m, D[n]) from the leaf up, each sibling with its side."""
    n = len(hashes)
    if n <= 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
    if m < k:
        return _rfc6962_path(hashes[:k], m) + [("R", mth(hashes[k:]))]
    return _rfc6962_path(hashes[k:], m - k) + [("L", mth(hashes[:k]))]


# -- Test data ---------------------------------------------------------------------------------

_INDEX_PATHS = ["1/a", "2/ab", "2/b1", "3/a/abc", "3/c/c-2", "3/x/x_y", "ab/cd/abcd", "lo/ng/long-crate-name-x",
                "qu/ux/quux", "se/rd/serde", "se/rd/serde_json", "to/ki/tokio", "zz/-t/zz-top"]


def _leaves(paths):
    """Leaves for made-up files of these index paths, sorted by path."""
    out = []
    for p in sorted(set(paths), key=lambda p: p.encode()):
        data = b'{"name":"%s","vers":"0.1.0"}\n' % p.rsplit("/", 1)[-1].encode()
        out.append({"length": len(data), "path": p, "sha256": hashlib.sha256(data).hexdigest()})
    return out


def _colliding_paths(sizes):
    """For each wanted size, the first `size` paths ab/cd/abcd<n> of a bucket of its own, found by
    brute force: the first bucket to reach a size still wanted takes it."""
    groups, taken, wanted, n = {}, set(), list(sizes), 0
    out = []
    while wanted:
        p = f"ab/cd/abcd{n}"
        n += 1
        b = _bucket(p)
        if b in taken:
            continue
        groups.setdefault(b, []).append(p)
        if len(groups[b]) in wanted:
            wanted.remove(len(groups[b]))
            taken.add(b)
            out.append(groups[b])
    return out


def _paths_in_bucket(b, prefix, count):
    """The first `count` paths <prefix><n> of bucket b (about 65,536 tries each)."""
    found = []
    for n in itertools.count():
        if _bucket(f"{prefix}{n}") == b:
            found.append(f"{prefix}{n}")
            if len(found) == count:
                return found


def _absent_paths(leaves, prefix="no/ne/none"):
    """Absent paths: one in an empty bucket and, unless there are no leaves, one in the bucket of
    the first leaf and one in the fullest bucket."""
    present = {leaf["path"] for leaf in leaves}
    out = [next(p for p in (f"{prefix}{n}" for n in itertools.count()) if _bucket(p) not in map(_bucket, present))]
    if leaves:
        counts = {}
        for p in present:
            counts[_bucket(p)] = counts.get(_bucket(p), 0) + 1
        for b in (_bucket(leaves[0]["path"]), max(counts, key=lambda b: (counts[b], b))):
            p = _paths_in_bucket(b, prefix, 1)[0]
            if p not in out:
                out.append(p)
    return out


def _flip_bit(hex64):
    return f"{int(hex64, 16) ^ 1:064x}"


def _ed_key(public):
    return {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": public.hex()}}


def _openssl_ed25519(public, msg, sig):
    """OpenSSL's own verdict, without the checks of metadata.py."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
    except InvalidSignature:
        return False
    return True


def _ed_k(r, public, msg):
    return int.from_bytes(hashlib.sha512(r + public + msg).digest(), "little") % _ED_L


def _ed25519(t):
    # RFC 8032 section 7.1, tests 1 and 2.
    seed1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pk1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    pk2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig2 = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    v1, v2 = make_verifier(_ed_key(pk1), "t"), make_verifier(_ed_key(pk2), "t")
    t.eq(v1(b"", sig1), True, "RFC 8032 test 1")
    t.eq(v1(b"x", sig1), False, "RFC 8032 test 1, wrong message")
    t.eq(v1(b"", sig1[:63]), False, "RFC 8032 test 1, short signature")
    t.eq(v2(b"\x72", sig2), True, "RFC 8032 test 2")
    t.eq(v2(b"\x72", sig2[:63] + bytes([sig2[63] ^ 1])), False, "RFC 8032 test 2, flipped bit")
    s = int.from_bytes(sig1[32:], "little")
    t.eq(v1(b"", sig1[:32] + (s + _ED_L).to_bytes(32, "little")), False, "RFC 8032 test 1 with S + L")
    t.eq(key_id(_ed_key(pk1)),
         hashlib.sha256(('{"keytype":"ed25519","keyval":{"public":"' + pk1.hex() + '"},"scheme":"ed25519"}').encode()).hexdigest(),
         "key id")

    # The secret scalar of seed1 (RFC 8032 5.1.5), to make signatures that OpenSSL accepts.
    h = hashlib.sha512(seed1).digest()
    a = int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    # A public key A of small order: S = a and R = [a]B = pk1 satisfy [S]B = R + [k]A for every message
    # whose k = H(R || A || M) is a multiple of the order of A (8 covers all). That OpenSSL accepts
    # such a forgery also shows that each y of SMALL_ORDER_Y is that of a point of small order.
    forged = pk1 + (a % _ED_L).to_bytes(32, "little")
    for y, sign in itertools.product(sorted(SMALL_ORDER_Y), (0, 1)):
        weak = (y | sign << 255).to_bytes(32, "little")
        if not ed25519_decodes(weak):  # x = 0 with the sign bit set
            continue
        msg = next(m for m in (b"%d" % i for i in itertools.count()) if _ed_k(pk1, weak, m) % 8 == 0)
        t.eq(_openssl_ed25519(weak, msg, forged), True, f"OpenSSL takes a forgery for small-order key {weak.hex()}")
        t.eq(make_verifier(_ed_key(weak), "t")(msg, forged), False, f"forgery for small-order key {weak.hex()}")
    # R of small order with a genuine key: R = identity, S = k * a.
    identity = (1).to_bytes(32, "little")
    sig = identity + (_ed_k(identity, pk1, b"m") * a % _ED_L).to_bytes(32, "little")
    t.eq(_openssl_ed25519(pk1, b"m", sig), True, "OpenSSL takes a signature with R of small order")
    t.eq(v1(b"m", sig), False, "signature with R of small order")
    # Keys that are no (canonical) point: OpenSSL takes y = p + 1 as the identity.
    noncanonical = (2**255 - 19 + 1).to_bytes(32, "little")
    msg = next(m for m in (b"%d" % i for i in itertools.count()) if _ed_k(pk1, noncanonical, m) % 8 == 0)
    t.eq(_openssl_ed25519(noncanonical, msg, forged), True, "OpenSSL takes a non-canonical identity key")
    for bad, what in ((noncanonical, "non-canonical y"), ((2).to_bytes(32, "little"), "y = 2, not on the curve"),
                      ((1 | 1 << 255).to_bytes(32, "little"), "x = 0 with the sign bit set")):
        t.raises(VerifyError, lambda: make_verifier(_ed_key(bad), "t"), f"ed25519 key, {what}")


def _p256(t):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": pem.decode()}}
    v = make_verifier(key, "t")
    sig = private.sign(b"m", ec.ECDSA(hashes.SHA256()))
    t.eq(v(b"m", sig), True, "ECDSA P-256")
    t.eq(v(b"n", sig), False, "ECDSA P-256, wrong message")
    t.eq(make_verifier(dict(key, keytype="ecdsa-sha2-nistp256"), "t")(b"m", sig), True, "keytype ecdsa-sha2-nistp256")

    r, s = decode_dss_signature(sig)

    def der_int(v, pad=b""):
        b = pad + v.to_bytes(v.bit_length() // 8 + 1, "big")
        return b"\x02" + bytes([len(b)]) + b

    body = der_int(r, b"\x00") + der_int(s)
    for bad, what in ((sig + b"\x00", "trailing byte"), (b"\x30" + bytes([len(body)]) + body, "non-minimal INTEGER"),
                      (b"\x30\x81" + sig[1:], "long-form length"), (encode_dss_signature(r, s + _P256_N), "s + n"),
                      (encode_dss_signature(r + _P256_N, s), "r + n"), (encode_dss_signature(0, s), "r = 0")):
        t.eq(v(b"m", bad), False, f"ECDSA signature, {what}")

    # Keys: only a named-curve P-256 SubjectPublicKeyInfo with an uncompressed point, in PEM.
    def spki_pem(point):
        """The SubjectPublicKeyInfo PEM of a P-256 point, built by hand."""
        alg = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
        bits = bytes([0x03, len(point) + 1, 0]) + point
        b64 = base64.b64encode(bytes([0x30, len(alg) + len(bits)]) + alg + bits).decode()
        body = "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
        return "-----BEGIN PUBLIC KEY-----\n" + body + "-----END PUBLIC KEY-----\n"

    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    t.eq(spki_pem(point), pem.decode(), "SubjectPublicKeyInfo PEM built here")
    compressed_pem = spki_pem(private.public_key().public_bytes(serialization.Encoding.X962,
                                                                 serialization.PublicFormat.CompressedPoint))
    off_curve = spki_pem(point[:-1] + bytes([point[-1] ^ 1]))
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for bad, what in ((compressed_pem, "compressed point"), (p384, "P-384"), ("junk\n" + pem.decode(), "text before the PEM"),
                      (off_curve, "point not on the curve"), (pem.decode().replace("PUBLIC", "PRIVATE"), "not a public key")):
        t.raises(VerifyError, lambda: make_verifier(dict(key, keyval={"public": bad}), "t"), f"ECDSA key, {what}")
    t.eq(make_verifier(dict(key, scheme="rsassa-pss-sha256", keytype="rsa"), "t"), None, "unknown schemes are not verified")
