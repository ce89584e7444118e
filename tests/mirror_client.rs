//! `MirrorClient`, the TAP-16 client, against real mirrors on loopback: `tufmirror serve-static`
//! (proofs in headers), a plain static host (no headers: the static layout's proofs and leaf
//! lists) and the daemon (on-demand snapshots, removals). Hostile answers are made in process by
//! rewriting what the real mirror said (tests/common/tamper.rs), so each refusal is checked
//! against the reason it must give.

mod common;

use base64::Engine as _;
use common::tamper::{PlainHost, Tamper, tampered_client as client};
use common::{Published, Server, fixture_index, http_get, publish_ok};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tufmirror_client::mirror_client::{RefreshError, Refusal, etag_of, one_line};
use tufmirror_client::{HttpAnswer, IndexFile, MirrorClient, MirrorConfig, MirrorError};
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{Leaf, MerkleTree};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture_index().join(path)).expect("fixture file")
}

/// The index file at `path` without its last line: a valid change for `publish`.
fn drop_last_line(index: &Path, path: &str) {
    let text = std::fs::read_to_string(index.join(path)).expect("index file");
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 1, "{path} has one line");
    lines.pop();
    std::fs::write(index.join(path), format!("{}\n", lines.join("\n"))).expect("write");
}

/// The refusal behind `result`, which must be a [`MirrorError::Refused`] naming `path`.
fn refusal(result: Result<IndexFile, MirrorError>, path: &str) -> Refusal {
    let e = match result {
        Ok(file) => panic!("{path}: accepted {file:?}"),
        Err(e) => e,
    };
    assert!(!e.is_transient(), "{path}: a refusal is not transient: {e:?}");
    assert_eq!(e.path(), path);
    assert!(one_line(&e).contains(path), "{}", one_line(&e));
    match e {
        MirrorError::Refused { reason, .. } => reason,
        other => panic!("{path}: not a refusal: {}", one_line(&other)),
    }
}

/// The proof header of an answer, decoded to JSON, changed by `edit`, and encoded again.
fn edit_proof(answer: &mut HttpAnswer, edit: impl Fn(&mut serde_json::Value)) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let header = answer.proof.as_deref().expect("a proof header");
    let mut json: serde_json::Value = serde_json::from_slice(&b64.decode(header).expect("base64")).expect("json");
    edit(&mut json);
    answer.proof = Some(b64.encode(serde_json::to_vec(&json).expect("json")));
}

/// The fixture published and served by `serve-static`, with one tampered client of it (default
/// settings, its own state folder): what most tests here start from.
struct Served {
    rt: tokio::runtime::Runtime,
    repo: Published,
    server: Server,
    tamper: Arc<Tamper>,
    client: Arc<MirrorClient>,
    state: tempfile::TempDir,
}

impl Served {
    fn start() -> Self {
        let (rt, repo) = (runtime(), Published::fixture_copy());
        let server = Server::start(&repo.out);
        let state = tempfile::tempdir().expect("state");
        let tamper = Tamper::new();
        let url = format!("http://{}", server.addr);
        let client = client(&url, &repo.out, state.path(), &tamper, MirrorConfig::default());
        Served { rt, repo, server, tamper, client, state }
    }
}

#[test]
fn serve_static_answers_verify_and_304s_and_404s_carry_proofs() {
    let Served { rt, repo, server: _server, tamper, client, state: _state } = Served::start();

    rt.block_on(async {
        let file = client.index_file("3/s/syn", None).await.expect("syn verifies");
        let IndexFile::Present { bytes, leaf, snapshot } = &file else { panic!("{file:?}") };
        assert_eq!((bytes, *snapshot), (&fixture("3/s/syn"), 1));
        assert_eq!(*leaf, Leaf::of("3/s/syn", bytes));
        let etag = file.etag().expect("etag");
        assert_eq!(etag, format!("\"{}\"", Sha256Hash::of(bytes)));

        let again = client.index_file("3/s/syn", Some(&etag)).await.expect("304 verifies");
        assert!(matches!(again, IndexFile::NotModified { snapshot: 1, .. }), "{again:?}");
        let absent = client.index_file("no/ne/nonexistent-crate", None).await.expect("404 verifies");
        assert_eq!(absent, IndexFile::Absent { snapshot: 1 });
        let config = client.config_json().await.expect("config.json");
        assert_eq!(config, std::fs::read(repo.out.join("index/config.json")).expect("config"));

        let not_a_path = client.index_file("3/s/SYN", None).await;
        assert!(matches!(not_a_path, Err(MirrorError::NotAnIndexPath { .. })), "{not_a_path:?}");
        let report = client.verify_snapshot(8).await.expect("every file verifies");
        let view = client.view().expect("trusted");
        assert_eq!((report.snapshot, report.files), (1, view.tree_size));
    });
    assert_eq!(tamper.hits("tuf/timestamp.json"), 1, "one refresh for all of it");
}

#[test]
fn tampered_answers_are_refused_with_their_reason() {
    let Served { rt, repo: _repo, server, tamper, client, state: _state } = Served::start();
    let syn = "3/s/syn";
    let log_proof = http_get(server.addr, "/index/3/l/log", &[]).headers["tuf-merkle-proof"].clone();
    let absent_proof = http_get(server.addr, "/index/no/ne/none-such", &[]).headers["tuf-merkle-proof"].clone();
    let good_etag = etag_of(&Leaf::of(syn, &fixture(syn)));
    let old_etag = etag_of(&Leaf::of(syn, b"an older file\n"));

    rt.block_on(async {
        let check = async |rule: Box<dyn Fn(&mut HttpAnswer) + Send + Sync>, etag: Option<&str>| {
            tamper.set(move |url, answer| {
                if url.ends_with("/index/3/s/syn") {
                    rule(answer)
                }
            });
            let reason = refusal(client.index_file(syn, etag).await, syn);
            tamper.clear();
            reason
        };
        let r = check(Box::new(|a| a.body[0] ^= 1), None).await;
        assert!(matches!(r, Refusal::Proof(_)), "a changed byte: {r}");
        let r = check(Box::new(|a| a.body.push(b'\n')), None).await;
        assert!(matches!(r, Refusal::Proof(_)), "an added byte: {r}");
        let r = check(Box::new(|a| a.proof = Some("not base64!".into())), None).await;
        assert!(matches!(r, Refusal::BadProof(_)), "garbage proof: {r}");
        let log = log_proof.clone();
        let r = check(Box::new(move |a| a.proof = Some(log.clone())), None).await;
        assert!(matches!(r, Refusal::Proof(_)), "another file's proof: {r}");
        let r = check(
            Box::new(|a| {
                edit_proof(a, |p| {
                    let last = (p["path_directions"].as_object().map_or(1, |m| m.len()) - 1).to_string();
                    let flipped = if p["path_directions"][&last] == "L" { "R" } else { "L" };
                    p["path_directions"][&last] = flipped.into();
                })
            }),
            None,
        )
        .await;
        assert!(matches!(r, Refusal::Proof(_)), "a top direction reversed: {r}");
        let r = check(Box::new(|a| edit_proof(a, |p| p["tree_size"] = 1000.into())), None).await;
        assert!(matches!(r, Refusal::Proof(_)), "a wrong tree size: {r}");

        // 304s: only for the ETag that was sent, and only with a proof.
        let r = check(Box::new(|a| (a.status, a.body) = (304, Vec::new())), None).await;
        assert!(matches!(r, Refusal::UnaskedNotModified), "304 unasked: {r}");
        let r = check(Box::new(|a| (a.status, a.body) = (304, Vec::new())), Some(&old_etag)).await;
        assert!(matches!(r, Refusal::EtagMismatch { .. }), "304 for a copy that is not the file: {r}");
        let r = check(Box::new(|a| a.proof = None), Some(&good_etag)).await;
        assert!(matches!(r, Refusal::NoProof), "304 without proof: {r}");

        // 404s: a hidden crate, with no proof or with another path's non-inclusion proof.
        let r = check(Box::new(|a| (a.status, a.proof, a.body) = (404, None, Vec::new())), None).await;
        assert!(matches!(r, Refusal::HiddenFile { status: 404, snapshot: 1 }), "plain 404: {r}");
        let other = absent_proof.clone();
        let r = check(Box::new(move |a| (a.status, a.proof) = (404, Some(other.clone()))), None).await;
        assert!(matches!(r, Refusal::Proof(_)), "another path's absence: {r}");

        // A snapshot the mirror's timestamp does not sign.
        let r = check(Box::new(|a| edit_proof(a, |p| p["snapshot_version"] = 99.into())), None).await;
        assert!(matches!(r, Refusal::UnsignedSnapshot { proof: 99, signed: 1 }), "future snapshot: {r}");
        // Honest again: the same client verifies the same file.
        assert!(client.index_file(syn, None).await.is_ok());
    });
}

#[test]
fn an_older_snapshots_answer_is_refused_after_a_newer_one_is_trusted() {
    let Served { rt, repo, server, tamper, client, state: _state } = Served::start();
    let old = http_get(server.addr, "/index/3/s/syn", &[]);
    drop_last_line(&repo.index, "3/s/syn");
    publish_ok(&repo.index, &repo.keys, &repo.out);

    rt.block_on(async {
        let now = client.index_file("3/s/syn", None).await.expect("snapshot 2");
        assert_eq!(now.snapshot(), 2);
        let (old_proof, old_body) = (old.headers["tuf-merkle-proof"].clone(), old.body.clone());
        tamper.set(move |url, a| {
            if url.ends_with("/index/3/s/syn") {
                (a.proof, a.body) = (Some(old_proof.clone()), old_body.clone());
            }
        });
        let r = refusal(client.index_file("3/s/syn", None).await, "3/s/syn");
        assert!(matches!(r, Refusal::OlderSnapshot { proof: 1, trusted: 2 }), "{r}");
    });
}

#[test]
fn hundreds_of_answers_from_a_newer_snapshot_cause_one_refresh() {
    let Served { rt, repo, server: _server, tamper, client, state: _state } = Served::start();
    let paths: Vec<String> =
        ["3/s/syn", "3/l/log", "li/bc/libc", "ri/ng/ring", "no/ne/none-such"].map(String::from).into();

    rt.block_on(async { client.index_file("3/s/syn", None).await.expect("snapshot 1") });
    drop_last_line(&repo.index, "3/s/syn");
    publish_ok(&repo.index, &repo.keys, &repo.out);
    let results = rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300 {
            let (client, path) = (client.clone(), paths[i % paths.len()].clone());
            tasks.spawn(async move { client.index_file(&path, None).await });
        }
        tasks.join_all().await
    });
    for result in results {
        let file = result.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert_eq!(file.snapshot(), 2);
    }
    assert_eq!(tamper.hits("tuf/timestamp.json"), 2, "the first refresh and one for snapshot 2");
    assert_eq!(tamper.hits("tuf/2.snapshot.json"), 1);
}

#[test]
fn a_file_that_disappears_needs_a_signed_removal_record() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let url = format!("http://{}", server.addr);
    let states: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("state")).collect();
    let tampers: Vec<_> = (0..3).map(|_| Tamper::new()).collect();
    let narrow = MirrorConfig { max_removal_search: 1, ..MirrorConfig::default() };
    let configs = [MirrorConfig::default(), MirrorConfig::default(), narrow];
    let clients: Vec<_> =
        (0..3).map(|i| client(&url, &repo.out, states[i].path(), &tampers[i], configs[i].clone())).collect();
    let log = "3/l/log";
    for c in &clients {
        let seen = rt.block_on(c.index_file(log, None)).expect("log present");
        assert_eq!(seen.snapshot(), 1);
    }
    // Snapshot 2 removes log (with a record); snapshot 3 changes another file.
    std::fs::remove_file(repo.index.join(log)).expect("remove log");
    publish_ok(&repo.index, &repo.keys, &repo.out);
    drop_last_line(&repo.index, "3/s/syn");
    publish_ok(&repo.index, &repo.keys, &repo.out);

    rt.block_on(async {
        let gone = clients[0].index_file(log, None).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert_eq!(gone, IndexFile::Absent { snapshot: 3 });
        assert_eq!(tampers[0].hits("tuf/2.snapshot.json"), 1, "snapshot 2's record was looked up");
        assert_eq!(tampers[0].hits("tuf/2.targets.json"), 1);

        // The record must come in targets metadata that snapshot 2 pins: a stripped copy fails.
        tampers[1].set(|url, a| {
            if url.ends_with("tuf/2.targets.json") {
                let text = String::from_utf8_lossy(&a.body).replace("3/l/log", "3/l/lag");
                a.body = text.into_bytes();
            }
        });
        let r = refusal(clients[1].index_file(log, None).await, log);
        assert!(matches!(&r, Refusal::RemovalMetadata { file, .. } if file == "2.targets.json"), "{r}");

        // Searching only snapshot 3 finds no record: refused.
        let r = refusal(clients[2].index_file(log, None).await, log);
        assert!(matches!(r, Refusal::NoRemovalRecord { present: 1, absent: 3 }), "{r}");
    });
}

#[test]
fn a_timestamp_that_swaps_the_tree_of_a_trusted_snapshot_is_refused() {
    let Served { rt, repo, server, tamper, client, state } = Served::start();
    let url = format!("http://{}", server.addr);
    rt.block_on(client.index_file("3/l/log", None)).expect("log present");

    // Whoever holds only the timestamp key signs timestamp 2 for the same snapshot 1, over a
    // tree without log: its non-inclusion proofs would verify against that root.
    let list: LeafList =
        serde_json::from_slice(&std::fs::read(repo.out.join("snapshots/1/leaves.json")).expect("leaves"))
            .expect("leaf list");
    let tree = MerkleTree::build(list.leaves.into_iter().filter(|l| l.path != "3/l/log").collect()).expect("tree");
    let snapshot_bytes = std::fs::read(repo.out.join("tuf/1.snapshot.json")).expect("snapshot");
    let forged = rt.block_on(async {
        let signers = tufmirror_repo::keys::open_online_signers(&repo.keys).await.expect("signers");
        let now = time::OffsetDateTime::now_utc();
        tufmirror_repo::sign::sign_timestamp(2, 1, &snapshot_bytes, &tree, now, 1, 1, &signers).await.expect("sign")
    });
    tamper.set(move |url, a| {
        if url.ends_with("tuf/timestamp.json") {
            a.body = forged.clone();
        }
    });
    let refused = rt.block_on(client.refresh()).expect_err("the swapped tree is refused");
    let MirrorError::Refresh { source, .. } = &refused else { panic!("{}", one_line(&refused)) };
    assert!(matches!(source.as_ref(), RefreshError::TreeChanged { snapshot: 1, .. }), "{}", one_line(&refused));

    // A client started later from the same state folder refuses it too.
    let later = Arc::new(
        MirrorClient::with_transport(&url, state.path(), tamper.clone(), MirrorConfig::default()).expect("client"),
    );
    let again = rt.block_on(later.refresh()).expect_err("still refused");
    assert!(one_line(&again).contains("but that snapshot was trusted with root"), "{}", one_line(&again));
}

#[test]
fn a_plain_static_host_is_read_through_the_static_layout() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let host = PlainHost::start(&rt, &repo.out);
    let state = tempfile::tempdir().expect("state");
    let tamper = Tamper::new();
    let client = client(&host.url(), &repo.out, state.path(), &tamper, MirrorConfig::default());
    let syn = "3/s/syn";
    let old = fixture(syn);

    rt.block_on(async {
        let file = client.index_file(syn, None).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert_eq!(file, IndexFile::Present { bytes: old.clone(), leaf: Leaf::of(syn, &old), snapshot: 1 });
        assert_eq!(tamper.hits("snapshots/1/proofs/3/s/syn"), 1, "one more request: the static proof");
        let etag = file.etag().expect("etag");
        let same = client.index_file(syn, Some(&etag)).await.expect("same file");
        assert!(matches!(same, IndexFile::NotModified { .. }), "a 200 with the sent ETag is a 304 for the caller");

        for absent in ["no/ne/none-such", "zz/zz/zzzz"] {
            assert_eq!(client.index_file(absent, None).await.expect("absent"), IndexFile::Absent { snapshot: 1 });
        }
        assert_eq!(tamper.hits("snapshots/1/leaves.json"), 1, "the leaf list is fetched once per snapshot");
        assert_eq!(
            client.config_json().await.expect("config"),
            std::fs::read(repo.out.join("index/config.json")).expect("config")
        );

        tamper.set(|url, a| {
            if url.ends_with("/index/3/s/syn") {
                (a.status, a.body) = (404, Vec::new());
            }
        });
        let r = refusal(client.index_file(syn, None).await, syn);
        assert!(matches!(r, Refusal::HiddenFile { status: 404, snapshot: 1 }), "{r}");
        tamper.clear();
        let report = client.verify_snapshot(8).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert_eq!(report.files, client.view().expect("view").tree_size);
    });

    // The host moves on to snapshot 2 while the client trusts 1: the answer is snapshot 1's file.
    drop_last_line(&repo.index, syn);
    publish_ok(&repo.index, &repo.keys, &repo.out);
    tamper.reset_hits();
    let file = rt.block_on(client.index_file(syn, None)).unwrap_or_else(|e| panic!("{}", one_line(&e)));
    assert_eq!(file, IndexFile::Present { bytes: old.clone(), leaf: Leaf::of(syn, &old), snapshot: 1 });
    assert_eq!(tamper.hits("snapshots/1/index/3/s/syn"), 1);
}

#[test]
fn metadata_close_to_expiry_is_refreshed_at_most_once_per_interval() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let url = format!("http://{}", server.addr);
    let year = Duration::from_secs(366 * 86_400);
    let eager = MirrorConfig { expiry_margin: year, min_refresh_interval: Duration::ZERO, ..MirrorConfig::default() };
    let calm = MirrorConfig {
        expiry_margin: year,
        min_refresh_interval: Duration::from_secs(3600),
        ..MirrorConfig::default()
    };
    for (config, expected) in [(eager, 4), (calm, 1)] {
        let state = tempfile::tempdir().expect("state");
        let tamper = Tamper::new();
        let client = client(&url, &repo.out, state.path(), &tamper, config);
        for _ in 0..4 {
            rt.block_on(client.index_file("3/s/syn", None)).expect("verifies");
        }
        assert_eq!(tamper.hits("tuf/timestamp.json"), expected);
    }
}

#[test]
fn a_daemon_with_on_demand_snapshots_and_removals() {
    use common::daemon::{Daemon, DaemonConfig};
    use tufmirror_testkit::registry::{index_path, make_crate};
    use tufmirror_testkit::upstream::FakeUpstream;

    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let keep = make_crate("keep-me", "1.0.0", &[], "pub fn f() {}");
    let gone = make_crate("gone-soon", "1.0.0", &[], "pub fn g() {}");
    upstream.publish(&keep, false);
    upstream.publish(&gone, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"1h\"\nkeep_removed = false\nremoval_grace = \"0s\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    let state = tempfile::tempdir().expect("state");
    MirrorClient::bootstrap(state.path(), &daemon.get("/tuf/1.root.json").body).expect("bootstrap");
    let client = Arc::new(MirrorClient::new(&daemon.url(), state.path(), MirrorConfig::default()).expect("client"));
    let (keep_path, gone_path) = (index_path("keep-me"), index_path("gone-soon"));

    rt.block_on(async {
        let kept = client.index_file(&keep_path, None).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        let first = kept.snapshot();
        assert!(first > 1, "fetched on demand into a new snapshot");
        let seen = client.index_file(&gone_path, None).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert!(seen.snapshot() > first);
        let etag = kept.etag().expect("etag");
        let again = client.index_file(&keep_path, Some(&etag)).await.expect("304");
        assert!(matches!(again, IndexFile::NotModified { .. }), "{again:?}");
        let nothing = client.index_file(&index_path("never-published"), None).await.expect("absent");
        assert!(matches!(nothing, IndexFile::Absent { .. }));
        assert_eq!(client.config_json().await.expect("config"), daemon.get("/index/config.json").body);

        upstream.remove_file(&gone_path);
        // A refresh asked for, not waited for (removal on the engine's clock: crates/mirror/tests/clock.rs).
        common::refresh::refresh_past(&daemon, seen.snapshot());
        let removed = client.index_file(&gone_path, None).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert!(matches!(removed, IndexFile::Absent { snapshot } if snapshot > seen.snapshot()), "{removed:?}");
        let view = client.view().expect("view");
        assert!(view.removals.iter().any(|r| r.path == gone_path), "the record the client relied on");
        let report = client.verify_snapshot(4).await.unwrap_or_else(|e| panic!("{}", one_line(&e)));
        assert_eq!(report.files, client.view().expect("view").tree_size);
    });
}
