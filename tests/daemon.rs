//! The daemon against a fake upstream on loopback: first start, on-demand fetches, what is served
//! and how.

mod common;

use common::daemon::{Daemon, DaemonConfig};
use tufmirror_testkit::registry::{Dep, make_crate};
use tufmirror_testkit::upstream::FakeUpstream;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn first_start_signs_an_empty_snapshot_and_fetches_on_demand() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let leaf = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    let app = make_crate("app-lib", "0.1.0", &[Dep::new("leaf", "^1")], "pub fn two() -> u32 { leaf::one() + 1 }");
    upstream.publish(&leaf, false);
    upstream.publish(&app, false);

    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    let ready = daemon.get("/readyz");
    assert_eq!(ready.status, 200, "ready at once: {}", String::from_utf8_lossy(&ready.body));
    let timestamp = daemon.get("/tuf/timestamp.json");
    assert_eq!(timestamp.status, 200);

    let file = daemon.get("/index/ap/p-/app-lib");
    assert_eq!(file.status, 200);
    assert_eq!(file.body, format!("{}\n", app.index_line(false)).into_bytes(), "served exactly as upstream sent it");
    assert!(file.headers.contains_key("tuf-merkle-proof"));
    assert_eq!(upstream.hits("ap/p-/app-lib"), 1);

    let missing = daemon.get("/index/no/su/nosuchcrate");
    assert_eq!(missing.status, 404);
    assert!(missing.headers.contains_key("tuf-merkle-proof"), "a 404 carries its non-inclusion proof");

    let download = daemon.get("/crates/leaf/1.0.0/download");
    assert_eq!(download.status, 404, "no signed index entry for leaf yet");
    assert_eq!(daemon.get("/index/le/af/leaf").status, 200);
    let download = daemon.get("/crates/leaf/1.0.0/download");
    assert_eq!(download.status, 200);
    assert_eq!(download.body, leaf.bytes);
}
