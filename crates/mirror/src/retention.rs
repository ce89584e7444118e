//! Which snapshots stay readable: the current one, the `keep_snapshots` before it, and any
//! snapshot superseded less than `keep_snapshots_for` ago. Their index files stay addressable
//! by hash; metadata, diffs and timestamps are kept forever regardless.

use crate::mirror::Mirror;
use crate::published::Published;
use std::sync::Arc;
use time::OffsetDateTime;

impl Mirror {
    /// Until when snapshot `version` is guaranteed readable, or `None` when it is not retained
    /// (or does not exist). The current snapshot is guaranteed for `keep_snapshots_for` from now.
    pub fn retained_until(&self, version: u64) -> Option<OffsetDateTime> {
        let current = self.publisher.current().version();
        let keep_for = time::Duration::try_from(self.config.storage.keep_snapshots_for).unwrap_or(time::Duration::DAY);
        let now = OffsetDateTime::now_utc();
        if version == 0 || version > current {
            return None;
        }
        if version == current {
            return Some(now + keep_for);
        }
        let superseded = self.db.snapshot(version + 1).ok().flatten()?.published_at;
        let until = OffsetDateTime::from_unix_timestamp(superseded).ok()? + keep_for;
        let by_count = version + self.config.storage.keep_snapshots >= current;
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
