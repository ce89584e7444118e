//! Key formats: which algorithm `CKA_EC_PARAMS` names, and the public key from `CKA_EC_POINT` or
//! a SubjectPublicKeyInfo.

use tufmirror_core::PublicKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Ed25519,
    EcdsaP256,
}

const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const ED25519_NAME: &[u8] = b"edwards25519";

/// The algorithm that DER `CKA_EC_PARAMS` names: the P-256 or Ed25519 OID, or the curve name as a
/// PrintableString (SoftHSM2) or UTF8String.
pub(crate) fn curve(params: &[u8]) -> Option<Algorithm> {
    match params {
        P256_OID => Some(Algorithm::EcdsaP256),
        ED25519_OID => Some(Algorithm::Ed25519),
        [0x13 | 0x0c, 12, name @ ..] if name == ED25519_NAME => Some(Algorithm::Ed25519),
        _ => None,
    }
}

/// The public key from `CKA_EC_POINT`: a DER OCTET STRING around the raw point (some modules
/// return the raw point; lengths tell the two apart).
pub(crate) fn decode_point(algorithm: Algorithm, point: &[u8]) -> Result<PublicKey, BadPoint> {
    let inner_fits = |n| match algorithm {
        Algorithm::Ed25519 => n == 32,
        Algorithm::EcdsaP256 => n == 65 || n == 33,
    };
    let raw = match point {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && inner_fits(rest.len()) => rest,
        _ => point,
    };
    match algorithm {
        Algorithm::Ed25519 => <[u8; 32]>::try_from(raw)
            .map_err(|_| BadPoint::Ed25519Length(raw.len()))
            .and_then(|raw| ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(BadPoint::Ed25519))
            .map(PublicKey::Ed25519),
        Algorithm::EcdsaP256 => {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(raw).map(PublicKey::EcdsaP256).map_err(BadPoint::P256)
        }
    }
}

/// Why a `CKA_EC_POINT` is not a public key of its algorithm.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadPoint {
    #[error("an Ed25519 point has 32 bytes, not {0}")]
    Ed25519Length(usize),
    #[error("{0}")]
    Ed25519(#[source] ed25519_dalek::SignatureError),
    #[error("{0}")]
    P256(#[source] p256::ecdsa::Error),
}

/// The public key from a DER SubjectPublicKeyInfo (`CKA_PUBLIC_KEY_INFO`).
pub(crate) fn from_spki(algorithm: Algorithm, der: &[u8]) -> Option<PublicKey> {
    use p256::pkcs8::DecodePublicKey;
    match algorithm {
        Algorithm::Ed25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der).ok().map(PublicKey::Ed25519),
        Algorithm::EcdsaP256 => p256::ecdsa::VerifyingKey::from_public_key_der(der).ok().map(PublicKey::EcdsaP256),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves() {
        assert_eq!(curve(P256_OID), Some(Algorithm::EcdsaP256));
        assert_eq!(curve(ED25519_OID), Some(Algorithm::Ed25519));
        assert_eq!(curve(b"\x13\x0cedwards25519"), Some(Algorithm::Ed25519));
        assert_eq!(curve(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]), None); // P-384
        assert_eq!(curve(b""), None);
    }

    #[test]
    fn points_wrapped_and_raw() {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let mut wrapped = vec![0x04, 32];
        wrapped.extend_from_slice(ed.as_bytes());
        assert_eq!(decode_point(Algorithm::Ed25519, &wrapped).expect("decodes"), PublicKey::Ed25519(ed));
        assert_eq!(decode_point(Algorithm::Ed25519, ed.as_bytes()).expect("decodes"), PublicKey::Ed25519(ed));
        assert!(matches!(decode_point(Algorithm::Ed25519, &wrapped[..33]), Err(BadPoint::Ed25519Length(33))));

        let ec = *p256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("key").verifying_key();
        let sec1 = ec.to_encoded_point(false);
        let mut wrapped = vec![0x04, 65];
        wrapped.extend_from_slice(sec1.as_bytes());
        assert_eq!(decode_point(Algorithm::EcdsaP256, &wrapped).expect("decodes"), PublicKey::EcdsaP256(ec));
        assert_eq!(decode_point(Algorithm::EcdsaP256, sec1.as_bytes()).expect("decodes"), PublicKey::EcdsaP256(ec));
        assert!(matches!(decode_point(Algorithm::EcdsaP256, &wrapped[..40]), Err(BadPoint::P256(_))));
    }

    #[test]
    fn subject_public_key_infos() {
        use p256::pkcs8::EncodePublicKey;
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let ed_der = ed.to_public_key_der().expect("der");
        assert_eq!(from_spki(Algorithm::Ed25519, ed_der.as_bytes()), Some(PublicKey::Ed25519(ed)));
        let ec = *p256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("key").verifying_key();
        let ec_der = ec.to_public_key_der().expect("der");
        assert_eq!(from_spki(Algorithm::EcdsaP256, ec_der.as_bytes()), Some(PublicKey::EcdsaP256(ec)));
        assert_eq!(from_spki(Algorithm::EcdsaP256, ed_der.as_bytes()), None);
        assert_eq!(from_spki(Algorithm::Ed25519, b"garbage"), None);
    }
}
