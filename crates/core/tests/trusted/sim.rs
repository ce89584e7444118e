//! A repository in memory: current metadata of every role, the keys that sign each, and a
//! `publish` that bumps a version, signs, and pins the new file in its parent's `meta` (with
//! length and SHA-256, as tufmirror and hash-pinning repositories do).

use ed25519_dalek::{Signer as _, SigningKey};
use std::collections::BTreeMap;
use tufmirror_core::metadata::{
    DelegatedRole, Delegations, MetaFile, Metadata, Role, RoleKeys, Root, SPEC_VERSION, Signed, Snapshot, TargetFile,
    Targets, Timestamp,
};
use tufmirror_core::time::{self, DateTime};
use tufmirror_core::{KeyId, PublicKey};

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn id(k: &SigningKey) -> KeyId {
    PublicKey::Ed25519(k.verifying_key()).key_id()
}

pub(crate) fn now() -> DateTime {
    time::parse("2030-06-01T00:00:00Z").expect("time")
}

pub(crate) fn in_days(days: i64) -> DateTime {
    time::in_days(now(), days)
}

/// Signs `meta` with `keys` and returns the served bytes.
pub(crate) fn sign<T: Metadata>(meta: &T, keys: &[&SigningKey]) -> Vec<u8> {
    let mut signed = Signed::unsigned(meta.clone());
    let bytes = signed.signed_bytes().expect("canonical");
    for k in keys {
        signed.add_signature(id(k), &k.sign(&bytes).to_bytes());
    }
    signed.to_bytes().expect("bytes")
}

pub(crate) fn empty_targets(version: u64) -> Targets {
    Targets {
        kind: Role::Targets,
        spec_version: SPEC_VERSION.into(),
        version,
        expires: in_days(30),
        targets: BTreeMap::new(),
        removals: Vec::new(),
        delegations: None,
        unknown: BTreeMap::new(),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Sim {
    pub root: Root,
    pub timestamp: Timestamp,
    pub snapshot: Snapshot,
    /// `targets` and every delegated role.
    pub targets: BTreeMap<String, Targets>,
    /// The keys that sign each role when it is published.
    pub signers: BTreeMap<String, Vec<SigningKey>>,
    /// The last published bytes of each role.
    pub published: BTreeMap<String, Vec<u8>>,
}

impl Sim {
    /// Root v1 with one key per top-level role (seeds 1 to 4); timestamp, snapshot and targets v1.
    pub(crate) fn new() -> Sim {
        let mut root = Root {
            kind: Role::Root,
            spec_version: SPEC_VERSION.into(),
            version: 0,
            expires: in_days(365),
            consistent_snapshot: true,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            unknown: BTreeMap::new(),
        };
        let mut signers = BTreeMap::new();
        for (seed, role) in (1..).zip(Role::ALL) {
            let k = key(seed);
            root.keys.insert(id(&k), PublicKey::Ed25519(k.verifying_key()).to_key_object());
            root.roles
                .insert(role.name().into(), RoleKeys { keyids: vec![id(&k)], threshold: 1, unknown: BTreeMap::new() });
            signers.insert(role.name().to_owned(), vec![k]);
        }
        let snapshot = Snapshot {
            kind: Role::Snapshot,
            spec_version: SPEC_VERSION.into(),
            version: 0,
            expires: in_days(30),
            meta: BTreeMap::new(),
            unknown: BTreeMap::new(),
        };
        let timestamp = Timestamp {
            kind: Role::Timestamp,
            spec_version: SPEC_VERSION.into(),
            version: 0,
            expires: in_days(1),
            meta: BTreeMap::new(),
            merkle_root: None,
            merkle_tree_size: None,
            unknown: BTreeMap::new(),
        };
        let mut sim = Sim {
            root,
            timestamp,
            snapshot,
            targets: BTreeMap::from([("targets".to_owned(), empty_targets(0))]),
            signers,
            published: BTreeMap::new(),
        };
        for role in ["root", "targets", "snapshot", "timestamp"] {
            sim.publish(role);
        }
        sim
    }

    /// The keys of `role`, for signing.
    pub(crate) fn keys(&self, role: &str) -> Vec<&SigningKey> {
        self.signers.get(role).map(|ks| ks.iter().collect()).unwrap_or_default()
    }

    /// Bumps `role`'s version, signs it with its signers, pins it in its parent, and returns
    /// (and remembers) the bytes.
    pub(crate) fn publish(&mut self, role: &str) -> Vec<u8> {
        let keys: Vec<SigningKey> = self.signers.get(role).cloned().unwrap_or_default();
        let keys: Vec<&SigningKey> = keys.iter().collect();
        let bytes = match role {
            "root" => {
                self.root.version += 1;
                sign(&self.root, &keys)
            }
            "timestamp" => {
                self.timestamp.version += 1;
                sign(&self.timestamp, &keys)
            }
            "snapshot" => {
                self.snapshot.version += 1;
                let bytes = sign(&self.snapshot, &keys);
                self.timestamp.meta.insert("snapshot.json".into(), MetaFile::pinning(self.snapshot.version, &bytes));
                bytes
            }
            name => {
                let t = self.targets.get_mut(name).expect("known targets role");
                t.version += 1;
                let bytes = sign(&*t, &keys);
                self.snapshot.meta.insert(format!("{name}.json"), MetaFile::pinning(t.version, &bytes));
                bytes
            }
        };
        self.published.insert(role.to_owned(), bytes.clone());
        bytes
    }

    pub(crate) fn bytes(&self, role: &str) -> Vec<u8> {
        self.published.get(role).cloned().expect("published")
    }

    /// Replaces the keys of a top-level role in root with `keys` (threshold 1) and makes them
    /// its signers.
    pub(crate) fn rotate(&mut self, role: &str, keys: Vec<SigningKey>) {
        for k in &keys {
            self.root.keys.insert(id(k), PublicKey::Ed25519(k.verifying_key()).to_key_object());
        }
        let entry = self.root.roles.get_mut(role).expect("role");
        entry.keyids = keys.iter().map(id).collect();
        self.signers.insert(role.to_owned(), keys);
    }

    /// Adds a delegation from `delegator` to a new role `name` for `paths`, signed by `signer`.
    pub(crate) fn delegate(
        &mut self,
        delegator: &str,
        name: &str,
        paths: &[&str],
        terminating: bool,
        signer: SigningKey,
    ) {
        let parent = self.targets.get_mut(delegator).expect("delegator");
        let delegations = parent.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            unknown: BTreeMap::new(),
        });
        delegations.keys.insert(id(&signer), PublicKey::Ed25519(signer.verifying_key()).to_key_object());
        delegations.roles.get_or_insert_with(Vec::new).push(DelegatedRole {
            name: name.to_owned(),
            keyids: vec![id(&signer)],
            threshold: 1,
            terminating,
            paths: Some(paths.iter().map(|p| (*p).to_owned()).collect()),
            path_hash_prefixes: None,
            unknown: BTreeMap::new(),
        });
        // Like the conformance suite's simulator: a role delegated twice is signed by both keys.
        self.signers.entry(name.to_owned()).or_default().push(signer);
        self.targets.entry(name.to_owned()).or_insert_with(|| empty_targets(0));
    }

    /// Lists `data` as target `path` of `role`.
    pub(crate) fn add_target(&mut self, role: &str, path: &str, data: &[u8]) {
        self.targets.get_mut(role).expect("role").targets.insert(path.to_owned(), TargetFile::of(data));
    }
}
