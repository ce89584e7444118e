//! A full refresh: every mirrored file, the configured list, and the dependency closure of the
//! seeds, checked against upstream and published in a few large snapshots. The daemon runs it
//! every `refresh_interval`; `tufmirror sync` runs it once.
//!
//! Contract: one refresh at a time per mirror (the caller's schedule sees to it); it publishes
//! at least every `PUBLISH_EVERY` (30 s), so a crash loses at most that much work, and it records
//! its end ([`LAST_REFRESH`]) only when it completed. Shutdown stops it between checks and
//! publishes what was checked. Upstream failures of single crates are counted, not retried
//! here: the last good file stays served and the next refresh tries again.

use crate::changes::Changes;
use crate::checker::{CheckResult, Checker};
use crate::clock::Clock;
use crate::config::MirrorConfig;
use crate::downloads::Downloads;
use crate::publisher::{PublishError, Publisher};
use crate::resign::Resigner;
use crate::selection::{Closure, dependencies, lockfile_crates};
use crate::storage::{LAST_REFRESH, Storage};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tufmirror_index::{CrateName, crate_of_path};

/// Crates checked at once (upstream's own limit bounds requests in flight).
const CHUNK: usize = 256;
/// A refresh publishes at least this often, so a long one shows progress and loses little to a crash.
const PUBLISH_EVERY: Duration = Duration::from_secs(30);

/// Why a refresh could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// `mirror.list_file` or one of `mirror.lockfiles` cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// One of `mirror.lockfiles` does not parse as a `Cargo.lock`.
    #[error("{path} is not a Cargo.lock")]
    Lockfile {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: crate::selection::LockfileError,
    },
    /// The state database failed.
    #[error("state database")]
    Store(#[from] tufmirror_store::StoreError),
    /// Publishing what was checked failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Index files checked against upstream.
    pub checked: usize,
    /// Checks that failed (upstream error, invalid file); the last good file stays.
    pub failed: usize,
    /// Checks upstream answered "no such crate".
    pub not_found: usize,
    /// The snapshot the refresh ended with.
    pub snapshot_version: u64,
    /// Index files in that snapshot.
    pub files: usize,
    /// `.crate` files downloaded ahead of time (`mirror.prefetch_crates`).
    pub crates_fetched: usize,
    /// `.crate` downloads ahead of time that failed.
    pub crates_failed: usize,
    /// Stopped early by shutdown.
    pub interrupted: bool,
}

/// Reports progress: a bar on a terminal, log lines otherwise.
pub trait Progress: Send + Sync {
    /// The number of steps the work now has (it may grow as dependencies are found).
    fn set_total(&self, total: u64);
    /// `by` more steps are done; `message` says what is being done.
    fn advance(&self, by: u64, message: &str);
}

/// Progress as log lines, at most every few seconds.
#[derive(Debug, Default)]
pub struct LogProgress {
    state: std::sync::Mutex<(u64, u64, Option<Instant>)>,
}

impl Progress for LogProgress {
    fn set_total(&self, total: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.1 = total;
        }
    }
    fn advance(&self, by: u64, message: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += by;
            if s.2.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                s.2 = Some(Instant::now());
                info!(done = s.0, total = s.1, "{message}");
            }
        }
    }
}

/// Full refreshes (see the module documentation).
#[derive(Debug)]
pub struct Refresh {
    checker: Arc<Checker>,
    publisher: Arc<Publisher>,
    storage: Arc<Storage>,
    downloads: Arc<Downloads>,
    resigner: Arc<Resigner>,
    /// The `[mirror]` section: what to refresh.
    config: MirrorConfig,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
}

/// What a [`Refresh`] is built from.
#[derive(Debug)]
pub struct RefreshParts {
    /// Checks crates.
    pub checker: Arc<Checker>,
    /// Publishes.
    pub publisher: Arc<Publisher>,
    /// The stores.
    pub storage: Arc<Storage>,
    /// Prefetches `.crate` files.
    pub downloads: Arc<Downloads>,
    /// Re-signs what is due before a refresh.
    pub resigner: Arc<Resigner>,
    /// The `[mirror]` section.
    pub config: MirrorConfig,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the mirror shuts down.
    pub shutdown: CancellationToken,
}

impl Refresh {
    /// A refresh over `parts`.
    pub fn new(parts: RefreshParts) -> Refresh {
        let RefreshParts { checker, publisher, storage, downloads, resigner, config, clock, shutdown } = parts;
        Refresh { checker, publisher, storage, downloads, resigner, config, clock, shutdown }
    }

    /// The crates a refresh starts from: everything mirrored, the list file, the seeds and the
    /// packages of the lockfiles.
    fn refresh_roots(&self) -> Result<(BTreeSet<String>, BTreeSet<String>), SyncError> {
        let mirrored: BTreeSet<String> = self
            .publisher
            .current()
            .tree
            .leaves()
            .iter()
            .filter_map(|l| crate_of_path(&l.path).ok())
            .map(|n| n.lowercase())
            .collect();
        let mut listed = BTreeSet::new();
        if let Some(path) = &self.config.list_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| SyncError::Read { path: path.display().to_string(), source })?;
            listed.extend(
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim())
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        let mut seeds: BTreeSet<String> = self.config.seeds.iter().cloned().collect();
        for path in &self.config.lockfiles {
            let text = std::fs::read_to_string(path)
                .map_err(|source| SyncError::Read { path: path.display().to_string(), source })?;
            let crates = lockfile_crates(&text)
                .map_err(|source| SyncError::Lockfile { path: path.display().to_string(), source })?;
            seeds.extend(crates);
        }
        Ok((mirrored.union(&listed).cloned().collect(), seeds))
    }

    /// Checks everything that is mirrored or configured, publishing as it goes, then prefetches
    /// `.crate` files when configured.
    pub async fn sync_all(&self, progress: &dyn Progress) -> Result<SyncReport, SyncError> {
        let started = self.clock.now_unix();
        self.resigner.resign_if_due().await;
        let (plain, seeds) = self.refresh_roots()?;
        let mut closure = Closure::default();
        closure.add(seeds, self.checker.filter());
        let walk: BTreeSet<String> = closure.names().clone();
        let mut queue: Vec<String> = plain.into_iter().filter(|n| !walk.contains(n)).collect();
        queue.reverse();
        let mut report = SyncReport::default();
        progress.set_total((queue.len() + walk.len()) as u64);
        let mut changes = Changes::default();
        let mut last_publish = Instant::now();
        let mut done = BTreeSet::new();
        loop {
            if self.shutdown.is_cancelled() {
                report.interrupted = true;
                break;
            }
            let mut chunk = Vec::new();
            while chunk.len() < CHUNK {
                match closure.next_to_fetch().or_else(|| queue.pop()) {
                    Some(name) if done.insert(name.clone()) => chunk.push(name),
                    Some(_) => {}
                    None => break,
                }
            }
            if chunk.is_empty() {
                break;
            }
            let guard = self.storage.blob_guard.read().await;
            let mut tasks = tokio::task::JoinSet::new();
            for name in chunk {
                let Ok(name) = CrateName::new(&name) else {
                    warn!(name, "not a crate name; skipped");
                    continue;
                };
                let checker = self.checker.clone();
                tasks.spawn(async move { checker.check(name).await });
            }
            let mut checked_now = 0u64;
            loop {
                let joined = tokio::select! {
                    joined = tasks.join_next() => match joined {
                        Some(joined) => joined,
                        None => break,
                    },
                    // Shutdown does not wait for upstream (a hanging request holds a check for
                    // `retries` timeouts): what was checked so far is published below.
                    () = self.shutdown.cancelled(), if !report.interrupted => {
                        tasks.abort_all();
                        report.interrupted = true;
                        continue;
                    }
                };
                let Ok(check) = joined else { continue };
                report.checked += 1;
                checked_now += 1;
                if check.error.is_some() {
                    report.failed += 1;
                } else if matches!(check.result, CheckResult::NotFound) {
                    report.not_found += 1;
                }
                let follow = closure.names().contains(&check.name.lowercase());
                if follow && matches!(check.result, CheckResult::Present) {
                    let lines = self.checker.lines_after(&check);
                    closure.add(dependencies(&lines, self.config.dev_dependencies), self.checker.filter());
                }
                changes.merge(check.changes);
            }
            let pending = queue.len() + closure.names().iter().filter(|n| !done.contains(*n)).count();
            progress.set_total((done.len() + pending) as u64);
            progress.advance(checked_now, "checking index files");
            if last_publish.elapsed() > PUBLISH_EVERY {
                self.publisher.apply(std::mem::take(&mut changes), false).await?;
                last_publish = Instant::now();
            }
            drop(guard);
        }
        if !report.interrupted {
            changes.meta.push((LAST_REFRESH, started.max(0) as u64));
        }
        let published = {
            let _guard = self.storage.blob_guard.read().await;
            self.publisher.apply(changes, false).await?
        };
        report.snapshot_version = published.version();
        report.files = published.tree.len();
        for name in closure.refused() {
            info!(krate = %name, "not mirrored: denied by allow/deny or not a crate name");
        }
        if self.config.prefetch_crates && !report.interrupted {
            let (fetched, failed) = self.prefetch_crates(progress).await;
            report.crates_fetched = fetched;
            report.crates_failed = failed;
        }
        info!(?report, "refresh finished");
        Ok(report)
    }

    /// Downloads every published version's `.crate` the mirror lacks (air-gapped sites).
    pub async fn prefetch_crates(&self, progress: &dyn Progress) -> (usize, usize) {
        let versions = match self.storage.db.all_versions() {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "cannot list versions to prefetch");
                return (0, 0);
            }
        };
        let missing: Vec<_> = versions
            .into_iter()
            .filter(|(krate, _, cksum)| {
                self.checker.allows(krate)
                    && tufmirror_core::Sha256Hash::from_hex(cksum)
                        .is_ok_and(|h| !self.storage.crates.path(&h).is_file())
            })
            .collect();
        progress.set_total(missing.len() as u64);
        let (mut fetched, mut failed) = (0, 0);
        for chunk in missing.chunks(CHUNK) {
            if self.shutdown.is_cancelled() {
                break;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for (krate, vers, _) in chunk {
                let (krate, vers, downloads) = (krate.clone(), vers.clone(), self.downloads.clone());
                tasks.spawn(async move { downloads.crate_file(&krate, &vers).await });
            }
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(Ok(_)) => fetched += 1,
                    Ok(Err(e)) => {
                        failed += 1;
                        warn!(error = %e, "prefetch failed");
                    }
                    Err(_) => failed += 1,
                }
            }
            progress.advance(chunk.len() as u64, "prefetching .crate files");
        }
        (fetched, failed)
    }
}
