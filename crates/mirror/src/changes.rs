//! What one publish changes: gathered by checks, the quarantine and maintenance, merged, and
//! handed to the publisher, which applies all of it in one database transaction.

use std::collections::BTreeMap;
use tufmirror_store::{FileRecord, QuarantineRecord};

/// What one publish changes.
#[derive(Debug, Default)]
pub struct Changes {
    /// New or replaced files (`Some`), files that leave the mirror (`None`), and files that were
    /// checked and are unchanged (`Some` with the same hash: only the record moves).
    pub files: Vec<(String, Option<FileRecord>)>,
    /// Versions published for the first time: (crate, vers, cksum).
    pub versions: Vec<(String, String, String)>,
    /// Versions whose cksum an operator accepted to change.
    pub replaced_versions: Vec<(String, String, String)>,
    /// Quarantine records to write (`Some`) or clear (`None`), by path.
    pub quarantine: Vec<(String, Option<QuarantineRecord>)>,
    /// Why each removed path left (signed into the removal record).
    pub removal_reasons: BTreeMap<String, String>,
    /// `meta` counters to set (see [`crate::storage::LAST_REFRESH`]).
    pub meta: Vec<(&'static str, u64)>,
}

impl Changes {
    /// Adds another check's changes to these.
    pub fn merge(&mut self, other: Changes) {
        self.files.extend(other.files);
        self.versions.extend(other.versions);
        self.replaced_versions.extend(other.replaced_versions);
        self.quarantine.extend(other.quarantine);
        self.removal_reasons.extend(other.removal_reasons);
        self.meta.extend(other.meta);
    }

    /// Whether applying these would change nothing at all.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.quarantine.is_empty() && self.meta.is_empty()
    }
}
