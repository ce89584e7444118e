//! The synthetic registry and the fake upstream, checked through their public API and a real
//! HTTP client (reqwest, as the mirror uses).
#![cfg(feature = "upstream")]

use std::io::Read;
use std::time::Duration;
use tufmirror_testkit::registry::{Dep, index_path, make_crate};
use tufmirror_testkit::upstream::{FakeUpstream, Fault, Request};

fn entries(bytes: &[u8]) -> Vec<(String, u32, u64, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry.path().expect("entry path").to_string_lossy().into_owned();
        let (mode, mtime) = (entry.header().mode().expect("mode"), entry.header().mtime().expect("mtime"));
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        out.push((path, mode, mtime, data));
    }
    out
}

#[test]
fn make_crate_is_deterministic_and_complete() {
    let deps = [Dep::new("base", "^1.0"), Dep::new("other-dep", "=0.2.3")];
    let a = make_crate("leaf", "0.1.0", &deps, "pub fn hi() -> u32 { base::one() }\n");
    let b = make_crate("leaf", "0.1.0", &deps, "pub fn hi() -> u32 { base::one() }\n");
    assert_eq!(a, b);
    assert_eq!(a.cksum.len(), 64);
    assert_ne!(a.cksum, make_crate("leaf", "0.1.1", &deps, "pub fn hi() -> u32 { base::one() }\n").cksum);

    let files = entries(&a.bytes);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["leaf-0.1.0/Cargo.toml", "leaf-0.1.0/Cargo.toml.orig", "leaf-0.1.0/src/lib.rs"]);
    assert!(files.iter().all(|f| f.1 == 0o644 && f.2 == tar::DETERMINISTIC_TIMESTAMP));
    assert_eq!(files[2].3, b"pub fn hi() -> u32 { base::one() }\n");

    let manifest: toml::Table = toml::from_str(std::str::from_utf8(&files[0].3).expect("UTF-8")).expect("TOML");
    assert_eq!(manifest["package"]["name"].as_str(), Some("leaf"));
    assert_eq!(manifest["package"]["version"].as_str(), Some("0.1.0"));
    assert_eq!(manifest["package"]["edition"].as_str(), Some("2021"));
    assert_eq!(manifest["dependencies"]["base"].as_str(), Some("^1.0"));
    assert_eq!(manifest["dependencies"]["other-dep"].as_str(), Some("=0.2.3"));
}

#[test]
fn index_line_is_spaced_json_with_the_real_checksum() {
    let k = make_crate("leaf", "0.1.0", &[Dep::new("base", "^1.0")], "");
    let line = k.index_line(true);
    assert_eq!(
        line,
        format!(
            "{{\"name\": \"leaf\", \"vers\": \"0.1.0\", \"deps\": [{{\"name\": \"base\", \"req\": \"^1.0\", \
             \"features\": [], \"optional\": false, \"default_features\": true, \"target\": null, \"kind\": \
             \"normal\", \"registry\": null}}], \"cksum\": \"{}\", \"features\": {{}}, \"yanked\": true, \
             \"links\": null}}",
            k.cksum
        )
    );
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["cksum"].as_str(), Some(k.cksum.as_str()));
    let none = make_crate("a", "1.0.0", &[], "").index_line(false);
    assert!(none.contains("\"deps\": [], ") && none.contains("\"yanked\": false"), "{none}");
}

#[test]
fn index_paths_follow_cargo() {
    assert_eq!(index_path("A"), "1/a");
    assert_eq!(index_path("ab"), "2/ab");
    assert_eq!(index_path("Syn"), "3/s/syn");
    assert_eq!(index_path("Serde_json"), "se/rd/serde_json");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client")
}

async fn get(url: &str) -> (u16, Option<String>, Vec<u8>) {
    let resp = client().get(url).send().await.expect("response");
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().expect("ASCII").to_owned());
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn serves_index_files_config_and_crates() {
    let up = FakeUpstream::start().await.expect("start");
    let url = up.url();
    assert_eq!(url, format!("http://{}/", up.addr()));

    up.set_file("3/s/syn", b"{\"name\": \"syn\"}\n".to_vec());
    let resp = client().get(format!("{url}3/s/syn")).send().await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert!(resp.headers().get("etag").is_none() && resp.headers().get("last-modified").is_none());
    assert_eq!(resp.bytes().await.expect("body"), &b"{\"name\": \"syn\"}\n"[..]);

    let (status, _, body) = get(&format!("{url}config.json")).await;
    assert_eq!(status, 200);
    let addr = up.addr();
    assert_eq!(body, format!("{{\"dl\": \"http://{addr}/crates\", \"api\": \"http://{addr}\"}}").into_bytes());

    assert_eq!(get(&format!("{url}3/n/nop")).await.0, 404);
    up.remove_file("3/s/syn");
    assert_eq!(get(&format!("{url}3/s/syn")).await.0, 404);

    let base = make_crate("base", "1.0.0", &[], "pub fn one() -> u32 { 1 }\n");
    let base2 = make_crate("base", "1.1.0", &[], "pub fn one() -> u32 { 1 }\n");
    up.publish(&base, false);
    up.publish(&base2, true);
    let (status, ct, body) = get(&format!("{url}ba/se/base")).await;
    assert_eq!((status, ct.as_deref()), (200, Some("text/plain")));
    assert_eq!(body, format!("{}\n{}\n", base.index_line(false), base2.index_line(true)).into_bytes());
    let (status, _, body) = get(&format!("{url}crates/base/1.0.0/download")).await;
    assert_eq!((status, body), (200, base.bytes.clone()));
    assert_eq!(get(&format!("{url}crates/base/9.9.9/download")).await.0, 404);
    up.set_crate_bytes("base", "1.0.0", b"tampered".to_vec());
    assert_eq!(get(&format!("{url}crates/base/1.0.0/download")).await.2, b"tampered");

    assert_eq!(up.hits("ba/se/base"), 1);
    assert_eq!(up.hits("/crates/base/1.0.0/download"), 2);
    assert_eq!(up.hits("3/s/syn"), 2);
    assert_eq!(up.total_hits(), 8);
}

#[tokio::test]
async fn loads_an_index_dir_without_its_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tufmirror_testkit::synthetic_index(50, 7);
    tufmirror_testkit::write_index(dir.path(), &files).expect("write index");
    std::fs::write(dir.path().join("config.json"), b"{}").expect("write config");
    let up = FakeUpstream::start().await.expect("start");
    assert_eq!(up.load_index_dir(dir.path()).expect("load"), 50);
    let (path, bytes) = &files[17];
    assert_eq!(get(&format!("{}{path}", up.url())).await.2, *bytes);
    assert_ne!(get(&format!("{}config.json", up.url())).await.2, b"{}");
}

#[tokio::test]
async fn faults_behave_as_described() {
    let up = FakeUpstream::start().await.expect("start");
    let url = up.url();
    let body: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
    up.set_file("3/s/syn", body.clone());

    up.set_fault("3/s/syn", Fault::Status(503));
    let (status, _, text) = get(&format!("{url}3/s/syn")).await;
    assert_eq!(status, 503);
    assert!(!text.is_empty() && text.len() < 100);

    up.set_fault("3/s/syn", Fault::RetryAfter(429, 7));
    let resp = client().get(format!("{url}3/s/syn")).send().await.expect("response");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");

    up.set_fault("3/s/syn", Fault::Truncate(1000));
    let resp = client().get(format!("{url}3/s/syn")).send().await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(body.len() as u64));
    assert!(resp.bytes().await.is_err(), "a truncated body must fail");

    up.set_fault("config.json", Fault::Hang);
    let quick = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let err = quick.get(format!("{url}config.json")).send().await.expect_err("must time out");
    assert!(err.is_timeout(), "{err}");

    up.clear_fault("3/s/syn");
    up.clear_fault("config.json");
    assert_eq!(get(&format!("{url}3/s/syn")).await.2, body);
    assert_eq!(get(&format!("{url}config.json")).await.0, 200);
    assert_eq!((up.hits("3/s/syn"), up.hits("config.json"), up.total_hits()), (4, 2, 6));
}

#[tokio::test]
async fn dropping_stops_the_server() {
    let up = FakeUpstream::start().await.expect("start");
    let url = up.url();
    up.set_fault("1/a", Fault::Hang);
    let pending = tokio::spawn(client().get(format!("{url}1/a")).send());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while up.hits("1/a") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the request did not arrive within 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(up);
    // The hung connection is closed rather than left to the client's 5 s timeout.
    let result = tokio::time::timeout(Duration::from_secs(2), pending).await.expect("closed promptly");
    assert!(result.expect("task").is_err());
    tokio::task::yield_now().await;
    assert!(client().get(format!("{url}1/a")).send().await.is_err(), "nothing listens any more");
}

/// With `set_etags(true)` the fake answers as index.crates.io does: an `ETag` on each `200`, `304`
/// and no body to a matching `If-None-Match`, a full `200` to a stale one; and its request log says
/// what was sent and answered. Without it (the default) no validator is sent and `If-None-Match`
/// is ignored.
#[tokio::test]
async fn etags_and_conditional_requests_as_crates_io_answers_them() {
    let up = FakeUpstream::start().await.expect("start");
    let url = format!("{}3/s/syn", up.url());
    let v1 = b"{\"name\": \"syn\"}\n".to_vec();
    up.set_file("3/s/syn", v1.clone());
    let conditional = |etag: &str| client().get(&url).header("if-none-match", etag.to_owned()).send();

    // Off: no validator, and a matching If-None-Match still gets the whole file.
    let plain = conditional(&FakeUpstream::etag_of(&v1)).await.expect("response");
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("etag").is_none());

    up.set_etags(true);
    let first = client().get(&url).send().await.expect("response");
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().expect("ASCII").to_owned();
    assert_eq!(etag, FakeUpstream::etag_of(&v1));
    assert_eq!(first.bytes().await.expect("body"), v1);

    let revalidated = conditional(&etag).await.expect("response");
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.expect("body").is_empty(), "a 304 has no body");
    assert_eq!(conditional(&format!("\"other\", {etag}")).await.expect("response").status(), 304, "a list");

    let v2 = [v1.as_slice(), b"{\"name\": \"syn\", \"vers\": \"2.0.0\"}\n"].concat();
    up.set_file("3/s/syn", v2.clone());
    let changed = conditional(&etag).await.expect("response");
    assert_eq!(changed.status(), 200, "a stale ETag gets the new file");
    assert_eq!(changed.headers()["etag"], FakeUpstream::etag_of(&v2).as_str());
    assert_eq!(changed.bytes().await.expect("body"), v2);

    let log: Vec<Request> = up.requests();
    let seen: Vec<(Option<&str>, Option<u16>)> = log.iter().map(|r| (r.if_none_match.as_deref(), r.status)).collect();
    let other = format!("\"other\", {etag}");
    assert_eq!(
        seen,
        [
            (Some(etag.as_str()), Some(200)),
            (None, Some(200)),
            (Some(etag.as_str()), Some(304)),
            (Some(other.as_str()), Some(304)),
            (Some(etag.as_str()), Some(200)),
        ]
    );
    assert!(log.iter().all(|r| r.method == "GET" && r.path == "3/s/syn"));
}
