//! TUF public keys, key ids and signature verification (docs/POUF.md 1.2).
//!
//! [`PublicKey`] is a key of a kind tufmirror's backends sign with: `ed25519`, and
//! `ecdsa-sha2-nistp256` for KMS and HSM keys that have no Ed25519. [`VerifyingKey`] is any key
//! the client checks signatures with: those two, and RSA keys as other TUF implementations use
//! them (`rsassa-pss-sha256`, securesystemslib's default RSA scheme, salt as long as the digest;
//! and `rsa-pkcs1v15-sha256`). Key objects of other types still parse (a root may list them,
//! even without a `public` value, such as Sigstore identities) but never verify a signature:
//! they cannot count toward a threshold.

use crate::{Sha256Hash, cjson};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// A key id: lowercase hex SHA-256 of the canonical JSON of the key object.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyId {
    /// The first 8 hex digits, for messages that people read.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

/// A key object exactly as it appears in root metadata. Unknown fields are kept, because they are
/// part of the bytes that the key id and the root's signatures cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyObject {
    /// `keytype`: the key's algorithm family (`ed25519`, `ecdsa`, `rsa`).
    pub keytype: String,
    /// `scheme`: the signature scheme (`ed25519`, `ecdsa-sha2-nistp256`, ...).
    pub scheme: String,
    /// `keyval`: the key's public value.
    pub keyval: KeyVal,
    /// Other members, kept because the key id covers them.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `keyval` of a key object. `public` is optional because key types that tufmirror does not
/// verify carry other values (a Sigstore key has `identity` and `issuer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// `public`: the public key (hex for ed25519, PEM for ecdsa and rsa); `None` for key types without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<String>,
    /// Other members (`identity`, `issuer`, ...), kept because the key id covers them.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl KeyObject {
    /// `keyval.public`, which every key type tufmirror verifies needs.
    fn public_value(&self) -> Result<&str, KeyError> {
        self.keyval.public.as_deref().ok_or_else(|| KeyError::MalformedPublicKey {
            scheme: self.scheme.clone(),
            reason: "no keyval.public".into(),
        })
    }

    /// The key id as the TUF specification computes it.
    pub fn key_id(&self) -> KeyId {
        // A KeyObject holds only strings and JSON values that came from JSON: it always has a
        // canonical form unless it carries a float in an unknown field, which TUF forbids.
        let bytes = cjson::to_vec(self).unwrap_or_default();
        KeyId(Sha256Hash::of(&bytes).to_hex())
    }
}

/// Why a key or signature was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key type and scheme pair that tufmirror cannot verify.
    #[error("unsupported key type/scheme {keytype}/{scheme}")]
    Unsupported {
        /// The key's `keytype`.
        keytype: String,
        /// The key's `scheme`.
        scheme: String,
    },
    /// `keyval.public` is missing or does not decode as a key of the scheme.
    #[error("malformed {scheme} public key: {reason}")]
    MalformedPublicKey {
        /// The key's `scheme`.
        scheme: String,
        /// What is wrong, in words.
        reason: String,
    },
    /// The signature (`sig`) is not hex or not a signature of the scheme's form.
    #[error("malformed {scheme} signature: {reason}")]
    MalformedSignature {
        /// The key's `scheme`.
        scheme: String,
        /// What is wrong, in words.
        reason: String,
    },
    /// A well-formed signature that does not verify with the key.
    #[error("{scheme} signature does not verify")]
    BadSignature {
        /// The key's `scheme`.
        scheme: String,
    },
}

/// A public key that tufmirror can verify with.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `ed25519` / `ed25519`.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// `ecdsa` / `ecdsa-sha2-nistp256`, signatures DER over SHA-256 of the message.
    EcdsaP256(p256::ecdsa::VerifyingKey),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.scheme(), self.key_id().short())
    }
}

/// The TUF scheme name of Ed25519 signatures.
pub const SCHEME_ED25519: &str = "ed25519";
/// The TUF scheme name of ECDSA P-256 signatures over SHA-256.
pub const SCHEME_ECDSA_P256: &str = "ecdsa-sha2-nistp256";
/// The TUF scheme name of RSASSA-PSS signatures over SHA-256.
pub const SCHEME_RSA_PSS_SHA256: &str = "rsassa-pss-sha256";
/// The TUF scheme name of RSASSA-PKCS1-v1_5 signatures over SHA-256.
pub const SCHEME_RSA_PKCS1V15_SHA256: &str = "rsa-pkcs1v15-sha256";

impl PublicKey {
    /// The TUF signature scheme name.
    pub fn scheme(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => SCHEME_ED25519,
            PublicKey::EcdsaP256(_) => SCHEME_ECDSA_P256,
        }
    }

    /// The key object that root metadata lists for this key.
    pub fn to_key_object(&self) -> KeyObject {
        let (keytype, public) = match self {
            PublicKey::Ed25519(k) => ("ed25519", hex::encode(k.as_bytes())),
            PublicKey::EcdsaP256(k) => (
                "ecdsa",
                // Encoding a valid P-256 point as SPKI PEM cannot fail.
                k.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
            ),
        };
        KeyObject {
            keytype: keytype.to_owned(),
            scheme: self.scheme().to_owned(),
            keyval: KeyVal { public: Some(public), unknown: BTreeMap::new() },
            unknown: BTreeMap::new(),
        }
    }

    /// The key id of [`Self::to_key_object`].
    pub fn key_id(&self) -> KeyId {
        self.to_key_object().key_id()
    }

    /// Reads a key object from root metadata.
    pub fn from_key_object(obj: &KeyObject) -> Result<Self, KeyError> {
        let malformed = |reason: String| KeyError::MalformedPublicKey { scheme: obj.scheme.clone(), reason };
        match (obj.keytype.as_str(), obj.scheme.as_str()) {
            ("ed25519", SCHEME_ED25519) => {
                let mut raw = [0u8; 32];
                hex::decode_to_slice(obj.public_value()?, &mut raw)
                    .map_err(|e| malformed(format!("expected 64 hex digits: {e}")))?;
                ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| malformed(e.to_string()))
            }
            ("ecdsa" | SCHEME_ECDSA_P256, SCHEME_ECDSA_P256) => {
                p256::ecdsa::VerifyingKey::from_public_key_pem(obj.public_value()?.trim_end_matches('\0'))
                    .map(PublicKey::EcdsaP256)
                    .map_err(|e| malformed(e.to_string()))
            }
            _ => Err(KeyError::Unsupported { keytype: obj.keytype.clone(), scheme: obj.scheme.clone() }),
        }
    }

    /// Reads a PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey
    /// -pubout` and KMS tools print): an Ed25519 key is scheme `ed25519`, an EC P-256 key
    /// `ecdsa-sha2-nistp256`; anything else is refused.
    pub fn from_spki_pem(pem: &str) -> Result<Self, KeyError> {
        let malformed = |reason: &str| KeyError::MalformedPublicKey {
            scheme: "PEM SubjectPublicKeyInfo".to_owned(),
            reason: reason.to_owned(),
        };
        let pem = pem.trim();
        if !pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            return Err(malformed("expected -----BEGIN PUBLIC KEY-----"));
        }
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::Ed25519(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::EcdsaP256(k));
        }
        Err(malformed("neither an Ed25519 nor an ECDSA P-256 public key"))
    }

    /// The key as a PEM `SubjectPublicKeyInfo`, the form [`Self::from_spki_pem`] reads.
    pub fn to_spki_pem(&self) -> String {
        // Encoding a valid point as SPKI PEM cannot fail.
        match self {
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
            PublicKey::EcdsaP256(k) => k.to_public_key_pem(LineEnding::LF).unwrap_or_default(),
        }
    }

    /// Checks `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        let scheme = self.scheme().to_owned();
        match self {
            PublicKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(sig)
                    .map_err(|e| KeyError::MalformedSignature { scheme: scheme.clone(), reason: e.to_string() })?;
                k.verify_strict(msg, &sig).map_err(|_| KeyError::BadSignature { scheme })
            }
            PublicKey::EcdsaP256(k) => {
                let sig = p256::ecdsa::Signature::from_der(sig)
                    .map_err(|e| KeyError::MalformedSignature { scheme: scheme.clone(), reason: e.to_string() })?;
                p256::ecdsa::signature::Verifier::verify(k, msg, &sig).map_err(|_| KeyError::BadSignature { scheme })
            }
        }
    }
}

/// A key that signatures can be checked with: a [`PublicKey`], or an RSA key of another TUF
/// implementation. Only ever built from a key object of received metadata.
#[derive(Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// A key of a scheme that tufmirror also signs with.
    Tufmirror(PublicKey),
    /// `rsa` / `rsassa-pss-sha256`: RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
    RsaPssSha256(rsa::RsaPublicKey),
    /// `rsa` / `rsa-pkcs1v15-sha256`: RSASSA-PKCS1-v1_5 over SHA-256.
    RsaPkcs1v15Sha256(rsa::RsaPublicKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyingKey::Tufmirror(k) => k.fmt(f),
            _ => write!(f, "VerifyingKey({} {})", self.scheme(), self.to_key_object().key_id().short()),
        }
    }
}

impl From<PublicKey> for VerifyingKey {
    fn from(key: PublicKey) -> Self {
        VerifyingKey::Tufmirror(key)
    }
}

impl VerifyingKey {
    /// The TUF signature scheme name.
    pub fn scheme(&self) -> &'static str {
        match self {
            VerifyingKey::Tufmirror(k) => k.scheme(),
            VerifyingKey::RsaPssSha256(_) => SCHEME_RSA_PSS_SHA256,
            VerifyingKey::RsaPkcs1v15Sha256(_) => SCHEME_RSA_PKCS1V15_SHA256,
        }
    }

    /// Reads a key object of received metadata. RSA public keys are PEM SubjectPublicKeyInfo,
    /// as securesystemslib writes them.
    pub fn from_key_object(obj: &KeyObject) -> Result<Self, KeyError> {
        let rsa = || {
            let pem = obj.public_value()?.trim();
            rsa::RsaPublicKey::from_public_key_pem(pem)
                .map_err(|e| KeyError::MalformedPublicKey { scheme: obj.scheme.clone(), reason: e.to_string() })
        };
        match (obj.keytype.as_str(), obj.scheme.as_str()) {
            ("rsa", SCHEME_RSA_PSS_SHA256) => rsa().map(VerifyingKey::RsaPssSha256),
            ("rsa", SCHEME_RSA_PKCS1V15_SHA256) => rsa().map(VerifyingKey::RsaPkcs1v15Sha256),
            _ => PublicKey::from_key_object(obj).map(VerifyingKey::Tufmirror),
        }
    }

    /// The key object of this key as securesystemslib writes it (so its key id is theirs).
    pub fn to_key_object(&self) -> KeyObject {
        let rsa = |k: &rsa::RsaPublicKey| KeyObject {
            keytype: "rsa".to_owned(),
            scheme: self.scheme().to_owned(),
            // Encoding a valid RSA key as SPKI PEM cannot fail.
            keyval: KeyVal { public: k.to_public_key_pem(LineEnding::LF).ok(), unknown: BTreeMap::new() },
            unknown: BTreeMap::new(),
        };
        match self {
            VerifyingKey::Tufmirror(k) => k.to_key_object(),
            VerifyingKey::RsaPssSha256(k) | VerifyingKey::RsaPkcs1v15Sha256(k) => rsa(k),
        }
    }

    /// Checks `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        let bad = |_| KeyError::BadSignature { scheme: self.scheme().to_owned() };
        match self {
            VerifyingKey::Tufmirror(k) => k.verify(msg, sig),
            VerifyingKey::RsaPssSha256(k) => {
                k.verify(rsa::Pss::new::<Sha256>(), &Sha256::digest(msg), sig).map_err(bad)
            }
            VerifyingKey::RsaPkcs1v15Sha256(k) => {
                k.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig).map_err(bad)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_key_id_is_hash_of_canonical_key_object() {
        // RFC 8032 test 1 public key.
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let obj: KeyObject = serde_json::from_str(&format!(
            r#"{{"keytype":"ed25519","scheme":"ed25519","keyval":{{"public":"{public}"}}}}"#
        ))
        .expect("key object");
        let canonical = format!(r#"{{"keytype":"ed25519","keyval":{{"public":"{public}"}},"scheme":"ed25519"}}"#);
        assert_eq!(obj.key_id().0, Sha256Hash::of(canonical.as_bytes()).to_hex());
        let key = PublicKey::from_key_object(&obj).expect("ed25519");
        assert_eq!(key.key_id(), obj.key_id());
        // RFC 8032 test 1: the empty message.
        let sig = hex::decode(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .expect("hex");
        assert_eq!(key.verify(b"", &sig), Ok(()));
        assert!(matches!(key.verify(b"x", &sig), Err(KeyError::BadSignature { .. })));
        assert!(matches!(key.verify(b"", &sig[..63]), Err(KeyError::MalformedSignature { .. })));
    }

    #[test]
    fn spki_pem_round_trips_and_refuses_other_pem() {
        let ed = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key());
        let ec = PublicKey::EcdsaP256(*p256::ecdsa::SigningKey::from_slice(&[9; 32]).expect("scalar").verifying_key());
        for key in [ed, ec] {
            let pem = key.to_spki_pem();
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
            assert_eq!(PublicKey::from_spki_pem(&format!("\n{pem}\n")), Ok(key));
        }
        let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n-----END PRIVATE KEY-----\n";
        assert!(matches!(PublicKey::from_spki_pem(private), Err(KeyError::MalformedPublicKey { .. })));
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(matches!(PublicKey::from_spki_pem(garbage), Err(KeyError::MalformedPublicKey { .. })));
    }

    #[test]
    fn unknown_schemes_are_reported_and_parse_without_a_public_value() {
        // A Sigstore identity, as tuf-on-ci roots list them: no `public` at all.
        let obj: KeyObject = serde_json::from_str(
            r#"{"keytype":"sigstore-oidc","scheme":"Fulcio","keyval":{"identity":"a@b","issuer":"https://x"}}"#,
        )
        .expect("parses");
        assert!(matches!(VerifyingKey::from_key_object(&obj), Err(KeyError::Unsupported { .. })));
        let canonical =
            r#"{"keytype":"sigstore-oidc","keyval":{"identity":"a@b","issuer":"https://x"},"scheme":"Fulcio"}"#;
        assert_eq!(obj.key_id().0, Sha256Hash::of(canonical.as_bytes()).to_hex(), "nothing added when re-serialized");
        // RSA is for verifying only: not a kind tufmirror signs with.
        let rsa = KeyObject {
            keytype: "rsa".into(),
            scheme: "rsassa-pss-sha256".into(),
            keyval: KeyVal { public: Some("x".into()), unknown: BTreeMap::new() },
            unknown: BTreeMap::new(),
        };
        assert!(matches!(PublicKey::from_key_object(&rsa), Err(KeyError::Unsupported { .. })));
        assert!(matches!(VerifyingKey::from_key_object(&rsa), Err(KeyError::MalformedPublicKey { .. })));
        let no_public = KeyObject { keyval: KeyVal { public: None, unknown: BTreeMap::new() }, ..rsa };
        assert!(matches!(VerifyingKey::from_key_object(&no_public), Err(KeyError::MalformedPublicKey { .. })));
    }
}
