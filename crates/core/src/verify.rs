//! Signature thresholds, expiry and version rules: the checks every TUF client step is made of.
//!
//! Parsing and verifying go together here on purpose: [`parse_verified`] checks the signatures
//! over the canonical form of the `signed` object exactly as it arrived (unknown fields included)
//! before the typed view is trusted.

use crate::key::{KeyId, KeyObject, PublicKey, VerifyingKey};
use crate::metadata::{Metadata, Role, Root, Signature, Signed};
use crate::{cjson, time};
use ::time::OffsetDateTime;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Why metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file is not valid metadata of the role (JSON, fields, types).
    #[error("{role} metadata is not valid JSON metadata: {reason}")]
    Malformed {
        /// The role being verified.
        role: Role,
        /// What is wrong, in words.
        reason: String,
    },
    /// The `_type` is another role's.
    #[error("expected {expected} metadata, found {found}")]
    WrongType {
        /// The role being verified.
        expected: Role,
        /// The `_type` the file carries.
        found: String,
    },
    /// A `spec_version` whose major version is not 1.
    #[error("unsupported spec_version {found:?} in {role} metadata (this client speaks 1.x)")]
    SpecVersion {
        /// The role being verified.
        role: Role,
        /// The file's `spec_version`.
        found: String,
    },
    /// Root's `roles` has no entry for the role.
    #[error("root metadata does not define the {role} role")]
    MissingRole {
        /// The role missing from root.
        role: Role,
    },
    /// Too few valid signatures by the role's keys.
    #[error("{role} metadata has {valid} valid signature(s) from distinct keys, needs {threshold}")]
    Threshold {
        /// The role being verified.
        role: Role,
        /// The number of distinct keys of the role whose signature verified.
        valid: u64,
        /// The role's threshold in root.
        threshold: u64,
    },
    /// Root gives the role a threshold of 0.
    #[error("{role} threshold is 0, which would let anyone sign")]
    ZeroThreshold {
        /// The role with threshold 0.
        role: Role,
    },
    /// The metadata's `expires` is before the verification time.
    #[error("{role} metadata expired at {expires}")]
    Expired {
        /// The role being verified.
        role: Role,
        /// Its `expires`, as RFC 3339 text.
        expires: String,
    },
    /// A lower version than the one already trusted.
    #[error("{role} metadata version {found} is lower than trusted version {trusted} (rollback)")]
    Rollback {
        /// The role being verified.
        role: Role,
        /// The trusted version.
        trusted: u64,
        /// The version of the new file.
        found: u64,
    },
    /// Another version than the one required (the next root, or the version a pin lists).
    #[error("{role} metadata has version {found}, expected {expected}")]
    UnexpectedVersion {
        /// The role being verified.
        role: Role,
        /// The version required.
        expected: u64,
        /// The version of the file.
        found: u64,
    },
}

/// The keys of one role and its threshold, resolved from root metadata.
#[derive(Debug, Clone)]
pub struct RoleVerifier {
    /// The role these keys sign for.
    pub role: Role,
    /// The role's keys that tufmirror can verify, by key id.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// How many distinct keys of `keys` must sign (at least 1).
    pub threshold: u64,
}

impl RoleVerifier {
    /// The verifier for `role` as `root` defines it. Keys of types tufmirror cannot verify are left
    /// out: they can never contribute to the threshold.
    pub fn from_root(root: &Root, role: Role) -> Result<Self, VerifyError> {
        let entry = root.roles.get(role.name()).ok_or(VerifyError::MissingRole { role })?;
        if entry.threshold == 0 {
            return Err(VerifyError::ZeroThreshold { role });
        }
        let keys = entry
            .keyids
            .iter()
            .filter_map(|id| {
                let obj = root.keys.get(id)?;
                PublicKey::from_key_object(obj).ok().map(|k| (id.clone(), k))
            })
            .collect();
        Ok(RoleVerifier { role, keys, threshold: entry.threshold })
    }

    /// Counts the distinct listed keys whose signature over `signed_bytes` verifies, and checks
    /// the threshold. A key id that appears twice counts once.
    pub fn verify(&self, signed_bytes: &[u8], signatures: &[Signature]) -> Result<u64, VerifyError> {
        let valid = count_valid_signatures(&self.keys, signed_bytes, signatures);
        if valid < self.threshold {
            return Err(VerifyError::Threshold { role: self.role, valid, threshold: self.threshold });
        }
        Ok(valid)
    }
}

/// The keys listed as `keyids` that tufmirror can verify with, looked up in `keys` by the key id
/// as listed (TUF does not require recomputing ids from key objects, and python-tuf does not).
/// Ids without a key object, and keys of types or schemes tufmirror cannot verify, are left out:
/// they can never contribute to a threshold, but they do not make the metadata unusable.
pub fn usable_keys(keys: &BTreeMap<KeyId, KeyObject>, keyids: &[KeyId]) -> BTreeMap<KeyId, VerifyingKey> {
    keyids
        .iter()
        .filter_map(|id| {
            let obj = keys.get(id)?;
            VerifyingKey::from_key_object(obj).ok().map(|k| (id.clone(), k))
        })
        .collect()
}

/// How many distinct keys of `keys` made a valid signature over `signed_bytes`. A key id that
/// appears twice (in `keys`' listing or among the signatures) counts once; signatures that are
/// not hex, or by other keys, are ignored rather than fatal, so that one bad signature beside a
/// threshold of good ones does not make metadata unusable.
pub fn count_valid_signatures<K: CheckSignature>(
    keys: &BTreeMap<KeyId, K>,
    signed_bytes: &[u8],
    signatures: &[Signature],
) -> u64 {
    let mut good: BTreeSet<&KeyId> = BTreeSet::new();
    for s in signatures {
        if good.contains(&s.keyid) {
            continue;
        }
        let Some(key) = keys.get(&s.keyid) else {
            continue;
        };
        let Ok(sig) = hex::decode(&s.sig) else {
            continue;
        };
        if key.check(signed_bytes, &sig) {
            good.insert(&s.keyid);
        }
    }
    good.len() as u64
}

/// A key that [`count_valid_signatures`] can count: [`PublicKey`] (tufmirror's own roles) or
/// [`VerifyingKey`] (any repository's).
pub trait CheckSignature {
    /// Whether `sig` is this key's valid signature of `msg` (false for malformed signatures too).
    fn check(&self, msg: &[u8], sig: &[u8]) -> bool;
}

impl CheckSignature for PublicKey {
    fn check(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify(msg, sig).is_ok()
    }
}

impl CheckSignature for VerifyingKey {
    fn check(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify(msg, sig).is_ok()
    }
}

/// An envelope whose `signed` part is still raw JSON.
#[derive(Debug, Clone, Deserialize)]
struct RawEnvelope {
    signed: Value,
    signatures: Vec<Signature>,
}

/// Parses an envelope of role `T` without checking signatures; returns the typed metadata and
/// the canonical bytes of `signed` as received. Use only where signatures are checked next.
pub fn parse_unverified<T: Metadata>(bytes: &[u8]) -> Result<(Signed<T>, Vec<u8>), VerifyError> {
    let malformed = |reason: String| VerifyError::Malformed { role: T::ROLE, reason };
    let raw: RawEnvelope = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    let found = raw.signed.get("_type").and_then(Value::as_str).unwrap_or("(none)").to_owned();
    if found != T::ROLE.name() {
        return Err(VerifyError::WrongType { expected: T::ROLE, found });
    }
    let signed_bytes = cjson::to_vec_value(&raw.signed).map_err(|e| malformed(e.to_string()))?;
    let signed: T = serde_json::from_value(raw.signed).map_err(|e| malformed(e.to_string()))?;
    if signed.spec_version().split('.').next() != Some("1") {
        return Err(VerifyError::SpecVersion { role: T::ROLE, found: signed.spec_version().to_owned() });
    }
    Ok((Signed { signed, signatures: raw.signatures }, signed_bytes))
}

/// Parses an envelope of role `T` and checks it against `verifier`'s threshold.
pub fn parse_verified<T: Metadata>(bytes: &[u8], verifier: &RoleVerifier) -> Result<Signed<T>, VerifyError> {
    let (signed, signed_bytes) = parse_unverified::<T>(bytes)?;
    verifier.verify(&signed_bytes, &signed.signatures)?;
    Ok(signed)
}

/// Verifies root version N+1 against trusted root N (specification 5.3.4): signed by a threshold
/// of N's root keys *and* of its own, with exactly the next version number. Expiry is not checked
/// here: only the last root of a chain has to be unexpired.
pub fn verify_root_update(trusted: &Root, new_bytes: &[u8]) -> Result<Signed<Root>, VerifyError> {
    let (new, signed_bytes) = parse_unverified::<Root>(new_bytes)?;
    RoleVerifier::from_root(trusted, Role::Root)?.verify(&signed_bytes, &new.signatures)?;
    RoleVerifier::from_root(&new.signed, Role::Root)?.verify(&signed_bytes, &new.signatures)?;
    let expected = trusted.version + 1;
    if new.signed.version != expected {
        return Err(VerifyError::UnexpectedVersion { role: Role::Root, expected, found: new.signed.version });
    }
    Ok(new)
}

/// Refuses metadata whose `expires` is at or before `now`.
pub fn check_not_expired<T: Metadata>(meta: &T, now: OffsetDateTime) -> Result<(), VerifyError> {
    if meta.expires() <= now {
        return Err(VerifyError::Expired { role: T::ROLE, expires: time::format(meta.expires()) });
    }
    Ok(())
}

/// Refuses a version lower than the trusted one.
pub fn check_not_rolled_back(role: Role, trusted: u64, found: u64) -> Result<(), VerifyError> {
    if found < trusted {
        return Err(VerifyError::Rollback { role, trusted, found });
    }
    Ok(())
}
