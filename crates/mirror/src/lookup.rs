//! Answering index requests: from the current snapshot, after an on-demand check when the
//! mirror lacks the crate or its file is due for revalidation.

use crate::cache::ServedFile;
use crate::check::{CheckResult, now_unix};
use crate::mirror::Mirror;
use crate::published::Published;
use std::sync::Arc;
use std::time::Duration;
use tufmirror_core::merkle::{NonInclusionProof, PathProof};
use tufmirror_index::{CrateName, crate_of_path};

/// What `GET /index/<path>` gets.
#[derive(Debug)]
pub enum IndexAnswer {
    /// The file, its ETag and its proof in the current snapshot, ready to send.
    Found(Arc<ServedFile>),
    /// No such crate in `published` (which proves it), or not allowed here.
    Missing { published: Arc<Published>, proof: Box<NonInclusionProof> },
    /// Not a sparse-index path at all.
    NotAnIndexPath,
    /// The mirror lacks the crate and could not get it: a 502 (cargo retries 5xx).
    Failed(String),
    /// The mirror lacks the crate and did not ask upstream now: a 503 with `Retry-After` of this
    /// long (cargo retries it). Never a 404, since the crate was not checked.
    Busy(Duration),
    /// The stored file could not be read (a 500).
    Damaged(String),
}

/// The longest a request waits for the revalidation of a file the mirror has (then the current
/// file is served).
const REVALIDATE_WAIT: Duration = Duration::from_secs(10);

impl Mirror {
    pub async fn index_file(&self, path: &str) -> IndexAnswer {
        let Ok(name) = crate_of_path(path) else { return IndexAnswer::NotAnIndexPath };
        let mut published = self.publisher.current();
        let on_demand = self.config.mirror.on_demand;
        if let Some(file) = self.cache.get(path, published.version())
            && !(on_demand && self.is_due(file.checked_at))
        {
            return IndexAnswer::Found(file);
        }
        let mut checked = None;
        match published.tree.prove(path, published.version()) {
            PathProof::Included(_) if on_demand && self.is_stale(path) => {
                let wait = REVALIDATE_WAIT.min(self.config.server.request_timeout / 2);
                if let Ok(result) = tokio::time::timeout(wait, self.check_until_shutdown(name.clone(), true)).await {
                    checked = Some(result);
                }
                published = self.publisher.current();
            }
            PathProof::Absent(_) if on_demand && self.filter.allows(name.as_str()) && !self.recently_missing(&name) => {
                let wait = self.config.server.request_timeout.saturating_sub(Duration::from_secs(1));
                checked = Some(
                    tokio::time::timeout(wait, self.check_until_shutdown(name.clone(), false))
                        .await
                        .unwrap_or_else(|_| CheckResult::Failed("timed out waiting for upstream".to_owned())),
                );
                published = self.publisher.current();
            }
            _ => {}
        }
        match published.tree.prove(path, published.version()) {
            PathProof::Included(proof) => match self.blobs.get(&proof.leaf_contents.sha256) {
                Ok(bytes) => {
                    let checked_at = self.db.file(path).ok().flatten().map_or(0, |r| r.checked_at);
                    let file = Arc::new(ServedFile::new(&proof, bytes, checked_at));
                    self.cache.put(path, file.clone());
                    IndexAnswer::Found(file)
                }
                Err(e) => IndexAnswer::Damaged(format!("{path}: {e}")),
            },
            PathProof::Absent(proof) => match checked {
                Some(CheckResult::Failed(reason)) => IndexAnswer::Failed(reason),
                Some(CheckResult::Busy(retry_after)) => IndexAnswer::Busy(retry_after),
                _ => IndexAnswer::Missing { published, proof: Box::new(proof) },
            },
        }
    }

    /// [`Mirror::check_on_demand`], given up when the mirror shuts down: a graceful shutdown waits
    /// for open requests, and a check may wait on a hanging upstream for `retries` timeouts.
    async fn check_until_shutdown(&self, name: CrateName, has_file: bool) -> CheckResult {
        tokio::select! {
            result = self.check_on_demand(name, has_file) => result,
            () = self.shutdown.cancelled() => CheckResult::Failed("the mirror is shutting down".to_owned()),
        }
    }

    fn is_stale(&self, path: &str) -> bool {
        match self.db.file(path) {
            Ok(Some(record)) => self.is_due(record.checked_at),
            _ => false,
        }
    }

    /// Whether a file checked at `checked_at` is due for revalidation.
    fn is_due(&self, checked_at: i64) -> bool {
        checked_at + self.config.mirror.revalidate_after.as_secs() as i64 <= now_unix()
    }
}
