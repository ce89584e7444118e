//! `/healthz` (the process answers), `/readyz` (a valid signed snapshot is served) and
//! `/metrics` (Prometheus text).

use crate::error::DaemonError;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tufmirror_mirror::Mirror;

pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when ready, 503 when not: both are answers to "are you ready?" (for load balancers and
/// orchestrators), not failures of the request.
pub(super) async fn readyz(State(mirror): State<Arc<Mirror>>) -> Response {
    if mirror.is_ready() {
        (StatusCode::OK, format!("ready: snapshot {}\n", mirror.publisher().current().version())).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no valid signed snapshot\n").into_response()
    }
}

pub(super) async fn metrics(State(mirror): State<Arc<Mirror>>) -> Result<Response, DaemonError> {
    mirror.update_clock_gauges();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, mirror.metrics_registry())
        .map_err(|e| DaemonError::internal("encoding metrics", e))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}
