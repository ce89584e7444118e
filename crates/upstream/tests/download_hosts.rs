//! `.crate` downloads reach only the download hosts (issue 12): another host, another scheme, an
//! internal address the operator did not list, a host name that resolves to loopback, and a
//! redirect to any of those are refused before a connection is made, and not retried.

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{config, serve};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tufmirror_upstream::{CrateFetch, DownloadHosts, UpstreamClient, UpstreamError, Url};

/// A loopback server: `/crate` answers bytes, `/to/<host>` redirects to `http://<host>:PORT/crate`;
/// counts every request.
async fn origin() -> (String, u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let port_in = port.clone();
    let router = Router::new()
        .route("/crate", get(|| async { "crate bytes" }))
        .route(
            "/to/{host}",
            get(move |axum::extract::Path(host): axum::extract::Path<String>| {
                let port = *port_in.get().expect("port");
                async move {
                    (StatusCode::FOUND, [(header::LOCATION, format!("http://{host}:{port}/crate"))]).into_response()
                }
            }),
        )
        .layer(axum::middleware::from_fn(move |request, next: axum::middleware::Next| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move { next.run(request).await }
        }));
    let base = serve(router).await;
    let bound: u16 = Url::parse(&base).expect("url").port().expect("port");
    port.set(bound).expect("once");
    (base, bound, hits)
}

fn refused(result: Result<CrateFetch, UpstreamError>) -> String {
    match result {
        Err(UpstreamError::DownloadRefused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

#[tokio::test]
async fn listed_hosts_only_and_internal_addresses_only_when_listed() {
    let (base, port, hits) = origin().await;
    // Listed: 127.0.0.1 (as the tests' configuration does).
    let listed = UpstreamClient::new(config(&base)).expect("client");
    let ok = listed.fetch_crate(&url(&format!("{base}crate"))).await.expect("listed host");
    assert_eq!(ok, CrateFetch::Fetched { bytes: b"crate bytes".to_vec() });
    assert_eq!(hits.swap(0, Ordering::SeqCst), 1);

    for (target, why) in [
        (format!("http://localhost:{port}/crate"), "localhost is not a download host"),
        (format!("http://127.0.0.2:{port}/crate"), "127.0.0.2 is not a download host"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "not a download host"),
        ("file:///etc/passwd".to_owned(), "http(s) only"),
    ] {
        let reason = refused(listed.fetch_crate(&url(&target)).await);
        assert!(reason.contains(why), "{target}: {reason}");
    }
    // A redirect is checked like the first URL: to a listed host it is followed, elsewhere not.
    assert!(matches!(listed.fetch_crate(&url(&format!("{base}to/127.0.0.1"))).await, Ok(CrateFetch::Fetched { .. })));
    assert_eq!(hits.swap(0, Ordering::SeqCst), 2);
    let reason = refused(listed.fetch_crate(&url(&format!("{base}to/localhost"))).await);
    assert!(reason.contains("localhost is not a download host"), "{reason}");
    assert_eq!(hits.swap(0, Ordering::SeqCst), 1, "the redirect is not retried, its target never asked");

    // The default (the index's own host), when that host is loopback: allowed as a host, but not
    // at an internal address, which only a listed host may have; a name is checked by its
    // resolved addresses.
    for index in [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/")] {
        let mut unlisted = config(&index);
        unlisted.download_hosts = DownloadHosts::default_for(&url(&index));
        let client = UpstreamClient::new(unlisted).expect("client");
        let reason = refused(client.fetch_crate(&url(&format!("{index}crate"))).await);
        assert!(reason.contains("loopback, link-local or private"), "{index}: {reason}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no refused download reached the server");
}
