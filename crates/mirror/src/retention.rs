//! Which snapshots stay readable: the current one, the `keep_snapshots` before it, and any
//! snapshot superseded less than `keep_snapshots_for` ago. Their index files stay addressable
//! by hash; metadata, diffs and timestamps are kept forever regardless.

//!
//! Contract: read-only; answers from the database's snapshot records and the clock, so every
//! replica of the same data folder answers alike. Garbage collection keeps what this says.

use crate::clock::Clock;
use crate::published::Published;
use crate::publisher::Publisher;
use crate::storage::Storage;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The retention rule (see the module documentation).
#[derive(Debug)]
pub struct Retention {
    publisher: Arc<Publisher>,
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    /// `storage.keep_snapshots`.
    keep_snapshots: u64,
    /// `storage.keep_snapshots_for`.
    keep_snapshots_for: Duration,
}

impl Retention {
    /// The rule for `keep_snapshots` and `keep_snapshots_for`.
    pub fn new(
        publisher: Arc<Publisher>,
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        keep_snapshots: u64,
        keep_snapshots_for: Duration,
    ) -> Retention {
        Retention { publisher, storage, clock, keep_snapshots, keep_snapshots_for }
    }

    /// Until when snapshot `version` is guaranteed readable, or `None` when it is not retained
    /// (or does not exist). The current snapshot is guaranteed for `keep_snapshots_for` from now.
    pub fn retained_until(&self, version: u64) -> Option<OffsetDateTime> {
        let current = self.publisher.current().version();
        let keep_for = time::Duration::try_from(self.keep_snapshots_for).unwrap_or(time::Duration::DAY);
        let now = self.clock.now();
        if version == 0 || version > current {
            return None;
        }
        if version == current {
            return Some(now + keep_for);
        }
        let superseded = self.storage.db.snapshot(version + 1).ok().flatten()?.published_at;
        let until = OffsetDateTime::from_unix_timestamp(superseded).ok()? + keep_for;
        let by_count = version + self.keep_snapshots >= current;
        (until > now || by_count).then_some(until.max(now))
    }

    /// Snapshot `version` if it is retained.
    pub fn retained_snapshot(&self, version: u64) -> Option<(Arc<Published>, OffsetDateTime)> {
        let until = self.retained_until(version)?;
        let published = self.publisher.snapshot(version).ok().flatten()?;
        Some((published, until))
    }

    /// The oldest retained snapshot version.
    pub fn oldest_retained(&self) -> u64 {
        let mut version = self.publisher.current().version();
        while version > 1 && self.retained_until(version - 1).is_some() {
            version -= 1;
        }
        version
    }
}
