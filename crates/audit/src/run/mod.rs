//! [`Auditor`]: one run of the audit. It brings the root chain up to date, then walks the
//! timestamps the mirror signed since the last run, auditing each snapshot a timestamp names
//! before checking the timestamp itself, commits what it checked chunk by chunk, fetches the bytes
//! it still owes from the mirror's current snapshot, and attests when nothing is wrong.

mod prefetch;
mod replay;

use crate::attest::Attestor;
use crate::report::{Attested, Position, Report};
use crate::source::{ROOT_LIMIT, Source, TIMESTAMP_LIMIT};
use crate::state_folder::{Batch, FileRecord, Progress, State, pending_after};
use crate::{AuditError, content};
use replay::{Checker, Stats};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tufmirror_client::Fetcher;
use tufmirror_core::audit_rules::{Attestation, Finding, LeafTree};
use tufmirror_core::metadata::{Role, Root, Timestamp};
use tufmirror_core::verify::{RoleVerifier, parse_unverified, verify_root_update};

/// Timestamps fetched (and committed) together.
const TIMESTAMP_CHUNK: u64 = 512;
/// Snapshots fetched together: their diffs, metadata and changed index files are held in memory.
const SNAPSHOT_CHUNK: u64 = 512;

/// What an [`Auditor`] audits and with what.
#[derive(Debug)]
pub struct AuditorConfig {
    /// The mirror's base URL (`tuf/`, `history/` and `snapshots/` under it).
    pub mirror: String,
    /// The state folder (`tufmirror audit --state`): holds what was checked, so that the next run
    /// reads only what is new.
    pub state_dir: PathBuf,
    /// The root to trust when the state folder is new (the mirror's `1.root.json` to audit all of
    /// history); ignored afterwards: the state holds the verified chain.
    pub trusted_root: Option<Vec<u8>>,
    /// Requests in flight at a time.
    pub jobs: usize,
    /// Signs and writes attestations; `None` audits only.
    pub attestor: Option<Attestor>,
}

/// An auditor bound to one mirror and one state folder. See the module documentation.
#[derive(Debug)]
pub struct Auditor {
    source: Source,
    state: State,
    state_dir: PathBuf,
    jobs: usize,
    attestor: Option<Attestor>,
    /// The tree of the last committed snapshot, kept between runs; `None` after anything that
    /// may have left it ahead of the state (it is then read back from the state).
    tree: Option<LeafTree>,
}

/// Checks that `bytes` is a root signed by a threshold of its own root keys.
fn trust_anchor(bytes: &[u8]) -> Result<Root, AuditError> {
    let bad = |reason: String| AuditError::BadTrustAnchor { reason };
    let (root, signed_bytes) = parse_unverified::<Root>(bytes).map_err(|e| bad(e.to_string()))?;
    RoleVerifier::from_root(&root.signed, Role::Root)
        .and_then(|v| v.verify(&signed_bytes, &root.signatures))
        .map_err(|e| bad(e.to_string()))?;
    Ok(root.signed)
}

impl Auditor {
    /// Opens the state folder (taking its lock); a new one starts from `trusted_root`.
    pub fn open(config: AuditorConfig, fetcher: Arc<dyn Fetcher>) -> Result<Self, AuditError> {
        let source = Source::new(&config.mirror, fetcher);
        let state = State::open(&config.state_dir)?;
        match state.progress()? {
            Some(progress) if progress.mirror != source.base() => {
                return Err(AuditError::OtherMirror {
                    dir: config.state_dir,
                    theirs: progress.mirror,
                    ours: source.base().to_owned(),
                });
            }
            Some(_) => {}
            None => {
                let bytes =
                    config.trusted_root.ok_or_else(|| AuditError::NoTrustAnchor { dir: config.state_dir.clone() })?;
                let root = trust_anchor(&bytes)?;
                let batch = Batch {
                    progress: Some(Progress::new(source.base())),
                    roots: vec![(root.version, bytes)],
                    ..Default::default()
                };
                state.commit(&batch)?;
            }
        }
        Ok(Auditor {
            source,
            state,
            state_dir: config.state_dir,
            jobs: config.jobs.max(1),
            attestor: config.attestor,
            tree: None,
        })
    }

    /// The open state folder.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The attestor; `None`: this auditor attests nothing (no signing key given).
    pub fn attestor(&self) -> Option<&Attestor> {
        self.attestor.as_ref()
    }

    fn damaged(&self, reason: impl ToString) -> AuditError {
        AuditError::Damaged { dir: self.state_dir.clone(), reason: reason.to_string() }
    }

    fn progress(&self) -> Result<Progress, AuditError> {
        self.state.progress()?.ok_or_else(|| self.damaged("no progress record"))
    }

    /// The tree of the last committed snapshot, read from the state and checked against the root
    /// recorded with it.
    fn load_tree(&self, progress: &Progress) -> Result<LeafTree, AuditError> {
        let tree = LeafTree::from_leaves(self.state.leaves()?).map_err(|e| self.damaged(e))?;
        if tree.root() != progress.merkle_root || tree.len() as u64 != progress.tree_size {
            return Err(self.damaged(format!(
                "its leaves give root {} ({} leaves), it recorded {} ({})",
                tree.root(),
                tree.len(),
                progress.merkle_root,
                progress.tree_size
            )));
        }
        Ok(tree)
    }

    /// Audits everything the mirror signed since the last run. `Err`: the audit could not be done
    /// (what was checked before the failure is kept).
    pub async fn run_once(&mut self) -> Result<Report, AuditError> {
        let started = Instant::now();
        let start = self.progress()?;
        let mut tree = match self.tree.take() {
            Some(tree) => tree,
            None => self.load_tree(&start)?,
        };
        let outcome = self.audit(&mut tree, &start).await;
        if let Ok((_, false)) = &outcome {
            self.tree = Some(tree);
        }
        let (mut report, _) = outcome?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// The run; also says whether the tree in memory is still that of the committed state.
    async fn audit(&mut self, tree: &mut LeafTree, start: &Progress) -> Result<(Report, bool), AuditError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (chain, new_roots, root_finding) = self.root_chain(start).await?;
        let current_url = self.source.url("tuf/timestamp.json");
        let current_bytes = self
            .source
            .get("tuf/timestamp.json", TIMESTAMP_LIMIT)
            .await?
            .ok_or_else(|| AuditError::Unusable { url: current_url.clone(), reason: "not found".into() })?;
        let (current, _) = parse_unverified::<Timestamp>(&current_bytes)
            .map_err(|e| AuditError::Unusable { url: current_url, reason: e.to_string() })?;
        let mirror_at =
            Position { snapshot: current.signed.snapshot_version().unwrap_or(0), timestamp: current.signed.version };

        let mut checker = Checker {
            state: &self.state,
            chain: &chain,
            tree,
            progress: start.clone(),
            batch: Batch { roots: new_roots, ..Default::default() },
            found: Vec::new(),
            stats: Stats::default(),
            stopped: None,
            tree_stale: false,
            now,
            open: self.state.findings()?.into_iter().filter(|(_, f)| !f.acknowledged).map(|(_, f)| f.finding).collect(),
        };
        if let Some(finding) = root_finding {
            checker.keep_one(finding);
        }
        if mirror_at.timestamp < start.timestamp_version {
            checker.keep_one(Finding::BadMetadata {
                file: "tuf/timestamp.json".into(),
                snapshot: mirror_at.snapshot,
                reason: format!(
                    "the mirror serves timestamp version {}, older than version {} already audited",
                    mirror_at.timestamp, start.timestamp_version
                ),
            });
        }

        let last_history = Self::walk(&self.source, self.jobs, &mut checker, mirror_at).await?;
        if checker.stopped.is_none() && checker.progress.timestamp_version == mirror_at.timestamp {
            let history = last_history.as_deref().and_then(replay::signed_part);
            if history.is_some() && history != replay::signed_part(&current_bytes) {
                checker.keep_one(Finding::ConflictingTimestamps {
                    timestamp_version: mirror_at.timestamp,
                    snapshot: mirror_at.snapshot,
                });
            }
        }
        let pending =
            if checker.stopped.is_none() { Self::settle(&self.source, self.jobs, &mut checker).await? } else { 0 };

        checker.commit()?;
        let Checker { progress, found, stats, stopped, tree_stale, .. } = checker;

        let open_findings = self.state.findings()?.iter().filter(|(_, f)| !f.acknowledged).count() as u64;
        let incomplete = match (&stopped, pending) {
            (Some(finding), _) => Some(format!("stopped at snapshot {}: {finding}", finding.snapshot())),
            (None, 0) => None,
            (None, n) => Some(format!(
                "the mirror did not serve the bytes of {n} index file(s) of snapshot {}: their versions are not \
                 checked yet (the next run tries again)",
                progress.snapshot_version
            )),
        };
        let to = Position { snapshot: progress.snapshot_version, timestamp: progress.timestamp_version };
        let attested = if open_findings == 0 && incomplete.is_none() { self.attest(progress).await? } else { None };
        let report = Report {
            mirror: self.source.base().to_owned(),
            from: Position { snapshot: start.snapshot_version, timestamp: start.timestamp_version },
            to,
            mirror_at,
            snapshots_checked: stats.snapshots,
            timestamps_checked: stats.timestamps,
            files_checked: stats.files_checked,
            files_unavailable: pending,
            findings: found,
            open_findings,
            incomplete,
            attested,
            seconds: 0.0,
        };
        Ok((report, tree_stale))
    }

    /// The trusted root chain: the state's, then every newer root the mirror has that the one
    /// before it signs (each also by a threshold of its own keys). A root that fails is a finding,
    /// and the chain stops before it.
    async fn root_chain(
        &self,
        start: &Progress,
    ) -> Result<(Vec<Root>, Vec<(u64, Vec<u8>)>, Option<Finding>), AuditError> {
        let mut chain = Vec::new();
        for bytes in self.state.roots()? {
            let (root, _) = parse_unverified::<Root>(&bytes).map_err(|e| self.damaged(e))?;
            chain.push(root.signed);
        }
        let mut new = Vec::new();
        loop {
            let Some(last) = chain.last() else { return Err(self.damaged("no trusted root")) };
            let next = last.version + 1;
            let file = format!("tuf/{next}.root.json");
            let Some(bytes) = self.source.get(&file, ROOT_LIMIT).await? else { break };
            match verify_root_update(last, &bytes) {
                Ok(root) => {
                    chain.push(root.signed);
                    new.push((next, bytes));
                }
                Err(e) => {
                    let finding = Finding::NotSigned {
                        file,
                        role: Role::Root,
                        snapshot: start.snapshot_version,
                        reason: e.to_string(),
                    };
                    return Ok((chain, new, Some(finding)));
                }
            }
        }
        Ok((chain, new, None))
    }

    /// Walks the timestamps after the last audited one up to `mirror_at`, auditing the snapshots
    /// each names first, committing after every chunk. Returns the bytes of the last timestamp read.
    async fn walk(
        source: &Source,
        jobs: usize,
        checker: &mut Checker<'_>,
        mirror_at: Position,
    ) -> Result<Option<Vec<u8>>, AuditError> {
        let mut prefetched: VecDeque<prefetch::SnapshotFiles> = VecDeque::new();
        let mut contents = prefetch::Contents::new();
        let mut last_bytes = None;
        let mut v = checker.progress.timestamp_version + 1;
        'chunks: while v <= mirror_at.timestamp {
            let end = mirror_at.timestamp.min(v + TIMESTAMP_CHUNK - 1);
            let timestamps = prefetch::timestamps(source, v..=end, jobs).await?;
            // How far this chunk's timestamps reach (unverified: only to size the prefetch).
            let horizon = timestamps
                .iter()
                .filter_map(|(_, b)| parse_unverified::<Timestamp>(b.as_deref()?).ok()?.0.signed.snapshot_version())
                .max()
                .unwrap_or(0);
            for (version, bytes) in timestamps {
                let Some(read) = checker.read_timestamp(version, bytes.as_deref()) else { break 'chunks };
                last_bytes = bytes;
                if read.signed_under.is_some() {
                    let need = read.timestamp.snapshot_version().unwrap_or(0);
                    while checker.progress.snapshot_version < need {
                        if prefetched.is_empty() {
                            let from = checker.progress.snapshot_version + 1;
                            let to = horizon.max(need).min(from + SNAPSHOT_CHUNK - 1);
                            let files = prefetch::snapshots(source, from..=to, jobs).await?;
                            contents = prefetch::contents(source, &files, mirror_at.snapshot, jobs).await?;
                            prefetched = files.into();
                        }
                        let Some(files) = prefetched.pop_front() else { break 'chunks };
                        if !checker.snapshot(&files, &contents)? {
                            break 'chunks;
                        }
                    }
                }
                checker.timestamp(&read)?;
            }
            checker.commit()?;
            v = end + 1;
        }
        Ok(last_bytes)
    }

    /// Fetches the bytes still owed (files whose bytes were not served when they changed) from the
    /// last audited snapshot and compares them with what was last verified. Returns how many are
    /// still owed.
    async fn settle(source: &Source, jobs: usize, checker: &mut Checker<'_>) -> Result<u64, AuditError> {
        let n = checker.progress.snapshot_version;
        let owed = pending_after(checker.state.pending()?, &checker.batch);
        let mut requests = Vec::new();
        for path in owed.keys() {
            match checker.tree.get(path) {
                Some(leaf) => requests.push((leaf.clone(), format!("snapshots/{n}/index/{path}"), leaf.length)),
                None => {
                    checker.batch.pending.insert(path.clone(), None);
                }
            }
        }
        let fetched =
            source.get_many(requests, jobs, true, |leaf, bytes| content::read(&leaf.path, &leaf.sha256, bytes)).await?;
        let mut still_owed = 0;
        for (leaf, content) in fetched {
            match content {
                content::Content::Versions(versions) => {
                    if let Some(before) = checker.record(&leaf.path)? {
                        let findings = content::compare(&leaf.path, &before, &versions, n);
                        checker.keep(findings);
                    }
                    checker.batch.records.insert(leaf.path.clone(), Some(FileRecord { snapshot: n, versions }));
                    checker.batch.pending.insert(leaf.path.clone(), None);
                    checker.stats.files_checked += 1;
                }
                content::Content::Invalid(reason) => {
                    checker.keep_one(Finding::InvalidIndexFile {
                        krate: tufmirror_core::audit_rules::crate_of(&leaf.path),
                        path: leaf.path.clone(),
                        snapshot: n,
                        reason,
                    });
                    checker.batch.pending.insert(leaf.path.clone(), None);
                }
                content::Content::Unavailable => still_owed += 1,
            }
        }
        Ok(still_owed)
    }

    /// Signs an attestation of the last audited snapshot, if an attestor is configured, the
    /// newest timestamp was checked and names that snapshot, and it was not attested already.
    async fn attest(&self, progress: Progress) -> Result<Option<Attested>, AuditError> {
        let Some(attestor) = &self.attestor else { return Ok(None) };
        let (n, v) = (progress.snapshot_version, progress.timestamp_version);
        if n == 0 || progress.trusted_timestamp != v || progress.trusted_timestamp_snapshot != n {
            return Ok(None);
        }
        let file = attestor.out().join(crate::attest::attestation_name(n));
        if progress.attested == Some((n, v)) && file.exists() {
            return Ok(None);
        }
        let path = attestor.attest(Attestation::new(n, progress.merkle_root, progress.tree_size, v)).await?;
        let batch = Batch { progress: Some(Progress { attested: Some((n, v)), ..progress }), ..Default::default() };
        self.state.commit(&batch)?;
        tracing::info!(snapshot = n, timestamp = v, file = %path.display(), "attested");
        Ok(Some(Attested { snapshot: n, timestamp: v, file: path.display().to_string() }))
    }
}
