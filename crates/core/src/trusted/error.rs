//! Why the trusted set refused metadata.

use crate::hash::DigestMismatch;
use crate::key::KeyId;

/// Why metadata was not accepted into the [`super::TrustedSet`]. Every variant names the role (or
/// the `meta` file) it is about; where a check failed on a downloaded file's bytes the mismatch
/// is the `source`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("{role} metadata is malformed: {reason}")]
    Malformed { role: String, reason: String },
    #[error("expected {expected} metadata, found _type {found:?}")]
    WrongType { expected: String, found: String },
    #[error("{role} metadata carries more than one signature by key {keyid}")]
    DuplicateSignature { role: String, keyid: KeyId },
    #[error("{role} metadata has {valid} valid signature(s) by the keys {delegator} lists for it, needs {threshold}")]
    Threshold { role: String, delegator: String, valid: u64, threshold: u64 },
    #[error("{delegator} does not delegate to {role}")]
    NotDelegated { role: String, delegator: String },
    #[error("{role} metadata expired at {expires}")]
    Expired { role: String, expires: String },
    #[error("{role} version {found} is lower than the trusted version {trusted} (rollback)")]
    Rollback { role: String, trusted: u64, found: u64 },
    #[error("{role} metadata has version {found}, expected {expected}")]
    UnexpectedVersion { role: String, expected: u64, found: u64 },
    #[error("the new snapshot no longer lists {file}, which the trusted snapshot lists")]
    MetaRemoved { file: String },
    #[error("{role} metadata does not match the length and hashes that {pinned_by} lists for it")]
    Digest {
        role: String,
        pinned_by: &'static str,
        #[source]
        source: DigestMismatch,
    },
    #[error("snapshot metadata does not list {role}.json")]
    NotInSnapshot { role: String },
    #[error("cannot load {step}: {reason}")]
    OutOfOrder { step: String, reason: &'static str },
}

impl TrustError {
    pub(super) fn malformed(role: &str, reason: impl Into<String>) -> Self {
        TrustError::Malformed { role: role.to_owned(), reason: reason.into() }
    }
}
