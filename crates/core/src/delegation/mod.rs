//! Delegations in targets metadata: which roles may sign for which target paths (specification
//! 2.2.6, client workflow 5.6.7), including TAP-15's succinct hash-bin delegations.
//!
//! tufmirror's own targets never delegate; these types exist so that the client reads any TUF
//! repository. Parsing enforces the shape rules that python-tuf enforces (exactly one of `roles`
//! and `succinct_roles`, exactly one of `paths` and `path_hash_prefixes`, unique role names that
//! are not top-level names, thresholds of at least 1, `bit_length` 1..=32), so that a malformed
//! delegation makes its targets metadata refused instead of silently matching nothing. Unknown
//! fields are kept: they are covered by the signature like everything else.

use crate::key::{KeyId, KeyObject};
use crate::metadata::Role;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

mod pattern;
pub use pattern::path_matches;

/// `delegations` of a targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Delegations {
    /// `keys`: the keys of the delegated roles, by key id.
    pub keys: BTreeMap<KeyId, KeyObject>,
    /// Ordered: the order is the order of trust in the delegation search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    /// TAP-15 `succinct_roles`: hashed bins instead of (or with) `roles`; `None` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// One entry of `delegations.roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct DelegatedRole {
    /// `name`: the delegated role's name (its metadata is `<name>.json`).
    pub name: String,
    /// `keyids`: the keys that may sign for the role.
    pub keyids: Vec<KeyId>,
    /// `threshold`: how many of `keyids` must sign.
    pub threshold: u64,
    /// `terminating`: whether the search for a target stops at this role when its paths match.
    pub terminating: bool,
    /// `paths`: the target path patterns the role is trusted for; `None` when `path_hash_prefixes` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// `path_hash_prefixes`: hex prefixes of the SHA-256 of target paths the role is trusted for; `None` when
    /// `paths` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// TAP-15 `succinct_roles`: `2^bit_length` bins named `{name_prefix}-{index as hex}` (zero-padded
/// to the width of the last index), all signed by the same keys, all terminating. A target goes
/// to the bin given by the first `bit_length` bits of the SHA-256 of its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct SuccinctRoles {
    /// `keyids`: the keys that sign every bin.
    pub keyids: Vec<KeyId>,
    /// `threshold`: how many of `keyids` must sign each bin.
    pub threshold: u64,
    /// `bit_length`: the number of leading bits of the path hash that pick a bin (1 to 32).
    pub bit_length: u32,
    /// `name_prefix`: the bins' name prefix.
    pub name_prefix: String,
    /// Other members, kept so that re-serializing loses nothing of the signed bytes.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The keys and threshold that a delegator requires of one delegated role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority<'a> {
    /// The delegator's `keys`, in which `keyids` are looked up.
    pub keys: &'a BTreeMap<KeyId, KeyObject>,
    /// The key ids that may sign for the role.
    pub keyids: &'a [KeyId],
    /// How many of `keyids` must sign.
    pub threshold: u64,
}

impl Delegations {
    /// Who may sign `role` according to these delegations, or `None` if they do not delegate it.
    pub fn authority(&self, role: &str) -> Option<Authority<'_>> {
        let (keyids, threshold) = match (&self.roles, &self.succinct_roles) {
            (Some(roles), _) => roles.iter().find(|r| r.name == role).map(|r| (&r.keyids, r.threshold))?,
            (None, Some(bins)) if bins.is_bin(role) => (&bins.keyids, bins.threshold),
            _ => return None,
        };
        Some(Authority { keys: &self.keys, keyids, threshold })
    }

    /// The roles trusted for `target`, in order of trust, each with whether it is terminating
    /// (a match on a terminating role ends the search after that role's subtree).
    pub fn roles_for_target(&self, target: &str) -> Vec<(String, bool)> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), _) => {
                roles.iter().filter(|r| r.is_delegated_path(target)).map(|r| (r.name.clone(), r.terminating)).collect()
            }
            (None, Some(bins)) => vec![(bins.bin_for_target(target), true)],
            (None, None) => Vec::new(),
        }
    }

    fn check(self) -> Result<Self, InvalidDelegation> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), None) => {
                let mut names = BTreeSet::new();
                for role in roles {
                    if role.name.is_empty() || Role::ALL.iter().any(|r| r.name() == role.name) {
                        return Err(InvalidDelegation::ReservedName(role.name.clone()));
                    }
                    if !names.insert(role.name.as_str()) {
                        return Err(InvalidDelegation::DelegatedTwice(role.name.clone()));
                    }
                }
            }
            (None, Some(_)) => {}
            _ => return Err(InvalidDelegation::RolesOrSuccinctRoles),
        }
        Ok(self)
    }
}

impl DelegatedRole {
    /// Whether this role is trusted for `target`: by a path pattern, or by a prefix of the
    /// SHA-256 (lowercase hex) of the target path.
    pub fn is_delegated_path(&self, target: &str) -> bool {
        if let Some(prefixes) = &self.path_hash_prefixes {
            let hash = hex::encode(Sha256::digest(target.as_bytes()));
            return prefixes.iter().any(|p| hash.starts_with(p.as_str()));
        }
        self.paths.iter().flatten().any(|pattern| path_matches(target, pattern))
    }

    fn check(self) -> Result<Self, InvalidDelegation> {
        if self.paths.is_some() == self.path_hash_prefixes.is_some() {
            return Err(InvalidDelegation::PathsOrPrefixes(self.name.clone()));
        }
        if self.threshold == 0 {
            return Err(InvalidDelegation::ZeroThreshold(self.name.clone()));
        }
        Ok(self)
    }
}

impl SuccinctRoles {
    /// Hex digits in a bin name: those of the last bin's index.
    fn suffix_len(&self) -> usize {
        format!("{:x}", (1u64 << self.bit_length) - 1).len()
    }

    /// The bin that `target` belongs to.
    pub fn bin_for_target(&self, target: &str) -> String {
        let hash = Sha256::digest(target.as_bytes());
        let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
        let bin = first >> (32 - self.bit_length);
        format!("{}-{:0width$x}", self.name_prefix, bin, width = self.suffix_len())
    }

    /// Whether `role` is one of the bins.
    pub fn is_bin(&self, role: &str) -> bool {
        let Some(suffix) = role.strip_prefix(&self.name_prefix).and_then(|r| r.strip_prefix('-')) else {
            return false;
        };
        suffix.len() == self.suffix_len()
            && suffix.bytes().all(|b| b.is_ascii_hexdigit())
            && u64::from_str_radix(suffix, 16).is_ok_and(|n| n < 1u64 << self.bit_length)
    }

    /// Every bin name, in index order.
    pub fn bins(&self) -> impl Iterator<Item = String> + '_ {
        (0..1u64 << self.bit_length).map(|i| format!("{}-{:0width$x}", self.name_prefix, i, width = self.suffix_len()))
    }

    fn check(self) -> Result<Self, InvalidDelegation> {
        if !(1..=32).contains(&self.bit_length) {
            return Err(InvalidDelegation::BitLength(self.bit_length));
        }
        if self.threshold == 0 {
            return Err(InvalidDelegation::SuccinctZeroThreshold);
        }
        Ok(self)
    }
}

/// A shape rule of delegations that a parsed document breaks (see the module documentation); the
/// message becomes the serde error that refuses the targets metadata.
#[derive(Debug, thiserror::Error)]
enum InvalidDelegation {
    /// A delegated role named like a top-level role, or with an empty name.
    #[error("a delegated role cannot be named {0:?}")]
    ReservedName(String),
    /// Two delegated roles with the same name.
    #[error("role {0:?} is delegated twice")]
    DelegatedTwice(String),
    /// Both or neither of `roles` and `succinct_roles`.
    #[error("delegations need exactly one of roles and succinct_roles")]
    RolesOrSuccinctRoles,
    /// A delegated role with both or neither of `paths` and `path_hash_prefixes`.
    #[error("role {0:?} needs exactly one of paths and path_hash_prefixes")]
    PathsOrPrefixes(String),
    /// A delegated role with threshold 0.
    #[error("role {0:?} has threshold 0")]
    ZeroThreshold(String),
    /// A `bit_length` outside 1..=32.
    #[error("succinct_roles bit_length {0} is not between 1 and 32")]
    BitLength(u32),
    /// `succinct_roles` with threshold 0.
    #[error("succinct_roles has threshold 0")]
    SuccinctZeroThreshold,
}

macro_rules! checked_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize(d)?.check().map_err(serde::de::Error::custom)
            }
        }
    };
}
checked_serde!(Delegations);
checked_serde!(DelegatedRole);
checked_serde!(SuccinctRoles);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_prefixes_match_the_sha256_of_the_path() {
        let hash = hex::encode(Sha256::digest(b"a/file"));
        let role = |prefixes: Vec<String>| DelegatedRole {
            name: "bin".into(),
            keyids: Vec::new(),
            threshold: 1,
            terminating: false,
            paths: None,
            path_hash_prefixes: Some(prefixes),
            unknown: BTreeMap::new(),
        };
        assert!(role(vec!["zz".into(), hash[..3].to_owned()]).is_delegated_path("a/file"));
        assert!(!role(vec![format!("{}x", &hash[..3])]).is_delegated_path("a/file"));
    }

    #[test]
    fn succinct_bins_are_named_and_chosen_like_tap15() {
        let bins = |bit_length| SuccinctRoles {
            keyids: Vec::new(),
            threshold: 1,
            bit_length,
            name_prefix: "bin".into(),
            unknown: BTreeMap::new(),
        };
        let eight = bins(8);
        assert_eq!(eight.bins().count(), 256);
        assert_eq!(eight.bins().next().as_deref(), Some("bin-00"));
        assert_eq!(eight.bins().last().as_deref(), Some("bin-ff"));
        assert_eq!(bins(5).bins().last().as_deref(), Some("bin-1f"));
        // The first byte of SHA-256("a") is 0xca.
        assert_eq!(eight.bin_for_target("a"), "bin-ca");
        assert_eq!(bins(1).bin_for_target("a"), "bin-1");
        assert_eq!(bins(32).bin_for_target("a"), "bin-ca978112");
        assert!(eight.is_bin("bin-ca") && !eight.is_bin("bin-ca0") && !eight.is_bin("bin-xx") && !eight.is_bin("bin-"));
        assert!(!bins(5).is_bin("bin-20") && bins(5).is_bin("bin-1f"));
    }

    #[test]
    fn shape_rules_are_enforced_and_unknown_fields_kept() {
        let role = json!({"name": "a", "keyids": [], "threshold": 1, "terminating": false, "paths": ["*"], "x": 1});
        let parse = |v: Value| serde_json::from_value::<Delegations>(v);
        let ok = parse(json!({"keys": {}, "roles": [role], "extra": true})).expect("valid");
        assert_eq!(serde_json::to_value(&ok).expect("json")["roles"][0]["x"], 1);
        assert_eq!(serde_json::to_value(&ok).expect("json")["extra"], true);
        assert!(parse(json!({"keys": {}})).is_err(), "neither roles nor succinct_roles");
        let bins = json!({"keyids": [], "threshold": 1, "bit_length": 4, "name_prefix": "b"});
        assert!(parse(json!({"keys": {}, "roles": [], "succinct_roles": bins})).is_err(), "both");
        assert!(parse(json!({"keys": {}, "succinct_roles": bins})).is_ok());
        let bad_bits = json!({"keyids": [], "threshold": 1, "bit_length": 33, "name_prefix": "b"});
        assert!(parse(json!({"keys": {}, "succinct_roles": bad_bits})).is_err());
        assert!(parse(json!({"keys": {}, "roles": [role, role]})).is_err(), "duplicate names");
        let named = |name: &str| json!({"name": name, "keyids": [], "threshold": 1, "terminating": false, "paths": []});
        assert!(parse(json!({"keys": {}, "roles": [named("targets")]})).is_err());
        assert!(parse(json!({"keys": {}, "roles": [named("")]})).is_err());
        let both = json!({"name": "a", "keyids": [], "threshold": 1, "terminating": false, "paths": [], "path_hash_prefixes": []});
        assert!(parse(json!({"keys": {}, "roles": [both]})).is_err());
        let zero = json!({"name": "a", "keyids": [], "threshold": 0, "terminating": false, "paths": []});
        assert!(parse(json!({"keys": {}, "roles": [zero]})).is_err());
    }

    #[test]
    fn authority_and_roles_for_target() {
        let d: Delegations = serde_json::from_value(json!({"keys": {}, "roles": [
            {"name": "A", "keyids": ["k1"], "threshold": 1, "terminating": false, "paths": ["*.md"]},
            {"name": "B", "keyids": ["k2"], "threshold": 2, "terminating": true, "paths": ["*"]},
        ]}))
        .expect("valid");
        assert_eq!(d.roles_for_target("x.md"), vec![("A".to_owned(), false), ("B".to_owned(), true)]);
        assert_eq!(d.roles_for_target("x/y"), Vec::<(String, bool)>::new());
        assert_eq!(d.authority("B").map(|a| a.threshold), Some(2));
        assert!(d.authority("C").is_none());
        let s: Delegations = serde_json::from_value(json!({"keys": {}, "succinct_roles":
            {"keyids": ["k"], "threshold": 1, "bit_length": 8, "name_prefix": "bin"}}))
        .expect("valid");
        assert_eq!(s.roles_for_target("a"), vec![("bin-ca".to_owned(), true)]);
        assert!(s.authority("bin-00").is_some() && s.authority("bin-100").is_none());
    }
}
