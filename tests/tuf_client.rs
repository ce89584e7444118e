//! tufmirror's TUF client (`tufmirror-client`, and `tufmirror tuf-client` over it) against
//! repositories written by `tufmirror publish` and served by `tufmirror serve-static` on loopback.
//! The general TUF rules are covered by tufmirror-core's tests and by the TUF conformance suite
//! (tests/conformance/run.sh); these tests are about tufmirror's own repositories.

mod common;

use common::*;
use std::path::Path;
use std::sync::Arc;
use tufmirror_client::{ClientError, FetchError, HttpConfig, HttpFetcher, Updater, UpdaterConfig};
use tufmirror_core::trusted::TrustError;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// A client of the repository `server` serves, initialised with its root v1, in `dir`.
fn client(server: &Server, out: &Path, dir: &Path) -> Updater {
    Updater::init(dir, &std::fs::read(out.join("tuf/1.root.json")).expect("root")).expect("init");
    let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).expect("http"));
    Updater::new(dir, &format!("http://{}/tuf", server.addr), fetcher, UpdaterConfig::default()).expect("updater")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_client_follows_published_snapshots_and_downloads_config_json() {
    let Published { tmp, keys, index, out } = Published::fixture_copy();
    let server = Server::start(&out);
    let rt = runtime();
    let meta = tmp.path().join("client");
    let mut updater = client(&server, &out, &meta);
    rt.block_on(updater.refresh()).expect("refresh");

    // The verified timestamp carries what a TAP-16 client checks proofs against.
    let timestamp = updater.timestamp().expect("timestamp");
    assert_eq!(timestamp.snapshot_version(), Some(1));
    assert_eq!(timestamp.merkle_tree_size, Some(191));
    assert!(timestamp.merkle_root.is_some());
    // Stored metadata is the served bytes, under unversioned names, and nothing else.
    assert_eq!(names(&meta), ["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
    assert_eq!(
        std::fs::read(meta.join("timestamp.json")).expect("stored"),
        std::fs::read(out.join("tuf/timestamp.json")).expect("served")
    );

    let info = rt.block_on(updater.get_target_info("config.json")).expect("lookup").expect("config.json is a target");
    assert_eq!(info.role, "targets");
    let dest = tmp.path().join("targets/config.json");
    rt.block_on(updater.download_target(&info, &format!("http://{}/index/", server.addr), &dest)).expect("download");
    assert_eq!(
        std::fs::read(&dest).expect("downloaded"),
        std::fs::read(out.join("index/config.json")).expect("served")
    );
    assert!(updater.find_cached_target(&info, &dest));
    assert!(
        rt.block_on(updater.get_target_info("se/rd/serde")).expect("lookup").is_none(),
        "index files are not targets"
    );

    // A new snapshot that drops a crate: the client catches up when told of it, and sees the
    // signed removal record.
    std::fs::remove_file(index.join("3/s/syn")).expect("rm");
    publish_ok(&index, &keys, &out);
    assert!(rt.block_on(updater.ensure_snapshot(1)).expect("already there"));
    assert_eq!(updater.timestamp().and_then(|t| t.snapshot_version()), Some(1), "no refresh was needed");
    assert!(rt.block_on(updater.ensure_snapshot(2)).expect("refresh"));
    let targets = updater.targets().expect("targets");
    assert_eq!(targets.removals.len(), 1);
    assert_eq!((targets.removals[0].path.as_str(), targets.removals[0].snapshot_version), ("3/s/syn", 2));
    assert!(!rt.block_on(updater.ensure_snapshot(3)).expect("refresh"), "snapshot 3 does not exist yet");
}

#[test]
fn expired_and_oversized_timestamps_are_refused_and_the_trusted_one_kept() {
    let Published { tmp, keys, index, out } = Published::fixture_copy();
    let server = Server::start(&out);
    let rt = runtime();
    let meta = tmp.path().join("client");
    let mut updater = client(&server, &out, &meta);
    rt.block_on(updater.refresh()).expect("refresh");
    let trusted = std::fs::read(meta.join("timestamp.json")).expect("stored");

    let args = ["publish", "--timestamp-expiry-days", "0", "--index", index.to_str().expect("utf-8")];
    tufmirror_ok(
        &[&args[..], &["--keys", keys.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]].concat(),
    );
    let err = rt.block_on(updater.refresh()).expect_err("expired");
    assert!(
        matches!(&err, ClientError::Refused { file, source } if file == "timestamp.json" && matches!(**source, TrustError::Expired { .. })),
        "{err:?}"
    );
    assert_eq!(std::fs::read(meta.join("timestamp.json")).expect("stored"), trusted, "the trusted timestamp stays");
    assert!(updater.timestamp().is_none(), "nothing is offered as verified after a failed refresh");

    // A timestamp over the 16 KiB limit is not read.
    let served = out.join("tuf/timestamp.json");
    std::fs::remove_file(&served).expect("rm link");
    std::fs::write(&served, vec![b' '; 20_000]).expect("write");
    let err = rt.block_on(updater.refresh()).expect_err("too large");
    assert!(
        matches!(&err, ClientError::Fetch { url, source: FetchError::TooLarge { limit: 16_384 } } if url.ends_with("/tuf/timestamp.json")),
        "{err:?}"
    );
}

#[test]
fn the_conformance_cli_inits_refreshes_and_downloads() {
    let Published { tmp, keys: _keys, index: _index, out } = Published::fixture_copy();
    let server = Server::start(&out);
    let meta = tmp.path().join("metadata");
    let targets = tmp.path().join("targets");
    std::fs::create_dir_all(&targets).expect("mkdir");
    let cli = |args: &[&str]| {
        let mut all = vec!["tuf-client", "--metadata-dir", meta.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        tufmirror(&all)
    };
    let url = format!("http://{}/tuf/", server.addr);
    let target_url = format!("http://{}/index/", server.addr);
    let root = out.join("tuf/1.root.json");

    // A root that is not signed by its own keys is refused at init.
    let tampered = tmp.path().join("tampered.json");
    let text = std::fs::read_to_string(&root).expect("root");
    std::fs::write(&tampered, text.replacen("\"version\":1", "\"version\":7", 1)).expect("write");
    assert_eq!(cli(&["init", tampered.to_str().expect("utf-8")]).status.code(), Some(1));

    assert!(cli(&["init", root.to_str().expect("utf-8")]).status.success());
    assert!(cli(&["--metadata-url", &url, "refresh"]).status.success());
    let download = |name: &str| {
        cli(&[
            "--metadata-url",
            &url,
            "--target-name",
            name,
            "--target-dir",
            targets.to_str().expect("utf-8"),
            "--target-base-url",
            &target_url,
            "download",
        ])
    };
    assert!(download("config.json").status.success());
    assert_eq!(
        std::fs::read(targets.join("config.json")).expect("downloaded"),
        std::fs::read(out.join("index/config.json")).expect("served")
    );
    let missing = download("no/such/target");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no/such/target"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert_eq!(names(&meta), ["root.json", "snapshot.json", "targets.json", "timestamp.json"]);
}
