//! The mirror as the auditor reads it: the files of docs/POUF.md 2.1 under a base URL, each with a
//! size limit (a mirror must not be able to fill the auditor's memory), "not found" kept apart
//! from failures (a missing file of signed history is a finding; a network failure is not), and
//! many files fetched at once.

use crate::AuditError;
use std::sync::Arc;
use tokio::task::JoinSet;
use tufmirror_client::{FetchError, Fetcher};

/// Largest accepted root, timestamp and other metadata files, and diffs.
pub const ROOT_LIMIT: u64 = 1 << 20;
/// Largest accepted timestamp metadata.
pub const TIMESTAMP_LIMIT: u64 = 1 << 20;
/// Targets metadata carries removal records: a snapshot that removes many files is large.
pub const METADATA_LIMIT: u64 = 64 << 20;
/// The diff of a first snapshot lists every file of the index (about 30 MB at crates.io's size).
pub const DIFF_LIMIT: u64 = 512 << 20;

/// A mirror's base URL and the fetcher that reads it.
#[derive(Debug, Clone)]
pub struct Source {
    base: String,
    fetcher: Arc<dyn Fetcher>,
}

impl Source {
    /// `base` is the mirror's base URL (`https://mirror.example/`; a missing `/` is added).
    pub fn new(base: &str, fetcher: Arc<dyn Fetcher>) -> Self {
        let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
        Source { base, fetcher }
    }

    /// The base URL, ending in `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `path` (relative, no leading `/`) under the base.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The file at `path` (relative to the base), `None` if the mirror says it does not exist.
    pub async fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, AuditError> {
        self.fetch(path, limit, false).await
    }

    /// With `other_bytes_ok`, a file longer than `limit` is `None` too: for index files fetched by
    /// their known length, where a longer answer is simply other bytes (a later version).
    async fn fetch(&self, path: &str, limit: u64, other_bytes_ok: bool) -> Result<Option<Vec<u8>>, AuditError> {
        let url = self.url(path);
        match self.fetcher.fetch(&url, limit).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(FetchError::NotFound { .. }) => Ok(None),
            Err(FetchError::TooLarge { .. }) if other_bytes_ok => Ok(None),
            Err(source) => Err(AuditError::Fetch { url, source }),
        }
    }

    /// Fetches every `(key, path, limit)` with at most `jobs` requests at a time and hands each
    /// answer to `then` on the runtime's worker threads (parsing and hashing spread with the
    /// downloads); the results come back in the order asked. `other_bytes_ok` as in [`Self::fetch`].
    pub async fn get_many<K, T, F>(
        &self,
        requests: Vec<(K, String, u64)>,
        jobs: usize,
        other_bytes_ok: bool,
        then: F,
    ) -> Result<Vec<(K, T)>, AuditError>
    where
        K: Send + 'static,
        T: Send + 'static,
        F: Fn(&K, Option<Vec<u8>>) -> T + Send + Sync + 'static,
    {
        let then = Arc::new(then);
        let total = requests.len();
        let mut pending = requests.into_iter().enumerate();
        let mut running = JoinSet::new();
        let mut out: Vec<Option<(K, T)>> = (0..total).map(|_| None).collect();
        let spawn = |running: &mut JoinSet<_>, (i, (key, path, limit)): (usize, (K, String, u64))| {
            let (source, then) = (self.clone(), then.clone());
            running.spawn(async move {
                let fetched = source.fetch(&path, limit, other_bytes_ok).await?;
                let value = then(&key, fetched);
                Ok::<_, AuditError>((i, key, value))
            });
        };
        for request in pending.by_ref().take(jobs.max(1)) {
            spawn(&mut running, request);
        }
        while let Some(done) = running.join_next().await {
            let (i, key, value) = done.map_err(AuditError::Task)??;
            out[i] = Some((key, value));
            if let Some(request) = pending.next() {
                spawn(&mut running, request);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}
