"""Keys, key ids and signatures (POUF 1.2) and TUF metadata (1.3).

Signatures are checked with pyca/cryptography (OpenSSL). Key ids, canonical JSON and thresholds
are computed here. OpenSSL verifies Ed25519 as RFC 8032 allows, which is laxer than the POUF's
reference (ed25519-dalek's verify_strict): it takes public keys that are not curve points or not
canonically encoded, and public keys and R of small order (with the identity as public key, one
signature fits every message). Those checks are made here, on the encodings, before OpenSSL
sees a signature. OpenSSL itself refuses S >= L, non-minimal DER and r, s outside [1, n).
The self-test checks all of this against OpenSSL."""

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from .cjson import canonical_json
from .fields import VerifyError, need_dict, need_list, need_str, need_uint, parse_json

EXPIRES = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
ROLES = ("root", "targets", "snapshot", "timestamp")


def key_id(key_obj):
    """The hex SHA-256 of the canonical JSON of the key object."""
    return hashlib.sha256(canonical_json(key_obj)).hexdigest()


# --------------------------------------------------------------------------------------------
# Ed25519 encodings (RFC 8032 5.1.3): a 32-byte little-endian y with the sign of x in bit 255.
# --------------------------------------------------------------------------------------------

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
# The eight points of order dividing 8 have these y: 1 (the identity), -1 (order 2), 0 (order 4)
# and +-Y8 (order 8). Y8 is from libsodium's blocklist.
_Y8 = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little")
SMALL_ORDER_Y = frozenset((0, 1, _P - 1, _Y8, _P - _Y8))


def ed25519_decodes(enc):
    """Whether `enc` is the canonical encoding of a curve point: y < p and x^2 = (y^2 - 1) / (d y^2 + 1)
    has a root (Euler's criterion), with x = 0 only for sign bit 0."""
    if len(enc) != 32:
        return False
    y = int.from_bytes(enc, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return False
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    if x2 == 0:
        return sign == 0
    return pow(x2, (_P - 1) // 2, _P) == 1


def ed25519_small_order(enc):
    """Whether a decodable encoding is a point of small order."""
    return int.from_bytes(enc, "little") & ((1 << 255) - 1) in SMALL_ORDER_Y


def _ed25519_verifier(public, where):
    if not re.fullmatch(r"[0-9a-f]{64}", public):
        raise VerifyError(where, "ed25519 keyval.public must be 64 lowercase hex digits")
    raw = bytes.fromhex(public)
    if not ed25519_decodes(raw):
        raise VerifyError(where, "ed25519 public key is not a curve point")
    key = Ed25519PublicKey.from_public_bytes(raw)
    weak = ed25519_small_order(raw)

    def verify(msg, sig):
        if weak or len(sig) != 64 or not ed25519_decodes(sig[:32]) or ed25519_small_order(sig[:32]):
            return False
        try:
            key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    return verify


# --------------------------------------------------------------------------------------------
# ECDSA P-256: a SubjectPublicKeyInfo PEM, DER signatures over SHA-256.
# --------------------------------------------------------------------------------------------


def _p256_verifier(public, where):
    lines = [line.strip() for line in public.strip().splitlines()]
    try:
        if not lines or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
            raise ValueError("not a PEM public key")
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
        key = load_pem_public_key(public.encode("utf-8"))
    except (ValueError, binascii.Error, UnsupportedAlgorithm) as e:
        raise VerifyError(where, f"bad ecdsa-sha2-nistp256 public key: {e}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise VerifyError(where, "bad ecdsa-sha2-nistp256 public key: not an EC P-256 public key")
    # OpenSSL also reads compressed points, explicit curve parameters and lax DER: only the
    # one encoding of a named-curve P-256 key with an uncompressed point is accepted here.
    if key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != der:
        raise VerifyError(where, "bad ecdsa-sha2-nistp256 public key: not a minimal DER SubjectPublicKeyInfo "
                                 "of a named-curve P-256 key with an uncompressed point")

    def verify(msg, sig):
        try:
            key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    return verify


def make_verifier(key_obj, where):
    """A function (msg, sig bytes) -> bool for a key object, or None for key types not verified here."""
    keytype, scheme = key_obj.get("keytype"), key_obj.get("scheme")
    keyval = key_obj.get("keyval")
    public = keyval.get("public") if isinstance(keyval, dict) else None
    if not isinstance(public, str):
        raise VerifyError(where, "key object without keyval.public")
    if (keytype, scheme) == ("ed25519", "ed25519"):
        return _ed25519_verifier(public, where)
    if keytype in ("ecdsa", "ecdsa-sha2-nistp256") and scheme == "ecdsa-sha2-nistp256":
        return _p256_verifier(public, where)
    return None


# --------------------------------------------------------------------------------------------
# TUF metadata.
# --------------------------------------------------------------------------------------------


class Root:
    """A root's keys (key ids checked) and the (keyids, threshold) of each of the four roles."""

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
        for role in ROLES:
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
        """At least `threshold` distinct key ids of `role` have a signature that verifies."""
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
            raise VerifyError(where, f"{role} metadata has {len(good)} valid signature(s) from distinct keys of "
                                     f"root v{self.version}, needs {threshold}")


def parse_envelope(data, role, where):
    """A TUF envelope of `role`, with the fields every role has; signatures are not checked here."""
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


def check_meta_pin(entry, data, where, what, version=None):
    """A `meta` or `targets` entry: version (if given), length and hashes.sha256 of `data`."""
    if not isinstance(entry, dict):
        raise VerifyError(where, f"no entry for {what}")
    if version is not None and entry.get("version") != version:
        raise VerifyError(where, f"{what} entry names version {entry.get('version')!r}, expected {version}")
    if entry.get("length") != len(data):
        raise VerifyError(where, f"{what}: length {entry.get('length')!r} but the file has {len(data)} bytes")
    digests = entry.get("hashes")
    if not isinstance(digests, dict) or "sha256" not in digests:
        raise VerifyError(where, f"{what}: no hashes.sha256")
    digest = hashlib.sha256(data).hexdigest()
    if digests["sha256"] != digest:
        raise VerifyError(where, f"{what}: sha256 {digests['sha256']} but the file hashes to {digest}")
