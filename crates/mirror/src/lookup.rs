//! The lookup: answering index requests from the current snapshot, after an on-demand check
//! when the mirror lacks the crate or its file is due for revalidation.
//!
//! Contract: read-only but for the response cache and the on-demand queue; safe to call from
//! any number of requests at once. Every answer comes from one published snapshot, with its
//! proof; a request never waits longer than `server.request_timeout` (less a second) for
//! upstream, and a file the mirror has is served as it is after at most `REVALIDATE_WAIT` (10 s).
//! Retries are the client's: failures are answered with statuses cargo retries (5xx).

use crate::cache::{ResponseCache, ServedFile};
use crate::checker::{CheckResult, Checker};
use crate::clock::Clock;
use crate::error::CheckError;
use crate::ondemand::OnDemand;
use crate::published::Published;
use crate::publisher::Publisher;
use crate::storage::Storage;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tufmirror_core::merkle::{NonInclusionProof, PathProof};
use tufmirror_index::{CrateName, crate_of_path};

/// What `GET /index/<path>` gets.
#[derive(Debug)]
pub enum IndexAnswer {
    /// The file, its ETag and its proof in the current snapshot, ready to send.
    Found(Arc<ServedFile>),
    /// No such crate in `published` (which proves it), or not allowed here.
    Missing {
        /// The snapshot the proof is made in.
        published: Arc<Published>,
        /// Proves the path has no leaf in `published`.
        proof: Box<NonInclusionProof>,
    },
    /// Not a sparse-index path at all.
    NotAnIndexPath,
    /// The mirror lacks the crate and could not get it: a 502 (cargo retries 5xx); for
    /// [`CheckError::NotAsked`] a 503 with `Retry-After` (cargo retries it), never a 404, since
    /// the crate was not checked.
    Failed(Arc<CheckError>),
    /// The stored file could not be read (a 500).
    Damaged(CheckError),
}

/// Answers index requests (see the module documentation).
#[derive(Debug)]
pub struct Lookup {
    publisher: Arc<Publisher>,
    on_demand: Arc<OnDemand>,
    checker: Arc<Checker>,
    storage: Arc<Storage>,
    /// Ready-to-send index responses of the current snapshot.
    cache: ResponseCache,
    clock: Arc<dyn Clock>,
    /// `mirror.on_demand`.
    fetch_on_demand: bool,
    /// `mirror.revalidate_after`.
    revalidate_after: Duration,
    /// `server.request_timeout`.
    request_timeout: Duration,
    shutdown: CancellationToken,
}

/// What a [`Lookup`] is built from.
#[derive(Debug)]
pub struct LookupParts {
    /// The current snapshot.
    pub publisher: Arc<Publisher>,
    /// The on-demand queue.
    pub on_demand: Arc<OnDemand>,
    /// `allow` and `deny`.
    pub checker: Arc<Checker>,
    /// The stores.
    pub storage: Arc<Storage>,
    /// `server.response_cache_mib`, in bytes.
    pub cache_bytes: usize,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// `mirror.on_demand`.
    pub fetch_on_demand: bool,
    /// `mirror.revalidate_after`.
    pub revalidate_after: Duration,
    /// `server.request_timeout`.
    pub request_timeout: Duration,
    /// Cancelled when the mirror shuts down.
    pub shutdown: CancellationToken,
}

/// The longest a request waits for the revalidation of a file the mirror has (then the current
/// file is served).
const REVALIDATE_WAIT: Duration = Duration::from_secs(10);

impl Lookup {
    /// A lookup over `parts`.
    pub fn new(parts: LookupParts) -> Lookup {
        Lookup {
            publisher: parts.publisher,
            on_demand: parts.on_demand,
            checker: parts.checker,
            storage: parts.storage,
            cache: ResponseCache::new(parts.cache_bytes),
            clock: parts.clock,
            fetch_on_demand: parts.fetch_on_demand,
            revalidate_after: parts.revalidate_after,
            request_timeout: parts.request_timeout,
            shutdown: parts.shutdown,
        }
    }

    /// What `GET /index/<path>` gets.
    pub async fn index_file(&self, path: &str) -> IndexAnswer {
        let Ok(name) = crate_of_path(path) else { return IndexAnswer::NotAnIndexPath };
        let mut published = self.publisher.current();
        let on_demand = self.fetch_on_demand;
        if let Some(file) = self.cache.get(path, published.version())
            && !(on_demand && self.is_due(file.checked_at))
        {
            return IndexAnswer::Found(file);
        }
        let mut checked = None;
        match published.tree.prove(path, published.version()) {
            PathProof::Included(_) if on_demand && self.is_stale(path) => {
                let wait = REVALIDATE_WAIT.min(self.request_timeout / 2);
                if let Ok(result) = tokio::time::timeout(wait, self.check_until_shutdown(name.clone(), true)).await {
                    checked = Some(result);
                }
                published = self.publisher.current();
            }
            PathProof::Absent(_)
                if on_demand && self.checker.allows(name.as_str()) && !self.on_demand.recently_missing(&name) =>
            {
                let wait = self.request_timeout.saturating_sub(Duration::from_secs(1));
                checked = Some(
                    tokio::time::timeout(wait, self.check_until_shutdown(name.clone(), false))
                        .await
                        .unwrap_or_else(|_| CheckResult::Failed(Arc::new(CheckError::TimedOut))),
                );
                published = self.publisher.current();
            }
            _ => {}
        }
        match published.tree.prove(path, published.version()) {
            PathProof::Included(proof) => match self.storage.blobs.get(&proof.leaf_contents.sha256) {
                Ok(bytes) => {
                    let checked_at = self.storage.db.file(path).ok().flatten().map_or(0, |r| r.checked_at);
                    let file = Arc::new(ServedFile::new(&proof, bytes, checked_at));
                    self.cache.put(path, file.clone());
                    IndexAnswer::Found(file)
                }
                Err(source) => {
                    IndexAnswer::Damaged(CheckError::Blob { action: "reading", path: path.to_owned(), source })
                }
            },
            PathProof::Absent(proof) => match checked {
                Some(CheckResult::Failed(error)) => IndexAnswer::Failed(error),
                _ => IndexAnswer::Missing { published, proof: Box::new(proof) },
            },
        }
    }

    /// [`OnDemand::check`], given up when the mirror shuts down: a graceful shutdown waits for
    /// open requests, and a check may wait on a hanging upstream for `retries` timeouts.
    async fn check_until_shutdown(&self, name: CrateName, has_file: bool) -> CheckResult {
        tokio::select! {
            result = self.on_demand.check(name, has_file) => result,
            () = self.shutdown.cancelled() => CheckResult::Failed(Arc::new(CheckError::ShuttingDown)),
        }
    }

    fn is_stale(&self, path: &str) -> bool {
        match self.storage.db.file(path) {
            Ok(Some(record)) => self.is_due(record.checked_at),
            _ => false,
        }
    }

    /// Whether a file checked at `checked_at` is due for revalidation.
    fn is_due(&self, checked_at: i64) -> bool {
        checked_at + self.revalidate_after.as_secs() as i64 <= self.clock.now_unix()
    }
}
