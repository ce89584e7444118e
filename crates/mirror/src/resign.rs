//! Re-signing: metadata is signed again well before it expires, even when nothing changed, so
//! that clients never see expired metadata from a quiet mirror.
//!
//! Rule: a role's metadata is due in the second half of its life (`expiry.*_days`). A snapshot
//! or targets file that is due brings a whole new snapshot (targets, snapshot and timestamp); a
//! timestamp alone that is due brings a new timestamp for the same snapshot. A failure is logged
//! and retried at the next tick: the metadata served stays valid for the other half of its life.
//! Root is never re-signed here (its keys are offline): only a warning, weeks ahead.

use crate::changes::Changes;
use crate::clock::Clock;
use crate::config::ExpiryConfig;
use crate::publisher::Publisher;
use std::sync::Arc;
use time::OffsetDateTime;
use tracing::{error, warn};

/// Warn this long before the newest root expires: renewing it takes a ceremony.
const ROOT_WARNING_DAYS: i64 = 30;

/// Whether metadata that lives `days` and expires at `expires` is in the second half of its life.
fn due(expires: OffsetDateTime, days: i64, now: OffsetDateTime) -> bool {
    expires - now < time::Duration::seconds(days * 86_400 / 2)
}

/// Re-signs what is due (see the module documentation).
#[derive(Debug)]
pub struct Resigner {
    publisher: Arc<Publisher>,
    expiry: ExpiryConfig,
    clock: Arc<dyn Clock>,
}

impl Resigner {
    /// Re-signs `publisher`'s metadata by the lifetimes of `expiry`.
    pub fn new(publisher: Arc<Publisher>, expiry: ExpiryConfig, clock: Arc<dyn Clock>) -> Resigner {
        Resigner { publisher, expiry, clock }
    }

    /// Re-signs what is due: a new snapshot when snapshot or targets metadata is past half its
    /// life, else a new timestamp when the timestamp is.
    pub async fn resign_if_due(&self) {
        let now = self.clock.now();
        let current = self.publisher.current();
        let e = self.expiry;
        let result = if due(current.snapshot_expires, e.snapshot_days, now)
            || due(current.targets_expires, e.targets_days, now)
        {
            self.publisher.apply(Changes::default(), true).await.map(drop)
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
        let left = root.expires - self.clock.now();
        if left < time::Duration::days(ROOT_WARNING_DAYS) {
            warn!(
                root_version = root.version,
                expires = %tufmirror_core::time::format(root.expires),
                days_left = left.whole_days(),
                "root expires soon: hold a ceremony (tufmirror root edit --set-expiry-days, sign, publish)"
            );
        }
    }
}
