//! How a request that cannot be answered becomes an HTTP response: one error type per front end
//! ([`DaemonError`] for the daemon's router, [`StaticError`] for `serve-static`), each turned
//! into a response in exactly one `IntoResponse`. Handlers return `Result<Response, ThatError>`
//! and never build an error status themselves. (The proxy's `ProxyError` in tufmirror-proxy is
//! the same shape for the third front end.)
//!
//! # Policy
//!
//! - **An answer is not an error.** A crate proven absent (a 404 carrying its non-inclusion
//!   proof), a 304, `/readyz` saying 503 "not ready": these are what the request asked, and
//!   handlers return them as `Ok`.
//! - **The client asked for something not here: 4xx, not logged** (debug at most). 404 for
//!   anything not served, with an empty body where saying why would help nobody (a refused link
//!   is not told apart from a missing file), or a short reason cargo can print ("not an index
//!   path"); 401 for a missing or wrong admin token; 409 for a root that was refused.
//! - **Upstream failed us: 502** with a one-line reason (cargo retries 5xx, and prints the body).
//!   The engine logs the upstream failure where it happens.
//! - **The mirror sheds load: 503 with `Retry-After`** (whole seconds, at least 1), never a 404:
//!   the crate was not checked, and cargo must not conclude it is gone.
//! - **Our own fault: 500, logged at error** with the cause chain; the body says only
//!   "internal error", since the cause may name paths of the host. The `/admin/` routes are the
//!   exception: their caller holds the admin token, i.e. is the operator, and gets the cause.
//! - Bodies are plain text, one line ending in a newline.

use crate::files::FileError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tufmirror_core::error_chain;
use tufmirror_mirror::CheckError;
use tufmirror_mirror::downloads::DownloadError;
use tufmirror_mirror::quarantine::QuarantineError;
use tufmirror_mirror::rotation::RootUpdateError;

const INTERNAL: &str = "internal error\n";

/// The cause of a fault of ours, whatever its type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl DaemonError {
    /// A fault of ours: `what` failed, because of `source`.
    pub fn internal(what: impl Into<String>, source: impl Into<BoxError>) -> DaemonError {
        DaemonError::Internal { what: what.into(), source: source.into() }
    }
}

/// A file a front end does not serve, and why: a 404 (a 500 when reading it failed on our side).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct NotServed {
    /// The path asked for, relative to the served folder.
    pub path: String,
    /// Why it is not served.
    #[source]
    pub source: FileError,
}

/// Why the daemon does not answer a request (see the module's policy).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// Nothing is served at this path (not in the layout, an uncommitted version, a config name
    /// that is not this one): 404, empty body.
    #[error("not served here")]
    NotFound,
    /// A static file (an auditor's attestation) that is not served: 404, empty body (500 if
    /// reading it failed on our side).
    #[error(transparent)]
    File(#[from] NotServed),
    /// `/index/<path>` where `<path>` is no sparse-index path: 404.
    #[error("not an index path")]
    NotAnIndexPath,
    /// `/snapshots/N/...` for a snapshot no longer (or never) retained: 404.
    #[error("snapshot {version} is not retained (or does not exist)")]
    NotRetained {
        /// The snapshot version asked for.
        version: u64,
    },
    /// `/admin/` without the admin token: 401.
    #[error("missing or wrong admin token")]
    Unauthorized,
    /// The mirror lacks the index file and could not get it from upstream: 502.
    #[error(transparent)]
    Upstream(std::sync::Arc<CheckError>),
    /// The mirror lacks the index file and did not ask upstream now: 503 with `Retry-After`.
    #[error("the mirror is not asking upstream about this crate right now; retry later")]
    Busy {
        /// How long to wait (sent in whole seconds, at least 1).
        retry_after: Duration,
    },
    /// A `.crate` download failed (see [`DaemonError::status`] for each cause).
    #[error(transparent)]
    Download(#[from] DownloadError),
    /// An `/admin/quarantine` decision failed.
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    /// `POST /admin/root` did not adopt the root.
    #[error(transparent)]
    Root(#[from] RootUpdateError),
    /// Something of ours is broken (a committed file unreadable, metrics not encodable): 500.
    #[error("{what}")]
    Internal {
        /// What could not be done.
        what: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}

impl DaemonError {
    /// The status the client gets; the one place that decides it.
    pub fn status(&self) -> StatusCode {
        match self {
            DaemonError::NotFound | DaemonError::NotAnIndexPath | DaemonError::NotRetained { .. } => {
                StatusCode::NOT_FOUND
            }
            DaemonError::File(f) => file_status(&f.source),
            DaemonError::Unauthorized => StatusCode::UNAUTHORIZED,
            DaemonError::Upstream(_) => StatusCode::BAD_GATEWAY,
            DaemonError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            DaemonError::Download(e) => match e {
                DownloadError::NotFound { .. } => StatusCode::NOT_FOUND,
                DownloadError::Mismatch { .. } | DownloadError::Upstream { .. } => StatusCode::BAD_GATEWAY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            DaemonError::Quarantine(QuarantineError::NotQuarantined(_)) => StatusCode::NOT_FOUND,
            DaemonError::Quarantine(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DaemonError::Root(e) if e.is_refusal() => StatusCode::CONFLICT,
            DaemonError::Root(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DaemonError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for DaemonError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = error_chain(&self);
        let operator = matches!(self, DaemonError::Quarantine(_) | DaemonError::Root(_));
        let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(reason = %line, "request failed");
            if operator { format!("{line}\n") } else { INTERNAL.to_owned() }
        } else if matches!(self, DaemonError::NotFound | DaemonError::File(_)) {
            tracing::debug!(reason = %line, "not served");
            String::new()
        } else {
            if operator {
                tracing::warn!(reason = %line, "admin request refused");
            }
            format!("{line}\n")
        };
        let mut response = (status, body).into_response();
        if let DaemonError::Busy { retry_after } = self {
            response.headers_mut().insert(header::RETRY_AFTER, retry_after_seconds(retry_after).into());
        }
        response
    }
}

/// Why `serve-static` does not answer a request (see the module's policy).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaticError {
    /// `current` is missing: nothing was published yet. 503, so a client retries later.
    #[error("no snapshot published yet")]
    NothingPublished,
    /// A file that is not served (missing, a folder, a link out of the tree, a bad path): 404,
    /// empty body (500 if reading it failed on our side).
    #[error(transparent)]
    File(#[from] NotServed),
    /// `/index/<path>` where `<path>` is no sparse-index path: 404.
    #[error("not an index path")]
    NotAnIndexPath,
    /// The repository contradicts itself (a `current` that names no version, a leaf list that does
    /// not parse, a file its tree lists that cannot be read): 500.
    #[error("repository damaged: {what}")]
    Damaged {
        /// What is damaged.
        what: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// `current` names no snapshot version: 500.
    #[error("repository damaged: current points at {target}")]
    BadCurrent {
        /// Where it points.
        target: String,
    },
}

impl StaticError {
    /// The status the client gets; the one place that decides it.
    pub fn status(&self) -> StatusCode {
        match self {
            StaticError::NothingPublished => StatusCode::SERVICE_UNAVAILABLE,
            StaticError::File(f) => file_status(&f.source),
            StaticError::NotAnIndexPath => StatusCode::NOT_FOUND,
            StaticError::Damaged { .. } | StaticError::BadCurrent { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for StaticError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = error_chain(&self);
        let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(reason = %line, "request failed");
            INTERNAL.to_owned()
        } else if matches!(self, StaticError::File(_)) {
            tracing::debug!(reason = %line, "not served");
            String::new()
        } else {
            format!("{line}\n")
        };
        (status, body).into_response()
    }
}

/// A file not served is a 404 whatever the reason (so the answer does not say whether a refused
/// link or a FIFO is there); only a failure of our own reading is a 500.
fn file_status(e: &FileError) -> StatusCode {
    match e {
        FileError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        FileError::BadPath | FileError::NotRegular | FileError::Io(_) => StatusCode::NOT_FOUND,
    }
}

/// `Retry-After` in whole seconds, at least 1: "Retry-After: 0" would invite a retry storm.
fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: impl IntoResponse) -> (StatusCode, Option<String>, String) {
        let response = e.into_response();
        let status = response.status();
        let retry = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().expect("ascii").to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("body");
        (status, retry, String::from_utf8(body.to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn each_daemon_error_has_its_status_and_body() {
        let io = || FileError::Io(std::io::ErrorKind::NotFound.into());
        for (e, want) in [
            (DaemonError::NotFound, (404, None, "")),
            (DaemonError::File(NotServed { path: "audit/x".into(), source: io() }), (404, None, "")),
            (
                DaemonError::File(NotServed { path: "audit/x".into(), source: FileError::Task("panic".into()) }),
                (500, None, INTERNAL),
            ),
            (DaemonError::NotAnIndexPath, (404, None, "not an index path\n")),
            (DaemonError::NotRetained { version: 3 }, (404, None, "snapshot 3 is not retained (or does not exist)\n")),
            (DaemonError::Unauthorized, (401, None, "missing or wrong admin token\n")),
            (
                DaemonError::Upstream(std::sync::Arc::new(CheckError::TimedOut)),
                (502, None, "timed out waiting for upstream\n"),
            ),
            (
                DaemonError::Busy { retry_after: Duration::from_millis(1) },
                (503, Some("1"), "the mirror is not asking upstream about this crate right now; retry later\n"),
            ),
            (DaemonError::Busy { retry_after: Duration::from_millis(2500) }, (503, Some("3"), "")),
            (
                DaemonError::internal("reading /data/state.db", std::io::Error::from(std::io::ErrorKind::NotFound)),
                (500, None, INTERNAL),
            ),
            (
                DaemonError::Quarantine(QuarantineError::NotQuarantined("1/a".into())),
                (404, None, "1/a is not in quarantine\n"),
            ),
        ] {
            let (status, retry, body) = answer(e).await;
            assert_eq!(status.as_u16(), want.0);
            assert_eq!(retry.as_deref(), want.1);
            if !(want.0 == 503 && want.2.is_empty()) {
                assert_eq!(body, want.2);
            }
        }
        let download = |e| async { answer(DaemonError::Download(e)).await };
        let (name, vers) = (String::from("a"), String::from("1.0.0"));
        let (status, _, body) = download(DownloadError::NotFound { name: name.clone(), vers: vers.clone() }).await;
        assert_eq!((status.as_u16(), body.as_str()), (404, "a 1.0.0 is not in the mirror\n"));
        let (status, _, body) = download(DownloadError::Mismatch {
            name: name.clone(),
            vers: vers.clone(),
            expected: "ab".into(),
            got: "cd".into(),
        })
        .await;
        assert_eq!(status.as_u16(), 502);
        assert!(!body.contains("cd"), "a 502 does not echo the fetched file's hash: {body}");
        let store = DownloadError::Store { name, vers, source: std::io::ErrorKind::StorageFull.into() };
        assert_eq!(download(store).await.0.as_u16(), 500);
    }

    #[tokio::test]
    async fn each_static_error_has_its_status_and_body() {
        let io = || FileError::Io(std::io::ErrorKind::NotFound.into());
        for (e, want) in [
            (StaticError::NothingPublished, (503, "no snapshot published yet\n")),
            (StaticError::File(NotServed { path: "tuf/x".into(), source: io() }), (404, "")),
            (StaticError::File(NotServed { path: "tuf/x".into(), source: FileError::BadPath }), (404, "")),
            (StaticError::NotAnIndexPath, (404, "not an index path\n")),
            (StaticError::BadCurrent { target: "x".into() }, (500, INTERNAL)),
        ] {
            let (status, _, body) = answer(e).await;
            assert_eq!((status.as_u16(), body.as_str()), want);
        }
    }
}
