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
//! Everything but the last section is pure: the clock is an argument and keys come in as public
//! keys or signers. The last section reads and writes a ceremony's files.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tufmirror_core::cjson::CanonicalJsonError;
use tufmirror_core::metadata::{Role, RoleKeys, Root, SPEC_VERSION, Signed};
use tufmirror_core::verify::{self, RoleVerifier, VerifyError};
use tufmirror_core::{KeyId, PublicKey};
use tufmirror_signer::{Signer, SignerError};

use crate::keys::{self, RootFile};

/// Why a ceremony step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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

fn short_list(ids: &[KeyId]) -> String {
    if ids.is_empty() {
        return "none".to_owned();
    }
    ids.iter().map(|k| k.0.as_str()).collect::<Vec<_>>().join(", ")
}

/// The keys and threshold of one role of a new root.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub keys: Vec<PublicKey>,
    pub threshold: u64,
}

/// Root version 1 with `consistent_snapshot` on, for the given keys and thresholds (every
/// top-level role must be given).
pub fn initial_root(roles: &BTreeMap<Role, RoleSpec>, expires: OffsetDateTime) -> Result<Root, CeremonyError> {
    let mut root = Root {
        kind: Role::Root,
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        expires,
        consistent_snapshot: true,
        keys: BTreeMap::new(),
        roles: BTreeMap::new(),
        unknown: BTreeMap::new(),
    };
    for role in Role::ALL {
        let spec = roles.get(&role);
        let mut keyids = Vec::new();
        for key in spec.map(|s| s.keys.as_slice()).unwrap_or_default() {
            root.keys.insert(key.key_id(), key.to_key_object());
            keyids.push(key.key_id());
        }
        let threshold = spec.map_or(1, |s| s.threshold);
        root.roles.insert(role.name().to_owned(), RoleKeys { keyids, threshold, unknown: BTreeMap::new() });
    }
    validate(&root)?;
    Ok(root)
}

/// The next version of `previous`, unchanged but for its version and expiry: where an edit starts.
pub fn next_version(previous: &Root, expires: OffsetDateTime) -> Root {
    let mut root = previous.clone();
    root.version = previous.version + 1;
    root.expires = expires;
    root
}

/// Every rule `root` breaks (see the module documentation), in role order.
pub fn problems(root: &Root) -> Vec<CeremonyError> {
    let mut out = Vec::new();
    let root_keys: BTreeSet<&KeyId> = root.roles.get("root").map(|r| r.keyids.iter().collect()).unwrap_or_default();
    for role in Role::ALL {
        let Some(entry) = root.roles.get(role.name()).filter(|e| !e.keyids.is_empty()) else {
            out.push(CeremonyError::EmptyRole { role });
            continue;
        };
        let mut distinct = BTreeSet::new();
        for key_id in &entry.keyids {
            if !distinct.insert(key_id) {
                out.push(CeremonyError::DuplicateKey { role, key_id: key_id.clone() });
                continue;
            }
            match root.keys.get(key_id) {
                None => out.push(CeremonyError::UndefinedKey { role, key_id: key_id.clone() }),
                Some(obj) => {
                    if let Err(e) = PublicKey::from_key_object(obj) {
                        out.push(CeremonyError::UnusableKey { role, key_id: key_id.clone(), reason: e.to_string() });
                    }
                }
            }
            if role != Role::Root && root_keys.contains(key_id) {
                out.push(CeremonyError::RootKeyOnline { role, key_id: key_id.clone() });
            }
        }
        if entry.threshold == 0 || entry.threshold > distinct.len() as u64 {
            out.push(CeremonyError::BadThreshold { role, threshold: entry.threshold, keys: distinct.len() });
        }
    }
    out
}

/// The first of [`problems`], if any.
pub fn validate(root: &Root) -> Result<(), CeremonyError> {
    problems(root).into_iter().next().map_or(Ok(()), Err)
}

/// One change to a proposal.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Lists a key for a role (and defines it in `keys`).
    AddKey {
        role: Role,
        key: PublicKey,
    },
    /// Removes the role's key whose id starts with `key_id` (a unique prefix suffices).
    RemoveKey {
        role: Role,
        key_id: String,
    },
    SetThreshold {
        role: Role,
        threshold: u64,
    },
    SetExpires(OffsetDateTime),
}

/// The role's key id that starts with `prefix` (case-insensitive); exactly one must match.
pub fn resolve_key_id(root: &Root, role: Role, prefix: &str) -> Result<KeyId, CeremonyError> {
    let listed = root.roles.get(role.name()).map(|r| r.keyids.as_slice()).unwrap_or_default();
    let prefix = prefix.trim().to_ascii_lowercase();
    let matches: Vec<&KeyId> =
        if prefix.is_empty() { Vec::new() } else { listed.iter().filter(|k| k.0.starts_with(&prefix)).collect() };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CeremonyError::NoSuchKey { role, prefix, listed: short_list(listed) }),
        many => Err(CeremonyError::AmbiguousKey {
            role,
            prefix,
            matches: many.iter().map(|k| k.0.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Applies `edits` in order to a copy of `root`, drops key definitions no role uses any more, and
/// checks the result with [`validate`]. Signatures are not this function's business: any edit
/// changes the signed bytes, so the caller starts the proposal's signatures afresh.
pub fn apply_edits(root: &Root, edits: &[Edit]) -> Result<Root, CeremonyError> {
    let mut new = root.clone();
    for edit in edits {
        match edit {
            Edit::AddKey { role, key } => {
                let key_id = key.key_id();
                let entry = new.roles.entry(role.name().to_owned()).or_insert_with(|| RoleKeys {
                    keyids: Vec::new(),
                    threshold: 1,
                    unknown: BTreeMap::new(),
                });
                if entry.keyids.contains(&key_id) {
                    return Err(CeremonyError::AlreadyListed { role: *role, key_id });
                }
                entry.keyids.push(key_id.clone());
                new.keys.entry(key_id).or_insert_with(|| key.to_key_object());
            }
            Edit::RemoveKey { role, key_id } => {
                let key_id = resolve_key_id(&new, *role, key_id)?;
                if let Some(entry) = new.roles.get_mut(role.name()) {
                    entry.keyids.retain(|k| *k != key_id);
                }
            }
            Edit::SetThreshold { role, threshold } => {
                let entry = new.roles.get_mut(role.name()).ok_or(CeremonyError::EmptyRole { role: *role })?;
                entry.threshold = *threshold;
            }
            Edit::SetExpires(expires) => new.expires = *expires,
        }
    }
    let used: BTreeSet<KeyId> = new.roles.values().flat_map(|r| r.keyids.iter().cloned()).collect();
    new.keys.retain(|id, _| used.contains(id));
    validate(&new)?;
    Ok(new)
}

/// A proposal that replaces an online role's key(s), and what changed.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub root: Root,
    pub removed: Vec<KeyId>,
    pub added: KeyId,
    /// `(before, after)` when the role's threshold had to come down to its new number of keys.
    pub threshold_lowered: Option<(u64, u64)>,
}

/// Version N+1 of `previous` with `role`'s keys (all of them, or the one `old` names by id
/// prefix) replaced by `new_key`. A threshold above the role's new key count comes down to it.
pub fn rotate_online_key(
    previous: &Root,
    role: Role,
    new_key: &PublicKey,
    old: Option<&str>,
    expires: OffsetDateTime,
) -> Result<Rotation, CeremonyError> {
    if role == Role::Root {
        return Err(CeremonyError::NotOnlineRole { role });
    }
    let entry = previous.roles.get(role.name()).ok_or(CeremonyError::EmptyRole { role })?;
    let added = new_key.key_id();
    if entry.keyids.contains(&added) {
        return Err(CeremonyError::AlreadyListed { role, key_id: added });
    }
    if previous.roles.get("root").is_some_and(|r| r.keyids.contains(&added)) {
        return Err(CeremonyError::RootKeyOnline { role, key_id: added });
    }
    let removed = match old {
        Some(prefix) => vec![resolve_key_id(previous, role, prefix)?],
        None => entry.keyids.clone(),
    };
    let mut edits: Vec<Edit> = removed.iter().map(|id| Edit::RemoveKey { role, key_id: id.0.clone() }).collect();
    edits.push(Edit::AddKey { role, key: new_key.clone() });
    let remaining = (entry.keyids.len() - removed.len() + 1) as u64;
    let threshold_lowered = (entry.threshold > remaining).then_some((entry.threshold, remaining));
    if threshold_lowered.is_some() {
        edits.push(Edit::SetThreshold { role, threshold: remaining });
    }
    let root = apply_edits(&next_version(previous, expires), &edits)?;
    Ok(Rotation { root, removed, added, threshold_lowered })
}

/// Checks that `proposal` may follow `previous`, the newest published root (`None`: there is
/// none, or it was not given): version 1 follows nothing, version N+1 follows version N.
pub fn check_follows(proposal: &Root, previous: Option<&Root>) -> Result<(), CeremonyError> {
    match previous {
        None if proposal.version == 1 => Ok(()),
        None => Err(CeremonyError::PreviousRootNeeded { version: proposal.version }),
        Some(prev) if proposal.version == prev.version + 1 => Ok(()),
        Some(prev) => Err(CeremonyError::NotNextVersion { found: proposal.version, newest: prev.version }),
    }
}

/// The ids under which `root` lists `key` as a root key (normally one; matched by public key, so
/// that a root written by another tool with another key object for the same key still counts).
fn root_key_ids(root: &Root, key: &PublicKey) -> Vec<KeyId> {
    let listed = root.roles.get("root").map(|r| r.keyids.as_slice()).unwrap_or_default();
    listed
        .iter()
        .filter(|id| root.keys.get(*id).and_then(|obj| PublicKey::from_key_object(obj).ok()).as_ref() == Some(key))
        .cloned()
        .collect()
}

/// What a signature added to a proposal counts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Added {
    pub key_id: KeyId,
    /// The key is a root key of the proposal itself.
    pub new_root: bool,
    /// The key is a root key of the previous root.
    pub previous_root: bool,
    /// The key had signed before; its old signature was replaced.
    pub replaced: bool,
}

/// Checks that `key` may sign `proposal` (a root key of the proposal or of `previous`) and that
/// the proposal is one that may be signed at all (valid, follows `previous`, not expired).
fn check_signable(
    proposal: &Signed<Root>,
    previous: Option<&Root>,
    key: &PublicKey,
    now: OffsetDateTime,
) -> Result<Vec<KeyId>, CeremonyError> {
    let root = &proposal.signed;
    check_follows(root, previous)?;
    validate(root)?;
    if root.expires <= now {
        return Err(CeremonyError::Expired {
            version: root.version,
            expires: tufmirror_core::time::format(root.expires),
        });
    }
    let mut ids: BTreeSet<KeyId> = root_key_ids(root, key).into_iter().collect();
    ids.extend(previous.map(|p| root_key_ids(p, key)).unwrap_or_default());
    if ids.is_empty() {
        return Err(CeremonyError::NotARootKey {
            key_id: key.key_id(),
            version: root.version,
            previous: previous.map(|p| p.version),
        });
    }
    Ok(ids.into_iter().collect())
}

/// Adds `key`'s signature `sig` to `proposal`, replacing an earlier signature of the same key.
/// Refused unless [`check_signable`] passes and the signature verifies.
pub fn add_signature(
    proposal: &mut Signed<Root>,
    previous: Option<&Root>,
    key: &PublicKey,
    sig: &[u8],
    now: OffsetDateTime,
) -> Result<Added, CeremonyError> {
    let ids = check_signable(proposal, previous, key, now)?;
    let version = proposal.signed.version;
    let bytes = proposal.signed_bytes().map_err(|source| CeremonyError::Canonical { version, source })?;
    key.verify(&bytes, sig).map_err(|e| CeremonyError::BadSignature {
        key_id: key.key_id(),
        version,
        reason: e.to_string(),
    })?;
    let replaced = proposal.signatures.iter().any(|s| ids.contains(&s.keyid));
    for id in &ids {
        proposal.add_signature(id.clone(), sig);
    }
    let key_id = ids.first().cloned().unwrap_or_else(|| key.key_id());
    Ok(Added {
        new_root: !root_key_ids(&proposal.signed, key).is_empty(),
        previous_root: previous.is_some_and(|p| !root_key_ids(p, key).is_empty()),
        key_id,
        replaced,
    })
}

/// Signs `proposal` with `signer` and adds the signature (see [`add_signature`]). The checks run
/// before the signer is asked, so that no key signs something that would be refused.
pub async fn sign_proposal(
    proposal: &mut Signed<Root>,
    previous: Option<&Root>,
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<Added, CeremonyError> {
    check_signable(proposal, previous, signer.public_key(), now)?;
    let version = proposal.signed.version;
    let bytes = proposal.signed_bytes().map_err(|source| CeremonyError::Canonical { version, source })?;
    let sig = signer.sign(&bytes).await.map_err(|source| CeremonyError::Signer { key_id: signer.key_id(), source })?;
    add_signature(proposal, previous, signer.public_key(), &sig, now)
}

/// The keys and threshold of one role, for [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleStatus {
    pub keyids: Vec<KeyId>,
    pub threshold: u64,
}

/// How far the signatures of one root's root keys are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootSignatures {
    /// The root whose root keys these are.
    pub root_version: u64,
    pub threshold: u64,
    pub keyids: Vec<KeyId>,
    /// Keys with a valid signature over the proposal.
    pub signed: Vec<KeyId>,
    pub not_signed: Vec<KeyId>,
    /// How many more valid signatures the threshold needs.
    pub missing: u64,
}

/// A signature in the proposal that counts for neither root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredSignature {
    pub keyid: KeyId,
    pub reason: String,
}

/// Where a proposal stands: what it says and who has signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub version: u64,
    pub expires: String,
    pub expired: bool,
    pub consistent_snapshot: bool,
    pub roles: BTreeMap<String, RoleStatus>,
    /// The proposal's own root keys.
    pub new_root: RootSignatures,
    /// The version the proposal follows (`None` for version 1).
    pub previous_version: Option<u64>,
    /// The previous root's root keys; `None` for version 1, or when the previous root was not given.
    pub previous_root: Option<RootSignatures>,
    pub ignored_signatures: Vec<IgnoredSignature>,
    /// Rules the proposal breaks; a proposal with problems cannot be signed or published.
    pub problems: Vec<String>,
    /// Every threshold is met, there are no problems and the proposal has not expired.
    pub ready_to_publish: bool,
}

/// Counts the valid signatures of `root`'s root keys over `signed_bytes`.
fn root_signatures(root: &Root, signed_bytes: &[u8], proposal: &Signed<Root>) -> RootSignatures {
    let entry = root.roles.get("root");
    let mut keyids: Vec<KeyId> = Vec::new();
    for id in entry.map(|e| e.keyids.as_slice()).unwrap_or_default() {
        if !keyids.contains(id) {
            keyids.push(id.clone());
        }
    }
    let threshold = entry.map_or(0, |e| e.threshold);
    let (signed, not_signed): (Vec<KeyId>, Vec<KeyId>) =
        keyids.iter().cloned().partition(|id| signature_verifies(root, id, signed_bytes, proposal));
    let missing = threshold.saturating_sub(signed.len() as u64);
    RootSignatures { root_version: root.version, threshold, keyids, signed, not_signed, missing }
}

fn signature_verifies(root: &Root, key_id: &KeyId, signed_bytes: &[u8], proposal: &Signed<Root>) -> bool {
    let Some(key) = root.keys.get(key_id).and_then(|obj| PublicKey::from_key_object(obj).ok()) else {
        return false;
    };
    let one = RoleVerifier { role: Role::Root, keys: BTreeMap::from([(key_id.clone(), key)]), threshold: 1 };
    one.verify(signed_bytes, &proposal.signatures).is_ok()
}

/// Where `proposal` stands against its own root keys and, for version N+1, those of `previous`
/// (version N), checking every signature.
pub fn status(proposal: &Signed<Root>, previous: Option<&Root>, now: OffsetDateTime) -> Result<Status, CeremonyError> {
    let root = &proposal.signed;
    let bytes = proposal.signed_bytes().map_err(|source| CeremonyError::Canonical { version: root.version, source })?;
    let new_root = root_signatures(root, &bytes, proposal);
    let previous_root = previous.map(|p| root_signatures(p, &bytes, proposal));
    let mut problems: Vec<String> = problems(root).iter().map(ToString::to_string).collect();
    // Without the previous root, only "it was not given" is known: that is no problem of the proposal.
    if let Err(e) = check_follows(root, previous)
        && (previous.is_some() || root.version == 1)
    {
        problems.push(e.to_string());
    }
    let counted: BTreeSet<&KeyId> =
        new_root.signed.iter().chain(previous_root.iter().flat_map(|p| p.signed.iter())).collect();
    let root_key = |r: &Root, id: &KeyId| r.roles.get("root").is_some_and(|e| e.keyids.contains(id));
    let ignored_signatures = proposal
        .signatures
        .iter()
        .filter(|s| !counted.contains(&s.keyid))
        .map(|s| {
            let known = root_key(root, &s.keyid) || previous.is_some_and(|p| root_key(p, &s.keyid));
            let reason = if known {
                "does not verify over this proposal (signed before an edit?)".to_owned()
            } else if previous.is_none() && root.version > 1 {
                format!("not a root key of version {}; the previous root was not given", root.version)
            } else {
                "not a root key of this root or the previous one".to_owned()
            };
            IgnoredSignature { keyid: s.keyid.clone(), reason }
        })
        .collect();
    let expired = root.expires <= now;
    let previous_done = match &previous_root {
        Some(p) => p.missing == 0,
        None => root.version == 1,
    };
    let ready_to_publish = problems.is_empty() && !expired && new_root.missing == 0 && previous_done;
    Ok(Status {
        version: root.version,
        expires: tufmirror_core::time::format(root.expires),
        expired,
        consistent_snapshot: root.consistent_snapshot,
        roles: root
            .roles
            .iter()
            .map(|(name, r)| (name.clone(), RoleStatus { keyids: r.keyids.clone(), threshold: r.threshold }))
            .collect(),
        new_root,
        previous_version: (root.version > 1).then(|| root.version - 1),
        previous_root,
        ignored_signatures,
        problems,
        ready_to_publish,
    })
}

/// Checks the bytes of a proposal before they become `N.root.json`: exactly the version after
/// `newest` (version 1 when there is none), valid, not expired, and signed by a threshold of
/// `newest`'s root keys and of its own. The thresholds are checked twice: first here, to name
/// the keys still missing, then by [`verify::verify_root_update`], the rule every client applies.
pub fn check_publishable(
    bytes: &[u8],
    newest: Option<&Root>,
    now: OffsetDateTime,
) -> Result<Signed<Root>, CeremonyError> {
    let (proposal, signed_bytes) = verify::parse_unverified::<Root>(bytes).map_err(CeremonyError::Malformed)?;
    let version = proposal.signed.version;
    check_follows(&proposal.signed, newest)?;
    validate(&proposal.signed)?;
    verify::check_not_expired(&proposal.signed, now).map_err(|_| CeremonyError::Expired {
        version,
        expires: tufmirror_core::time::format(proposal.signed.expires),
    })?;
    let st = status(&proposal, newest, now)?;
    let not_enough = |s: &RootSignatures, whose: &'static str| CeremonyError::NotEnoughSignatures {
        version,
        whose,
        root_version: s.root_version,
        valid: s.signed.len() as u64,
        threshold: s.threshold,
        signed: short_list(&s.signed),
        unsigned: short_list(&s.not_signed),
    };
    if let Some(prev) = st.previous_root.as_ref().filter(|p| p.missing > 0) {
        return Err(not_enough(prev, "the previous root"));
    }
    if st.new_root.missing > 0 {
        return Err(not_enough(&st.new_root, "the proposal itself"));
    }
    let verified = match newest {
        Some(prev) => verify::verify_root_update(prev, bytes),
        None => RoleVerifier::from_root(&proposal.signed, Role::Root)
            .and_then(|v| v.verify(&signed_bytes, &proposal.signatures))
            .map(|_| proposal),
    };
    verified.map_err(|source| CeremonyError::Verify { version, source })
}

/// A configured online key that the new root does not accept for its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineKeyMismatch {
    pub role: Role,
    /// Configured key ids the root does not list for the role.
    pub not_listed: Vec<KeyId>,
    /// Configured key ids that are root keys.
    pub root_keys: Vec<KeyId>,
    /// The key ids the root lists for the role, and its threshold.
    pub listed: Vec<KeyId>,
    pub threshold: u64,
    /// How many of the configured keys root lists for the role.
    pub usable: usize,
}

/// For each online role, whether the configured keys (by id) would pass the daemon's start-up
/// check ([`keys::check_signers`]) under `root`; the roles that would not, with why.
pub fn online_key_mismatches(root: &Root, configured: &BTreeMap<Role, Vec<KeyId>>) -> Vec<OnlineKeyMismatch> {
    let root_ids: Vec<KeyId> = root.roles.get("root").map(|r| r.keyids.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for role in Role::ONLINE {
        let entry = root.roles.get(role.name());
        let listed = entry.map(|e| e.keyids.clone()).unwrap_or_default();
        let threshold = entry.map_or(1, |e| e.threshold);
        let ids = configured.get(&role).map(Vec::as_slice).unwrap_or_default();
        let not_listed: Vec<KeyId> = ids.iter().filter(|k| !listed.contains(k)).cloned().collect();
        let root_keys: Vec<KeyId> = ids.iter().filter(|k| root_ids.contains(k)).cloned().collect();
        let usable = ids.iter().filter(|k| listed.contains(k)).collect::<BTreeSet<_>>().len();
        if !not_listed.is_empty() || !root_keys.is_empty() || (usable as u64) < threshold {
            out.push(OnlineKeyMismatch { role, not_listed, root_keys, listed, threshold, usable });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Files: proposals, the root chain directory and the daemon's data-folder lock.

/// Reads a proposal (signatures are not checked: see [`status`]).
pub fn read_proposal(path: &Path) -> Result<Signed<Root>, CeremonyError> {
    let bytes =
        std::fs::read(path).map_err(|source| CeremonyError::Io { action: "read", path: path.into(), source })?;
    verify::parse_unverified::<Root>(&bytes)
        .map(|(proposal, _)| proposal)
        .map_err(|source| CeremonyError::NotRoot { path: path.into(), source })
}

/// The bytes a proposal is stored and published as (as the core writes every metadata file).
pub fn to_bytes(proposal: &Signed<Root>) -> Result<Vec<u8>, CeremonyError> {
    proposal.to_bytes().map_err(|source| CeremonyError::Canonical { version: proposal.signed.version, source })
}

/// Writes a proposal durably: a new file (never over an existing one) unless `replace`.
pub fn write_proposal(path: &Path, proposal: &Signed<Root>, replace: bool) -> Result<(), CeremonyError> {
    write_durably(path, &to_bytes(proposal)?, replace)
}

/// The newest root of the verified chain `1.root.json`, `2.root.json`, ... in `dir` (`None` when
/// `dir` holds no root).
pub fn newest_root(dir: &Path) -> Result<Option<RootFile>, CeremonyError> {
    Ok(keys::verify_root_chain(None, keys::read_root_files(dir)?)?.pop())
}

/// Writes `bytes` as `dir/VERSION.root.json`, durably (temporary file, fsync, link into place,
/// fsync of the folder), never over an existing file.
pub fn write_new_root(dir: &Path, version: u64, bytes: &[u8]) -> Result<PathBuf, CeremonyError> {
    std::fs::create_dir_all(dir).map_err(|source| CeremonyError::Io { action: "create", path: dir.into(), source })?;
    let path = dir.join(format!("{version}.root.json"));
    write_durably(&path, bytes, false)?;
    Ok(path)
}

fn write_durably(path: &Path, bytes: &[u8], replace: bool) -> Result<(), CeremonyError> {
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| CeremonyError::Io { action, path: p, source }
    };
    if !replace && path.exists() {
        return Err(CeremonyError::Exists { path: path.into() });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    written.map_err(io("write", &tmp))?;
    let placed = if replace {
        std::fs::rename(&tmp, path)
    } else {
        // A hard link fails if `path` appeared meanwhile: never a silent overwrite.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        linked
    };
    if let Err(source) = placed {
        let _ = std::fs::remove_file(&tmp);
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(CeremonyError::Exists { path: path.into() });
        }
        return Err(CeremonyError::Io { action: "write", path: path.into(), source });
    }
    std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(io("flush", &dir))
}

/// Who owns a daemon data folder.
#[derive(Debug)]
pub enum DataDirOwner {
    /// Another process (the daemon) holds the folder's `.lock`.
    Daemon,
    /// Nobody: the lock is now held by the caller for as long as it keeps this value (`None`
    /// when the folder does not exist yet).
    Nobody(Option<std::fs::File>),
}

/// Whether a daemon holds `data_dir/.lock` (the lock `tufmirror serve` and `sync` take). When
/// nobody does, the caller gets the lock, so that no daemon starts while it writes.
pub fn data_dir_owner(data_dir: &Path) -> Result<DataDirOwner, CeremonyError> {
    if !data_dir.is_dir() {
        return Ok(DataDirOwner::Nobody(None));
    }
    let path = data_dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| CeremonyError::Io { action: "open", path: path.clone(), source })?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(DataDirOwner::Nobody(Some(file))),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(DataDirOwner::Daemon),
        Err(e) => Err(CeremonyError::Io { action: "lock", path, source: e.into() }),
    }
}

/// Reads a PEM public key file (`-----BEGIN PUBLIC KEY-----`), or `None` if `path` is not one
/// (missing, or another kind of file: a private key is never read past its first line).
pub fn read_public_key_file(path: &Path) -> Result<Option<PublicKey>, CeremonyError> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let mut head = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    (&mut reader).take(64).read_to_end(&mut head).map_err(|source| CeremonyError::Io {
        action: "read",
        path: path.into(),
        source,
    })?;
    if !String::from_utf8_lossy(&head).trim_start().starts_with("-----BEGIN PUBLIC KEY-----") {
        return Ok(None);
    }
    let mut rest = Vec::new();
    reader.take(64 * 1024).read_to_end(&mut rest).map_err(|source| CeremonyError::Io {
        action: "read",
        path: path.into(),
        source,
    })?;
    head.extend(rest);
    PublicKey::from_spki_pem(&String::from_utf8_lossy(&head))
        .map(Some)
        .map_err(|e| CeremonyError::PublicKeyFile { path: path.into(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tufmirror_signer::{FileSigner, KeyAlgorithm, generate_key_file};

    fn now() -> OffsetDateTime {
        tufmirror_core::time::parse("2030-01-01T00:00:00Z").expect("time")
    }

    fn in_a_year() -> OffsetDateTime {
        tufmirror_core::time::in_days(now(), 365)
    }

    /// `n` fresh file keys (Ed25519, and every third one ECDSA P-256).
    fn signers(dir: &Path, prefix: &str, n: usize) -> Vec<FileSigner> {
        (0..n)
            .map(|i| {
                let path = dir.join(format!("{prefix}{i}.pem"));
                let alg = if i % 3 == 2 { KeyAlgorithm::EcdsaP256 } else { KeyAlgorithm::Ed25519 };
                generate_key_file(&path, alg).expect("generate");
                FileSigner::open(&path).expect("open")
            })
            .collect()
    }

    fn spec(keys: &[&FileSigner], threshold: u64) -> RoleSpec {
        RoleSpec { keys: keys.iter().map(|k| k.public_key().clone()).collect(), threshold }
    }

    struct Keys {
        _dir: tempfile::TempDir,
        root: Vec<FileSigner>,
        online: Vec<FileSigner>,
    }

    fn keys() -> Keys {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = signers(dir.path(), "root", 4);
        let online = signers(dir.path(), "online", 3);
        Keys { _dir: dir, root, online }
    }

    /// Root v1: root keys 0..3 with threshold 2, one key per online role.
    fn v1(k: &Keys) -> Root {
        let roles = BTreeMap::from([
            (Role::Root, spec(&[&k.root[0], &k.root[1], &k.root[2]], 2)),
            (Role::Targets, spec(&[&k.online[0]], 1)),
            (Role::Snapshot, spec(&[&k.online[1]], 1)),
            (Role::Timestamp, spec(&[&k.online[2]], 1)),
        ]);
        initial_root(&roles, in_a_year()).expect("valid v1")
    }

    fn sign(proposal: &mut Signed<Root>, previous: Option<&Root>, key: &FileSigner) -> Result<Added, CeremonyError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(sign_proposal(proposal, previous, key, now()))
    }

    #[test]
    fn initial_root_follows_the_rules() {
        let k = keys();
        let root = v1(&k);
        assert_eq!(root.version, 1);
        assert!(root.consistent_snapshot);
        assert_eq!(root.keys.len(), 6);
        assert_eq!(root.roles["root"].threshold, 2);

        let online_root_key = BTreeMap::from([
            (Role::Root, spec(&[&k.root[0], &k.root[1]], 1)),
            (Role::Targets, spec(&[&k.online[0]], 1)),
            (Role::Snapshot, spec(&[&k.online[1]], 1)),
            (Role::Timestamp, spec(&[&k.root[1]], 1)),
        ]);
        let err = initial_root(&online_root_key, in_a_year()).expect_err("root key online");
        assert!(matches!(err, CeremonyError::RootKeyOnline { role: Role::Timestamp, .. }), "{err}");

        for threshold in [0, 3] {
            let mut roles = online_root_key.clone();
            roles.insert(Role::Timestamp, spec(&[&k.online[2]], 1));
            roles.insert(Role::Root, spec(&[&k.root[0], &k.root[1]], threshold));
            let err = initial_root(&roles, in_a_year()).expect_err("bad threshold");
            assert!(
                matches!(err, CeremonyError::BadThreshold { role: Role::Root, keys: 2, threshold: t } if t == threshold),
                "{err}"
            );
        }
        let mut roles = online_root_key.clone();
        roles.remove(&Role::Timestamp);
        let err = initial_root(&roles, in_a_year()).expect_err("empty role");
        assert!(matches!(err, CeremonyError::EmptyRole { role: Role::Timestamp }), "{err}");
        roles.insert(Role::Timestamp, spec(&[&k.online[2], &k.online[2]], 1));
        let err = initial_root(&roles, in_a_year()).expect_err("duplicate");
        assert!(matches!(err, CeremonyError::DuplicateKey { role: Role::Timestamp, .. }), "{err}");
    }

    #[test]
    fn edits_prune_unused_keys_and_are_validated() {
        let k = keys();
        let root = v1(&k);
        let gone = k.root[2].key_id();
        let edited = apply_edits(
            &next_version(&root, in_a_year()),
            &[
                Edit::RemoveKey { role: Role::Root, key_id: gone.0[..10].to_uppercase() },
                Edit::AddKey { role: Role::Root, key: k.root[3].public_key().clone() },
                Edit::SetThreshold { role: Role::Root, threshold: 3 },
            ],
        )
        .expect("edit");
        assert_eq!(edited.version, 2);
        assert!(!edited.keys.contains_key(&gone), "a key no role uses leaves `keys`");
        assert!(edited.keys.contains_key(&k.root[3].key_id()));
        assert_eq!(edited.roles["root"].threshold, 3);
        assert_eq!(edited.roles["root"].keyids.len(), 3);

        // A key another role still uses stays defined.
        let shared = apply_edits(
            &root,
            &[
                Edit::AddKey { role: Role::Snapshot, key: k.online[0].public_key().clone() },
                Edit::RemoveKey { role: Role::Targets, key_id: k.online[0].key_id().0 },
                Edit::AddKey { role: Role::Targets, key: k.online[1].public_key().clone() },
            ],
        )
        .expect("edit");
        assert!(shared.keys.contains_key(&k.online[0].key_id()));

        let err = apply_edits(
            &root,
            &[
                Edit::RemoveKey { role: Role::Root, key_id: k.root[0].key_id().0 },
                Edit::RemoveKey { role: Role::Root, key_id: k.root[1].key_id().0 },
            ],
        )
        .expect_err("threshold 2 with one key left");
        assert!(matches!(err, CeremonyError::BadThreshold { role: Role::Root, threshold: 2, keys: 1 }), "{err}");

        let err = apply_edits(&root, &[Edit::AddKey { role: Role::Timestamp, key: k.root[0].public_key().clone() }])
            .expect_err("root key online");
        assert!(matches!(err, CeremonyError::RootKeyOnline { .. }), "{err}");
        let err = apply_edits(&root, &[Edit::AddKey { role: Role::Root, key: k.root[0].public_key().clone() }])
            .expect_err("listed");
        assert!(matches!(err, CeremonyError::AlreadyListed { .. }), "{err}");
        let err = apply_edits(&root, &[Edit::RemoveKey { role: Role::Root, key_id: k.online[0].key_id().0 }])
            .expect_err("not a root key");
        assert!(matches!(err, CeremonyError::NoSuchKey { role: Role::Root, .. }), "{err}");
        let err = apply_edits(&root, &[Edit::RemoveKey { role: Role::Root, key_id: String::new() }])
            .expect_err("empty prefix");
        assert!(matches!(err, CeremonyError::NoSuchKey { .. }), "{err}");
    }

    #[test]
    fn key_id_prefixes_must_be_unique() {
        let k = keys();
        let mut root = v1(&k);
        let entry = root.roles.get_mut("targets").expect("targets");
        entry.keyids = vec![KeyId("abc1".into()), KeyId("abc2".into()), KeyId("def".into())];
        assert_eq!(resolve_key_id(&root, Role::Targets, "ABC2").ok(), Some(KeyId("abc2".into())));
        assert_eq!(resolve_key_id(&root, Role::Targets, "d").ok(), Some(KeyId("def".into())));
        let err = resolve_key_id(&root, Role::Targets, "abc").expect_err("ambiguous");
        assert!(matches!(err, CeremonyError::AmbiguousKey { .. }), "{err}");
        assert!(err.to_string().contains("abc1, abc2"), "{err}");
    }

    #[test]
    fn signatures_accumulate_to_a_threshold() {
        let k = keys();
        let mut proposal = Signed::unsigned(v1(&k));
        let st = status(&proposal, None, now()).expect("status");
        assert_eq!((st.new_root.signed.len(), st.new_root.threshold, st.new_root.missing), (0, 2, 2));
        assert!(!st.ready_to_publish && st.previous_root.is_none() && st.problems.is_empty());

        let added = sign(&mut proposal, None, &k.root[0]).expect("sign");
        assert_eq!(added, Added { key_id: k.root[0].key_id(), new_root: true, previous_root: false, replaced: false });
        let again = sign(&mut proposal, None, &k.root[0]).expect("sign twice");
        assert!(again.replaced);
        assert_eq!(proposal.signatures.len(), 1, "signing twice replaces");
        let st = status(&proposal, None, now()).expect("status");
        assert_eq!((st.new_root.signed.clone(), st.new_root.missing), (vec![k.root[0].key_id()], 1));

        let bytes = to_bytes(&proposal).expect("bytes");
        let err = check_publishable(&bytes, None, now()).expect_err("1 of 2");
        assert!(
            matches!(
                &err,
                CeremonyError::NotEnoughSignatures { valid: 1, threshold: 2, whose: "the proposal itself", .. }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&k.root[1].key_id().0), "names who may still sign: {err}");

        for stranger in [&k.root[3], &k.online[0]] {
            let err = sign(&mut proposal, None, stranger).expect_err("not a root key");
            assert!(matches!(err, CeremonyError::NotARootKey { version: 1, previous: None, .. }), "{err}");
        }
        // A signature that does not verify counts for nothing.
        let mut forged = proposal.clone();
        forged.add_signature(k.root[1].key_id(), &[0; 64]);
        let st = status(&forged, None, now()).expect("status");
        assert_eq!(st.new_root.missing, 1);
        assert_eq!(st.ignored_signatures.len(), 1);

        sign(&mut proposal, None, &k.root[2]).expect("sign");
        let st = status(&proposal, None, now()).expect("status");
        assert!(st.ready_to_publish, "{st:?}");
        let bytes = to_bytes(&proposal).expect("bytes");
        let published = check_publishable(&bytes, None, now()).expect("publishable");
        assert_eq!(published.signed.version, 1);
        assert!(matches!(check_publishable(&bytes, None, in_a_year()), Err(CeremonyError::Expired { .. })));
        let chain = keys::verify_root_chain(None, vec![(PathBuf::from("1.root.json"), bytes)]).expect("chain");
        assert_eq!(chain.len(), 1);

        // After an edit, old signatures show as ignored and count for nothing.
        let edited =
            apply_edits(&proposal.signed, &[Edit::SetExpires(tufmirror_core::time::in_days(now(), 30))]).expect("edit");
        let stale = Signed { signed: edited, signatures: proposal.signatures.clone() };
        let st = status(&stale, None, now()).expect("status");
        assert_eq!(st.new_root.missing, 2);
        assert_eq!(st.ignored_signatures.len(), 2);
        assert!(st.ignored_signatures[0].reason.contains("does not verify"));
    }

    #[test]
    fn a_new_root_needs_both_thresholds() {
        let k = keys();
        let mut first = Signed::unsigned(v1(&k));
        sign(&mut first, None, &k.root[0]).expect("sign");
        sign(&mut first, None, &k.root[1]).expect("sign");
        let v1_bytes = to_bytes(&first).expect("bytes");
        let v1 = &first.signed;

        // v2 replaces root key 2 by root key 3; threshold 2 of 3 stays.
        let v2 = apply_edits(
            &next_version(v1, in_a_year()),
            &[
                Edit::RemoveKey { role: Role::Root, key_id: k.root[2].key_id().0 },
                Edit::AddKey { role: Role::Root, key: k.root[3].public_key().clone() },
            ],
        )
        .expect("v2");
        let mut proposal = Signed::unsigned(v2);
        assert!(matches!(sign(&mut proposal, None, &k.root[0]), Err(CeremonyError::PreviousRootNeeded { version: 2 })));
        // The key being rotated out still signs the rotation, for the old root only.
        let added = sign(&mut proposal, Some(v1), &k.root[2]).expect("sign");
        assert!(added.previous_root && !added.new_root);
        let added = sign(&mut proposal, Some(v1), &k.root[3]).expect("sign");
        assert!(added.new_root && !added.previous_root);
        let st = status(&proposal, Some(v1), now()).expect("status");
        let prev = st.previous_root.as_ref().expect("previous");
        assert_eq!((prev.root_version, prev.signed.len(), prev.missing), (1, 1, 1));
        assert_eq!((st.new_root.signed.len(), st.new_root.missing), (1, 1));
        let err = check_publishable(&to_bytes(&proposal).expect("bytes"), Some(v1), now()).expect_err("old threshold");
        assert!(
            matches!(err, CeremonyError::NotEnoughSignatures { whose: "the previous root", root_version: 1, .. }),
            "{err}"
        );

        // Only new keys: the new threshold is met, the old one is not.
        let mut only_new = Signed::unsigned(proposal.signed.clone());
        sign(&mut only_new, Some(v1), &k.root[3]).expect("sign");
        let err = check_publishable(&to_bytes(&only_new).expect("bytes"), Some(v1), now()).expect_err("old");
        assert!(matches!(err, CeremonyError::NotEnoughSignatures { whose: "the previous root", .. }), "{err}");

        // The removed key plus a kept one: the old threshold is met (keys 2 and 0), the new one
        // is not (key 0 only).
        let mut removed_plus_kept = Signed::unsigned(proposal.signed.clone());
        sign(&mut removed_plus_kept, Some(v1), &k.root[2]).expect("sign");
        let added = sign(&mut removed_plus_kept, Some(v1), &k.root[0]).expect("sign");
        assert!(added.new_root && added.previous_root);
        let err = check_publishable(&to_bytes(&removed_plus_kept).expect("bytes"), Some(v1), now()).expect_err("own");
        assert!(
            matches!(err, CeremonyError::NotEnoughSignatures { whose: "the proposal itself", root_version: 2, .. }),
            "{err}"
        );

        sign(&mut proposal, Some(v1), &k.root[0]).expect("sign");
        let bytes = to_bytes(&proposal).expect("bytes");
        let published = check_publishable(&bytes, Some(v1), now()).expect("both thresholds");
        assert_eq!(published.signed.version, 2);
        let chain = keys::verify_root_chain(None, vec![("1".into(), v1_bytes), ("2".into(), bytes.clone())])
            .expect("the chain verifies");
        assert_eq!(chain.len(), 2);

        // Version rules.
        let err = check_publishable(&bytes, Some(&published.signed), now()).expect_err("same version");
        assert!(matches!(err, CeremonyError::NotNextVersion { found: 2, newest: 2 }), "{err}");
        assert!(matches!(check_publishable(&bytes, None, now()), Err(CeremonyError::PreviousRootNeeded { .. })));
    }

    #[test]
    fn rotating_an_online_key() {
        let k = keys();
        let v1 = v1(&k);
        let new = k.root[3].public_key().clone();
        let rot = rotate_online_key(&v1, Role::Timestamp, &new, None, in_a_year()).expect("rotate");
        assert_eq!(rot.root.version, 2);
        assert_eq!(rot.root.roles["timestamp"].keyids, vec![new.key_id()]);
        assert_eq!(rot.removed, vec![k.online[2].key_id()]);
        assert!(!rot.root.keys.contains_key(&k.online[2].key_id()));
        assert_eq!(rot.root.roles["root"], v1.roles["root"]);
        assert_eq!(rot.threshold_lowered, None);

        let err = rotate_online_key(&v1, Role::Timestamp, k.online[2].public_key(), None, in_a_year())
            .expect_err("already listed");
        assert!(matches!(err, CeremonyError::AlreadyListed { .. }), "{err}");
        let err =
            rotate_online_key(&v1, Role::Timestamp, k.root[0].public_key(), None, in_a_year()).expect_err("root key");
        assert!(matches!(err, CeremonyError::RootKeyOnline { .. }), "{err}");
        let err = rotate_online_key(&v1, Role::Root, &new, None, in_a_year()).expect_err("root");
        assert!(matches!(err, CeremonyError::NotOnlineRole { .. }), "{err}");
        let err = rotate_online_key(&v1, Role::Timestamp, &new, Some("zz"), in_a_year()).expect_err("old");
        assert!(matches!(err, CeremonyError::NoSuchKey { .. }), "{err}");

        // Two targets keys with threshold 2: replacing one keeps 2; replacing both lowers it to 1.
        let two = apply_edits(
            &v1,
            &[
                Edit::AddKey { role: Role::Targets, key: k.online[1].public_key().clone() },
                Edit::SetThreshold { role: Role::Targets, threshold: 2 },
            ],
        )
        .expect("two targets keys");
        let one = rotate_online_key(&two, Role::Targets, &new, Some(&k.online[0].key_id().0[..8]), in_a_year())
            .expect("rotate one");
        assert_eq!(one.root.roles["targets"].keyids, vec![k.online[1].key_id(), new.key_id()]);
        assert_eq!((one.root.roles["targets"].threshold, one.threshold_lowered), (2, None));
        let all = rotate_online_key(&two, Role::Targets, &new, None, in_a_year()).expect("rotate all");
        assert_eq!((all.root.roles["targets"].threshold, all.threshold_lowered), (1, Some((2, 1))));
    }

    #[test]
    fn expired_proposals_are_not_signed() {
        let k = keys();
        let mut proposal = Signed::unsigned(v1(&k));
        proposal.signed.expires = now();
        let err = sign(&mut proposal, None, &k.root[0]).expect_err("expired");
        assert!(matches!(err, CeremonyError::Expired { version: 1, .. }), "{err}");
        assert!(proposal.signatures.is_empty());
        assert!(status(&proposal, None, now()).expect("status").expired);
    }

    #[test]
    fn configured_online_keys_are_compared_with_the_root() {
        let k = keys();
        let v1 = v1(&k);
        let mut configured = BTreeMap::from([
            (Role::Targets, vec![k.online[0].key_id()]),
            (Role::Snapshot, vec![k.online[1].key_id()]),
            (Role::Timestamp, vec![k.online[2].key_id()]),
        ]);
        assert_eq!(online_key_mismatches(&v1, &configured), vec![]);
        let rot = rotate_online_key(&v1, Role::Timestamp, k.root[3].public_key(), None, in_a_year()).expect("rotate");
        let found = online_key_mismatches(&rot.root, &configured);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].role, Role::Timestamp);
        assert_eq!(found[0].not_listed, vec![k.online[2].key_id()]);
        assert_eq!(found[0].listed, vec![k.root[3].key_id()]);
        configured.insert(Role::Targets, vec![k.root[0].key_id()]);
        configured.insert(Role::Timestamp, vec![k.root[3].key_id()]);
        let found = online_key_mismatches(&rot.root, &configured);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].role, found[0].root_keys.clone()), (Role::Targets, vec![k.root[0].key_id()]));
    }

    #[test]
    fn roots_are_written_once_and_durably() {
        let dir = tempfile::tempdir().expect("tempdir");
        let roots = dir.path().join("roots");
        let path = write_new_root(&roots, 1, b"first").expect("write");
        assert_eq!(path, roots.join("1.root.json"));
        let err = write_new_root(&roots, 1, b"second").expect_err("exists");
        assert!(matches!(err, CeremonyError::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        let names: Vec<_> = std::fs::read_dir(&roots).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("1.root.json")], "no temporary file is left behind");
    }

    #[test]
    fn a_held_data_folder_lock_means_a_daemon() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(data_dir_owner(&dir.path().join("absent")), Ok(DataDirOwner::Nobody(None))));
        let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.path().join(".lock"));
        let held = held.expect("lock file");
        rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).expect("flock");
        assert!(matches!(data_dir_owner(dir.path()), Ok(DataDirOwner::Daemon)));
        drop(held);
        let mine = data_dir_owner(dir.path()).expect("free");
        assert!(matches!(mine, DataDirOwner::Nobody(Some(_))));
        assert!(matches!(data_dir_owner(dir.path()), Ok(DataDirOwner::Daemon)), "the caller now holds it");
    }

    #[test]
    fn public_key_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let private = dir.path().join("k.pem");
        let key = generate_key_file(&private, KeyAlgorithm::EcdsaP256).expect("generate");
        let public = dir.path().join("k.pub.pem");
        std::fs::write(&public, key.to_spki_pem()).expect("write");
        assert_eq!(read_public_key_file(&public).expect("read"), Some(key));
        assert_eq!(read_public_key_file(&private).expect("private"), None);
        assert_eq!(read_public_key_file(&dir.path().join("absent")).expect("absent"), None);
        assert_eq!(read_public_key_file(dir.path()).expect("folder"), None);
        std::fs::write(&public, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").expect("write");
        assert!(matches!(read_public_key_file(&public), Err(CeremonyError::PublicKeyFile { .. })));
    }
}
