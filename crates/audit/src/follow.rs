//! The auditor as a long-running service (`tufmirror audit --follow`): a run every interval, so
//! that each new snapshot is audited within seconds of its publication, metrics, and an HTTP
//! listener that answers `/metrics`, `/healthz` and the attestation folder under `/audit/`
//! (so clients can be pointed at the auditor itself).

use crate::AuditError;
use crate::follow_metrics::Metrics;
use crate::report::Report;
use crate::run::Auditor;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::ServeDir;

/// The listener's routes: `/metrics`, `/healthz`, and `/audit/` over `attestations` if given.
pub fn app(registry: Arc<Registry>, attestations: Option<PathBuf>) -> Router {
    let metrics = move || {
        let registry = registry.clone();
        async move {
            let mut text = String::new();
            if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
                tracing::error!(error = %e, "encoding metrics");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            ([(header::CONTENT_TYPE, content_type)], text).into_response()
        }
    };
    let mut router = Router::new().route("/metrics", get(metrics)).route("/healthz", get(|| async { "ok\n" }));
    if let Some(dir) = attestations {
        router = router.nest_service("/audit", ServeDir::new(dir));
    }
    router
}

/// Runs `auditor` every `interval` until `shutdown` completes (a run in progress is abandoned:
/// what it committed stays, the rest is done again by the next start), serving [`app`] on
/// `listener` if given. `on_run` sees every outcome (to print it).
pub async fn follow(
    mut auditor: Auditor,
    interval: Duration,
    listener: Option<tokio::net::TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
    mut on_run: impl FnMut(&Result<Report, AuditError>),
) -> std::io::Result<()> {
    let metrics = Metrics::default();
    if let Ok(Some(progress)) = auditor.state().progress() {
        metrics.start_from(&progress);
    }
    let registry = Arc::new(metrics.registry());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = listener.map(|listener| {
        let router = app(registry.clone(), auditor.attestor().map(|a| a.out().to_owned()));
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        })
    });
    tokio::pin!(shutdown);
    loop {
        let outcome = tokio::select! {
            outcome = auditor.run_once() => outcome,
            () = &mut shutdown => break,
        };
        metrics.observe(&outcome, time::OffsetDateTime::now_utc().unix_timestamp());
        on_run(&outcome);
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => break,
        }
    }
    let _ = stop.send(true);
    if let Some(server) = server {
        server.await.map_err(std::io::Error::other)??;
    }
    Ok(())
}
