//! The daemon's clock: re-sign metadata well before it expires, refresh everything on schedule,
//! and collect blobs that no retained snapshot needs.

use crate::mirror::Mirror;
use crate::publisher::Changes;
use crate::sync::{LAST_REFRESH, LogProgress};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::{error, info, warn};
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::LeafList;

/// How often the clock looks at what is due.
const TICK: Duration = Duration::from_secs(20);

/// How often the expiry of the root is looked at (and warned about, when close).
const ROOT_CHECK_EVERY: Duration = Duration::from_secs(6 * 3600);
/// Warn this long before the newest root expires: renewing it takes a ceremony.
const ROOT_WARNING_DAYS: i64 = 30;

/// Whether metadata that lives `days` and expires at `expires` is in the second half of its life.
fn due(expires: OffsetDateTime, days: i64, now: OffsetDateTime) -> bool {
    expires - now < time::Duration::seconds(days * 86_400 / 2)
}

impl Mirror {
    /// Re-signs what is due: a new snapshot when snapshot or targets metadata is past half its
    /// life, else a new timestamp when the timestamp is.
    pub async fn resign_if_due(&self) {
        let now = OffsetDateTime::now_utc();
        let current = self.publisher.current();
        let e = self.config.expiry;
        let result = if due(current.snapshot_expires, e.snapshot_days, now)
            || due(current.targets_expires, e.targets_days, now)
        {
            self.commit(Changes::default(), true).await.map(drop)
        } else if due(current.timestamp_expires, e.timestamp_days, now) {
            self.publisher.resign_timestamp().await.map(drop)
        } else {
            return;
        };
        if let Err(e) = result {
            error!(error = %crate::error_chain(&e), "re-signing failed; will retry");
        }
    }

    /// Only a ceremony renews root: say so loudly, weeks ahead (the daemon cannot re-sign it, and
    /// clients refuse everything once it has expired).
    pub fn warn_if_root_expires_soon(&self) {
        let keys = self.publisher.keys();
        let Some(root) = keys.roots.last().map(|r| &r.root.signed) else { return };
        let left = root.expires - OffsetDateTime::now_utc();
        if left < time::Duration::days(ROOT_WARNING_DAYS) {
            warn!(
                root_version = root.version,
                expires = %tufmirror_core::time::format(root.expires),
                days_left = left.whole_days(),
                "root expires soon: hold a ceremony (tufmirror root edit --set-expiry-days, sign, publish)"
            );
        }
    }

    /// Whether the scheduled refresh is due.
    fn refresh_due(&self) -> bool {
        let m = &self.config.mirror;
        let configured = !m.seeds.is_empty() || !m.lockfiles.is_empty() || m.list_file.is_some();
        // Without configured crates, files fetched on demand are first refreshed one interval
        // after start (requests revalidate them after `revalidate_after` anyway).
        let last = match self.db.meta(LAST_REFRESH).ok().flatten() {
            Some(t) => t as i64,
            None if configured => 0,
            None => self.started_at,
        };
        let has_work = configured || !self.publisher.current().tree.is_empty();
        has_work && last + m.refresh_interval.as_secs() as i64 <= OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Removes blobs that neither a retained snapshot nor the quarantine refers to.
    pub async fn collect_garbage(&self) -> std::io::Result<usize> {
        let _exclusive = self.blob_guard.write().await;
        let mut keep: HashSet<Sha256Hash> = HashSet::new();
        let current = self.publisher.current();
        for version in self.oldest_retained()..=current.version() {
            let Ok(Some(record)) = self.db.snapshot(version) else { continue };
            keep.insert(record.leaves);
            let leaves = self.blobs.get(&record.leaves)?;
            let list: LeafList = serde_json::from_slice(&leaves).map_err(std::io::Error::other)?;
            keep.extend(list.leaves.iter().map(|l| l.sha256));
        }
        for (_, q) in self.db.quarantined().map_err(std::io::Error::other)? {
            keep.insert(q.sha256);
        }
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.retain(&|h| keep.contains(h))).await.map_err(std::io::Error::other)?
    }
}

/// Runs until shutdown: re-signing, scheduled refreshes (or on `sync_now`), garbage collection.
pub async fn run(mirror: Arc<Mirror>) {
    let mut next_root_check = std::time::Instant::now();
    loop {
        mirror.resign_if_due().await;
        if std::time::Instant::now() >= next_root_check {
            mirror.warn_if_root_expires_soon();
            next_root_check += ROOT_CHECK_EVERY;
        }
        let wake = mirror.sync_now.notified();
        if mirror.refresh_due() {
            match mirror.sync_all(&LogProgress::default()).await {
                Ok(report) => info!(checked = report.checked, failed = report.failed, "scheduled refresh done"),
                Err(e) => error!(error = %crate::error_chain(&e), "scheduled refresh failed"),
            }
            // An interrupted refresh records no end, so it would be due again at once: without
            // this the loop would spin (and never let the daemon exit) after a shutdown.
            if mirror.shutdown.is_cancelled() {
                return;
            }
            match mirror.collect_garbage().await {
                Ok(removed) if removed > 0 => info!(removed, "unreferenced blobs removed"),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "garbage collection failed"),
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = wake => {
                if let Err(e) = mirror.db.apply(&tufmirror_store::Batch { meta: vec![(LAST_REFRESH, 0)], ..Default::default() }) {
                    warn!(error = %e, "cannot schedule a refresh");
                }
            }
            () = mirror.shutdown.cancelled() => return,
        }
    }
}
