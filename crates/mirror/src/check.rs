//! Checking one crate against upstream: fetch (conditionally when upstream gives validators),
//! decide, and say what would change. Nothing is committed here; a batch of checks is published
//! together.

use crate::decide::{Decision, Upstream, decide, removal_due};
use crate::mirror::Mirror;
use crate::publisher::Changes;
use std::time::Duration;
use tracing::{info, warn};
use tufmirror_core::Sha256Hash;
use tufmirror_index::{CrateName, History};
use tufmirror_store::{FileRecord, QuarantineRecord};
use tufmirror_upstream::{Allowance, IndexFetch, Validator};

/// What a request for a crate gets once its check is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    /// The mirror has a file for it (maybe the last good one).
    Present,
    /// Upstream does not have it (or it is denied): a 404.
    NotFound,
    /// The mirror has nothing to serve and upstream failed: a 502 with this reason.
    Failed(String),
    /// The mirror has nothing to serve and did not ask upstream now (upstream asked for a pause,
    /// the name's upstream requests are spent, or too many requests wait): a 503 with
    /// `Retry-After` of this long. Never a 404: the name was not checked.
    Busy(Duration),
}

/// The outcome of one check, ready to be merged into a publish.
#[derive(Debug)]
pub struct CrateCheck {
    pub name: CrateName,
    pub result: CheckResult,
    pub changes: Changes,
    /// What went wrong upstream, even when the last good file is still served.
    pub error: Option<String>,
}

impl CrateCheck {
    /// A check that did not ask upstream and has nothing to serve.
    pub fn busy(name: CrateName, retry_after: Duration) -> CrateCheck {
        CrateCheck {
            name,
            result: CheckResult::Busy(retry_after),
            changes: Changes::default(),
            error: Some("not asked upstream now".to_owned()),
        }
    }
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Mirror {
    /// Checks crate `name` against upstream, with every retry the configuration allows, waiting
    /// out a pause upstream asked for.
    pub async fn check_crate(&self, name: CrateName) -> CrateCheck {
        self.check_crate_within(name, Allowance { requests: u32::MAX, fail_when_paused: false }).await.0
    }

    /// Checks crate `name` against upstream within `allowance`; also returns the upstream
    /// requests it sent.
    pub async fn check_crate_within(&self, name: CrateName, allowance: Allowance) -> (CrateCheck, u32) {
        let path = name.index_path();
        let mut check =
            CrateCheck { name: name.clone(), result: CheckResult::Present, changes: Changes::default(), error: None };
        let failed = |check: &mut CrateCheck, present: bool, reason: String| {
            check.error = Some(reason.clone());
            check.result = if present { CheckResult::Present } else { CheckResult::Failed(reason) };
        };
        let record = match self.db.file(&path) {
            Ok(r) => r,
            Err(e) => {
                failed(&mut check, false, format!("state database: {e}"));
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
                check.error = Some(e.to_string());
                if record.is_none() {
                    check.result = CheckResult::Busy(left);
                }
                return (check, sent);
            }
            Err(e) => {
                self.metrics.upstream_errors.inc();
                self.metrics.count_check("error");
                warn!(krate = %name, error = %e, "upstream fetch failed; the last good file stays served");
                failed(&mut check, record.is_some(), format!("upstream failed: {e}"));
                return (check, sent);
            }
        };
        let published = match self.db.versions(name.as_str()) {
            Ok(v) => v,
            Err(e) => {
                failed(&mut check, record.is_some(), format!("state database: {e}"));
                return (check, sent);
            }
        };
        // The published lines, for upstream bytes that differ from the current file. Unreadable,
        // the check fails rather than fall back to comparing cksums only.
        let current_file = match (&fetch, &record) {
            (IndexFetch::Fetched { bytes, .. }, Some(r)) if Sha256Hash::of(bytes) != r.sha256 => {
                match self.blobs.get(&r.sha256) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        failed(&mut check, true, format!("reading the current file of {name}: {e}"));
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
        let now = now_unix();
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
                if let Err(e) = self.blobs.put_deferred(bytes) {
                    failed(&mut check, record.is_some(), format!("storing {path}: {e}"));
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
                if matches!(self.db.quarantine_record(&path), Ok(Some(_))) {
                    check.changes.quarantine.push((path, None));
                }
            }
            Decision::Quarantine { sha256, violations } => {
                let Upstream::Bytes(bytes) = upstream else { return (check, sent) };
                match &record {
                    Some(r) => check.changes.files.push((path.clone(), Some(touched(r)))),
                    None => failed(
                        &mut check,
                        false,
                        format!("upstream's file of {name} breaks the history rule and is held in quarantine"),
                    ),
                }
                let known = self.db.quarantine_record(&path).ok().flatten();
                if known.as_ref().is_some_and(|q| q.sha256 == sha256) {
                    return (check, sent);
                }
                let reason =
                    format!("{name}: {}", violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
                self.metrics.count_check("quarantined");
                warn!(krate = %name, %reason, "upstream rewrote signed history: file quarantined, last good file stays served");
                if self.blobs.put_deferred(bytes).is_ok() {
                    let q = QuarantineRecord { sha256, reason, detected_at: now, rejected: false };
                    check.changes.quarantine.push((path, Some(q)));
                }
            }
            Decision::Invalid(e) => {
                self.metrics.count_check("invalid");
                warn!(krate = %name, error = %e, "upstream sent an invalid index file; it is not published");
                failed(&mut check, record.is_some(), format!("upstream's index file for {name} is invalid: {e}"));
            }
            Decision::Gone => {
                self.metrics.count_check("not_found");
                match &record {
                    None => check.result = CheckResult::NotFound,
                    Some(r) if self.config.mirror.keep_removed => {
                        check.changes.files.push((path, Some(touched(r))));
                    }
                    Some(r) => {
                        let grace = self.config.mirror.removal_grace;
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
        *self.gone_since.lock().unwrap_or_else(|p| p.into_inner()).entry(path.to_owned()).or_insert(now)
    }

    fn forget_gone(&self, path: &str) {
        self.gone_since.lock().unwrap_or_else(|p| p.into_inner()).remove(path);
    }
}

impl Changes {
    /// Adds another check's changes to these.
    pub fn merge(&mut self, other: Changes) {
        self.files.extend(other.files);
        self.versions.extend(other.versions);
        self.replaced_versions.extend(other.replaced_versions);
        self.quarantine.extend(other.quarantine);
        self.removal_reasons.extend(other.removal_reasons);
        self.meta.extend(other.meta);
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.quarantine.is_empty() && self.meta.is_empty()
    }
}
