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

mod files;
mod proposal;
mod signatures;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use tufmirror_core::KeyId;
use tufmirror_core::cjson::CanonicalJsonError;
use tufmirror_core::metadata::Role;
use tufmirror_core::verify::VerifyError;
use tufmirror_signer::SignerError;

use crate::keys;

pub use files::{
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
// TODO(lead): document after merge
#[allow(missing_docs)]
pub enum CeremonyError {
    #[error("the {role} role lists no key: every top-level role needs at least one")]
    EmptyRole { role: Role },
    #[error(
        "the {role} role has threshold {threshold} but {keys} key(s): a threshold must be between 1 and the number of keys"
    )]
    BadThreshold { role: Role, threshold: u64, keys: usize },
    #[error("key {key_id} is both a root key and a {role} key: root keys stay offline and sign only root")]
    RootKeyOnline { role: Role, key_id: KeyId },
    #[error("the {role} role lists key {key_id} twice")]
    DuplicateKey { role: Role, key_id: KeyId },
    #[error("the {role} role lists key {key_id}, which root's `keys` does not define")]
    UndefinedKey { role: Role, key_id: KeyId },
    #[error("the {role} key {key_id} is not usable: {reason}")]
    UnusableKey { role: Role, key_id: KeyId, reason: String },
    #[error("{path} is not a usable PEM public key: {reason}")]
    PublicKeyFile { path: PathBuf, reason: String },
    #[error("the {role} role already lists key {key_id}")]
    AlreadyListed { role: Role, key_id: KeyId },
    #[error("no key of the {role} role has an id starting with {prefix:?} (the role lists {listed})")]
    NoSuchKey { role: Role, prefix: String, listed: String },
    #[error("{prefix:?} matches several keys of the {role} role ({matches}): give more of the key id")]
    AmbiguousKey { role: Role, prefix: String, matches: String },
    #[error("the auditors (x-tufmirror-auditors) are not usable: {reason}")]
    BadAuditors { reason: String },
    #[error("the {role} role is not an online role: rotate root keys with `tufmirror root edit`")]
    NotOnlineRole { role: Role },
    #[error(
        "key {key_id} is not a root key of the proposed root version {version}{}; only root keys may sign a root",
        previous.map(|p| format!(" nor of the previous root version {p}")).unwrap_or_default()
    )]
    NotARootKey { key_id: KeyId, version: u64, previous: Option<u64> },
    #[error(
        "root version {version} must also be signed by the root keys of version {}, which was not given (the root chain directory 1.root.json ... {}.root.json)",
        version.saturating_sub(1), version.saturating_sub(1)
    )]
    PreviousRootNeeded { version: u64 },
    #[error("the proposal is root version {found}, but the newest root is version {newest}: only version {} can follow it", newest + 1)]
    NotNextVersion { found: u64, newest: u64 },
    #[error(
        "root version {version} expired at {expires}: set a new expiry with `tufmirror root edit --set-expiry-days`"
    )]
    Expired { version: u64, expires: String },
    #[error(
        "root version {version} is not signed by enough root keys of {whose} (version {root_version}): \
         {valid} valid signature(s), threshold {threshold}, {} more needed; signed: {signed}; not yet signed: {unsigned}",
        threshold.saturating_sub(*valid)
    )]
    NotEnoughSignatures {
        version: u64,
        whose: &'static str,
        root_version: u64,
        valid: u64,
        threshold: u64,
        signed: String,
        unsigned: String,
    },
    #[error("the signature of key {key_id} does not verify over root version {version}: {reason}")]
    BadSignature { key_id: KeyId, version: u64, reason: String },
    #[error("the key {key_id} could not sign")]
    Signer {
        key_id: KeyId,
        #[source]
        source: SignerError,
    },
    #[error("root version {version} does not verify")]
    Verify {
        version: u64,
        #[source]
        source: VerifyError,
    },
    #[error("the proposal is not valid root metadata")]
    Malformed(#[source] VerifyError),
    #[error("{path} is not root metadata")]
    NotRoot {
        path: PathBuf,
        #[source]
        source: VerifyError,
    },
    #[error("root version {version} has no canonical JSON form")]
    Canonical {
        version: u64,
        #[source]
        source: CanonicalJsonError,
    },
    #[error("the root chain")]
    Chain(#[from] keys::KeyError),
    #[error("an expiry of {days} days is outside 1..={MAX_EXPIRY_DAYS}")]
    ExpiryOutOfRange { days: i64 },
    #[error("cannot use the key {spec} (a key URI or a PEM public key file)")]
    OpenKey {
        spec: String,
        #[source]
        source: SignerError,
    },
    #[error("{path} already exists: it is never overwritten")]
    Exists { path: PathBuf },
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
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
