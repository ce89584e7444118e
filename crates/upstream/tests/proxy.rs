//! Proxies: an explicit one from the configuration (with credentials that must never show), and
//! the environment's `HTTP_PROXY`/`NO_PROXY` (in a child process, which has its own environment).
//!
//! The upstream is `http://upstream.test/`, a name that does not resolve (RFC 6761): a request
//! that succeeds went through the proxy, which forwards everything to the loopback origin.

mod common;

use axum::Router;
use axum::routing::get;
use common::{config, header_of, name, raw_server, run_child_test, serve, write};
use std::error::Error;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tufmirror_upstream::{IndexFetch, ProxySetting, UpstreamClient, UpstreamError, Url};

const UPSTREAM: &str = "http://upstream.test/";
const CONFIG: &[u8] = b"{\"dl\": \"https://static.crates.io/crates\"}";
const SERDE: &[u8] = b"{\"name\": \"serde\", \"vers\": \"1.0.0\"}\n";

/// The loopback origin; returns its base URL.
async fn origin() -> String {
    let router =
        Router::new().route("/config.json", get(|| async { CONFIG })).route("/se/rd/serde", get(|| async { SERDE }));
    serve(router).await
}

/// Request heads the proxy received.
type Seen = Arc<Mutex<Vec<String>>>;

/// A plain-HTTP forwarding proxy: takes an absolute-form GET, sends it in origin form to `origin`
/// and copies the answer back. Returns the proxy's base URL.
async fn proxy(origin: &str) -> (String, Seen) {
    let origin = Url::parse(origin).expect("origin URL");
    let address = format!("{}:{}", origin.host_str().expect("host"), origin.port().expect("port"));
    let seen = Seen::default();
    let heads = seen.clone();
    let (base, _) = raw_server(move |_, head, mut client| {
        heads.lock().expect("lock").push(head.clone());
        let address = address.clone();
        async move {
            let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let path = Url::parse(&target).map(|u| u.path().to_owned()).unwrap_or_default();
            let mut upstream = TcpStream::connect(address).await.expect("connect to origin");
            write(
                &mut upstream,
                format!("GET {path} HTTP/1.1\r\nHost: upstream.test\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await;
            let mut answer = Vec::new();
            let _ = upstream.read_to_end(&mut answer).await;
            write(&mut client, &answer).await;
        }
    })
    .await;
    (base, seen)
}

/// `err` and all its sources, as a log line with `{:#}`-style chains would show them.
fn everything_shown(err: &UpstreamError) -> String {
    let mut shown = format!("{err:?}");
    let mut next: Option<&dyn Error> = Some(err);
    while let Some(e) = next {
        shown.push_str(&format!("\n{e}"));
        next = e.source();
    }
    shown
}

#[tokio::test]
async fn an_explicit_proxy_carries_every_request_and_its_password_stays_secret() {
    let (proxy_base, seen) = proxy(&origin().await).await;
    let proxy_url = Url::parse(&proxy_base.replace("http://", "http://alice:s3cret@")).expect("proxy URL");
    let mut config = config(UPSTREAM);
    config.proxy = ProxySetting::Url(proxy_url);
    let client = UpstreamClient::new(config).expect("client");

    let answer = client.fetch_config_json(None).await.expect("through the proxy");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == CONFIG));
    let answer = client.fetch_index_file(&name("serde"), None).await.expect("through the proxy");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == SERDE));

    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].starts_with("GET http://upstream.test/config.json HTTP/1.1\r\n"), "{}", seen[0]);
    assert!(seen[1].starts_with("GET http://upstream.test/se/rd/serde HTTP/1.1\r\n"), "{}", seen[1]);
    for head in &seen {
        // "alice:s3cret" in base64.
        assert_eq!(header_of(head, "proxy-authorization").as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    }
    let shown = format!("{client:?}");
    assert!(!shown.contains("s3cret") && shown.contains("***@127.0.0.1"), "{shown}");
}

#[tokio::test]
async fn errors_through_a_proxy_do_not_show_its_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://alice:s3cret@{}/", listener.local_addr().expect("address"));
    drop(listener);
    let mut config = config(UPSTREAM);
    config.proxy = ProxySetting::Url(Url::parse(&dead).expect("URL"));
    config.retries = 1;
    let err = UpstreamClient::new(config).expect("client").fetch_config_json(None).await.expect_err("no proxy there");
    assert!(matches!(err.last_attempt(), UpstreamError::Connect { .. }), "{err:?}");
    let shown = everything_shown(&err);
    assert!(!shown.contains("s3cret") && !shown.contains("alice"), "{shown}");
}

const URL_VAR: &str = "TUFMIRROR_TEST_UPSTREAM";
/// Cleared in the child. `REQUEST_METHOD` too: under CGI, `HTTP_PROXY` is ignored (it could be
/// set by a request header).
const PROXY_VARS: [&str; 9] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

#[tokio::test]
async fn environment_proxies_and_no_proxy_are_honoured() {
    let origin = origin().await;
    let (proxy_base, seen) = proxy(&origin).await;
    run_child_test("child", &[(URL_VAR, UPSTREAM), ("HTTP_PROXY", &proxy_base)], &PROXY_VARS).await;
    assert_eq!(seen.lock().expect("lock").len(), 1, "HTTP_PROXY was used");
    // Going straight to the origin, which NO_PROXY exempts.
    let env = [(URL_VAR, origin.as_str()), ("HTTP_PROXY", &proxy_base), ("NO_PROXY", "127.0.0.1")];
    run_child_test("child", &env, &PROXY_VARS).await;
    assert_eq!(seen.lock().expect("lock").len(), 1, "NO_PROXY was honoured");
}

#[tokio::test]
#[ignore = "run by environment_proxies_and_no_proxy_are_honoured in a child process with its own environment"]
async fn child() {
    let base = std::env::var(URL_VAR).expect("run by environment_proxies_and_no_proxy_are_honoured");
    let mut config = config(&base);
    config.proxy = ProxySetting::Environment;
    let answer = UpstreamClient::new(config).expect("client").fetch_config_json(None).await.expect("fetch");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == CONFIG));
}
