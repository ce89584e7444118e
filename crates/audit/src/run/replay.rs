//! Checking fetched history, one snapshot and one timestamp at a time, into a [`Batch`]: the
//! rules are `tufmirror_core::audit_rules`'s and `crate::content`'s; this is the bookkeeping around them
//! (which root signs what, what the state learns, which findings are kept).

use super::prefetch::{Contents, SnapshotFiles, diff_path, snapshot_path, targets_path, timestamp_path};
use crate::AuditError;
use crate::content::{self, Content};
use crate::state_folder::{Batch, FileRecord, Progress, SnapshotInfo, State, StoredFinding};
use serde_json::Value;
use tufmirror_core::Sha256Hash;
use tufmirror_core::audit_rules::rules::{PreviousTimestamp, bound_root, check_removals, check_timestamp};
use tufmirror_core::audit_rules::{Finding, LeafTree};
use tufmirror_core::binding::RootBound;
use tufmirror_core::metadata::{MetaFile, Metadata, Role, Root, Signed, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::parse_unverified;

/// Counts for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Stats {
    pub snapshots: u64,
    pub timestamps: u64,
    /// Index files whose versions were compared (or recorded for the first time).
    pub files_checked: u64,
}

/// A timestamp that was read and verified, waiting for the snapshots it names to be audited.
#[derive(Debug)]
pub(super) struct ReadTimestamp {
    pub version: u64,
    pub timestamp: Timestamp,
    /// The root version whose timestamp keys signed it; `None`: not signed.
    pub signed_under: Option<u64>,
}

/// The state of a run: what has been checked since the last commit, and what was found.
#[derive(Debug)]
pub(super) struct Checker<'a> {
    pub state: &'a State,
    pub chain: &'a [Root],
    pub tree: &'a mut LeafTree,
    pub progress: Progress,
    pub batch: Batch,
    /// Every finding of this run, in the order found (kept ones and the one that stopped it).
    pub found: Vec<Finding>,
    pub stats: Stats,
    /// Why the run could not go on (a finding that leaves the tree unknown).
    pub stopped: Option<Finding>,
    /// The tree holds a diff's result that was not accepted: reload it from the state.
    pub tree_stale: bool,
    pub now: i64,
    /// Findings already kept in the state and still open: found again (a mirror that keeps
    /// serving the same wrong file), they are reported but not stored twice.
    pub open: Vec<Finding>,
}

/// The `signed` part of a metadata file, to compare two files' statements.
pub(super) fn signed_part(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(bytes).ok()?.get("signed").cloned()
}

/// Whether `pin` (length and hashes from the metadata that names a file) matches `info`'s.
fn pins(pin: &MetaFile, sha256: &Sha256Hash, length: u64) -> bool {
    pin.length.is_none_or(|l| l == length)
        && pin.hashes.as_ref().is_none_or(|h| h.get("sha256").is_none_or(|s| *s == sha256.to_hex()))
}

impl Checker<'_> {
    /// Findings that are kept: in the report and, with the next commit, in the state.
    pub(super) fn keep(&mut self, findings: impl IntoIterator<Item = Finding>) {
        for finding in findings {
            if !self.open.contains(&finding) {
                self.open.push(finding.clone());
                self.batch.findings.push(StoredFinding {
                    finding: finding.clone(),
                    found_at: self.now,
                    acknowledged: false,
                });
            }
            self.found.push(finding);
        }
    }

    pub(super) fn keep_one(&mut self, finding: Finding) {
        self.keep([finding]);
    }

    /// Commits what was checked so far, with the progress it reached.
    pub(super) fn commit(&mut self) -> Result<(), AuditError> {
        let mut batch = std::mem::take(&mut self.batch);
        batch.progress = Some(self.progress.clone());
        self.state.commit(&batch)?;
        Ok(())
    }

    fn stop(&mut self, finding: Finding) {
        self.found.push(finding.clone());
        self.stopped = Some(finding);
    }

    pub(super) fn record(&self, path: &str) -> Result<Option<FileRecord>, AuditError> {
        match self.batch.records.get(path) {
            Some(record) => Ok(record.clone()),
            None => Ok(self.state.record(path)?),
        }
    }

    pub(super) fn snapshot_info(&self, n: u64) -> Result<Option<SnapshotInfo>, AuditError> {
        match self.batch.snapshots.get(&n) {
            Some(info) => Ok(Some(*info)),
            None => Ok(self.state.snapshot(n)?),
        }
    }

    /// Parses metadata of role `T` and checks it with the root it is bound to
    /// (`x-tufmirror-root-version`, docs/POUF.md 1.9), which must not be older than the root the
    /// role's last metadata was bound to. `Err`: the finding that says what is wrong (a bad or
    /// decreasing binding is a [`Finding::BadMetadata`]); `None` for the root: not signed by it.
    fn verified<T: Metadata + RootBound>(
        &self,
        bytes: &[u8],
        file: &str,
        snapshot: u64,
    ) -> Result<(Signed<T>, Option<u64>), Box<Finding>> {
        let bad = |reason: String| Box::new(Finding::BadMetadata { file: file.to_owned(), snapshot, reason });
        let (signed, signed_bytes) = parse_unverified::<T>(bytes).map_err(|e| bad(e.to_string()))?;
        let binding = signed.signed.root_binding(file).map_err(|e| bad(e.to_string()))?;
        let at_least = self.progress.root_used.get(&T::ROLE).copied().unwrap_or(0);
        let root = bound_root(self.chain, at_least, T::ROLE, binding, &signed_bytes, &signed.signatures)
            .map_err(|e| bad(e.to_string()))?;
        Ok((signed, root))
    }

    fn not_signed(&self, role: Role, file: &str, snapshot: u64, metadata: &impl RootBound) -> Finding {
        let bound = metadata.root_binding(file).ok().flatten().unwrap_or(tufmirror_core::binding::UNBOUND_ROOT);
        let reason = format!("no threshold of the {role} keys of root {bound}, which it is bound to, signed it");
        Finding::NotSigned { file: file.to_owned(), role, snapshot, reason }
    }

    /// Audits snapshot `files.version`, the one after `self.progress.snapshot_version`. Returns
    /// whether the run can go on.
    pub(super) fn snapshot(&mut self, files: &SnapshotFiles, contents: &Contents) -> Result<bool, AuditError> {
        let n = files.version;
        let previous = self.progress.snapshot_version;
        let before = self.progress.clone();
        let mut findings = Vec::new();

        // The snapshot metadata and the targets metadata it names: signatures, versions, pins.
        let snapshot_file = snapshot_path(n);
        let mut targets_pin = None;
        let mut snapshot_pin = None;
        match files.snapshot.as_deref() {
            None => findings.push(Finding::BadMetadata {
                file: snapshot_file.clone(),
                snapshot: n,
                reason: "it is missing: signed metadata must be kept forever".into(),
            }),
            Some(bytes) => {
                snapshot_pin = Some((Sha256Hash::of(bytes), bytes.len() as u64));
                match self.verified::<Snapshot>(bytes, &snapshot_file, n) {
                    Err(f) => findings.push(*f),
                    Ok((snapshot, root)) => {
                        match root {
                            Some(r) => {
                                self.progress.root_used.insert(Role::Snapshot, r);
                            }
                            None => findings.push(self.not_signed(Role::Snapshot, &snapshot_file, n, &snapshot.signed)),
                        }
                        if snapshot.signed.version != n {
                            findings.push(Finding::BadMetadata {
                                file: snapshot_file.clone(),
                                snapshot: n,
                                reason: format!("it is snapshot version {}", snapshot.signed.version),
                            });
                        }
                        targets_pin = snapshot.signed.meta.get("targets.json").cloned();
                    }
                }
            }
        }
        let targets = self.targets(files, targets_pin.as_ref(), &mut findings);

        // The diff: it must apply to the tree the auditor holds and give the root it claims.
        // A snapshot whose diff is not accepted changes nothing: the run stops before it.
        let invalid = |reason: String| Finding::InvalidDiff { snapshot: n, previous_snapshot: previous, reason };
        let diff = match &files.diff {
            None => Err(Finding::MissingHistory { file: diff_path(n), snapshot: n }),
            Some(Err(e)) => Err(invalid(e.to_string())),
            Some(Ok(diff)) if diff.snapshot_version != n => {
                Err(invalid(format!("it is the diff of snapshot {}", diff.snapshot_version)))
            }
            Some(Ok(diff)) => match self.tree.apply(diff, previous) {
                Err(e) => Err(invalid(e.to_string())),
                Ok(root) if root != diff.merkle_root => {
                    self.tree_stale = true;
                    Err(invalid(format!("it gives root {root}, it says {}", diff.merkle_root)))
                }
                Ok(_) => Ok(diff),
            },
        };
        let diff = match diff {
            Ok(diff) => diff,
            Err(finding) => {
                self.progress = before;
                self.stop(finding);
                return Ok(false);
            }
        };

        // Removal records: only the targets role can make a file leave.
        match &targets {
            Some((t, has_field, signed, file)) => {
                findings.extend(check_removals(n, &diff.removed, t, *has_field, *signed, file));
            }
            None => findings.extend(diff.removed.iter().map(|path| Finding::RemovedWithoutRecord {
                krate: tufmirror_core::audit_rules::crate_of(path),
                path: path.clone(),
                previous_snapshot: previous,
                snapshot: n,
                reason: format!("the targets metadata of snapshot {n} is missing or unreadable"),
            })),
        }

        // Index contents: versions only move forward.
        for leaf in diff.added.iter().chain(&diff.changed) {
            self.batch.leaves.insert(leaf.path.clone(), Some((leaf.length, leaf.sha256)));
            match contents.get(&(leaf.path.clone(), leaf.sha256)) {
                Some(Content::Versions(versions)) => {
                    if let Some(before) = self.record(&leaf.path)? {
                        findings.extend(content::compare(&leaf.path, &before, versions, n));
                    }
                    let record = FileRecord { snapshot: n, versions: versions.clone() };
                    self.batch.records.insert(leaf.path.clone(), Some(record));
                    self.batch.pending.insert(leaf.path.clone(), None);
                    self.stats.files_checked += 1;
                }
                Some(Content::Invalid(reason)) => {
                    // Reported; the record stays what was last verified, and nothing is owed.
                    findings.push(Finding::InvalidIndexFile {
                        krate: tufmirror_core::audit_rules::crate_of(&leaf.path),
                        path: leaf.path.clone(),
                        snapshot: n,
                        reason: reason.clone(),
                    });
                    self.batch.pending.insert(leaf.path.clone(), None);
                }
                Some(Content::Unavailable) | None => {
                    // Owed: compared when the mirror serves these or later bytes of the file.
                    self.batch.pending.insert(leaf.path.clone(), Some(n));
                }
            }
        }
        for path in &diff.removed {
            self.batch.leaves.insert(path.clone(), None);
            self.batch.records.insert(path.clone(), None);
            self.batch.pending.insert(path.clone(), None);
        }

        let (metadata_sha256, metadata_length) = snapshot_pin.unwrap_or_default();
        let info =
            SnapshotInfo { merkle_root: diff.merkle_root, tree_size: diff.tree_size, metadata_sha256, metadata_length };
        self.batch.snapshots.insert(n, info);
        self.progress.snapshot_version = n;
        self.progress.merkle_root = diff.merkle_root;
        self.progress.tree_size = diff.tree_size;
        self.stats.snapshots += 1;
        self.keep(findings);
        Ok(true)
    }

    /// The targets metadata of snapshot `files.version`: (metadata, has `x-tufmirror-removals`,
    /// signed by the targets role, file name), or `None` when it cannot be read at all.
    fn targets(
        &mut self,
        files: &SnapshotFiles,
        pin: Option<&MetaFile>,
        findings: &mut Vec<Finding>,
    ) -> Option<(Targets, bool, bool, String)> {
        let n = files.version;
        let Some((t, bytes)) = &files.targets else {
            findings.push(Finding::BadMetadata {
                file: snapshot_path(n),
                snapshot: n,
                reason: "it names no usable targets metadata".into(),
            });
            return None;
        };
        let file = targets_path(*t);
        let Some(bytes) = bytes else {
            findings.push(Finding::BadMetadata {
                file,
                snapshot: n,
                reason: "it is missing: signed metadata must be kept forever".into(),
            });
            return None;
        };
        if pin.is_some_and(|p| !pins(p, &Sha256Hash::of(bytes), bytes.len() as u64)) {
            findings.push(Finding::BadMetadata {
                file: file.clone(),
                snapshot: n,
                reason: format!("its length or hash is not what {} pins", snapshot_path(n)),
            });
        }
        if *t < self.progress.targets_version {
            findings.push(Finding::BadMetadata {
                file: file.clone(),
                snapshot: n,
                reason: format!(
                    "targets version {t} is older than {} of the snapshot before",
                    self.progress.targets_version
                ),
            });
        }
        let (targets, root) = match self.verified::<Targets>(bytes, &file, n) {
            Ok(parsed) => parsed,
            Err(f) => {
                findings.push(*f);
                return None;
            }
        };
        match root {
            Some(r) => {
                self.progress.root_used.insert(Role::Targets, r);
            }
            None => findings.push(self.not_signed(Role::Targets, &file, n, &targets.signed)),
        }
        self.progress.targets_version = self.progress.targets_version.max(*t);
        let has_field = signed_part(bytes).is_some_and(|s| s.get(tufmirror_core::metadata::REMOVALS_FIELD).is_some());
        Some((targets.signed, has_field, root.is_some(), file))
    }

    /// Reads timestamp `version` from history and checks its signature. `None`: the run cannot
    /// go on (the timestamp is missing or not readable: the sequence has a gap).
    pub(super) fn read_timestamp(&mut self, version: u64, bytes: Option<&[u8]>) -> Option<ReadTimestamp> {
        let file = timestamp_path(version);
        let snapshot = self.progress.trusted_timestamp_snapshot;
        let Some(bytes) = bytes else {
            self.stop(Finding::MissingHistory { file, snapshot });
            return None;
        };
        match self.verified::<Timestamp>(bytes, &file, snapshot) {
            Err(f) => {
                self.stop(*f);
                None
            }
            Ok((timestamp, signed_under)) => Some(ReadTimestamp { version, timestamp: timestamp.signed, signed_under }),
        }
    }

    /// Checks a timestamp once the snapshots it names are audited: signed, moving forward, and
    /// signing the recomputed root of its snapshot.
    pub(super) fn timestamp(&mut self, read: &ReadTimestamp) -> Result<(), AuditError> {
        let version = read.version;
        let ts = &read.timestamp;
        let file = timestamp_path(version);
        let snapshot = ts.snapshot_version().unwrap_or(0);
        self.progress.timestamp_version = version;
        self.stats.timestamps += 1;
        let Some(root) = read.signed_under else {
            // A forged timestamp says nothing about the mirror's history: report it, skip it.
            let finding = self.not_signed(Role::Timestamp, &file, snapshot, ts);
            self.keep([finding]);
            return Ok(());
        };
        self.progress.root_used.insert(Role::Timestamp, root);
        let Some(info) = self.snapshot_info(snapshot)? else {
            self.keep([Finding::BadMetadata {
                file,
                snapshot,
                reason: format!("it names snapshot {snapshot}, which the auditor has no record of"),
            }]);
            return Ok(());
        };
        let previous = PreviousTimestamp {
            version: self.progress.trusted_timestamp,
            snapshot: self.progress.trusted_timestamp_snapshot,
        };
        let mut findings = check_timestamp(version, ts, previous, (info.merkle_root, info.tree_size));
        if let Some(pin) = ts.meta.get("snapshot.json")
            && !pins(pin, &info.metadata_sha256, info.metadata_length)
        {
            findings.push(Finding::BadMetadata {
                file,
                snapshot,
                reason: format!("its length or hash is not that of {}", snapshot_path(snapshot)),
            });
        }
        if snapshot >= previous.snapshot {
            self.progress.trusted_timestamp = version;
            self.progress.trusted_timestamp_snapshot = snapshot;
        }
        self.keep(findings);
        Ok(())
    }
}
