//! The checker: one crate against upstream. It fetches (conditionally when upstream gives
//! validators), decides with [`crate::decide`], and says what would change. Nothing is committed
//! here; the caller publishes a batch of checks together.
//!
//! Contract:
//! - A check never changes what is served: its [`Changes`] take effect when published. A new
//!   index file's blob is stored (deferred) before the check returns; the caller holds
//!   [`Storage::blob_guard`] shared until the publish that refers to it.
//! - Safe to run concurrently for different crates, and for the same crate (the later publish
//!   wins; both decided against the same published history).
//! - Retries are upstream's client's (`upstream.retries`, within an [`Allowance`]); the checker
//!   does not retry. A failure keeps the last good file served ([`CheckResult::Present`] with
//!   [`CrateCheck::error`] set) or, when there is none, is [`CheckResult::Failed`].
//! - Removals wait for `removal_grace`, remembered in memory only: a restart starts the grace
//!   over, which delays a removal and never hastens one.

use crate::changes::Changes;
use crate::clock::Clock;
use crate::decide::{Decision, Upstream, decide, removal_due};
use crate::error::CheckError;
use crate::metrics::Metrics;
use crate::selection::Filter;
use crate::storage::Storage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tracing::{info, warn};
use tufmirror_core::Sha256Hash;
use tufmirror_index::{CrateName, History, HistoryRule, IndexLine, validate_index_file};
use tufmirror_store::{FileRecord, QuarantineRecord};
use tufmirror_upstream::{Allowance, IndexFetch, UpstreamClient, Validator};

/// What a request for a crate gets once its check is published.
#[derive(Debug, Clone)]
pub enum CheckResult {
    /// The mirror has a file for it (maybe the last good one).
    Present,
    /// Upstream does not have it (or it is denied): a 404.
    NotFound,
    /// The mirror has nothing to serve: a 502 (a 503 with `Retry-After` for
    /// [`CheckError::NotAsked`]: never a 404, since the name was not checked).
    Failed(Arc<CheckError>),
}

impl CheckResult {
    /// A result for a name that was not asked about upstream now; retry after `retry_after`.
    pub fn not_asked(retry_after: Duration) -> CheckResult {
        CheckResult::Failed(Arc::new(CheckError::NotAsked { retry_after }))
    }
}

/// The outcome of one check, ready to be merged into a publish.
#[derive(Debug)]
pub struct CrateCheck {
    /// The crate.
    pub name: CrateName,
    /// What requests for it get.
    pub result: CheckResult,
    /// What to publish.
    pub changes: Changes,
    /// What went wrong, even when the last good file is still served.
    pub error: Option<Arc<CheckError>>,
}

impl CrateCheck {
    /// A check that did not ask upstream and has nothing to serve.
    pub fn not_asked(name: CrateName, retry_after: Duration) -> CrateCheck {
        let error = Arc::new(CheckError::NotAsked { retry_after });
        CrateCheck { name, result: CheckResult::Failed(error.clone()), changes: Changes::default(), error: Some(error) }
    }

    fn fail(&mut self, present: bool, error: CheckError) {
        let error = Arc::new(error);
        self.result = if present { CheckResult::Present } else { CheckResult::Failed(error.clone()) };
        self.error = Some(error);
    }
}

/// Checks crates against upstream (see the module documentation).
#[derive(Debug)]
pub struct Checker {
    storage: Arc<Storage>,
    upstream: UpstreamClient,
    filter: Filter,
    /// What upstream may change in a published version (POUF 1.8), with `mirror.allowed_registries`.
    history_rule: HistoryRule,
    /// `mirror.keep_removed`.
    keep_removed: bool,
    /// `mirror.removal_grace`.
    removal_grace: Duration,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// When upstream first answered 404 for a file the mirror has (Unix seconds).
    gone_since: Mutex<HashMap<String, i64>>,
}

/// What a [`Checker`] is built from.
#[derive(Debug)]
pub struct CheckerParts {
    /// The stores.
    pub storage: Arc<Storage>,
    /// Upstream.
    pub upstream: UpstreamClient,
    /// `mirror.allow` and `mirror.deny`.
    pub filter: Filter,
    /// The history rule.
    pub history_rule: HistoryRule,
    /// `mirror.keep_removed`.
    pub keep_removed: bool,
    /// `mirror.removal_grace`.
    pub removal_grace: Duration,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Checker {
    /// A checker over `parts`.
    pub fn new(parts: CheckerParts) -> Checker {
        let CheckerParts { storage, upstream, filter, history_rule, keep_removed, removal_grace, metrics, clock } =
            parts;
        Checker {
            storage,
            upstream,
            filter,
            history_rule,
            keep_removed,
            removal_grace,
            metrics,
            clock,
            gone_since: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `allow`/`deny` admit crate `name`.
    pub fn allows(&self, name: &str) -> bool {
        self.filter.allows(name)
    }

    /// The `allow`/`deny` patterns.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The upstream client.
    pub fn upstream(&self) -> &UpstreamClient {
        &self.upstream
    }

    /// Checks crate `name` against upstream, with every retry the configuration allows, waiting
    /// out a pause upstream asked for.
    pub async fn check(&self, name: CrateName) -> CrateCheck {
        self.check_within(name, Allowance { requests: u32::MAX, fail_when_paused: false }).await.0
    }

    /// Checks crate `name` against upstream within `allowance`; also returns the upstream
    /// requests it sent.
    pub async fn check_within(&self, name: CrateName, allowance: Allowance) -> (CrateCheck, u32) {
        let path = name.index_path();
        let mut check =
            CrateCheck { name: name.clone(), result: CheckResult::Present, changes: Changes::default(), error: None };
        let record = match self.storage.db.file(&path) {
            Ok(r) => r,
            Err(e) => {
                check.fail(false, CheckError::Database(e));
                return (check, 0);
            }
        };
        if !self.filter.allows(name.as_str()) {
            check.result = CheckResult::NotFound;
            if record.is_some() {
                check.changes.files.push((path.clone(), None));
                check.changes.removal_reasons.insert(path, "denied by the mirror's configuration".to_owned());
            }
            return (check, 0);
        }
        let validator = record.as_ref().and_then(|r| match (&r.etag, &r.last_modified) {
            (Some(etag), _) => Some(Validator::ETag(etag.clone())),
            (None, Some(date)) => Some(Validator::LastModified(date.clone())),
            _ => None,
        });
        let spent = self.upstream.fetch_index_file_within(&name, validator.as_ref(), allowance).await;
        let sent = spent.requests;
        let fetch = match spent.result {
            Ok(fetch) => fetch,
            Err(e) if e.paused_for().is_some() => {
                // Not asked: upstream's pause. The last good file (if any) stays served.
                let left = e.paused_for().unwrap_or_default();
                self.metrics.count_check("paused");
                if record.is_none() {
                    let error = Arc::new(CheckError::NotAsked { retry_after: left });
                    check.result = CheckResult::Failed(error);
                }
                check.error = Some(Arc::new(CheckError::Upstream(e)));
                return (check, sent);
            }
            Err(e) => {
                self.metrics.upstream_errors.inc();
                self.metrics.count_check("error");
                warn!(krate = %name, error = %e, "upstream fetch failed; the last good file stays served");
                check.fail(record.is_some(), CheckError::Upstream(e));
                return (check, sent);
            }
        };
        let published = match self.storage.db.versions(name.as_str()) {
            Ok(v) => v,
            Err(e) => {
                check.fail(record.is_some(), CheckError::Database(e));
                return (check, sent);
            }
        };
        // The published lines, for upstream bytes that differ from the current file. Unreadable,
        // the check fails rather than fall back to comparing cksums only.
        let current_file = match (&fetch, &record) {
            (IndexFetch::Fetched { bytes, .. }, Some(r)) if Sha256Hash::of(bytes) != r.sha256 => {
                match self.storage.blobs.get(&r.sha256) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        check.fail(true, CheckError::Blob { action: "reading", path: path.clone(), source: e });
                        return (check, sent);
                    }
                }
            }
            _ => None,
        };
        let published = History { cksums: &published, file: current_file.as_deref() };
        let (upstream, etag, last_modified) = match &fetch {
            IndexFetch::Fetched { bytes, etag, last_modified } => {
                (Upstream::Bytes(bytes), etag.clone(), last_modified.clone())
            }
            IndexFetch::NotModified => (Upstream::NotModified, None, None),
            IndexFetch::NotFound { .. } => (Upstream::NotFound, None, None),
            _ => (Upstream::NotFound, None, None),
        };
        let now = self.clock.now_unix();
        if !matches!(fetch, IndexFetch::NotFound { .. }) {
            // Upstream has the file: a removal waiting for its grace starts over.
            self.forget_gone(&path);
        }
        let touched = |r: &FileRecord| {
            let mut r = r.clone();
            r.checked_at = now;
            if etag.is_some() || last_modified.is_some() {
                r.etag = etag.clone();
                r.last_modified = last_modified.clone();
            }
            r
        };
        match decide(&name, record.as_ref().map(|r| &r.sha256), published, &self.history_rule, upstream) {
            Decision::Unchanged => {
                self.metrics.count_check("unchanged");
                if let Some(r) = &record {
                    check.changes.files.push((path, Some(touched(r))));
                }
            }
            Decision::Accept { sha256, new_versions } => {
                let Upstream::Bytes(bytes) = upstream else { return (check, sent) };
                if let Err(e) = self.storage.blobs.put_deferred(bytes) {
                    check.fail(record.is_some(), CheckError::Blob { action: "storing", path: path.clone(), source: e });
                    return (check, sent);
                }
                self.metrics.count_check(if record.is_some() { "changed" } else { "new" });
                let krate = name.lowercase();
                check.changes.versions =
                    new_versions.into_iter().map(|(vers, cksum)| (krate.clone(), vers, cksum)).collect();
                check.changes.files.push((
                    path.clone(),
                    Some(FileRecord { sha256, length: bytes.len() as u64, etag, last_modified, checked_at: now }),
                ));
                if matches!(self.storage.db.quarantine_record(&path), Ok(Some(_))) {
                    check.changes.quarantine.push((path, None));
                }
            }
            Decision::Quarantine { sha256, violations } => {
                let Upstream::Bytes(bytes) = upstream else { return (check, sent) };
                match &record {
                    Some(r) => check.changes.files.push((path.clone(), Some(touched(r)))),
                    None => check.fail(false, CheckError::HistoryRewritten { name: name.to_string() }),
                }
                let known = self.storage.db.quarantine_record(&path).ok().flatten();
                if known.as_ref().is_some_and(|q| q.sha256 == sha256) {
                    return (check, sent);
                }
                let reason =
                    format!("{name}: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
                self.metrics.count_check("quarantined");
                warn!(krate = %name, %reason, "upstream rewrote signed history: file quarantined, last good file stays served");
                if self.storage.blobs.put_deferred(bytes).is_ok() {
                    let q = QuarantineRecord { sha256, reason, detected_at: now, rejected: false };
                    check.changes.quarantine.push((path, Some(q)));
                }
            }
            Decision::Invalid(e) => {
                self.metrics.count_check("invalid");
                warn!(krate = %name, error = %e, "upstream sent an invalid index file; it is not published");
                check.fail(record.is_some(), CheckError::InvalidFile { name: name.to_string(), source: e });
            }
            Decision::Gone => {
                self.metrics.count_check("not_found");
                match &record {
                    None => check.result = CheckResult::NotFound,
                    Some(r) if self.keep_removed => {
                        check.changes.files.push((path, Some(touched(r))));
                    }
                    Some(r) => {
                        let grace = self.removal_grace;
                        let first = self.first_gone(&path, now);
                        if removal_due(first, now, grace) {
                            check.result = CheckResult::NotFound;
                            check.changes.files.push((path.clone(), None));
                            check.changes.removal_reasons.insert(path, "removed upstream".to_owned());
                        } else {
                            info!(krate = %name, first_404 = first, ?grace, "upstream answers 404; the removal waits for removal_grace");
                            check.changes.files.push((path, Some(touched(r))));
                        }
                    }
                }
            }
        }
        (check, sent)
    }

    /// When upstream first answered 404 for `path` since it last had the file (`now` if this is
    /// the first). Kept in memory only: a restart starts the grace over, which delays a removal
    /// and never hastens one. Bounded by the files the mirror has had.
    fn first_gone(&self, path: &str, now: i64) -> i64 {
        *self.gone_since.lock().unwrap_or_else(PoisonError::into_inner).entry(path.to_owned()).or_insert(now)
    }

    fn forget_gone(&self, path: &str) {
        self.gone_since.lock().unwrap_or_else(PoisonError::into_inner).remove(path);
    }

    /// The lines of the file a check leaves served for its crate (the new one if it changed);
    /// empty when there is none or it cannot be read.
    pub fn lines_after(&self, check: &CrateCheck) -> Vec<IndexLine> {
        let path = check.name.index_path();
        let sha = check
            .changes
            .files
            .iter()
            .find(|(p, _)| *p == path)
            .and_then(|(_, r)| r.as_ref().map(|r| r.sha256))
            .or_else(|| self.storage.db.file(&path).ok().flatten().map(|r| r.sha256));
        sha.and_then(|sha| self.storage.blobs.get(&sha).ok())
            .and_then(|bytes| validate_index_file(&bytes, &check.name).ok())
            .unwrap_or_default()
    }
}
