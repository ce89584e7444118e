//! A local HTTP proxy between cargo and a tufmirror mirror that passes on only what verifies.
//!
//! Cargo reads `sparse+http://ADDR/index/` from the proxy ([`app`]); for each request the proxy
//! asks the mirror once and checks the answer with a shared [`MirrorClient`] (TUF metadata,
//! then the answer's TAP-16 proof): an index file, a 304 or a 404 reaches cargo only once its
//! proof holds, and `config.json` only if it matches its signed target. `.crate` downloads do not
//! pass through here: `config.json`'s `dl` stays the mirror's, and cargo checks each `.crate`
//! against the `cksum` of the verified index line. Anything that fails is answered with an error
//! status and a one-line body naming the path and the reason (see [`ProxyError`]).
//!
//! [`setup`] writes what makes cargo use the proxy: the trusted root, cargo's source replacement
//! and optionally a systemd user unit.
#![warn(missing_docs)]

pub mod setup;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;
use tufmirror_client::mirror_client::one_line;
use tufmirror_client::{IndexFile, MirrorClient, MirrorError};

/// The longest one request may take, a refresh of the TUF metadata included; cargo gets 504.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The proxy's router over a shared client. Routes: `GET /index/config.json`,
/// `GET /index/<path>`, `GET /healthz`.
pub fn app(client: Arc<MirrorClient>) -> Router {
    Router::new()
        .route("/index/config.json", get(config_json))
        .route("/index/{*path}", get(index_file))
        .route("/healthz", get(healthz))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, REQUEST_TIMEOUT))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(client)
}

/// An answer the proxy does not pass on, as cargo sees it: a status and a one-line body
/// (`tufmirror proxy: <path>: <reason>`), which cargo prints for any status it does not
/// understand.
///
/// The status is chosen for what cargo does with it:
/// - **403 Forbidden** when the mirror's answer (or its TUF metadata) failed verification, or the
///   metadata expired and cannot be refreshed. Cargo does not retry 403 and shows the body at
///   once: a refusal is definite, and retrying would only ask the same mirror for the same bytes.
///   Not 404, 410 or 451: cargo reads those as "no such crate" and resolves without it, which is
///   exactly what an attacker who hides a crate wants. Not 401: cargo starts its registry
///   authentication flow.
/// - **502 Bad Gateway** when the mirror could not be reached, timed out or had a server error
///   ([`MirrorError::is_transient`]): cargo retries 5xx (`net.retry`), which may well succeed.
/// - (404 for a path that is not a sparse-index path: no crate can be there, and the mirror
///   itself answers those with a plain 404.)
#[derive(Debug)]
pub struct ProxyError(pub MirrorError);

impl ProxyError {
    /// The status cargo gets (see the type's documentation).
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            MirrorError::NotAnIndexPath { .. } => StatusCode::NOT_FOUND,
            e if e.is_transient() => StatusCode::BAD_GATEWAY,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = one_line(&self.0);
        if status == StatusCode::FORBIDDEN {
            tracing::error!(status = status.as_u16(), reason = %line, "refused");
        } else {
            tracing::warn!(status = status.as_u16(), reason = %line, "not answered");
        }
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("tufmirror proxy: {line}\n"))
            .into_response()
    }
}

#[tracing::instrument(skip_all)]
async fn config_json(State(client): State<Arc<MirrorClient>>) -> Result<Response, ProxyError> {
    let bytes = client.config_json().await.map_err(ProxyError)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

#[tracing::instrument(skip(client, headers), fields(snapshot))]
async fn index_file(
    State(client): State<Arc<MirrorClient>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ProxyError> {
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let file = client.index_file(&path, if_none_match).await.map_err(ProxyError)?;
    tracing::Span::current().record("snapshot", file.snapshot());
    let etag = file.etag().and_then(|e| HeaderValue::from_str(&e).ok());
    let mut response = match file {
        IndexFile::Present { bytes, .. } => ([(header::CONTENT_TYPE, "text/plain")], bytes).into_response(),
        IndexFile::NotModified { .. } => StatusCode::NOT_MODIFIED.into_response(),
        IndexFile::Absent { snapshot } => {
            (StatusCode::NOT_FOUND, format!("not in snapshot {snapshot} (non-inclusion proven)\n")).into_response()
        }
    };
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Liveness, and the snapshot the proxy trusts (if it has verified one yet).
async fn healthz(State(client): State<Arc<MirrorClient>>) -> String {
    match client.view() {
        Some(view) => format!("ok: trusting snapshot {} of {}\n", view.snapshot_version, client.base_url()),
        None => format!("ok: no snapshot of {} verified yet\n", client.base_url()),
    }
}
