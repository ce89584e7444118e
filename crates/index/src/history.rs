//! The rule that keeps signed history honest (POUF section 1.8).
//!
//! A version once published is immutable: it never disappears, and its line keeps every field
//! except `yanked` (which may flip both ways) and the fields in [`MAY_APPEAR`], which may be added
//! to a line that lacked them. Lines are compared as parsed JSON: key order and white space do
//! not matter, array order does, and a key whose value is `null` is the same as an absent key
//! (cargo reads both as "not set"). Besides, on every line of every file:
//! - a dependency's `registry` must be absent (or `null`) or allow-listed: any other value makes
//!   cargo fetch that dependency from another index, past the mirror and its signatures;
//! - a new version must not be equal in semver precedence (build metadata ignored) to another
//!   version of the crate (`1.0.0+x` next to `1.0.0`), unless the file is mirrored for the first
//!   time: crates.io holds legacy pairs from before it refused them.
//!
//! Anything else is a rewrite of history, which the mirror quarantines instead of publishing.
//! The rule is pure: the caller supplies what was published and what upstream offers.

use crate::IndexLine;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Top-level fields that may appear on a published line that lacked them (once there, they are
/// as immutable as the rest). Both are metadata that crates.io added to its index format years
/// after its first versions, so a back-fill of old versions adds them; neither names other code
/// than the line did:
/// - `pubtime`: when the version was published;
/// - `rust_version`: the `package.rust-version` already inside the published `.crate`.
///
/// Not listed, on purpose: `links`, `features2` and `v` change what cargo resolves (a `v` above
/// what cargo knows hides the version), and a new field of unknown meaning is a change until
/// this list names it.
pub const MAY_APPEAR: &[&str] = &["pubtime", "rust_version"];

/// One way a new index file contradicts what was published before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryViolation {
    /// A published version's `cksum` changed.
    #[error("version {vers} changed its cksum from {published} to {offered}")]
    ChecksumChanged {
        /// The version (`vers`).
        vers: String,
        /// The published `cksum`.
        published: String,
        /// The `cksum` in the new file.
        offered: String,
    },
    /// A published version is missing from the new file.
    #[error("version {vers} (cksum {published}) disappeared")]
    VersionRemoved {
        /// The version (`vers`).
        vers: String,
        /// Its published `cksum`.
        published: String,
    },
    /// A field of a published version's line differs from the published line (changed, removed,
    /// or added while not in [`MAY_APPEAR`]).
    #[error("version {vers} changed its {field:?}")]
    FieldChanged {
        /// The version (`vers`).
        vers: String,
        /// The name of the field (top-level member of the line).
        field: String,
    },
    /// A published version's line has other bytes, and one of the two lines cannot be read as
    /// JSON values (nesting deeper than the parser allows, a number out of range): it cannot be
    /// shown unchanged, so it counts as changed.
    #[error("version {vers} changed its line, which cannot be compared field by field")]
    Incomparable {
        /// The version (`vers`).
        vers: String,
    },
    /// A version new to the mirror is equal in precedence to another version of the crate.
    #[error("new version {vers} is equal in precedence to version {other}")]
    EqualPrecedence {
        /// The new version (`vers`).
        vers: String,
        /// The existing version it equals in precedence (they differ only in build metadata).
        other: String,
    },
    /// A dependency comes from a registry that is not allow-listed.
    #[error("version {vers} depends on {dependency:?} from another registry, {registry:?}")]
    ForeignRegistry {
        /// The version (`vers`).
        vers: String,
        /// The dependency's name.
        dependency: String,
        /// The dependency's `registry` URL.
        registry: String,
    },
}

/// What the mirror published before for one crate.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Every version ever published (vers -> cksum); empty for a crate mirrored for the first
    /// time.
    pub cksums: &'a BTreeMap<String, String>,
    /// The file served now, whose lines are the published lines. A published version without a
    /// line here (the file left the mirror and came back) is held to its `cksum` only.
    pub file: Option<&'a [u8]>,
}

/// The rule, with the operator's allow-list of other registries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryRule {
    allowed_registries: BTreeSet<String>,
}

impl HistoryRule {
    /// A rule that lets dependencies come from the registries in `allowed_registries` (index
    /// URLs, compared as exact strings with a line's `registry`).
    pub fn new(allowed_registries: impl IntoIterator<Item = String>) -> Self {
        HistoryRule { allowed_registries: allowed_registries.into_iter().collect() }
    }

    /// Checks the offered file (`offered`, already validated into `lines`) against what was
    /// published, and returns every violation: first those of published versions in version
    /// order, then new versions of equal precedence and foreign registries in file order.
    pub fn check(&self, published: History<'_>, offered: &[u8], lines: &[IndexLine]) -> Vec<HistoryViolation> {
        let mut violations = Vec::new();
        let offered_lines = lines_by_vers(offered);
        let published_lines = published.file.map(lines_by_vers).unwrap_or_default();
        let cksums: BTreeMap<&str, &str> = lines.iter().map(|l| (l.vers.as_str(), l.cksum.as_str())).collect();
        for (vers, cksum) in published.cksums {
            match cksums.get(vers.as_str()) {
                None => {
                    violations.push(HistoryViolation::VersionRemoved { vers: vers.clone(), published: cksum.clone() });
                    continue;
                }
                Some(offered) if offered != cksum => violations.push(HistoryViolation::ChecksumChanged {
                    vers: vers.clone(),
                    published: cksum.clone(),
                    offered: (*offered).to_owned(),
                }),
                Some(_) => {}
            }
            let (Some(before), Some(after)) = (published_lines.get(vers), offered_lines.get(vers)) else { continue };
            if before == after {
                continue;
            }
            match (fields(before), fields(after)) {
                (Some(before), Some(after)) => violations.extend(
                    changed_fields(&before, &after)
                        .into_iter()
                        .map(|field| HistoryViolation::FieldChanged { vers: vers.clone(), field }),
                ),
                _ => violations.push(HistoryViolation::Incomparable { vers: vers.clone() }),
            }
        }
        if !published.cksums.is_empty() {
            // Every version of the crate by precedence, so that a file of many versions costs one
            // parse each, not one per pair.
            let mut by_precedence: BTreeMap<Precedence, BTreeSet<&str>> = BTreeMap::new();
            for vers in published.cksums.keys().map(String::as_str).chain(lines.iter().map(|l| l.vers.as_str())) {
                if let Some(key) = precedence(vers) {
                    by_precedence.entry(key).or_default().insert(vers);
                }
            }
            for line in lines.iter().filter(|l| !published.cksums.contains_key(&l.vers)) {
                let same = precedence(&line.vers).and_then(|key| by_precedence.get(&key));
                if let Some(other) = same.and_then(|s| s.iter().find(|v| **v != line.vers)) {
                    violations.push(HistoryViolation::EqualPrecedence {
                        vers: line.vers.clone(),
                        other: (*other).to_owned(),
                    });
                }
            }
        }
        for line in lines {
            for dep in &line.deps {
                match &dep.registry {
                    Some(registry) if !self.allowed_registries.contains(registry) => {
                        violations.push(HistoryViolation::ForeignRegistry {
                            vers: line.vers.clone(),
                            dependency: dep.name.clone(),
                            registry: registry.clone(),
                        })
                    }
                    _ => {}
                }
            }
        }
        violations
    }
}

/// Just the `vers` of a line, read the way [`IndexLine`] reads it (other fields skipped).
#[derive(serde::Deserialize)]
struct Vers {
    vers: String,
}

/// The file's lines (their bytes) by `vers`. Lines without a `vers` are skipped: the offered file
/// was validated, and the published one was when it was accepted.
fn lines_by_vers(file: &[u8]) -> BTreeMap<String, &[u8]> {
    file.split(|&b| b == b'\n')
        .filter_map(|raw| serde_json::from_slice::<Vers>(raw).ok().map(|v| (v.vers, raw)))
        .collect()
}

/// A line's fields with nulls removed, or `None` where it does not parse as JSON values (nesting
/// deeper than serde_json builds, a number out of range) although it validated.
fn fields(raw: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(raw) {
        Ok(Value::Object(mut object)) => {
            drop_nulls(&mut object);
            Some(object)
        }
        _ => None,
    }
}

/// Removes every `null`-valued key, at every depth: absent and `null` mean the same to cargo.
fn drop_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, v| !v.is_null());
    for value in object.values_mut() {
        drop_nulls_in(value);
    }
}

fn drop_nulls_in(value: &mut Value) {
    match value {
        Value::Object(object) => drop_nulls(object),
        Value::Array(items) => items.iter_mut().for_each(drop_nulls_in),
        _ => {}
    }
}

/// The top-level fields whose values differ, sorted; `yanked` is free, `cksum` is reported on
/// its own, and a field in [`MAY_APPEAR`] may go from absent to present.
fn changed_fields(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| !matches!(k.as_str(), "yanked" | "cksum"))
        .filter(|k| match (before.get(*k), after.get(*k)) {
            (None, Some(_)) => !MAY_APPEAR.contains(&k.as_str()),
            (old, new) => old != new,
        })
        .cloned()
        .collect()
}

/// What semver precedence compares: the version without its build metadata.
type Precedence = (u64, u64, u64, String);

fn precedence(vers: &str) -> Option<Precedence> {
    let v = semver::Version::parse(vers).ok()?;
    Some((v.major, v.minor, v.patch, v.pre.as_str().to_owned()))
}

#[cfg(test)]
mod tests;
