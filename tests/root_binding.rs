//! Which root verifies which metadata (docs/POUF.md 1.9) across a rotation of the targets key.
//!
//! The repository (`tufmirror publish`, served by a hostile mirror that is honest until told):
//! snapshot 1 under root 1; snapshot 2 removes `log` (its record signed by the old targets key,
//! bound to root 1); root 2 replaces the targets key and snapshot 3 is signed under it; snapshot 4
//! removes `syn` (record signed by the new key, bound to root 2).
//!
//! A client that saw both files present in snapshot 1 accepts both removals: the record of
//! snapshot 2 is verified with root 1's targets key, which it names (before the binding, the
//! client checked it with the trusted root's new key and refused the legitimate removal). Then,
//! with `serde` seen present in snapshot 4, the holder of the retired targets key (and of the
//! online snapshot and timestamp keys, which did not rotate) forges a snapshot 5 whose targets
//! carries a removal record for `serde` bound to root 1, and serves snapshot 6 without `serde`:
//! refused, because metadata after snapshot 4 (accepted under root 2) cannot name root 1. The
//! control signs the same record with the new targets key, bound to root 2, and is accepted. The
//! auditor and the independent Python verifier accept the rotated history.

mod common;

use common::hostile::{HostileMirror, Proxy, Repo, Rules, hidden, list_key, next_timestamp, serve_timestamp, sign};
use common::{Published, publish_ok};
use std::path::{Path, PathBuf};
use tufmirror_client::{IndexFile, MirrorClient, MirrorConfig};
use tufmirror_core::binding::RootBound;
use tufmirror_core::merkle::{MerkleTree, PathProof};
use tufmirror_core::metadata::{MetaFile, RemovalRecord, Role, Snapshot, Targets};
use tufmirror_signer::{FileSigner, KeyAlgorithm, Signer as _, generate_key_file};

const LOG: &str = "3/l/log";
const SYN: &str = "3/s/syn";
const SERDE: &str = "se/rd/serde";

/// The repository of the module documentation, built step by step.
struct Rotated {
    published: Published,
    repo: Repo,
    mirror: HostileMirror,
    /// The targets key of root 1, retired by root 2.
    old_targets: PathBuf,
}

impl Rotated {
    /// Snapshot 1 under root 1, served.
    fn start() -> Rotated {
        let published = Published::fixture_copy();
        let repo = Repo::new(&published.out, &published.keys, &published.tmp.path().join("extra-keys"));
        let mirror = HostileMirror::serve_dir(&published.out);
        let old_targets = published.tmp.path().join("old-targets.pem");
        Rotated { published, repo, mirror, old_targets }
    }

    /// Snapshots 2 (without `log`), 3 (root 2: a new targets key) and 4 (without `syn`).
    fn remove_rotate_remove(&self) {
        let p = &self.published;
        std::fs::remove_file(p.index.join(LOG)).expect("remove log");
        publish_ok(&p.index, &p.keys, &p.out);

        let targets_pem = p.keys.join("targets.pem");
        std::fs::rename(&targets_pem, &self.old_targets).expect("retire the targets key");
        generate_key_file(&targets_pem, KeyAlgorithm::Ed25519).expect("new targets key");
        let mut root = self.repo.root(1).signed;
        root.version = 2;
        let old_id = FileSigner::open(&self.old_targets).expect("old key").key_id();
        root.keys.remove(&old_id);
        list_key(&mut root, Role::Targets, &FileSigner::open(&targets_pem).expect("new key"), true);
        let bytes = sign(root, &[&self.repo.signer(Role::Root)]);
        std::fs::write(p.keys.join("2.root.json"), bytes).expect("root 2");
        publish_ok(&p.index, &p.keys, &p.out);

        std::fs::remove_file(p.index.join(SYN)).expect("remove syn");
        publish_ok(&p.index, &p.keys, &p.out);
        assert_eq!(self.repo.current(), 4);
        let bound = |rel: &str| self.repo.metadata::<Targets>(rel).signed.root_binding(rel).expect("binding");
        assert_eq!(bound("tuf/2.targets.json"), Some(1), "snapshot 2 is bound to root 1");
        assert_eq!(bound("tuf/4.targets.json"), Some(2), "snapshot 4 is bound to root 2");
    }

    /// The rules that serve snapshot 6 without `path`, with a snapshot 5 whose targets carry a
    /// removal record for it: bound to root 1 and signed by the retired targets key (the attack),
    /// or bound to root 2 and signed by the new key (the control).
    fn forged_removal(&self, path: &str, honest: bool) -> Rules {
        let repo = &self.repo;
        let n = repo.current();
        let snapshot_key = repo.signer(Role::Snapshot);
        let current = repo.metadata::<Snapshot>(&format!("tuf/{n}.snapshot.json")).signed;

        let mut targets = repo.metadata::<Targets>(&format!("tuf/{n}.targets.json")).signed;
        targets.version = n + 1;
        targets.removals =
            vec![RemovalRecord { path: path.to_owned(), snapshot_version: n + 1, reason: "taken down".into() }];
        let targets_bytes = if honest {
            sign(targets, &[&repo.signer(Role::Targets)])
        } else {
            targets.bind_to_root(1);
            sign(targets, &[&FileSigner::open(&self.old_targets).expect("old key")])
        };
        let mut with_record = current.clone();
        with_record.version = n + 1;
        with_record.meta.insert("targets.json".into(), MetaFile::pinning(n + 1, &targets_bytes));
        let with_record = sign(with_record, &[&snapshot_key]);

        // Snapshot 6 pins the honest targets of snapshot 4 (the forger has no key of root 2 to
        // sign new current targets with).
        let mut next = current;
        next.version = n + 2;
        let next_bytes = sign(next, &[&snapshot_key]);
        let tree = MerkleTree::build(repo.tree(n).leaves().iter().filter(|l| l.path != path).cloned().collect())
            .expect("tree");
        let timestamp = next_timestamp(repo, &[&repo.signer(Role::Timestamp)], |t| {
            t.meta.insert("snapshot.json".into(), MetaFile::pinning(n + 2, &next_bytes));
            t.merkle_root = Some(tree.root());
            t.merkle_tree_size = Some(tree.len() as u64);
        });
        let PathProof::Absent(proof) = tree.prove(path, n + 2) else { panic!("{path} is in the tree") };
        let header = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, proof.to_canonical_json());
        Rules::new()
            .file(&format!("/tuf/{}.targets.json", n + 1), targets_bytes)
            .file(&format!("/tuf/{}.snapshot.json", n + 1), with_record)
            .file(&format!("/tuf/{}.snapshot.json", n + 2), next_bytes)
            .and(serve_timestamp(timestamp))
            .and(hidden(&format!("/index/{path}"), Some(header)))
    }

    fn root_v1(&self) -> PathBuf {
        self.published.keys.join("1.root.json")
    }

    fn dir(&self, name: &str) -> PathBuf {
        let dir = self.published.tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }
}

/// A library client in `state`, bootstrapped with root 1, and its runtime.
struct Library {
    rt: tokio::runtime::Runtime,
    client: MirrorClient,
}

impl Library {
    fn new(mirror: &str, root: &Path, state: &Path) -> Library {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        MirrorClient::bootstrap(state, &std::fs::read(root).expect("root")).expect("bootstrap");
        Library { rt, client: MirrorClient::new(mirror, state, MirrorConfig::default()).expect("client") }
    }

    fn ask(&self, path: &str) -> Result<IndexFile, String> {
        self.rt.block_on(self.client.index_file(path, None)).map_err(|e| tufmirror_core::error_chain(&e))
    }

    fn present(&self, path: &str, snapshot: u64) {
        match self.ask(path) {
            Ok(IndexFile::Present { snapshot: s, .. }) => assert_eq!(s, snapshot, "{path}"),
            other => panic!("{path} must be present in snapshot {snapshot}: {other:?}"),
        }
    }

    fn absent(&self, path: &str, snapshot: u64) {
        match self.ask(path) {
            Ok(IndexFile::Absent { snapshot: s }) => assert_eq!(s, snapshot, "{path}"),
            other => panic!("{path} must be verified absent in snapshot {snapshot}: {other:?}"),
        }
    }
}

/// The refusal of the forged record names the file, the root it claims and the floor.
fn assert_forgery_refused(text: &str) {
    for needle in [SERDE, "5.targets.json", "bound to root 1", "older than root 2 of snapshot 4"] {
        assert!(text.contains(needle), "the refusal does not say {needle:?}:\n{text}");
    }
}

#[test]
fn the_library_accepts_removals_signed_before_and_after_a_targets_rotation_and_refuses_a_retired_key() {
    let r = Rotated::start();
    let url = r.mirror.url();
    let control = Library::new(&url, &r.root_v1(), &r.dir("control"));
    let attacked = Library::new(&url, &r.root_v1(), &r.dir("attacked"));
    for client in [&control, &attacked] {
        for path in [LOG, SYN, SERDE] {
            client.present(path, 1);
        }
    }
    r.remove_rotate_remove();
    for client in [&control, &attacked] {
        client.absent(LOG, 4);
        client.absent(SYN, 4);
        client.present(SERDE, 4);
    }

    r.mirror.set(r.forged_removal(SERDE, true));
    control.absent(SERDE, 6);
    r.mirror.set(r.forged_removal(SERDE, false));
    let refused = attacked.ask(SERDE).expect_err("a record signed by the retired key is refused");
    eprintln!("refused: {refused}");
    assert_forgery_refused(&refused);
}

#[test]
fn the_proxy_accepts_the_rotated_removals_and_refuses_a_retired_key() {
    let r = Rotated::start();
    let state = r.dir("proxy-state");
    let proxy = Proxy::start(&r.mirror.url(), &r.root_v1(), Some(&state), &r.dir("proxy-log").join("proxy.log"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let get = |path: &str| {
        let url = format!("{}/index/{path}", proxy.url());
        rt.block_on(async {
            let response = client.get(&url).header("user-agent", "cargo/1.90.0").send().await.expect("GET");
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        })
    };
    for path in [LOG, SYN, SERDE] {
        assert_eq!(get(path).0, 200, "{path}\n{}", proxy.output());
    }
    r.remove_rotate_remove();
    for path in [LOG, SYN] {
        let (status, body) = get(path);
        assert_eq!(status, 404, "{path} is a verified absence: {body}\n{}", proxy.output());
    }
    assert_eq!(get(SERDE).0, 200);
    r.mirror.set(r.forged_removal(SERDE, false));
    let (status, body) = get(SERDE);
    assert!(!(200..400).contains(&status) && status != 404, "the forged removal is an error, not {status}: {body}");
    assert_forgery_refused(&body);
}

#[test]
fn the_auditor_and_the_python_verifier_accept_history_across_the_rotation() {
    let r = Rotated::start();
    r.remove_rotate_remove();
    let server = common::Server::start(&r.published.out);
    let state = r.dir("audit-state");
    let (code, report, out) = common::audit::audit(&format!("http://{}/", server.addr), &state, &r.root_v1(), &[]);
    assert_eq!(code, 0, "{}", common::audit::describe(&out));
    assert!(common::audit::findings(&report).is_empty(), "{report}");

    let root = r.root_v1();
    let run = common::python::pouf_verify([
        "--check-layout".as_ref(),
        "--trusted-root".as_ref(),
        root.as_os_str(),
        r.published.out.as_os_str(),
    ]);
    let stdout = run.ok();
    assert!(stdout.contains("root v2"), "{stdout}");
}
