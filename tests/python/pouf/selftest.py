"""Known-answer tests of the primitives: canonical JSON, the two shape descriptions of POUF 1.4
against each other, proofs of every leaf of every tree up to 69 leaves, and the signature checks
(RFC 8032 vectors; what OpenSSL accepts and this verifier must refuse)."""

import base64
import hashlib
import itertools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .cjson import canonical_json
from .fields import VerifyError, index_path_ok, parse_json
from .merkle import EMPTY_ROOT, expected_directions, leaf_hash, mth, node_hash, root_bottom_up, verify_inclusion
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
    t.eq(expected_directions(4, 5), ["L"], "directions of the last of 5")
    t.eq(expected_directions(6, 7), ["L", "L"], "directions of the last of 7 (promoted once)")
    t.eq(expected_directions(0, 1), [], "directions of a single leaf")
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
    t.eq(mth([]).hex(), EMPTY_ROOT, "empty root")
    t.eq(EMPTY_ROOT, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty root value")
    leaf = {"length": 6, "path": 'se/rd/se"r\\de', "sha256": hashlib.sha256(b"hello\n").hexdigest()}
    t.eq(canonical_json(leaf), ('{"length":6,"path":"se/rd/se\\"r\\\\de","sha256":"' + leaf["sha256"] + '"}').encode(), "leaf bytes")
    t.eq(leaf_hash(leaf), hashlib.sha256(b"\x00" + canonical_json(leaf)).digest(), "leaf hash")

    for n in range(70):
        leaves = [{"length": i, "path": f"{i:05}", "sha256": hashlib.sha256(str(i).encode()).hexdigest()} for i in range(n)]
        hashes_ = [leaf_hash(leaf) for leaf in leaves]
        root = mth(hashes_)
        t.eq(root, root_bottom_up(hashes_), f"MTH = bottom-up at size {n}")
        for i in range(n):
            proof = _bottom_up_proof(leaves, hashes_, i)
            verify_inclusion(proof, root.hex(), n, 3, "self-test")
            t.count += 1
            if n > 1:
                # Every other index has another shape or (same shape) puts the leaf hash elsewhere.
                moved = dict(proof, leaf_index=(i + 1) % n)
                t.raises(VerifyError, lambda: verify_inclusion(moved, root.hex(), n, 3, "self-test"),
                         f"leaf {i} of {n} moved to {(i + 1) % n}")


def _bottom_up_proof(leaves, hashes_, i):
    """The proof of leaf i, built level by level (independently of expected_directions)."""
    level, idx, mpath, dirs = list(hashes_), i, {}, {}
    while len(level) > 1:
        if idx % 2 == 1:
            mpath[str(len(mpath))], dirs[str(len(dirs))] = level[idx - 1].hex(), "L"
        elif idx + 1 < len(level):
            mpath[str(len(mpath))], dirs[str(len(dirs))] = level[idx + 1].hex(), "R"
        nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, idx = nxt, idx // 2
    return {"leaf_contents": leaves[i], "leaf_index": i, "tree_size": len(leaves), "snapshot_version": 3,
            "merkle_path": mpath, "path_directions": dirs}


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
