//! Well-behaved upstreams (axum on loopback): exact bytes, validators, not-found statuses,
//! retries, Retry-After, size limits and the concurrency bound.

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use common::{config, name, serve};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tufmirror_core::Sha256Hash;
use tufmirror_upstream::{Allowance, CrateFetch, IndexFetch, UpstreamClient, UpstreamError, Url, Validator};

/// An index file as crates.io might not write it: spaces, unicode, no final newline on purpose.
const SERDE: &[u8] = b"{\"name\": \"serde\", \"vers\": \"1.0.0\", \"deps\": [], \"cksum\": \"ab\", \"features\": {}, \"yanked\": false}\n{\"name\":\"serde\",\"vers\":\"1.0.1\",\"desc\":\"caf\xc3\xa9\"}";
const CONFIG: &[u8] = b"{\n  \"dl\": \"https://static.crates.io/crates\",\n  \"api\": \"https://crates.io\"\n}\n";
const ETAG: &str = "\"etag-v1\"";
const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn client(base: &str) -> UpstreamClient {
    UpstreamClient::new(config(base)).expect("client")
}

/// Counts requests to the routes that use it.
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[tokio::test]
async fn index_files_and_config_json_are_returned_byte_for_byte() {
    let router = Router::new()
        .route("/se/rd/serde", get(|| async { ([(header::ETAG, ETAG), (header::LAST_MODIFIED, DATE)], SERDE) }))
        .route("/config.json", get(|| async { CONFIG }));
    let base = serve(router).await;
    // Without the final slash: the client adds it, as cargo requires it.
    let client = client(base.trim_end_matches('/'));

    let fetched = client.fetch_index_file(&name("Serde"), None).await.expect("fetch");
    let IndexFetch::Fetched { bytes, etag, last_modified } = &fetched else { panic!("{fetched:?}") };
    assert_eq!(bytes.as_slice(), SERDE);
    assert_eq!(etag.as_deref(), Some(ETAG));
    assert_eq!(last_modified.as_deref(), Some(DATE));
    assert_eq!(fetched.validator(), Some(Validator::ETag(ETAG.to_owned())), "ETag is preferred");

    let config = client.fetch_config_json(None).await.expect("fetch config.json");
    assert_eq!(config, IndexFetch::Fetched { bytes: CONFIG.to_vec(), etag: None, last_modified: None });
}

#[tokio::test]
async fn validators_turn_304_into_not_modified() {
    let conditional =
        |headers: HeaderMap, name: header::HeaderName, value: &str, extra: (header::HeaderName, &'static str)| {
            let unchanged = headers.get(&name).is_some_and(|v| v == value);
            if unchanged {
                (StatusCode::NOT_MODIFIED, [extra], Vec::new())
            } else {
                (StatusCode::OK, [extra], SERDE.to_vec())
            }
        };
    let router = Router::new()
        .route(
            "/se/rd/serde",
            get(move |h: HeaderMap| async move { conditional(h, header::IF_NONE_MATCH, ETAG, (header::ETAG, ETAG)) }),
        )
        .route(
            "/to/ki/tokio",
            get(move |h: HeaderMap| async move {
                conditional(h, header::IF_MODIFIED_SINCE, DATE, (header::LAST_MODIFIED, DATE))
            }),
        );
    let client = client(&serve(router).await);

    for crate_name in ["serde", "tokio"] {
        let first = client.fetch_index_file(&name(crate_name), None).await.expect("fetch");
        assert!(matches!(&first, IndexFetch::Fetched { bytes, .. } if bytes == SERDE), "{first:?}");
        let validator = first.validator().expect("a validator");
        let expected = match crate_name {
            "serde" => Validator::ETag(ETAG.to_owned()),
            _ => Validator::LastModified(DATE.to_owned()),
        };
        assert_eq!(validator, expected);
        let again = client.fetch_index_file(&name(crate_name), Some(&validator)).await.expect("fetch again");
        assert_eq!(again, IndexFetch::NotModified, "{crate_name}");
    }
    let stale = Validator::ETag("\"other\"".to_owned());
    let refetched = client.fetch_index_file(&name("serde"), Some(&stale)).await.expect("fetch");
    assert!(matches!(refetched, IndexFetch::Fetched { .. }), "a stale validator gets the file");
}

#[tokio::test]
async fn content_hashes_detect_changes_without_validators() {
    let changed = Arc::new(AtomicBool::new(false));
    let flag = changed.clone();
    let router = Router::new().route(
        "/se/rd/serde",
        get(move || {
            let changed = flag.load(Ordering::SeqCst);
            async move { if changed { b"{\"name\":\"serde\",\"vers\":\"2.0.0\"}\n".to_vec() } else { SERDE.to_vec() } }
        }),
    );
    let client = client(&serve(router).await);
    let known = Sha256Hash::of(SERDE);

    let same = client.fetch_index_file(&name("serde"), None).await.expect("fetch");
    assert_eq!(same.validator(), None, "this upstream sends no validators");
    assert!(same.is_unchanged(&known));
    changed.store(true, Ordering::SeqCst);
    let different = client.fetch_index_file(&name("serde"), None).await.expect("fetch");
    assert!(!different.is_unchanged(&known));
}

#[tokio::test]
async fn removed_crates_are_not_found_with_their_status() {
    let requests = counter();
    let seen = requests.clone();
    let router = Router::new()
        .route("/go/ne/gone", get(|| async { StatusCode::GONE }))
        .route("/le/ga/legal", get(|| async { StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS }))
        .route("/crates/gone/1.0.0/download", get(|| async { StatusCode::GONE }))
        .fallback(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::NOT_FOUND }
        });
    let base = serve(router).await;
    let client = client(&base);

    for (crate_name, status) in [("missing", 404), ("gone", 410), ("legal", 451)] {
        let answer = client.fetch_index_file(&name(crate_name), None).await.expect("an answer, not an error");
        assert_eq!(answer, IndexFetch::NotFound { status }, "{crate_name}");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 1, "a 404 is not retried");
    let url = Url::parse(&format!("{base}crates/gone/1.0.0/download")).expect("url");
    assert_eq!(client.fetch_crate(&url).await.expect("answer"), CrateFetch::NotFound { status: 410 });
}

#[tokio::test]
async fn other_client_errors_fail_at_once() {
    let requests = counter();
    let seen = requests.clone();
    let router = Router::new().fallback(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        async { StatusCode::FORBIDDEN }
    });
    let client = client(&serve(router).await);
    let err = client.fetch_index_file(&name("serde"), None).await.expect_err("403");
    assert!(matches!(err, UpstreamError::Status { status: 403, .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "4xx is never retried");
    // 304 without a validator having been sent is not "not modified".
    let router = Router::new().fallback(|| async { StatusCode::NOT_MODIFIED });
    let err = self::client(&serve(router).await).fetch_config_json(None).await.expect_err("304");
    assert!(matches!(err, UpstreamError::Status { status: 304, .. }), "{err:?}");
}

/// A route answering `statuses` in turn (with `headers`), then 200 with SERDE.
fn scripted(statuses: &'static [u16], headers: &'static [(&'static str, &'static str)]) -> (Router, Arc<AtomicUsize>) {
    let requests = counter();
    let seen = requests.clone();
    let router = Router::new().route(
        "/se/rd/serde",
        get(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut h = HeaderMap::new();
                for (k, v) in headers {
                    h.insert(*k, v.parse().expect("header value"));
                }
                match statuses.get(n) {
                    Some(s) => (StatusCode::from_u16(*s).expect("status"), h, Vec::new()),
                    None => (StatusCode::OK, HeaderMap::new(), SERDE.to_vec()),
                }
            }
        }),
    );
    (router, requests)
}

#[tokio::test]
async fn server_errors_are_retried() {
    let (router, requests) = scripted(&[500, 500], &[]);
    let client = client(&serve(router).await);
    let answer = client.fetch_index_file(&name("serde"), None).await.expect("success on the third attempt");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == SERDE));
    assert_eq!(requests.load(Ordering::SeqCst), 3);

    let (router, requests) = scripted(&[503, 503, 503, 503], &[]);
    let client = self::client(&serve(router).await);
    let err = client.fetch_index_file(&name("serde"), None).await.expect_err("always 503");
    let UpstreamError::RetriesExhausted { attempts, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*attempts, 3, "one attempt and two retries");
    assert!(matches!(err.last_attempt(), UpstreamError::Status { status: 503, .. }), "{err:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (router, requests) = scripted(&[429], &[("retry-after", "1")]);
    let client = client(&serve(router).await);
    let start = Instant::now();
    client.fetch_index_file(&name("serde"), None).await.expect("success after waiting");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(950), "waited only {waited:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

/// A 429 with `Retry-After` pauses every index fetch of the client, not only the one that got it:
/// a fetch for another path sends nothing while the pause lasts, and either gives up at once or
/// waits, as its allowance says.
#[tokio::test]
async fn a_429_pauses_every_index_fetch() {
    let (router, requests) = scripted(&[429], &[("retry-after", "2")]);
    let others = counter();
    let seen = others.clone();
    let router = router.route(
        "/ot/he/other",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { SERDE }
        }),
    );
    let client = client(&serve(router).await);
    let impatient = Allowance { requests: 5, fail_when_paused: true };
    let spent = client.fetch_index_file_within(&name("serde"), None, impatient).await;
    let err = spent.result.expect_err("paused");
    assert!(matches!(err, UpstreamError::Paused { .. }), "{err:?}");
    assert_eq!(spent.requests, 1, "the 429 was sent; no retry during the pause");
    let left = err.paused_for().expect("time left");
    assert!(left > Duration::from_secs(1) && left <= Duration::from_secs(2), "{left:?}");

    let spent = client.fetch_index_file_within(&name("other"), None, impatient).await;
    assert!(matches!(spent.result, Err(UpstreamError::Paused { .. })), "{:?}", spent.result);
    assert_eq!((spent.requests, others.load(Ordering::SeqCst)), (0, 0), "nothing sent during the pause");

    let start = Instant::now();
    let answer = client.fetch_index_file(&name("other"), None).await.expect("after the pause");
    assert!(matches!(answer, IndexFetch::Fetched { .. }));
    assert!(start.elapsed() >= Duration::from_millis(900), "waited only {:?}", start.elapsed());
    assert_eq!(others.load(Ordering::SeqCst), 1);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

/// An allowance below `retries + 1` caps the requests, and the fetch says how many it sent.
#[tokio::test]
async fn an_allowance_caps_the_requests() {
    let (router, requests) = scripted(&[500, 500, 500, 500], &[]);
    let client = client(&serve(router).await);
    let spent =
        client.fetch_index_file_within(&name("serde"), None, Allowance { requests: 2, fail_when_paused: true }).await;
    let err = spent.result.expect_err("500s");
    assert!(matches!(err, UpstreamError::RetriesExhausted { attempts: 2, .. }), "{err:?}");
    assert_eq!((spent.requests, requests.load(Ordering::SeqCst)), (2, 2));
}

#[tokio::test]
async fn retry_after_is_capped() {
    let (router, requests) = scripted(&[503], &[("retry-after", "3600")]);
    let mut config = config(&serve(router).await);
    config.retry_after_max = Duration::from_millis(100);
    let start = Instant::now();
    UpstreamClient::new(config).expect("client").fetch_index_file(&name("serde"), None).await.expect("success");
    assert!(start.elapsed() < Duration::from_secs(3), "waited {:?}", start.elapsed());
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn crate_files_have_their_own_size_limit() {
    let big = Arc::new((0..50_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let (index_body, crate_body) = (big.clone(), big.clone());
    let router = Router::new()
        .route("/se/rd/serde", get(move || async move { index_body.to_vec() }))
        .route("/crates/serde/1.0.0/download", get(move || async move { crate_body.to_vec() }));
    let base = serve(router).await;
    let mut config = config(&base);
    config.max_index_file_bytes = 10_000;
    config.max_crate_bytes = 100_000;
    let client = UpstreamClient::new(config).expect("client");

    let url = Url::parse(&format!("{base}crates/serde/1.0.0/download")).expect("url");
    assert_eq!(client.fetch_crate(&url).await.expect("crate"), CrateFetch::Fetched { bytes: big.to_vec() });
    let err = client.fetch_index_file(&name("serde"), None).await.expect_err("over the index limit");
    assert!(
        matches!(err, UpstreamError::TooLarge { limit: 10_000, declared: Some(50_000), .. }),
        "refused on Content-Length: {err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let in_flight = counter();
    let most = counter();
    let (now, max) = (in_flight.clone(), most.clone());
    let router = Router::new().fallback(move || {
        let (now, max) = (now.clone(), max.clone());
        async move {
            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(current, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            SERDE
        }
    });
    let mut config = config(&serve(router).await);
    config.max_concurrency = 3;
    let client = UpstreamClient::new(config).expect("client");
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.fetch_index_file(&name("serde"), None).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("fetch");
    }
    let most = most.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "at most 3 in flight (and more than one), saw {most}");
}

#[tokio::test]
async fn refused_connections_are_connect_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/", listener.local_addr().expect("address"));
    drop(listener);
    let mut config = config(&base);
    config.retries = 1;
    let err = UpstreamClient::new(config).expect("client").fetch_config_json(None).await.expect_err("refused");
    assert!(matches!(err, UpstreamError::RetriesExhausted { attempts: 2, .. }), "{err:?}");
    assert!(matches!(err.last_attempt(), UpstreamError::Connect { .. }), "{err:?}");
}
