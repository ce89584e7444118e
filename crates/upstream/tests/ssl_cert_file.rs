//! `SSL_CERT_FILE` is trusted, as in production, where the TLS-intercepting proxy's CA is given
//! that way. The variable is read from the process environment when a client is built, so the
//! client runs in a child process (this binary, running only `child`) with its own environment.

mod common;

use axum::Router;
use axum::routing::get;
use common::{config, run_child_test};
use tufmirror_testkit::tls::{serve_tls, test_pki};
use tufmirror_upstream::{IndexFetch, UpstreamClient, UpstreamError};

const URL_VAR: &str = "TUFMIRROR_TEST_TLS_URL";
const EXPECT_VAR: &str = "TUFMIRROR_TEST_EXPECT";
const CONFIG: &[u8] = b"{\"dl\": \"https://static.crates.io/crates\"}";

#[tokio::test]
async fn ssl_cert_file_is_trusted() {
    let pki = test_pki();
    let (base, _) = serve_tls(Router::new().route("/config.json", get(|| async { CONFIG })), &pki).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("write CA");
    let ca = ca.to_str().expect("UTF-8 path");
    // SSL_CERT_DIR would be read as well; removed so that the file alone decides.
    let remove = ["SSL_CERT_DIR", "SSL_CERT_FILE"];
    run_child_test("child", &[(URL_VAR, &base), (EXPECT_VAR, "trusted"), ("SSL_CERT_FILE", ca)], &remove).await;
    // The same child without the variable: the system store does not know this CA.
    run_child_test("child", &[(URL_VAR, &base), (EXPECT_VAR, "untrusted")], &remove).await;
}

#[tokio::test]
#[ignore = "run by ssl_cert_file_is_trusted in a child process with its own environment"]
async fn child() {
    let base = std::env::var(URL_VAR).expect("run by ssl_cert_file_is_trusted");
    let client = UpstreamClient::new(config(&base)).expect("client");
    let answer = client.fetch_config_json(None).await;
    match std::env::var(EXPECT_VAR).as_deref() {
        Ok("trusted") => {
            let answer = answer.expect("trusted through SSL_CERT_FILE");
            assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == CONFIG));
        }
        _ => {
            let err = answer.expect_err("not trusted");
            assert!(matches!(err, UpstreamError::Tls { .. }), "{err:?}");
        }
    }
}
