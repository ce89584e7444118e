//! `/healthz` (the process answers), `/readyz` (a valid signed snapshot is served) and
//! `/metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tufmirror_mirror::Mirror;

pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

pub(super) async fn readyz(State(mirror): State<Arc<Mirror>>) -> Response {
    if mirror.is_ready() {
        (StatusCode::OK, format!("ready: snapshot {}\n", mirror.publisher().current().version())).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no valid signed snapshot\n").into_response()
    }
}

pub(super) async fn metrics(State(mirror): State<Arc<Mirror>>) -> Response {
    mirror.update_clock_gauges();
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, mirror.metrics_registry()) {
        tracing::error!(error = %e, "encoding metrics");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
