//! The four TUF top-level roles (specification 1.0.x) and the signed envelope.
//!
//! Every struct keeps unknown fields in `unknown`: they are part of the signed bytes, so a parsed
//! and re-serialized document must lose nothing (tufmirror's own additions, such as `merkle_root`,
//! travel as named fields here and as unknown fields in stock clients).

use crate::hash::{DigestMismatch, check_length_and_hashes};
use crate::key::{KeyId, KeyObject};
use crate::{Sha256Hash, cjson, time::serde_expires};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

pub use crate::delegation::{Authority, DelegatedRole, Delegations, SuccinctRoles};

/// The TUF specification version that tufmirror writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// The name of the extension field in targets metadata that holds removal records.
pub const REMOVALS_FIELD: &str = "x-tufmirror-removals";

/// A top-level role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The root role: the trusted keys of every top-level role (`root.json`).
    Root,
    /// The targets role: the files of the repository (`targets.json`).
    Targets,
    /// The snapshot role: the versions of all targets metadata (`snapshot.json`).
    Snapshot,
    /// The timestamp role: the newest snapshot, signed often (`timestamp.json`).
    Timestamp,
}

impl Role {
    /// The four roles, root first.
    pub const ALL: [Role; 4] = [Role::Root, Role::Targets, Role::Snapshot, Role::Timestamp];
    /// The roles whose keys sign while the mirror runs.
    pub const ONLINE: [Role; 3] = [Role::Targets, Role::Snapshot, Role::Timestamp];

    /// The role's name as TUF spells it: `_type`, the key of `roles` in root, the file stem.
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Targets => "targets",
            Role::Snapshot => "snapshot",
            Role::Timestamp => "timestamp",
        }
    }

    /// Default expiry in days (docs/POUF.md 1.3).
    pub fn default_expiry_days(self) -> i64 {
        match self {
            Role::Root => 365,
            Role::Targets => 90,
            Role::Snapshot => 7,
            Role::Timestamp => 1,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role name that is none of the four top-level roles: the name as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected root, targets, snapshot or timestamp)")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What every role's `signed` object has in common.
pub trait Metadata: Serialize + DeserializeOwned + Clone + fmt::Debug {
    /// The role whose `signed` this type is.
    const ROLE: Role;
    /// The `_type` field, as read (checked against [`Metadata::ROLE`] by the verifier).
    fn kind(&self) -> Role;
    /// The `version` field: an integer above 0 that grows with every new version of the role's file.
    fn version(&self) -> u64;
    /// The `expires` field: after it, clients refuse the file.
    fn expires(&self) -> OffsetDateTime;
    /// The `spec_version` field: the TUF specification version the file follows.
    fn spec_version(&self) -> &str;
}

macro_rules! impl_metadata {
    ($t:ty, $role:expr) => {
        impl Metadata for $t {
            const ROLE: Role = $role;
            fn kind(&self) -> Role {
                self.kind
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> OffsetDateTime {
                self.expires
            }
            fn spec_version(&self) -> &str {
                &self.spec_version
            }
        }
    };
}

/// The keys and threshold of one role, as root lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Key ids (`keyid`) of the keys that may sign for the role.
    pub keyids: Vec<KeyId>,
    /// How many of `keyids` must sign for the role's file to be trusted (at least 1).
    pub threshold: u64,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// `root.json`'s `signed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// `_type`: always `root`.
    #[serde(rename = "_type")]
    pub kind: Role,
    /// `spec_version`: the TUF specification version (`1.0.x`).
    pub spec_version: String,
    /// `version`: grows by exactly one with each new root.
    pub version: u64,
    /// `expires`: the time after which clients refuse this root.
    #[serde(with = "serde_expires")]
    pub expires: OffsetDateTime,
    /// `consistent_snapshot`: whether metadata and targets are served under version- or hash-prefixed names.
    pub consistent_snapshot: bool,
    /// `keys`: every key of the top-level roles, by key id.
    pub keys: BTreeMap<KeyId, KeyObject>,
    /// `roles`: the keys and threshold of each top-level role, by role name.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}
impl_metadata!(Root, Role::Root);

/// Length and hashes of a file, as targets and the meta fields list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// `version`: the version of the metadata file listed.
    pub version: u64,
    /// `length`: its size in bytes; `None` when not listed (the spec makes it optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// `hashes`: hex digests by algorithm name (`sha256`); `None` when not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl MetaFile {
    /// A meta entry pinning version, length and SHA-256 of `bytes`.
    pub fn pinning(version: u64, bytes: &[u8]) -> Self {
        MetaFile {
            version,
            length: Some(bytes.len() as u64),
            hashes: Some(sha256_hashes(bytes)),
            unknown: BTreeMap::new(),
        }
    }

    /// Checks `bytes` against the length and hashes listed, if any (a client's check of a
    /// downloaded metadata file).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestMismatch> {
        check_length_and_hashes(bytes, self.length, self.hashes.as_ref())
    }
}

/// A target file's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// `length`: the target's size in bytes.
    pub length: u64,
    /// `hashes`: hex digests by algorithm name (`sha256` for the files tufmirror writes).
    pub hashes: BTreeMap<String, String>,
    /// `custom`: application data about the target; `None` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl TargetFile {
    /// The description of `bytes`: their length and SHA-256, no `custom`.
    pub fn of(bytes: &[u8]) -> Self {
        TargetFile { length: bytes.len() as u64, hashes: sha256_hashes(bytes), custom: None, unknown: BTreeMap::new() }
    }

    /// Whether `bytes` match this description's length and SHA-256 (which it must carry).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.length == bytes.len() as u64
            && self.hashes.get("sha256").is_some_and(|h| *h == Sha256Hash::of(bytes).to_hex())
    }

    /// Checks `bytes` against the length and *every* hash listed (a client's check of a
    /// downloaded target: an unsupported algorithm or an empty list refuses the file).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestMismatch> {
        check_length_and_hashes(bytes, Some(self.length), Some(&self.hashes))
    }
}

fn sha256_hashes(bytes: &[u8]) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), Sha256Hash::of(bytes).to_hex())])
}

/// A signed statement that an index file leaves the mirror in a snapshot (docs/POUF.md 1.6).
///
/// Exactly `path`, `snapshot_version` and `reason`: a record with another member is refused, and
/// with it the targets metadata that carries it, as the independent verifier refuses it. Two
/// verifiers that read the same signed record must agree on what it says; the POUF allows no
/// extension here (a later format is a new POUF version).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovalRecord {
    /// The index file path that leaves the mirror (as in `targets`).
    pub path: String,
    /// The snapshot version that removes the file.
    pub snapshot_version: u64,
    /// Why it leaves, in words (shown to users; not interpreted).
    pub reason: String,
}

/// `targets.json`'s `signed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// `_type`: always `targets`.
    #[serde(rename = "_type")]
    pub kind: Role,
    /// `spec_version`: the TUF specification version (`1.0.x`).
    pub spec_version: String,
    /// `version`: grows with each new targets file.
    pub version: u64,
    /// `expires`: the time after which clients refuse this file.
    #[serde(with = "serde_expires")]
    pub expires: OffsetDateTime,
    /// `targets`: each target file's description, by target path.
    pub targets: BTreeMap<String, TargetFile>,
    /// `x-tufmirror-removals`: the removal records of this version (empty when absent).
    #[serde(default, rename = "x-tufmirror-removals")]
    pub removals: Vec<RemovalRecord>,
    /// `delegations`: the delegated roles and their keys; `None` when the role delegates nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}
impl_metadata!(Targets, Role::Targets);

/// `snapshot.json`'s `signed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `_type`: always `snapshot`.
    #[serde(rename = "_type")]
    pub kind: Role,
    /// `spec_version`: the TUF specification version (`1.0.x`).
    pub spec_version: String,
    /// `version`: grows with each new snapshot.
    pub version: u64,
    /// `expires`: the time after which clients refuse this file.
    #[serde(with = "serde_expires")]
    pub expires: OffsetDateTime,
    /// `meta`: the version (and optionally length and hashes) of every targets metadata file, by file name
    /// (`targets.json`, `<role>.json`).
    pub meta: BTreeMap<String, MetaFile>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}
impl_metadata!(Snapshot, Role::Snapshot);

/// `timestamp.json`'s `signed`, with TAP-16's `merkle_root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// `_type`: always `timestamp`.
    #[serde(rename = "_type")]
    pub kind: Role,
    /// `spec_version`: the TUF specification version (`1.0.x`).
    pub spec_version: String,
    /// `version`: grows with each new timestamp.
    pub version: u64,
    /// `expires`: the time after which clients refuse this file (short: a day by default).
    #[serde(with = "serde_expires")]
    pub expires: OffsetDateTime,
    /// `meta`: exactly one entry, `snapshot.json`, with the current snapshot's version.
    pub meta: BTreeMap<String, MetaFile>,
    /// TAP-16 `merkle_root`: the root hash of the snapshot Merkle tree; `None` in a plain TUF timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<Sha256Hash>,
    /// `merkle_tree_size`: the number of leaves of that tree; `None` in a plain TUF timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merkle_tree_size: Option<u64>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}
impl_metadata!(Timestamp, Role::Timestamp);

impl Timestamp {
    /// The snapshot version this timestamp points at.
    pub fn snapshot_version(&self) -> Option<u64> {
        self.meta.get("snapshot.json").map(|m| m.version)
    }
}

impl Snapshot {
    /// The targets version this snapshot lists for `targets.json`, if it lists one.
    pub fn targets_version(&self) -> Option<u64> {
        self.meta.get("targets.json").map(|m| m.version)
    }
}

/// One entry of `signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// `keyid`: the key id of the key that made the signature.
    pub keyid: KeyId,
    /// Hex-encoded signature bytes.
    pub sig: String,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `{"signed": ..., "signatures": [...]}` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    /// `signed`: the role's metadata; signatures cover its canonical JSON.
    pub signed: T,
    /// `signatures`: one entry per key that signed; may be empty while a file is being signed.
    pub signatures: Vec<Signature>,
}

impl<T: Metadata> Signed<T> {
    /// An envelope with no signatures yet.
    pub fn unsigned(signed: T) -> Self {
        Signed { signed, signatures: Vec::new() }
    }

    /// The bytes that signatures cover: the canonical JSON of `signed`.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, cjson::CanonicalJsonError> {
        cjson::to_vec(&self.signed)
    }

    /// Adds (or replaces) the signature of `keyid`.
    pub fn add_signature(&mut self, keyid: KeyId, sig: &[u8]) {
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(Signature { keyid, sig: hex::encode(sig), unknown: BTreeMap::new() });
        self.signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
    }

    /// The bytes that are written and served: compact JSON of the envelope with sorted keys.
    /// Not canonical JSON: canonical JSON leaves control characters raw inside strings (a PEM
    /// key's newlines), which is not valid JSON; it is only ever the form that is *signed*. They
    /// are produced once; the hash and length in the next role's metadata are of these bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, cjson::CanonicalJsonError> {
        let value = serde_json::to_value(self).map_err(cjson::CanonicalJsonError::NotJson)?;
        serde_json::to_vec(&value).map_err(cjson::CanonicalJsonError::NotJson)
    }
}
