//! The client's trusted metadata and the rules for changing it: the checks of the TUF client
//! workflow (specification section 5) that do not need the network or the disk.
//!
//! A [`TrustedSet`] starts from a trusted root and takes metadata in the workflow's order: newer
//! roots, then timestamp, snapshot, top-level targets and delegated targets. Each `update_*`
//! method checks one file completely (type, signatures by whoever delegates the role, version
//! rules, hashes pinned by the previous role, expiry) and either adds it or says why not. The
//! caller (the I/O client in `tufmirror-client`) fetches, persists and decides what to do next;
//! [`DelegationWalk`] tells it which delegated roles to load when looking for a target.
//!
//! The semantics follow python-tuf's `TrustedMetadataSet`, which the TUF conformance suite
//! measures clients against, in particular:
//! - metadata that is only *intermediate* (an expired timestamp; a snapshot that is expired or
//!   not the version the timestamp names) is kept even though the update returns an error: it
//!   still protects the next file of its role against rollback, but nothing after it in the
//!   workflow can be loaded until a valid one replaces it;
//! - a timestamp of the same version as the trusted one is not an error: the trusted one stays
//!   ([`TimestampUpdate::Unchanged`]);
//! - the current time is fixed when the set is created (`now`), as python-tuf fixes its
//!   reference time: one refresh is judged against one clock reading.
//!
//! Where the specification asks for more than python-tuf does, this set does it too: it reports
//! when a root update changes the timestamp or snapshot keys ([`TrustedSet::fast_forward_reset`],
//! 5.3.11) so that the caller deletes its stored timestamp and snapshot; and a delegated role
//! that was verified for one delegator is verified again when a search reaches it through
//! another ([`TrustedSet::delegated_targets`]).

mod envelope;
mod error;
mod walk;

pub use error::TrustError;
pub use walk::DelegationWalk;

use crate::delegation::Authority;
use crate::metadata::{Role, Root, Signature, Snapshot, Targets, Timestamp};
use crate::time::DateTime;
use envelope::{check_expiry, check_meta, check_root_shape, check_signatures, parse, root_authority};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of [`TrustedSet::update_timestamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// The new timestamp is trusted now: persist it.
    Updated,
    /// It has the trusted timestamp's version: the trusted one stays and nothing is persisted.
    Unchanged,
}

/// Where snapshot bytes come from, which decides whether the timestamp's hashes apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Downloaded now: must match the length and hashes that the timestamp lists.
    Repository,
    /// The client's own stored copy, verified when it was stored. It is loaded even if the new
    /// timestamp's hashes no longer match, so that it can serve as the rollback reference.
    Cache,
}

/// A targets role's trusted metadata, with what is needed to verify it again for another
/// delegator.
#[derive(Debug, Clone)]
struct TrustedTargets {
    signed: Targets,
    signed_bytes: Vec<u8>,
    signatures: Vec<Signature>,
    /// The delegators whose keys this metadata has been verified against.
    delegators: BTreeSet<String>,
}

/// The metadata a client trusts during one refresh. See the module documentation.
#[derive(Debug, Clone)]
pub struct TrustedSet {
    now: DateTime,
    root: Root,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    targets: BTreeMap<String, TrustedTargets>,
    fast_forward_reset: bool,
}

const ROOT: &str = "root";
const TIMESTAMP: &str = "timestamp";
const SNAPSHOT: &str = "snapshot";
const TARGETS: &str = "targets";

impl TrustedSet {
    /// Starts from trusted root bytes (the client's stored root, or the root it was shipped with),
    /// which must be signed by a threshold of their own root keys. An expired root is accepted
    /// here: only the last root of the update chain has to be current
    /// ([`Self::check_final_root`]).
    pub fn new(root_bytes: &[u8], now: DateTime) -> Result<Self, TrustError> {
        let root = parse::<Root>(ROOT, root_bytes)?;
        check_root_shape(&root.signed)?;
        check_signatures(ROOT, ROOT, root_authority(&root.signed, Role::Root)?, &root.signed_bytes, &root.signatures)?;
        Ok(TrustedSet {
            now,
            root: root.signed,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            fast_forward_reset: false,
        })
    }

    /// The time every expiry is judged against.
    pub fn now(&self) -> DateTime {
        self.now
    }

    /// The trusted root: the newest one loaded.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The trusted timestamp (possibly intermediate: see the module documentation).
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot (possibly intermediate).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// The trusted top-level targets.
    pub fn targets(&self) -> Option<&Targets> {
        self.targets.get(TARGETS).map(|t| &t.signed)
    }

    /// Trusted metadata of any targets role, whichever delegator it was verified for.
    pub fn any_targets(&self, role: &str) -> Option<&Targets> {
        self.targets.get(role).map(|t| &t.signed)
    }

    /// Whether a root update since this set was created changed the keys or threshold of the
    /// timestamp or snapshot role. The caller must then delete its stored timestamp and snapshot
    /// before loading them (specification 5.3.11): after a compromise, the repository recovers
    /// from versions pushed too high (a fast-forward attack) by rotating those keys, and a client
    /// that kept the old files would refuse every honest version below them.
    pub fn fast_forward_reset(&self) -> bool {
        self.fast_forward_reset
    }

    /// Verifies root version N+1 against the trusted root N (5.3.4 - 5.3.9): signed by a
    /// threshold of N's root keys and of its own, with exactly the next version. Expiry is not
    /// checked: intermediate roots may have expired.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Root, TrustError> {
        if self.timestamp.is_some() {
            return Err(TrustError::OutOfOrder { step: ROOT.into(), reason: "a timestamp is already trusted" });
        }
        let new = parse::<Root>(ROOT, bytes)?;
        check_signatures(ROOT, ROOT, root_authority(&self.root, Role::Root)?, &new.signed_bytes, &new.signatures)?;
        let expected = self.root.version + 1;
        if new.signed.version != expected {
            return Err(TrustError::UnexpectedVersion { role: ROOT.into(), expected, found: new.signed.version });
        }
        check_root_shape(&new.signed)?;
        check_signatures(ROOT, ROOT, root_authority(&new.signed, Role::Root)?, &new.signed_bytes, &new.signatures)?;
        self.fast_forward_reset |= [Role::Timestamp, Role::Snapshot]
            .into_iter()
            .any(|role| role_keys(&self.root, role) != role_keys(&new.signed, role));
        self.root = new.signed;
        Ok(&self.root)
    }

    /// The freeze-attack check on the final root (5.3.10).
    pub fn check_final_root(&self) -> Result<(), TrustError> {
        check_expiry(ROOT, &self.root, self.now)
    }

    /// Verifies and loads a timestamp (5.4): signed by root's timestamp keys; not older than the
    /// trusted timestamp; naming a snapshot version not older than the trusted timestamp's;
    /// unexpired. An expired timestamp is still loaded (it guards the next one against rollback)
    /// but returns [`TrustError::Expired`], and the snapshot cannot be loaded after it.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<TimestampUpdate, TrustError> {
        if self.snapshot.is_some() {
            return Err(TrustError::OutOfOrder { step: TIMESTAMP.into(), reason: "a snapshot is already trusted" });
        }
        self.check_final_root()?;
        let new = parse::<Timestamp>(TIMESTAMP, bytes)?;
        check_signatures(
            TIMESTAMP,
            ROOT,
            root_authority(&self.root, Role::Timestamp)?,
            &new.signed_bytes,
            &new.signatures,
        )?;
        check_meta(TIMESTAMP, &new.signed.meta)?;
        let Some(new_snapshot) = new.signed.snapshot_version() else {
            return Err(TrustError::malformed(TIMESTAMP, "no meta entry for snapshot.json"));
        };
        if let Some(trusted) = &self.timestamp {
            if new.signed.version < trusted.version {
                return Err(TrustError::Rollback {
                    role: TIMESTAMP.into(),
                    trusted: trusted.version,
                    found: new.signed.version,
                });
            }
            if new.signed.version == trusted.version {
                return Ok(TimestampUpdate::Unchanged);
            }
            let trusted_snapshot = trusted.snapshot_version().unwrap_or(0);
            if new_snapshot < trusted_snapshot {
                return Err(TrustError::Rollback {
                    role: "snapshot.json".into(),
                    trusted: trusted_snapshot,
                    found: new_snapshot,
                });
            }
        }
        self.timestamp = Some(new.signed);
        self.check_final_timestamp()?;
        Ok(TimestampUpdate::Updated)
    }

    fn check_final_timestamp(&self) -> Result<&Timestamp, TrustError> {
        let timestamp = self
            .timestamp
            .as_ref()
            .ok_or(TrustError::OutOfOrder { step: SNAPSHOT.into(), reason: "no timestamp is trusted" })?;
        check_expiry(TIMESTAMP, timestamp, self.now)?;
        Ok(timestamp)
    }

    /// Verifies and loads a snapshot (5.5): matching the timestamp's length and hashes (unless it
    /// is the client's own copy), signed by root's snapshot keys, listing every targets file that
    /// the trusted snapshot lists at no lower version; then, as final checks, of the version the
    /// timestamp names and unexpired. A snapshot that fails only the final checks is loaded as
    /// intermediate (the rollback reference for the next one) and the error is returned.
    pub fn update_snapshot(&mut self, bytes: &[u8], origin: Origin) -> Result<&Snapshot, TrustError> {
        if !self.targets.is_empty() {
            return Err(TrustError::OutOfOrder { step: SNAPSHOT.into(), reason: "targets are already trusted" });
        }
        let timestamp = self.check_final_timestamp()?;
        if origin == Origin::Repository
            && let Some(meta) = timestamp.meta.get("snapshot.json")
        {
            meta.verify(bytes).map_err(|source| TrustError::Digest {
                role: SNAPSHOT.into(),
                pinned_by: TIMESTAMP,
                source,
            })?;
        }
        let new = parse::<Snapshot>(SNAPSHOT, bytes)?;
        check_signatures(
            SNAPSHOT,
            ROOT,
            root_authority(&self.root, Role::Snapshot)?,
            &new.signed_bytes,
            &new.signatures,
        )?;
        check_meta(SNAPSHOT, &new.signed.meta)?;
        if let Some(trusted) = &self.snapshot {
            for (file, old) in &trusted.meta {
                let Some(now) = new.signed.meta.get(file) else {
                    return Err(TrustError::MetaRemoved { file: file.clone() });
                };
                if now.version < old.version {
                    return Err(TrustError::Rollback { role: file.clone(), trusted: old.version, found: now.version });
                }
            }
        }
        self.snapshot = Some(new.signed);
        self.check_final_snapshot()
    }

    fn check_final_snapshot(&self) -> Result<&Snapshot, TrustError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or(TrustError::OutOfOrder { step: TARGETS.into(), reason: "no snapshot is trusted" })?;
        check_expiry(SNAPSHOT, snapshot, self.now)?;
        let expected = self.timestamp.as_ref().and_then(Timestamp::snapshot_version).unwrap_or(0);
        if snapshot.version != expected {
            return Err(TrustError::UnexpectedVersion { role: SNAPSHOT.into(), expected, found: snapshot.version });
        }
        Ok(snapshot)
    }

    /// Verifies and loads the top-level targets (5.6), delegated by root.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<&Targets, TrustError> {
        self.update_delegated_targets(bytes, TARGETS, ROOT)
    }

    /// Verifies and loads the targets metadata of `role` as delegated by `delegator` (`"root"`
    /// for the top-level `targets`; otherwise a trusted targets role): matching the length and
    /// hashes the snapshot lists for `{role}.json`, signed by a threshold of the keys the
    /// delegator gives the role, of the version the snapshot lists, and unexpired.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<&Targets, TrustError> {
        let snapshot = self.check_final_snapshot()?;
        let file = format!("{role}.json");
        let meta = snapshot.meta.get(&file).ok_or_else(|| TrustError::NotInSnapshot { role: role.to_owned() })?;
        meta.verify(bytes).map_err(|source| TrustError::Digest {
            role: role.to_owned(),
            pinned_by: SNAPSHOT,
            source,
        })?;
        let new = parse::<Targets>(role, bytes)?;
        check_signatures(role, delegator, self.authority(role, delegator)?, &new.signed_bytes, &new.signatures)?;
        if new.signed.version != meta.version {
            return Err(TrustError::UnexpectedVersion {
                role: role.to_owned(),
                expected: meta.version,
                found: new.signed.version,
            });
        }
        check_expiry(role, &new.signed, self.now)?;
        let trusted = TrustedTargets {
            signed: new.signed,
            signed_bytes: new.signed_bytes,
            signatures: new.signatures,
            delegators: BTreeSet::from([delegator.to_owned()]),
        };
        let slot = match self.targets.entry(role.to_owned()) {
            Entry::Occupied(mut o) => {
                o.insert(trusted);
                o.into_mut()
            }
            Entry::Vacant(v) => v.insert(trusted),
        };
        Ok(&slot.signed)
    }

    /// The trusted metadata of `role` as delegated by `delegator`, or `None` if `role` is not
    /// loaded yet. Metadata loaded for another delegator is verified again against this
    /// delegator's keys for the role first: the same role name can be delegated by two roles
    /// with different keys, and trusting it through one must not lend it the other's authority.
    pub fn delegated_targets(&mut self, role: &str, delegator: &str) -> Result<Option<&Targets>, TrustError> {
        let Some(trusted) = self.targets.get(role) else {
            return Ok(None);
        };
        if !trusted.delegators.contains(delegator) {
            check_signatures(
                role,
                delegator,
                self.authority(role, delegator)?,
                &trusted.signed_bytes,
                &trusted.signatures,
            )?;
        }
        let Some(trusted) = self.targets.get_mut(role) else {
            return Ok(None);
        };
        trusted.delegators.insert(delegator.to_owned());
        Ok(Some(&trusted.signed))
    }

    /// Who may sign `role` according to `delegator`.
    fn authority(&self, role: &str, delegator: &str) -> Result<Authority<'_>, TrustError> {
        let not_delegated = || TrustError::NotDelegated { role: role.to_owned(), delegator: delegator.to_owned() };
        if delegator == ROOT {
            return if role == TARGETS { root_authority(&self.root, Role::Targets) } else { Err(not_delegated()) };
        }
        let Some(parent) = self.targets.get(delegator) else {
            return Err(TrustError::OutOfOrder { step: role.to_owned(), reason: "its delegator is not trusted" });
        };
        parent.signed.delegations.as_ref().and_then(|d| d.authority(role)).ok_or_else(not_delegated)
    }
}

/// What decides whether a role's signers changed: its threshold and its key objects by id.
fn role_keys(root: &Root, role: Role) -> Option<(u64, BTreeMap<&crate::KeyId, Option<&crate::key::KeyObject>>)> {
    let entry = root.roles.get(role.name())?;
    Some((entry.threshold, entry.keyids.iter().map(|id| (id, root.keys.get(id))).collect()))
}
