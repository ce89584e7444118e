//! What a chunk of history needs from the mirror, fetched many files at a time before anything is
//! checked: timestamps, each snapshot's diff, snapshot and targets metadata, and the bytes of
//! every index file the diffs add or change.

use crate::AuditError;
use crate::content::{self, Content};
use crate::source::{DIFF_LIMIT, METADATA_LIMIT, Source, TIMESTAMP_LIMIT};
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::SnapshotDiff;
use tufmirror_core::metadata::Snapshot;
use tufmirror_core::verify::parse_unverified;

/// One snapshot's files as the mirror served them (`None`: not found).
#[derive(Debug)]
pub(super) struct SnapshotFiles {
    pub version: u64,
    pub diff: Option<Result<SnapshotDiff, serde_json::Error>>,
    pub snapshot: Option<Vec<u8>>,
    /// The targets version that the snapshot metadata names, and that file.
    pub targets: Option<(u64, Option<Vec<u8>>)>,
}

/// Index file bytes by (path, SHA-256), already read into versions.
pub(super) type Contents = HashMap<(String, Sha256Hash), Content>;

pub(super) fn diff_path(n: u64) -> String {
    format!("history/{n}.diff.json")
}
pub(super) fn snapshot_path(n: u64) -> String {
    format!("tuf/{n}.snapshot.json")
}
pub(super) fn targets_path(n: u64) -> String {
    format!("tuf/{n}.targets.json")
}
pub(super) fn timestamp_path(v: u64) -> String {
    format!("history/{v}.timestamp.json")
}

/// `history/V.timestamp.json` for every V of `range`.
pub(super) async fn timestamps(
    source: &Source,
    range: RangeInclusive<u64>,
    jobs: usize,
) -> Result<Vec<(u64, Option<Vec<u8>>)>, AuditError> {
    let requests = range.map(|v| (v, timestamp_path(v), TIMESTAMP_LIMIT)).collect();
    source.get_many(requests, jobs, false, |_, bytes| bytes).await
}

/// Diff, snapshot metadata and targets metadata of every snapshot of `range`.
pub(super) async fn snapshots(
    source: &Source,
    range: RangeInclusive<u64>,
    jobs: usize,
) -> Result<Vec<SnapshotFiles>, AuditError> {
    let mut requests = Vec::new();
    for n in range.clone() {
        requests.push(((n, true), diff_path(n), DIFF_LIMIT));
        requests.push(((n, false), snapshot_path(n), METADATA_LIMIT));
    }
    let fetched = source
        .get_many(requests, jobs, false, |(_, is_diff), bytes| match (is_diff, bytes) {
            (true, Some(bytes)) => (None, Some(serde_json::from_slice::<SnapshotDiff>(&bytes))),
            (false, bytes) => (bytes, None),
            (true, None) => (None, None),
        })
        .await?;
    let mut files: BTreeMap<u64, SnapshotFiles> =
        range.map(|n| (n, SnapshotFiles { version: n, diff: None, snapshot: None, targets: None })).collect();
    for ((n, is_diff), (bytes, diff)) in fetched {
        if let Some(f) = files.get_mut(&n) {
            if is_diff {
                f.diff = diff;
            } else {
                f.snapshot = bytes;
            }
        }
    }
    // The targets version comes from the snapshot metadata (it equals N in tufmirror's own output,
    // but that is not something to rely on). Its signature is checked later, with everything else.
    let targets: Vec<(u64, String, u64)> = files
        .values()
        .filter_map(|f| {
            let (snapshot, _) = parse_unverified::<Snapshot>(f.snapshot.as_deref()?).ok()?;
            let t = snapshot.signed.targets_version()?;
            Some((f.version, targets_path(t), METADATA_LIMIT))
        })
        .collect();
    let versions: HashMap<u64, u64> = targets
        .iter()
        .filter_map(|(n, path, _)| Some((*n, path.strip_prefix("tuf/")?.split('.').next()?.parse().ok()?)))
        .collect();
    for (n, bytes) in source.get_many(targets, jobs, false, |_, bytes| bytes).await? {
        if let (Some(f), Some(t)) = (files.get_mut(&n), versions.get(&n)) {
            f.targets = Some((*t, bytes));
        }
    }
    Ok(files.into_values().collect())
}

/// The bytes of every file the diffs of `files` add or change, each fetched from the newest
/// snapshot that still holds them: the snapshot before the path changes again within `files`, or
/// else `newest` (the mirror's current snapshot). Older snapshots expire; the newest is retained
/// (docs/POUF.md 2.1), so this is where bytes are most likely still served.
pub(super) async fn contents(
    source: &Source,
    files: &[SnapshotFiles],
    newest: u64,
    jobs: usize,
) -> Result<Contents, AuditError> {
    let diffs: Vec<&SnapshotDiff> = files.iter().filter_map(|f| f.diff.as_ref()?.as_ref().ok()).collect();
    let last = diffs.last().map_or(newest, |d| d.snapshot_version).max(newest);
    // For each path, the snapshots (ascending) at which the diffs touch it.
    let mut touched: HashMap<&str, Vec<u64>> = HashMap::new();
    for d in &diffs {
        for path in
            d.added.iter().chain(&d.changed).map(|l| l.path.as_str()).chain(d.removed.iter().map(String::as_str))
        {
            touched.entry(path).or_default().push(d.snapshot_version);
        }
    }
    let mut wanted: HashMap<(String, Sha256Hash), (u64, u64)> = HashMap::new();
    for d in &diffs {
        for leaf in d.added.iter().chain(&d.changed) {
            let next = touched.get(leaf.path.as_str()).and_then(|at| at.iter().find(|n| **n > d.snapshot_version));
            let holder = next.map_or(last, |n| n - 1);
            let entry = wanted.entry((leaf.path.clone(), leaf.sha256)).or_insert((holder, leaf.length));
            entry.0 = entry.0.max(holder);
        }
    }
    let requests = wanted
        .into_iter()
        .map(|(key, (holder, length))| {
            let path = format!("snapshots/{holder}/index/{}", key.0);
            (key, path, length)
        })
        .collect();
    let read = source.get_many(requests, jobs, true, |(path, sha), bytes| content::read(path, sha, bytes)).await?;
    Ok(read.into_iter().collect())
}
