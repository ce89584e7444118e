//! Root ceremonies: proposing, editing, signing and publishing root versions held by offline keys
//! with t-of-n thresholds (`tufmirror root ...`, `tufmirror keys rotate`).
//!
//! A *proposal* is an ordinary TUF root metadata file, `{"signed": ..., "signatures": [...]}`,
//! that travels from key holder to key holder; each signs on their own machine and the signatures
//! accumulate in the file. Root version N+1 may be published when it is signed by a threshold of
//! the root keys of version N **and** by a threshold of its own root keys (TUF 5.3.4), is exactly
//! the next version, and has not expired. Version 1 needs only its own threshold.
//!
//! The rules a root must follow here, beyond what TUF requires: every top-level role lists at least
//! one key, each threshold is between 1 and its role's number of keys, and no root key is also an
//! online (targets, snapshot, timestamp) key: root keys stay offline.
//!
//! - `proposal`: what a proposal says: root version 1, the next version, edits, rotating an
//!   online key, and the rules above;
//! - `signatures`: who has signed it, adding a signature, and whether it may be published;
//! - `files`: reading and writing proposals, the root chain directory and public key files.
//!
//! The first two are pure: the clock is an argument and keys come in as public keys or signers.
//! Only `files` touches the disk. Every step fails with a [`CeremonyError`] that says why.

mod folder;
mod proposal;
mod signatures;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use tufmirror_core::KeyId;
use tufmirror_core::audit_rules::AttestationError;
use tufmirror_core::cjson::CanonicalJsonError;
use tufmirror_core::metadata::Role;
use tufmirror_core::verify::VerifyError;
use tufmirror_signer::SignerError;

use crate::keys;

pub use folder::{
    GivenKey, given_key, newest_root, read_proposal, read_public_key_file, to_bytes, write_new_root, write_proposal,
};
pub(crate) use proposal::unchecked_initial_root;
pub use proposal::{
    Edit, MAX_EXPIRY_DAYS, RoleSpec, Rotation, apply_edits, check_follows, expiry_in_days, initial_root, next_version,
    previous_root, problems, resolve_key_id, rotate_online_key, validate,
};
pub use signatures::{
    Added, IgnoredSignature, OnlineKeyMismatch, RoleStatus, RootSignatures, Status, add_signature, check_publishable,
    online_key_mismatches, sign_proposal, status, status_against_chain,
};

/// Why a ceremony step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A top-level role of the proposal lists no key in its `keyids`.
    #[error("the {role} role lists no key: every top-level role needs at least one")]
    EmptyRole {
        /// The role.
        role: Role,
    },
    /// A role's `threshold` is 0 or above its number of keys.
    #[error(
        "the {role} role has threshold {threshold} but {keys} key(s): a threshold must be between 1 and the number of keys"
    )]
    BadThreshold {
        /// The role.
        role: Role,
        /// The role's `threshold`.
        threshold: u64,
        /// The number of the role's `keyids`.
        keys: usize,
    },
    /// A root key is also listed for an online role (docs/POUF.md 1.2: root keys stay offline).
    #[error("key {key_id} is both a root key and a {role} key: root keys stay offline and sign only root")]
    RootKeyOnline {
        /// The online role.
        role: Role,
        /// The key id.
        key_id: KeyId,
    },
    /// A role's `keyids` hold the same key id twice.
    #[error("the {role} role lists key {key_id} twice")]
    DuplicateKey {
        /// The role.
        role: Role,
        /// The key id.
        key_id: KeyId,
    },
    /// A role's `keyids` name a key that root's `keys` do not define.
    #[error("the {role} role lists key {key_id}, which root's `keys` does not define")]
    UndefinedKey {
        /// The role.
        role: Role,
        /// The key id.
        key_id: KeyId,
    },
    /// A key that root's `keys` define for a role is not a key tufmirror can verify with (docs/POUF.md 1.2).
    #[error("the {role} key {key_id} is not usable: {source}")]
    UnusableKey {
        /// The role.
        role: Role,
        /// The key id.
        key_id: KeyId,
        /// What is wrong with the key object.
        #[source]
        source: tufmirror_core::key::KeyError,
    },
    /// A public key file given to a ceremony command is not a usable PEM public key.
    #[error("{path} is not a usable PEM public key: {source}")]
    PublicKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: tufmirror_core::key::KeyError,
    },
    /// A key to add is already in the role's `keyids`.
    #[error("the {role} role already lists key {key_id}")]
    AlreadyListed {
        /// The role.
        role: Role,
        /// The key id.
        key_id: KeyId,
    },
    /// No key id of the role starts with the given prefix.
    #[error("no key of the {role} role has an id starting with {prefix:?} (the role lists {listed})")]
    NoSuchKey {
        /// The role.
        role: Role,
        /// The key id prefix as given.
        prefix: String,
        /// The key ids the role lists, comma-separated.
        listed: String,
    },
    /// Several key ids of the role start with the given prefix.
    #[error("{prefix:?} matches several keys of the {role} role ({matches}): give more of the key id")]
    AmbiguousKey {
        /// The role.
        role: Role,
        /// The key id prefix as given.
        prefix: String,
        /// The key ids it matches, comma-separated.
        matches: String,
    },
    /// The root's auditor declaration (`x-tufmirror-auditors`, docs/audit.md) breaks a rule of
    /// tufmirror's: an auditor key that is also a root or online key, a threshold above the
    /// number of auditor keys, an auditor key declared twice.
    #[error("the auditors (x-tufmirror-auditors) are not usable: {reason}")]
    BadAuditors {
        /// Which rule it breaks.
        reason: String,
    },
    /// The root's auditor declaration is not one clients can use (docs/audit.md).
    #[error("the auditors (x-tufmirror-auditors) are not usable: {0}")]
    AuditorDeclaration(#[source] AttestationError),
    /// The root's auditor declaration is not of the declaration's shape.
    #[error("the auditors (x-tufmirror-auditors) are not usable: {0}")]
    AuditorsNotJson(#[source] serde_json::Error),
    /// A declared auditor key is not a key tufmirror can verify with.
    #[error("the auditors (x-tufmirror-auditors) are not usable: key {key_id} is not usable: {source}")]
    UnusableAuditorKey {
        /// The auditor key's id.
        key_id: KeyId,
        /// What is wrong with the key object.
        #[source]
        source: tufmirror_core::key::KeyError,
    },
    /// An online-key rotation was asked for the root role.
    #[error("the {role} role is not an online role: rotate root keys with `tufmirror root edit`")]
    NotOnlineRole {
        /// The role.
        role: Role,
    },
    /// A signature was offered by a key that is a root key of neither the proposal nor the
    /// previous root.
    #[error(
        "key {key_id} is not a root key of the proposed root version {version}{}; only root keys may sign a root",
        previous.map(|p| format!(" nor of the previous root version {p}")).unwrap_or_default()
    )]
    NotARootKey {
        /// The key id.
        key_id: KeyId,
        /// The proposed root version.
        version: u64,
        /// The previous root version, when it was given.
        previous: Option<u64>,
    },
    /// A root above version 1 was checked without the previous root, whose root keys must also
    /// sign it (docs/POUF.md 1.2).
    #[error(
        "root version {version} must also be signed by the root keys of version {}, which was not given (the root chain directory 1.root.json ... {}.root.json)",
        version.saturating_sub(1), version.saturating_sub(1)
    )]
    PreviousRootNeeded {
        /// The proposed root version.
        version: u64,
    },
    /// The proposal is not the version right after the newest published root.
    #[error("the proposal is root version {found}, but the newest root is version {newest}: only version {} can follow it", newest + 1)]
    NotNextVersion {
        /// The proposal's version.
        found: u64,
        /// The newest published root version.
        newest: u64,
    },
    /// The proposal's `expires` has passed.
    #[error(
        "root version {version} expired at {expires}: set a new expiry with `tufmirror root edit --set-expiry-days`"
    )]
    Expired {
        /// The proposed root version.
        version: u64,
        /// Its `expires`, as written in the metadata.
        expires: String,
    },
    /// The root keys of the proposal or of the previous root have not reached their threshold.
    #[error(
        "root version {version} is not signed by enough root keys of {whose} (version {root_version}): \
         {valid} valid signature(s), threshold {threshold}, {} more needed; signed: {signed}; not yet signed: {unsigned}",
        threshold.saturating_sub(*valid)
    )]
    NotEnoughSignatures {
        /// The proposed root version.
        version: u64,
        /// Whose root keys: the proposal's own or the previous root's.
        whose: &'static str,
        /// The root version whose root keys and threshold count.
        root_version: u64,
        /// The number of valid signatures by those keys.
        valid: u64,
        /// That root's root `threshold`.
        threshold: u64,
        /// The key ids that signed, comma-separated.
        signed: String,
        /// The key ids that may still sign, comma-separated.
        unsigned: String,
    },
    /// An offered signature does not verify over the proposal's canonical `signed` bytes.
    #[error("the signature of key {key_id} does not verify over root version {version}: {source}")]
    BadSignature {
        /// The key id.
        key_id: KeyId,
        /// The proposed root version.
        version: u64,
        /// Why it does not verify.
        #[source]
        source: tufmirror_core::key::KeyError,
    },
    /// A root key could not sign the proposal.
    #[error("the key {key_id} could not sign")]
    Signer {
        /// The key id.
        key_id: KeyId,
        /// The signer's error.
        #[source]
        source: SignerError,
    },
    /// A signed root version does not verify.
    #[error("root version {version} does not verify")]
    Verify {
        /// The root version.
        version: u64,
        /// Why.
        #[source]
        source: VerifyError,
    },
    /// The proposal file is not valid root metadata.
    #[error("the proposal is not valid root metadata")]
    Malformed(#[source] VerifyError),
    /// A file of the root chain is not root metadata.
    #[error("{path} is not root metadata")]
    NotRoot {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: VerifyError,
    },
    /// The proposal has no canonical JSON form (docs/POUF.md 1.1), so it cannot be signed.
    #[error("root version {version} has no canonical JSON form")]
    Canonical {
        /// The proposed root version.
        version: u64,
        /// Why.
        #[source]
        source: CanonicalJsonError,
    },
    /// The published root chain could not be read or does not verify.
    #[error("the root chain")]
    Chain(#[from] keys::OnlineKeyError),
    /// An expiry in days outside 1..=[`MAX_EXPIRY_DAYS`].
    #[error("an expiry of {days} days is outside 1..={MAX_EXPIRY_DAYS}")]
    ExpiryOutOfRange {
        /// The days as given.
        days: i64,
    },
    /// A key given to a ceremony command could not be opened.
    #[error("cannot use the key {spec} (a key URI or a PEM public key file)")]
    OpenKey {
        /// The key as given: a key URI or a PEM public key file.
        spec: String,
        /// The signer's error.
        #[source]
        source: SignerError,
    },
    /// A file a ceremony step would write already exists.
    #[error("{path} already exists: it is never overwritten")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A ceremony file could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done (`read`, `write`, …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Key ids for a message: `a, b` (or `none`).
fn short_list(ids: &[KeyId]) -> String {
    if ids.is_empty() {
        return "none".to_owned();
    }
    ids.iter().map(|k| k.0.as_str()).collect::<Vec<_>>().join(", ")
}
