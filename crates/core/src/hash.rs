//! SHA-256 digests as they appear in TUF metadata and proofs: 32 bytes, lowercase hex on the wire;
//! and the length-and-hashes check that a client applies to every file that metadata describes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use std::collections::BTreeMap;
use std::fmt;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, the only form TUF metadata uses.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, InvalidHash> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(InvalidHash(s.chars().take(80).collect()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| InvalidHash(s.to_owned()))?;
        Ok(Self(out))
    }
}

/// A string that is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 digest (64 lowercase hex digits): {0:?}")]
pub struct InvalidHash(pub String);

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Hash({})", self.to_hex())
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Why bytes do not match the length and hashes that metadata lists for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestMismatch {
    /// The byte count differs from the listed length.
    #[error("length is {found} bytes, expected {expected}")]
    Length {
        /// The listed length.
        expected: u64,
        /// The actual length.
        found: u64,
    },
    /// A listed hash differs.
    #[error("{algorithm} is {found}, expected {expected}")]
    Hash {
        /// The algorithm's name as listed (`sha256`, ...).
        algorithm: String,
        /// The listed digest, hex.
        expected: String,
        /// The digest of the bytes, hex.
        found: String,
    },
    /// A listed algorithm that tufmirror cannot compute (its name): the file cannot be checked.
    #[error("hash algorithm {0:?} is not supported, so the file cannot be checked")]
    UnsupportedAlgorithm(String),
    /// The hashes are listed but empty.
    #[error("no hashes are listed, so the file cannot be checked")]
    NoHashes,
}

/// Checks `bytes` against an optional length and optional hashes, as TUF's `meta` entries give
/// them (targets always give both). Every listed hash must be of a supported algorithm (SHA-224,
/// -256, -384, -512) and match: an algorithm this client cannot compute is a refusal, not a
/// pass, or a repository could list only hashes that nobody checks. `Some` empty hashes is
/// refused for the same reason.
pub fn check_length_and_hashes(
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), DigestMismatch> {
    if let Some(expected) = length
        && expected != bytes.len() as u64
    {
        return Err(DigestMismatch::Length { expected, found: bytes.len() as u64 });
    }
    let Some(hashes) = hashes else {
        return Ok(());
    };
    if hashes.is_empty() {
        return Err(DigestMismatch::NoHashes);
    }
    for (algorithm, expected) in hashes {
        let found = match algorithm.as_str() {
            "sha224" => hex::encode(Sha224::digest(bytes)),
            "sha256" => hex::encode(Sha256::digest(bytes)),
            "sha384" => hex::encode(Sha384::digest(bytes)),
            "sha512" => hex::encode(Sha512::digest(bytes)),
            _ => return Err(DigestMismatch::UnsupportedAlgorithm(algorithm.clone())),
        };
        if found != *expected {
            return Err(DigestMismatch::Hash { algorithm: algorithm.clone(), expected: expected.clone(), found });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_every_listed_hash_must_match() {
        let sha = |alg: &str, hex: String| Some(BTreeMap::from([(alg.to_owned(), hex)]));
        let h256 = hex::encode(Sha256::digest(b"abc"));
        let h512 = hex::encode(Sha512::digest(b"abc"));
        assert_eq!(check_length_and_hashes(b"abc", Some(3), sha("sha256", h256.clone()).as_ref()), Ok(()));
        assert_eq!(check_length_and_hashes(b"abc", None, None), Ok(()));
        assert!(matches!(check_length_and_hashes(b"abcd", Some(3), None), Err(DigestMismatch::Length { .. })));
        let both = BTreeMap::from([("sha256".to_owned(), h256.clone()), ("sha512".to_owned(), h512)]);
        assert_eq!(check_length_and_hashes(b"abc", None, Some(&both)), Ok(()));
        assert!(matches!(check_length_and_hashes(b"abd", None, Some(&both)), Err(DigestMismatch::Hash { .. })));
        assert!(matches!(
            check_length_and_hashes(b"abc", None, sha("md5", "x".into()).as_ref()),
            Err(DigestMismatch::UnsupportedAlgorithm(_))
        ));
        assert_eq!(check_length_and_hashes(b"abc", None, Some(&BTreeMap::new())), Err(DigestMismatch::NoHashes));
        // Upper-case hex is not what the digest is written as: refused, like python-tuf does.
        assert!(check_length_and_hashes(b"abc", None, sha("sha256", h256.to_uppercase()).as_ref()).is_err());
    }

    #[test]
    fn hex_round_trip_and_strictness() {
        let h = Sha256Hash::of(b"");
        assert_eq!(h.to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(Sha256Hash::from_hex(&h.to_hex()), Ok(h));
        assert!(Sha256Hash::from_hex(&h.to_hex().to_uppercase()).is_err());
        assert!(Sha256Hash::from_hex("abcd").is_err());
    }
}
