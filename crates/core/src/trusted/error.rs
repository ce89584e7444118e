//! Why the trusted set refused metadata.

use crate::hash::DigestMismatch;
use crate::key::KeyId;

/// Why metadata was not accepted into the [`super::TrustedSet`]. Every variant names the role (or
/// the `meta` file) it is about; where a check failed on a downloaded file's bytes the mismatch
/// is the `source`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file is not valid metadata of the role (JSON, fields, types).
    #[error("{role} metadata is malformed: {reason}")]
    Malformed {
        /// The role (or file) being loaded.
        role: String,
        /// What is wrong, in words.
        reason: String,
    },
    /// The `_type` is another role's.
    #[error("expected {expected} metadata, found _type {found:?}")]
    WrongType {
        /// The role being loaded.
        expected: String,
        /// The `_type` the file carries.
        found: String,
    },
    /// Two signatures by the same key id in one file.
    #[error("{role} metadata carries more than one signature by key {keyid}")]
    DuplicateSignature {
        /// The role being loaded.
        role: String,
        /// The key that signed twice.
        keyid: KeyId,
    },
    /// Too few valid signatures by the role's keys.
    #[error("{role} metadata has {valid} valid signature(s) by the keys {delegator} lists for it, needs {threshold}")]
    Threshold {
        /// The role being loaded.
        role: String,
        /// The role that lists its keys and threshold (`root`, or the delegating targets role).
        delegator: String,
        /// The number of distinct listed keys whose signature verified.
        valid: u64,
        /// The number needed.
        threshold: u64,
    },
    /// The delegating role lists no delegation to this role.
    #[error("{delegator} does not delegate to {role}")]
    NotDelegated {
        /// The role being loaded.
        role: String,
        /// The role expected to delegate to it.
        delegator: String,
    },
    /// The metadata's `expires` is before the verification time.
    #[error("{role} metadata expired at {expires}")]
    Expired {
        /// The role being loaded.
        role: String,
        /// Its `expires`, as RFC 3339 text.
        expires: String,
    },
    /// A lower version than the one already trusted.
    #[error("{role} version {found} is lower than the trusted version {trusted} (rollback)")]
    Rollback {
        /// The role being loaded.
        role: String,
        /// The trusted version.
        trusted: u64,
        /// The version of the new file.
        found: u64,
    },
    /// Another version than the one required (the next root, or the version a pin lists).
    #[error("{role} metadata has version {found}, expected {expected}")]
    UnexpectedVersion {
        /// The role being loaded.
        role: String,
        /// The version required.
        expected: u64,
        /// The version of the file.
        found: u64,
    },
    /// A new snapshot drops a file that the trusted snapshot lists.
    #[error("the new snapshot no longer lists {file}, which the trusted snapshot lists")]
    MetaRemoved {
        /// The `meta` key that is gone (`<role>.json`).
        file: String,
    },
    /// The bytes do not match the length and hashes pinned for them.
    #[error("{role} metadata does not match the length and hashes that {pinned_by} lists for it")]
    Digest {
        /// The role being loaded.
        role: String,
        /// The role whose `meta` pins the file (`timestamp` or `snapshot`).
        pinned_by: &'static str,
        /// What did not match.
        #[source]
        source: DigestMismatch,
    },
    /// The trusted snapshot does not list the targets role being loaded.
    #[error("snapshot metadata does not list {role}.json")]
    NotInSnapshot {
        /// The role being loaded.
        role: String,
    },
    /// A load out of the spec's order (root, timestamp, snapshot, targets).
    #[error("cannot load {step}: {reason}")]
    OutOfOrder {
        /// The role whose load was refused.
        step: String,
        /// Which step is missing or already past.
        reason: &'static str,
    },
}

impl TrustError {
    pub(super) fn malformed(role: &str, reason: impl Into<String>) -> Self {
        TrustError::Malformed { role: role.to_owned(), reason: reason.into() }
    }
}
