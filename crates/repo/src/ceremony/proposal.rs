//! What a proposal says: root version 1, the next version of a published root, edits, the
//! rotation of an online role's key, and the rules every proposal must follow (see the
//! [module documentation](super)). Pure: the clock is an argument.

use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use tufmirror_core::audit_rules::{AUDITORS_FIELD, Auditors};
use tufmirror_core::metadata::{Role, RoleKeys, Root, SPEC_VERSION};
use tufmirror_core::{KeyId, PublicKey};

use super::{CeremonyError, short_list};

/// The keys and threshold of one role of a new root.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// The role's keys: defined in root's `keys` and listed in the role's `keyids`.
    pub keys: Vec<PublicKey>,
    /// The role's `threshold`: how many of the keys must sign.
    pub threshold: u64,
}

/// The most days a root version may be valid for: root keys are offline, but not forever.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// `days` days after `now`, for a root's expiry: between 1 and [`MAX_EXPIRY_DAYS`].
pub fn expiry_in_days(now: OffsetDateTime, days: i64) -> Result<OffsetDateTime, CeremonyError> {
    if !(1..=MAX_EXPIRY_DAYS).contains(&days) {
        return Err(CeremonyError::ExpiryOutOfRange { days });
    }
    Ok(tufmirror_core::time::in_days(now, days))
}

/// Root version 1 with `consistent_snapshot` on, for the given keys and thresholds (every
/// top-level role must be given).
pub fn initial_root(roles: &BTreeMap<Role, RoleSpec>, expires: OffsetDateTime) -> Result<Root, CeremonyError> {
    let root = unchecked_initial_root(roles, expires);
    validate(&root)?;
    Ok(root)
}

/// [`initial_root`] without checking the rules; a role that is not given lists no key.
pub(crate) fn unchecked_initial_root(roles: &BTreeMap<Role, RoleSpec>, expires: OffsetDateTime) -> Root {
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
    root
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
                        out.push(CeremonyError::UnusableKey { role, key_id: key_id.clone(), source: e });
                    }
                }
            }
            if crate::keys::root_key_online(root, role, key_id) {
                out.push(CeremonyError::RootKeyOnline { role, key_id: key_id.clone() });
            }
        }
        if entry.threshold == 0 || entry.threshold > distinct.len() as u64 {
            out.push(CeremonyError::BadThreshold { role, threshold: entry.threshold, keys: distinct.len() });
        }
    }
    out.extend(auditor_problems(root));
    out
}

/// What is wrong with the auditors `root` declares (docs/audit.md), if it declares any: the
/// declaration must be usable by clients, and an auditor key must be nobody else's key (an
/// auditor that holds a root or an online key would attest its own work).
fn auditor_problems(root: &Root) -> Vec<CeremonyError> {
    let bad = |reason: String| CeremonyError::BadAuditors { reason };
    let auditors = match Auditors::of(root) {
        Ok(Some(auditors)) => auditors,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![CeremonyError::AuditorDeclaration(e)],
    };
    let mut out = Vec::new();
    for key_id in &auditors.keyids {
        if let Some(obj) = root.keys.get(key_id)
            && let Err(e) = PublicKey::from_key_object(obj)
        {
            out.push(CeremonyError::UnusableAuditorKey { key_id: key_id.clone(), source: e });
        }
        for role in Role::ALL {
            if root.roles.get(role.name()).is_some_and(|r| r.keyids.contains(key_id)) {
                out.push(bad(format!("key {key_id} is also a {role} key: auditors hold keys of their own")));
            }
        }
    }
    out
}

/// The auditors of `root` as written, without the checks of [`Auditors::of`] (an edit may pass
/// through states that do not pass them, such as no key yet).
fn auditors_as_written(root: &Root) -> Result<Auditors, CeremonyError> {
    match root.unknown.get(AUDITORS_FIELD) {
        None => Ok(Auditors { keyids: Vec::new(), threshold: 1 }),
        Some(value) => serde_json::from_value(value.clone()).map_err(CeremonyError::AuditorsNotJson),
    }
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
        /// The role whose `keyids` gain the key.
        role: Role,
        /// The key.
        key: PublicKey,
    },
    /// Removes the role's key whose id starts with `key_id` (a unique prefix suffices).
    RemoveKey {
        /// The role whose `keyids` lose the key.
        role: Role,
        /// A prefix of the key id (case-insensitive).
        key_id: String,
    },
    /// Sets a role's `threshold`.
    SetThreshold {
        /// The role.
        role: Role,
        /// The new threshold: between 1 and the role's number of keys.
        threshold: u64,
    },
    /// Sets the root's `expires`.
    SetExpires(OffsetDateTime),
    /// Declares an auditor key (`x-tufmirror-auditors`, docs/audit.md) and defines it in `keys`.
    AddAuditorKey(PublicKey),
    /// Removes the auditor key whose id starts with this; the declaration goes with its last key.
    RemoveAuditorKey(String),
    /// How many auditors must attest a snapshot for a client that requires an audit.
    SetAuditorThreshold(u64),
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
            Edit::AddAuditorKey(key) => {
                let mut auditors = auditors_as_written(&new)?;
                let key_id = key.key_id();
                if auditors.keyids.contains(&key_id) {
                    return Err(CeremonyError::BadAuditors { reason: format!("key {key_id} is already an auditor") });
                }
                auditors.keyids.push(key_id.clone());
                new.keys.entry(key_id).or_insert_with(|| key.to_key_object());
                Auditors::set(&mut new, Some(&auditors));
            }
            Edit::RemoveAuditorKey(prefix) => {
                let mut auditors = auditors_as_written(&new)?;
                let prefix = prefix.trim().to_ascii_lowercase();
                let matches: Vec<KeyId> = auditors
                    .keyids
                    .iter()
                    .filter(|k| !prefix.is_empty() && k.0.starts_with(&prefix))
                    .cloned()
                    .collect();
                let [key_id] = matches.as_slice() else {
                    return Err(CeremonyError::BadAuditors {
                        reason: format!("{} auditor key(s) have an id starting with {prefix:?}", matches.len()),
                    });
                };
                auditors.keyids.retain(|k| k != key_id);
                Auditors::set(&mut new, (!auditors.keyids.is_empty()).then_some(&auditors));
            }
            Edit::SetAuditorThreshold(threshold) => {
                let mut auditors = auditors_as_written(&new)?;
                auditors.threshold = *threshold;
                Auditors::set(&mut new, Some(&auditors));
            }
        }
    }
    let mut used: BTreeSet<KeyId> = new.roles.values().flat_map(|r| r.keyids.iter().cloned()).collect();
    used.extend(auditors_as_written(&new)?.keyids);
    new.keys.retain(|id, _| used.contains(id));
    validate(&new)?;
    Ok(new)
}

/// A proposal that replaces an online role's key(s), and what changed.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The proposed root: version N+1 of the previous root, not yet signed.
    pub root: Root,
    /// The ids of the role's keys that the proposal no longer lists.
    pub removed: Vec<KeyId>,
    /// The id of the new key.
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
    if crate::keys::root_key_online(previous, role, &added) {
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

/// `newest` (the newest published root) if `proposal` is its next version: the root whose root
/// keys must also sign the proposal. `None` for version 1, for a proposal that does not follow
/// `newest`, or when `newest` is not known.
pub fn previous_root<'a>(proposal: &Root, newest: Option<&'a Root>) -> Option<&'a Root> {
    newest.filter(|p| p.version + 1 == proposal.version)
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
