//! The daemon's HTTP interface: one listener for cargo (`/index/`, `/crates/`), TUF clients
//! (`/tuf/`, `/history/`, `/snapshots/`, an auditor's `/audit/`), operators (`/healthz`, `/readyz`, `/metrics`) and the
//! token-protected `/admin/` routes. Handlers only translate: the mirror decides.

mod admin;
mod cargo_routes;
mod ops;
mod repo;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tufmirror_mirror::Mirror;
use tufmirror_mirror::metrics::RequestLabels;

/// The router over a running mirror.
pub fn app(mirror: Arc<Mirror>) -> Router {
    let timeout = mirror.config().server.request_timeout;
    let admin = Router::new()
        .route("/quarantine", get(admin::list))
        .route("/quarantine/accept", post(admin::accept))
        .route("/quarantine/reject", post(admin::reject))
        .route("/sync", post(admin::sync))
        .route("/root", post(admin::root))
        .route_layer(middleware::from_fn_with_state(mirror.clone(), admin::require_token));
    Router::new()
        .route("/index/{*path}", get(cargo_routes::index))
        .route("/crates/{name}/{vers}/download", get(cargo_routes::download))
        .route("/tuf/{file}", get(repo::tuf))
        .route("/history/{file}", get(repo::history))
        .route("/snapshots/{version}/leaves.json", get(repo::leaves))
        .route("/snapshots/{version}/index/{*path}", get(repo::snapshot_index))
        .route("/snapshots/{version}/proofs/{*path}", get(repo::snapshot_proof))
        // Attestations an auditor on this host writes into the data folder (docs/audit.md):
        // regular files only, no links (the auditor's account can write there; the keys and
        // `admin.token` sit next to it).
        .route("/audit/{*path}", get(repo::audit))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .nest("/admin", admin)
        .layer(middleware::from_fn_with_state(mirror.clone(), count_requests))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            timeout + Duration::from_secs(1),
        ))
        .layer(CatchPanicLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(mirror)
}

/// The route label of a request path (a fixed set, so label cardinality stays bounded).
fn route_of(path: &str) -> &'static str {
    const ROUTES: [&str; 10] =
        ["index", "crates", "tuf", "history", "snapshots", "audit", "healthz", "readyz", "metrics", "admin"];
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    ROUTES.iter().find(|r| **r == first).copied().unwrap_or("other")
}

async fn count_requests(State(mirror): State<Arc<Mirror>>, request: Request, next: Next) -> Response {
    let route = route_of(request.uri().path());
    let response = next.run(request).await;
    mirror.metrics().requests.get_or_create(&RequestLabels { route, status: response.status().as_u16() }).inc();
    response
}
