//! Which root verifies which metadata (docs/POUF.md 1.9).
//!
//! Every targets, snapshot and timestamp that tufmirror signs carries, inside `signed`,
//! `"x-tufmirror-root-version": R`: the version of the root whose keys signed it (the newest root
//! when it was signed). Stock TUF clients ignore the field (python-tuf keeps it as an
//! unrecognised field); it is covered by the signature like every other byte.
//!
//! Why: after a key rotation, old metadata (the targets of `K.snapshot.json` that hold removal
//! records, the timestamps in `history/`) verifies only with the keys of its time. Verifying it
//! with "any root whose keys verify it" would let a rotated-out (perhaps stolen) key forge old
//! records. Instead each document names its root, and a client checks that name:
//!
//! - **current** metadata (the timestamp, snapshot and targets it accepts now) must name exactly
//!   the trusted root it was verified with ([`check_current`]);
//! - **historical** metadata is verified with the keys and threshold of the root it names, which
//!   must be in the client's verified chain, not newer than the trusted root, and not older than
//!   the root of any snapshot the client accepted before it: bindings never decrease as snapshot
//!   versions rise ([`RootChain::historical`]). A client that accepted snapshot M bound to `R_M`
//!   looks for records in snapshots after M, so they must be bound to roots `>= R_M`, whose keys
//!   do not include a key retired before `R_M`;
//! - metadata **without the field** (signed before it existed) counts as bound to root 1 for the
//!   historical rule, and is never accepted as current.

use crate::metadata::{Root, Snapshot, Targets, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;

/// The field, inside `signed`, that names the root version.
pub const ROOT_VERSION_FIELD: &str = "x-tufmirror-root-version";

/// The root version that metadata without the field counts as bound to.
pub const UNBOUND_ROOT: u64 = 1;

/// Why metadata's root binding is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// The field is there but is not an integer >= 1.
    #[error("{file}: `x-tufmirror-root-version` is not an integer >= 1")]
    Malformed {
        /// The document, as the caller named it.
        file: String,
    },
    #[error(
        "{file} carries no `x-tufmirror-root-version` (signed before the binding existed): current metadata must \
         name root {trusted}, the root it is verified with"
    )]
    /// Current metadata without the field.
    Missing {
        /// The document, as the caller named it.
        file: String,
        /// The trusted root's version, which it must name.
        trusted: u64,
    },
    /// Current metadata bound to another root than the trusted one.
    #[error("{file} is bound to root {found}, but it is verified with the trusted root {trusted}")]
    NotTrustedRoot {
        /// The document, as the caller named it.
        file: String,
        /// The root version it names.
        found: u64,
        /// The trusted root's version.
        trusted: u64,
    },
    /// Historical metadata bound to a root newer than the trusted one.
    #[error("{file} is bound to root {found}, newer than the trusted root {trusted}")]
    FutureRoot {
        /// The document, as the caller named it.
        file: String,
        /// The root version it names.
        found: u64,
        /// The trusted root's version.
        trusted: u64,
    },
    #[error(
        "{file} is bound to root {found}, older than root {floor} of snapshot {accepted} that this client accepted \
         before it (bindings never decrease: a key retired before root {floor} cannot sign it)"
    )]
    /// Historical metadata bound to an older root than a snapshot accepted before it.
    Decreasing {
        /// The document, as the caller named it.
        file: String,
        /// The root version it names.
        found: u64,
        /// The root of the accepted snapshot: the lowest acceptable.
        floor: u64,
        /// The accepted snapshot's version.
        accepted: u64,
    },
    /// Historical metadata bound to a root outside the verified chain.
    #[error("{file} is bound to root {found}, which is not in this client's verified chain (roots {first} to {last})")]
    UnknownRoot {
        /// The document, as the caller named it.
        file: String,
        /// The root version it names.
        found: u64,
        /// The chain's first root version (the trust anchor).
        first: u64,
        /// The chain's last root version (the trusted root).
        last: u64,
    },
}

/// Metadata that can carry a root binding: targets, snapshot and timestamp.
pub trait RootBound {
    /// The fields outside the TUF specification, where the binding lives.
    fn extra_fields(&self) -> &BTreeMap<String, Value>;
    /// The same fields, to write the binding.
    fn extra_fields_mut(&mut self) -> &mut BTreeMap<String, Value>;

    /// The root version named, `None` without the field; an error if it is not an integer >= 1.
    /// `file` names the document in the error.
    fn root_binding(&self, file: &str) -> Result<Option<u64>, BindingError> {
        match self.extra_fields().get(ROOT_VERSION_FIELD) {
            None => Ok(None),
            Some(value) => match value.as_u64() {
                Some(v) if v >= 1 => Ok(Some(v)),
                _ => Err(BindingError::Malformed { file: file.to_owned() }),
            },
        }
    }

    /// Binds the metadata to root `version` (writers: before signing).
    fn bind_to_root(&mut self, version: u64) {
        self.extra_fields_mut().insert(ROOT_VERSION_FIELD.to_owned(), Value::from(version));
    }
}

macro_rules! root_bound {
    ($($t:ty),*) => {$(
        impl RootBound for $t {
            fn extra_fields(&self) -> &BTreeMap<String, Value> {
                &self.unknown
            }
            fn extra_fields_mut(&mut self) -> &mut BTreeMap<String, Value> {
                &mut self.unknown
            }
        }
    )*};
}
root_bound!(Targets, Snapshot, Timestamp);

/// Rule (a): current metadata must name exactly the trusted root `trusted` it was verified with.
pub fn check_current(metadata: &impl RootBound, file: &str, trusted: u64) -> Result<(), BindingError> {
    match metadata.root_binding(file)? {
        None => Err(BindingError::Missing { file: file.to_owned(), trusted }),
        Some(found) if found != trusted => Err(BindingError::NotTrustedRoot { file: file.to_owned(), found, trusted }),
        Some(_) => Ok(()),
    }
}

/// What a client has accepted before: the root of the newest snapshot it accepted at or before
/// the snapshot it is checking from. Historical metadata must not be bound to an older root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    /// The snapshot version accepted.
    pub snapshot: u64,
    /// The root its metadata was bound to.
    pub root: u64,
}

/// The roots a client verified, consecutive versions from its trust anchor to the trusted root.
#[derive(Debug, Clone)]
pub struct RootChain {
    roots: Vec<Root>,
}

/// A root that does not follow the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("root {found} does not follow root {last} in the chain")]
pub struct ChainGap {
    /// The version of the chain's last root.
    pub last: u64,
    /// The version of the root offered (not `last + 1`).
    pub found: u64,
}

impl RootChain {
    /// A chain of one root: the trust anchor (already verified, signed by its own keys).
    pub fn new(anchor: Root) -> Self {
        RootChain { roots: vec![anchor] }
    }

    /// Adds the next root, which the caller verified (signed by a threshold of the previous
    /// root's keys and of its own). Its version must be the next one.
    pub fn push(&mut self, root: Root) -> Result<(), ChainGap> {
        let last = self.newest().version;
        if root.version != last + 1 {
            return Err(ChainGap { last, found: root.version });
        }
        self.roots.push(root);
        Ok(())
    }

    /// The trusted (newest) root.
    pub fn newest(&self) -> &Root {
        // Never empty: `new` starts it with the anchor and nothing removes roots.
        &self.roots[self.roots.len() - 1]
    }

    /// The trust anchor (oldest root kept).
    pub fn anchor(&self) -> &Root {
        &self.roots[0]
    }

    /// Root `version`, if it is in the chain.
    pub fn get(&self, version: u64) -> Option<&Root> {
        let first = self.anchor().version;
        version.checked_sub(first).and_then(|i| self.roots.get(usize::try_from(i).ok()?))
    }

    /// Rule (b): the root whose keys verify historical metadata `file` (bound to `binding`, or
    /// to root 1 without the field): in this chain, not newer than the trusted root, and not
    /// older than `floor`.
    pub fn historical(&self, metadata: &impl RootBound, file: &str, floor: Floor) -> Result<&Root, BindingError> {
        let found = metadata.root_binding(file)?.unwrap_or(UNBOUND_ROOT);
        let trusted = self.newest().version;
        if found > trusted {
            return Err(BindingError::FutureRoot { file: file.to_owned(), found, trusted });
        }
        if found < floor.root {
            return Err(BindingError::Decreasing {
                file: file.to_owned(),
                found,
                floor: floor.root,
                accepted: floor.snapshot,
            });
        }
        self.get(found).ok_or_else(|| BindingError::UnknownRoot {
            file: file.to_owned(),
            found,
            first: self.anchor().version,
            last: trusted,
        })
    }
}

#[cfg(test)]
mod tests;
