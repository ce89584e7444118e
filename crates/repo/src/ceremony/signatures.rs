//! Who has signed a proposal: adding a signature (checked before any key is asked to sign),
//! where the proposal stands against both thresholds, and the last check before it is
//! published. Pure: the clock is an argument and keys come in as public keys or signers.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use tufmirror_core::metadata::{Role, Root, Signed};
use tufmirror_core::verify::{self, RoleVerifier};
use tufmirror_core::{KeyId, PublicKey};
use tufmirror_signer::Signer;

use super::{CeremonyError, check_follows, previous_root, problems, short_list, validate};

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
    /// The id of the key that signed.
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
/// Refused unless `key` is a root key of the proposal or of `previous`, the proposal is valid,
/// follows `previous` and has not expired, and the signature verifies.
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
    key.verify(&bytes, sig).map_err(|source| CeremonyError::BadSignature { key_id: key.key_id(), version, source })?;
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
    /// The role's key ids in the proposal.
    pub keyids: Vec<KeyId>,
    /// The role's threshold in the proposal.
    pub threshold: u64,
}

/// How far the signatures of one root's root keys are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootSignatures {
    /// The root whose root keys these are.
    pub root_version: u64,
    /// The root role's threshold in that root.
    pub threshold: u64,
    /// The root role's key ids in that root.
    pub keyids: Vec<KeyId>,
    /// Keys with a valid signature over the proposal.
    pub signed: Vec<KeyId>,
    /// Keys without a valid signature over the proposal yet.
    pub not_signed: Vec<KeyId>,
    /// How many more valid signatures the threshold needs.
    pub missing: u64,
}

/// A signature in the proposal that counts for neither root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredSignature {
    /// The key id the signature names.
    pub keyid: KeyId,
    /// Why it counts for neither root, in words.
    pub reason: String,
}

/// Where a proposal stands: what it says and who has signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The proposal's `version`.
    pub version: u64,
    /// The proposal's `expires`, as RFC 3339 text.
    pub expires: String,
    /// Whether `expires` has passed.
    pub expired: bool,
    /// The proposal's `consistent_snapshot`.
    pub consistent_snapshot: bool,
    /// Every role's keys and threshold, by role name.
    pub roles: BTreeMap<String, RoleStatus>,
    /// The proposal's own root keys.
    pub new_root: RootSignatures,
    /// The version the proposal follows (`None` for version 1).
    pub previous_version: Option<u64>,
    /// The previous root's root keys; `None` for version 1, or when the previous root was not given.
    pub previous_root: Option<RootSignatures>,
    /// Signatures that count for neither the proposal's root keys nor the previous root's.
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

/// [`status`] given `newest`, the newest root of the chain, which need not be the root the
/// proposal follows: its root keys' signatures count only if the proposal is its next version
/// (see [`previous_root`]), and a proposal that cannot follow it has one more problem.
pub fn status_against_chain(
    proposal: &Signed<Root>,
    newest: Option<&Root>,
    now: OffsetDateTime,
) -> Result<Status, CeremonyError> {
    let mut st = status(proposal, previous_root(&proposal.signed, newest), now)?;
    if let Some(newest) = newest
        && let Err(e) = check_follows(&proposal.signed, Some(newest))
    {
        st.problems.push(e.to_string());
        st.ready_to_publish = false;
    }
    Ok(st)
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
    /// The online role.
    pub role: Role,
    /// Configured key ids the root does not list for the role.
    pub not_listed: Vec<KeyId>,
    /// Configured key ids that are root keys.
    pub root_keys: Vec<KeyId>,
    /// The key ids the root lists for the role, and its threshold.
    pub listed: Vec<KeyId>,
    /// The role's threshold in the root.
    pub threshold: u64,
    /// How many of the configured keys root lists for the role.
    pub usable: usize,
}

/// For each online role, whether the configured keys (by id) would pass the daemon's start-up
/// check ([`crate::keys::check_signers`]) under `root`; the roles that would not, with why.
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
