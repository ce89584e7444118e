//! Each fetch is a span with its URL; attempts, statuses and sizes are events in it; proxy
//! credentials appear nowhere.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{config, name, serve};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tufmirror_upstream::{ProxySetting, UpstreamClient, Url};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn fetches_are_logged_without_secrets() {
    let requests = Arc::new(AtomicUsize::new(0));
    let router = Router::new().route(
        "/se/rd/serde",
        get(move || {
            let n = requests.fetch_add(1, Ordering::SeqCst);
            async move { if n == 0 { Err(StatusCode::SERVICE_UNAVAILABLE) } else { Ok("{}\n") } }
        }),
    );
    let base = serve(router).await;
    // A client as the daemon would log it at start-up: with a proxy password (never used here).
    let mut proxied = config(&base);
    proxied.proxy = ProxySetting::Url(Url::parse("http://alice:s3cret@127.0.0.1:9/").expect("URL"));
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime runs every task on this thread, so a thread-local subscriber sees them all.
    let _guard = tracing::subscriber::set_default(subscriber);

    let proxied = UpstreamClient::new(proxied).expect("client");
    tracing::info!(client = ?proxied, "configured");
    let client = UpstreamClient::new(config(&base)).expect("client");
    client.fetch_index_file(&name("serde"), None).await.expect("second attempt");

    let logs = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("UTF-8");
    let url = format!("{base}se/rd/serde");
    for expected in [
        format!("upstream_fetch{{url={url} kind=\"index\"}}"),
        "attempt=1 status=503".to_owned(),
        "retrying attempt=1".to_owned(),
        "attempt=2 status=200".to_owned(),
        "bytes=3".to_owned(),
    ] {
        assert!(logs.contains(&expected), "{expected:?} missing from:\n{logs}");
    }
    assert!(logs.contains("***@127.0.0.1:9") && !logs.contains("s3cret"), "{logs}");
}
