//! The daemon's schedule: re-sign metadata well before it expires, refresh everything on
//! schedule (or when asked: `/admin/sync`, SIGHUP), and collect blobs that no retained snapshot
//! needs.
//!
//! Contract: [`Maintenance::run`] is the only caller of scheduled refreshes and garbage
//! collection, so neither overlaps itself. Garbage collection holds
//! [`Storage::blob_guard`] exclusively: no check stores a blob while it decides what is
//! referenced. A failure of any step is logged and retried at the next tick; nothing here can
//! change what is served except through the publisher.

use crate::clock::Clock;
use crate::config::MirrorConfig;
use crate::publisher::Publisher;
use crate::refresh::{LogProgress, Refresh};
use crate::resign::Resigner;
use crate::retention::Retention;
use crate::storage::{LAST_REFRESH, Storage};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::LeafList;

/// How often the schedule looks at what is due.
const TICK: Duration = Duration::from_secs(20);
/// How often the expiry of the root is looked at (and warned about, when close).
const ROOT_CHECK_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The schedule (see the module documentation).
#[derive(Debug)]
pub struct Maintenance {
    resigner: Arc<Resigner>,
    refresh: Arc<Refresh>,
    publisher: Arc<Publisher>,
    storage: Arc<Storage>,
    retention: Arc<Retention>,
    /// The `[mirror]` section: what is configured, and `refresh_interval`.
    config: MirrorConfig,
    clock: Arc<dyn Clock>,
    /// Unix seconds when this process opened the mirror.
    started_at: i64,
    /// Wakes the loop for a refresh now.
    sync_now: Notify,
    shutdown: CancellationToken,
}

/// What a [`Maintenance`] schedule is built from.
#[derive(Debug)]
pub struct MaintenanceParts {
    /// Re-signs.
    pub resigner: Arc<Resigner>,
    /// Refreshes.
    pub refresh: Arc<Refresh>,
    /// The current snapshot.
    pub publisher: Arc<Publisher>,
    /// The stores.
    pub storage: Arc<Storage>,
    /// What garbage collection keeps.
    pub retention: Arc<Retention>,
    /// The `[mirror]` section.
    pub config: MirrorConfig,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the mirror shuts down.
    pub shutdown: CancellationToken,
}

impl Maintenance {
    /// A schedule over `parts`, starting now.
    pub fn new(parts: MaintenanceParts) -> Maintenance {
        let MaintenanceParts { resigner, refresh, publisher, storage, retention, config, clock, shutdown } = parts;
        let started_at = clock.now_unix();
        Maintenance {
            resigner,
            refresh,
            publisher,
            storage,
            retention,
            config,
            clock,
            started_at,
            sync_now: Notify::new(),
            shutdown,
        }
    }

    /// Asks for a refresh now (`/admin/sync`, SIGHUP): the running loop starts one at once.
    pub fn sync_now(&self) {
        self.sync_now.notify_one();
    }

    /// Whether the scheduled refresh is due.
    pub fn refresh_due(&self) -> bool {
        let m = &self.config;
        let configured = !m.seeds.is_empty() || !m.lockfiles.is_empty() || m.list_file.is_some();
        // Without configured crates, files fetched on demand are first refreshed one interval
        // after start (requests revalidate them after `revalidate_after` anyway).
        let last = match self.storage.db.meta(LAST_REFRESH).ok().flatten() {
            Some(t) => t as i64,
            None if configured => 0,
            None => self.started_at,
        };
        let has_work = configured || !self.publisher.current().tree.is_empty();
        has_work && last + m.refresh_interval.as_secs() as i64 <= self.clock.now_unix()
    }

    /// Removes blobs that neither a retained snapshot nor the quarantine refers to.
    pub async fn collect_garbage(&self) -> std::io::Result<usize> {
        let _exclusive = self.storage.blob_guard.write().await;
        let mut keep: HashSet<Sha256Hash> = HashSet::new();
        let current = self.publisher.current();
        for version in self.retention.oldest_retained()..=current.version() {
            let Ok(Some(record)) = self.storage.db.snapshot(version) else { continue };
            keep.insert(record.leaves);
            let leaves = self.storage.blobs.get(&record.leaves)?;
            let list: LeafList = serde_json::from_slice(&leaves).map_err(std::io::Error::other)?;
            keep.extend(list.leaves.iter().map(|l| l.sha256));
        }
        for (_, q) in self.storage.db.quarantined().map_err(std::io::Error::other)? {
            keep.insert(q.sha256);
        }
        let blobs = self.storage.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.retain(&|h| keep.contains(h))).await.map_err(std::io::Error::other)?
    }

    /// Runs until shutdown: re-signing, scheduled refreshes (or on [`Maintenance::sync_now`]),
    /// garbage collection.
    pub async fn run(self: Arc<Self>) {
        let mut next_root_check = std::time::Instant::now();
        loop {
            self.resigner.resign_if_due().await;
            if std::time::Instant::now() >= next_root_check {
                self.resigner.warn_if_root_expires_soon();
                next_root_check += ROOT_CHECK_EVERY;
            }
            let wake = self.sync_now.notified();
            if self.refresh_due() {
                match self.refresh.sync_all(&LogProgress::default()).await {
                    Ok(report) => info!(checked = report.checked, failed = report.failed, "scheduled refresh done"),
                    Err(e) => error!(error = %crate::error_chain(&e), "scheduled refresh failed"),
                }
                // An interrupted refresh records no end, so it would be due again at once: without
                // this the loop would spin (and never let the daemon exit) after a shutdown.
                if self.shutdown.is_cancelled() {
                    return;
                }
                match self.collect_garbage().await {
                    Ok(removed) if removed > 0 => info!(removed, "unreferenced blobs removed"),
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "garbage collection failed"),
                }
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = wake => {
                    let batch = tufmirror_store::Batch { meta: vec![(LAST_REFRESH, 0)], ..Default::default() };
                    if let Err(e) = self.storage.db.apply(&batch) {
                        warn!(error = %e, "cannot schedule a refresh");
                    }
                }
                () = self.shutdown.cancelled() => return,
            }
        }
    }
}
