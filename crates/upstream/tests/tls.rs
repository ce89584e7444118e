//! HTTPS with a throw-away CA, as behind a TLS-intercepting proxy: refused until the CA is
//! trusted through `extra_ca_file`; HTTP/2 when the server offers it; no redirect down to plain
//! HTTP. (`SSL_CERT_FILE` has its own test binary: it is read from the process environment.)

mod common;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use common::{config, name, serve};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tufmirror_testkit::tls::{serve_tls, test_pki};
use tufmirror_upstream::{IndexFetch, UpstreamClient, UpstreamError};

const BODY: &[u8] = b"{\"name\": \"serde\", \"vers\": \"1.0.0\"}\n";

fn router() -> Router {
    Router::new().route("/se/rd/serde", get(|| async { BODY }))
}

#[tokio::test]
async fn an_untrusted_ca_is_a_tls_error_and_not_retried() {
    let pki = test_pki();
    let (base, negotiated) = serve_tls(router(), &pki).await;
    let client = UpstreamClient::new(config(&base)).expect("client");
    let err = client.fetch_index_file(&name("serde"), None).await.expect_err("untrusted");
    assert!(matches!(err, UpstreamError::Tls { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert!(negotiated.lock().expect("lock").is_empty(), "no handshake completed");
}

#[tokio::test]
async fn an_extra_ca_file_is_trusted_and_http2_is_used() {
    let pki = test_pki();
    let (base, negotiated) = serve_tls(router(), &pki).await;
    let dir = tempfile::tempdir().expect("temp dir");
    // A bundle of several certificates, the test CA among them, as corporate bundles are.
    let other = test_pki().ca_pem;
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, format!("{other}\n{}", pki.ca_pem)).expect("write bundle");
    let mut config = config(&base);
    config.extra_ca_file = Some(bundle);
    let client = UpstreamClient::new(config).expect("client");
    for _ in 0..3 {
        let answer = client.fetch_index_file(&name("serde"), None).await.expect("trusted");
        assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == BODY));
    }
    assert_eq!(*negotiated.lock().expect("lock"), ["h2"], "one HTTP/2 connection, reused");
}

#[tokio::test]
async fn unusable_ca_files_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").expect("write");
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
    for path in [&missing, &empty, &broken] {
        let mut config = config("https://127.0.0.1/");
        config.extra_ca_file = Some(path.clone());
        let err = UpstreamClient::new(config).expect_err("unusable CA file");
        assert!(matches!(&err, UpstreamError::BadCaBundle { path: p, .. } if p == path), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }
}

#[tokio::test]
async fn redirects_are_followed_but_never_from_https_to_http() {
    let plain_requests = Arc::new(AtomicUsize::new(0));
    let seen = plain_requests.clone();
    let plain = serve(Router::new().fallback(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        async { BODY }
    }))
    .await;
    let downgrade = format!("{plain}se/rd/serde");
    let router = router()
        .route("/to/ki/tokio", get(|| async { Redirect::temporary("/se/rd/serde") }))
        .route("/ra/nd/rand", get(move || async move { Redirect::temporary(&downgrade) }));
    let pki = test_pki();
    let (base, _) = serve_tls(router, &pki).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("write CA");
    let mut config = config(&base);
    config.extra_ca_file = Some(ca);
    let client = UpstreamClient::new(config).expect("client");

    let answer = client.fetch_index_file(&name("tokio"), None).await.expect("https to https");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == BODY));
    let err = client.fetch_index_file(&name("rand"), None).await.expect_err("https to http");
    assert!(matches!(err, UpstreamError::Request { .. }) && !err.is_transient(), "{err:?}");
    assert_eq!(plain_requests.load(Ordering::SeqCst), 0);
}
