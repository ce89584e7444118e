//! Every attack of the threat list, mounted by a hostile mirror (tests/common/hostile.rs) in
//! front of a good repository, and refused by each client: the client library, `tufmirror
//! verify` and `tufmirror proxy`.
//!
//! Each attack is one module with three tests, `library`, `verify` and `proxy`. Each test first
//! runs its client against the attack's *control* (the same setup done honestly: no lie, or
//! metadata re-signed by the right keys) and requires success, so that a refusal cannot come from
//! a broken setup; then it mounts the attack and requires a refusal that names the file and the
//! specific reason.
//!
//! The repository: the fixture index published as snapshot 1, then again as snapshot 2 with one
//! more version of `serde` and without `syn` (so snapshot 2's targets carry a removal record, and
//! snapshot 1 holds an older `serde` with a valid proof).

mod common;

use common::hostile::{Attack, HostileMirror, Proxy, Repo};
use common::{Published, publish_ok};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SERDE: &str = "se/rd/serde";
const LOG: &str = "3/l/log";
/// In snapshot 1, removed in snapshot 2.
const SYN: &str = "3/s/syn";
/// In no snapshot.
const ABSENT: &str = "no/su/nosuchcrate";
/// The oversized answer of attack h.
const HUNDRED_MB: u64 = 100 * 1024 * 1024;
/// How long one `tufmirror verify` may take.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one request through the proxy may take.
const PROXY_TIMEOUT: Duration = Duration::from_secs(60);

/// What the client must have seen before the attack (or its control) is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prime {
    /// Nothing: a new client.
    No,
    /// The current metadata (rollback): the client first asks the honest mirror for the file
    /// with the same state folder.
    State,
    /// The file, present (a removal): the same client, or the same proxy process, first asks
    /// the honest mirror for it.
    SameClient,
}

/// One attack, and what its refusal must say.
struct Case {
    attack: Attack,
    /// The index file the client asks for.
    path: &'static str,
    prime: Prime,
    /// The control proves the file absent (a legitimate removal) rather than serving it.
    absent_in_control: bool,
    /// Every one of these appears in the refusal (case-insensitive): the file and the reason.
    expect: &'static [&'static str],
}

/// The repository (two snapshots), its keys and a hostile mirror serving it.
struct Scenario {
    published: Published,
    repo: Repo,
    mirror: HostileMirror,
    root: PathBuf,
    dirs: std::cell::Cell<u32>,
}

impl Scenario {
    fn new() -> Scenario {
        let published = Published::fixture_copy();
        let serde = published.index.join(SERDE);
        let mut bytes = std::fs::read(&serde).expect("serde");
        let last = bytes.split(|b| *b == b'\n').rfind(|l| !l.is_empty()).expect("a line").to_vec();
        let line = String::from_utf8(last).expect("utf-8").replacen("\"vers\": \"", "\"vers\": \"99.0.0-attack.", 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        std::fs::write(&serde, bytes).expect("write serde");
        std::fs::remove_file(published.index.join(SYN)).expect("remove syn");
        publish_ok(&published.index, &published.keys, &published.out);
        let repo = Repo::new(&published.out, &published.keys, &published.tmp.path().join("extra-keys"));
        assert_eq!(repo.current(), 2);
        let mirror = HostileMirror::serve_dir(&published.out);
        let root = published.keys.join("1.root.json");
        Scenario { published, repo, mirror, root, dirs: std::cell::Cell::new(0) }
    }

    /// A new empty folder.
    fn fresh_dir(&self, what: &str) -> PathBuf {
        self.dirs.set(self.dirs.get() + 1);
        let dir = self.published.tmp.path().join(format!("{what}-{}", self.dirs.get()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    /// The current (snapshot 2) bytes of `path`.
    fn honest_file(&self, path: &str) -> Vec<u8> {
        self.repo.index_file(self.repo.current(), path)
    }

    /// The attack's control if `attack` is false, else the attack.
    fn mount(&self, case: &Case, attack: bool) {
        let rules = if attack { case.attack.rules(&self.repo) } else { case.attack.control(&self.repo) };
        self.mirror.set(rules);
    }
}

/// `haystack` contains every `needle` (case-insensitive); the message shows what is missing.
fn assert_names(what: &str, haystack: &str, needles: &[&str]) {
    let lower = haystack.to_lowercase();
    let missing: Vec<&&str> = needles.iter().filter(|n| !lower.contains(&n.to_lowercase())).collect();
    assert!(missing.is_empty(), "{what} does not say {missing:?}:\n{haystack}");
}

/// The crate name of an index path.
fn crate_name(path: &str) -> &str {
    path.rsplit('/').next().expect("name")
}

/// After an endless or oversized answer: the client hung up, having read a bounded amount.
fn assert_stream_stopped(s: &Scenario, case: &Case, bound: u64) {
    if !matches!(case.attack, Attack::Endless { .. } | Attack::Oversized { .. } | Attack::EndlessLeafList { .. }) {
        return;
    }
    // A leaf list is read only up to what the signed number of leaves can take (a few KB here);
    // the rest of the bound is what the sockets buffered before the client hung up.
    let bound = if matches!(case.attack, Attack::EndlessLeafList { .. }) { 16 * 1024 * 1024 } else { bound };
    let stats = s.mirror.stats();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.open_streams() > 0 {
        assert!(Instant::now() < deadline, "the client is still reading the endless answer");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = stats.streamed();
    eprintln!("the hostile mirror sent {sent} bytes before the client hung up");
    assert!(sent > 0, "the attack's body was requested");
    assert!(sent < bound, "the client read {sent} bytes (bound {bound}): it did not stop at a limit");
}

// ---------------------------------------------------------------------------------------------
// (1) The client library
// ---------------------------------------------------------------------------------------------

mod library {
    //! The client library: `tufmirror_client::MirrorClient` (its `Updater` keeps the TUF
    //! metadata; every index answer is checked against the verified timestamp's Merkle root).

    use std::path::Path;
    use tufmirror_client::{IndexFile, MirrorClient, MirrorConfig};

    /// What the library concluded about the file.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) enum Verdict {
        /// The verified bytes.
        File(Vec<u8>),
        /// Verified absent.
        Absent,
    }

    pub(crate) use tufmirror_core::error_chain as chain;

    /// A client of one mirror with its state in a folder, and a runtime to drive it.
    pub(crate) struct Session {
        runtime: tokio::runtime::Runtime,
        client: MirrorClient,
    }

    impl Session {
        /// A client of `mirror` with its state in `state` (bootstrapped with `root` the first
        /// time). Makes no request.
        pub(crate) fn new(mirror: &str, root: &Path, state: &Path) -> Session {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            MirrorClient::bootstrap(state, &std::fs::read(root).expect("root")).expect("bootstrap");
            let client = MirrorClient::new(mirror, state, MirrorConfig::default()).expect("client");
            Session { runtime, client }
        }

        /// Asks for `path`: the verified answer, or why it was refused.
        pub(crate) fn ask(&self, path: &str) -> Result<Verdict, String> {
            match self.runtime.block_on(self.client.index_file(path, None)).map_err(|e| chain(&e))? {
                IndexFile::Present { bytes, .. } => Ok(Verdict::File(bytes)),
                IndexFile::Absent { .. } => Ok(Verdict::Absent),
                other => Err(format!("unexpected answer {other:?}")),
            }
        }
    }
}

fn check_library(case: &Case) {
    let s = Scenario::new();
    let url = s.mirror.url();
    let run = |attack: bool| {
        let state = s.fresh_dir("library");
        let mut session = library::Session::new(&url, &s.root, &state);
        if case.prime != Prime::No {
            s.mirror.honest();
            let honest = session.ask(case.path).expect("the honest mirror passes");
            assert_eq!(honest, library::Verdict::File(s.honest_file(case.path)));
            if case.prime == Prime::State {
                session = library::Session::new(&url, &s.root, &state);
            }
        }
        s.mount(case, attack);
        session.ask(case.path)
    };
    let control = run(false).unwrap_or_else(|e| panic!("the control of {:?} must pass: {e}", case.attack));
    if case.absent_in_control {
        assert_eq!(control, library::Verdict::Absent);
    } else {
        assert_eq!(control, library::Verdict::File(s.honest_file(case.path)));
    }

    let refusal = run(true).map(|v| format!("{v:?}")).expect_err("the attack must be refused");
    eprintln!("library refused {:?}: {refusal}", case.attack);
    assert_names("the library's refusal", &refusal, case.expect);
    assert_stream_stopped(&s, case, 64 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------------
// (2) tufmirror verify
// ---------------------------------------------------------------------------------------------

/// `tufmirror verify --mirror URL --root FILE --state DIR CRATE`.
fn run_verify(s: &Scenario, state: &Path, krate: &str) -> tufmirror_testkit::process::Run {
    let url = s.mirror.url();
    let mut command = common::daemon::tufmirror_command(
        s.published.tmp.path(),
        &[
            "verify",
            "--mirror",
            &url,
            "--root",
            s.root.to_str().expect("utf-8"),
            "--state",
            state.to_str().expect("utf-8"),
            krate,
        ],
    );
    command.env("RUST_LOG", "warn");
    tufmirror_testkit::process::run(&mut command, VERIFY_TIMEOUT)
}

fn check_verify(case: &Case) {
    let s = Scenario::new();
    let krate = crate_name(case.path);
    let run = |attack: bool| {
        let state = s.fresh_dir("verify");
        if case.prime != Prime::No {
            s.mirror.honest();
            let primed = run_verify(&s, &state, krate);
            assert_eq!(primed.code, Some(0), "verify against the honest mirror:\n{}", primed.describe());
        }
        s.mount(case, attack);
        run_verify(&s, &state, krate)
    };
    let control = run(false);
    assert_eq!(control.code, Some(0), "the control of {:?} must pass:\n{}", case.attack, control.describe());

    let refused = run(true);
    assert!(refused.code.is_some_and(|c| c != 0), "verify must fail under {:?}:\n{}", case.attack, refused.describe());
    eprintln!("verify refused {:?}:\n{}", case.attack, refused.stderr);
    assert_names("verify's message", &format!("{}\n{}", refused.stdout, refused.stderr), case.expect);
    assert_stream_stopped(&s, case, 256 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------------
// (3) tufmirror proxy
// ---------------------------------------------------------------------------------------------

/// A cargo-style GET through the proxy: status and body.
fn proxy_get(proxy: &Proxy, path: &str) -> (u16, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = reqwest::Client::builder().no_proxy().timeout(PROXY_TIMEOUT).build().expect("client");
    let url = format!("{}/index/{path}", proxy.url());
    runtime.block_on(async {
        let response = client
            .get(&url)
            .header("user-agent", "cargo/1.90.0")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {}\nproxy output:\n{}", library::chain(&e), proxy.output()));
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_else(|e| panic!("GET {url}: body: {e}")).to_vec();
        (status, body)
    })
}

fn check_proxy(case: &Case) {
    let s = Scenario::new();
    let run = |attack: bool| {
        let state = s.fresh_dir("proxy");
        let log = s.fresh_dir("proxy-log").join("proxy.log");
        let start = || Proxy::start(&s.mirror.url(), &s.root, Some(&state), &log);
        let proxy = match case.prime {
            Prime::No => {
                s.mount(case, attack);
                start()
            }
            Prime::State | Prime::SameClient => {
                s.mirror.honest();
                let mut proxy = start();
                let (status, _) = proxy_get(&proxy, case.path);
                assert_eq!(status, 200, "the honest mirror through the proxy:\n{}", proxy.output());
                if case.prime == Prime::State {
                    proxy.stop();
                }
                s.mount(case, attack);
                if case.prime == Prime::State { start() } else { proxy }
            }
        };
        let answer = proxy_get(&proxy, case.path);
        (answer, proxy.output())
    };
    let ((status, body), output) = run(false);
    let text = String::from_utf8_lossy(&body).into_owned();
    if case.absent_in_control {
        assert_eq!(status, 404, "the control of {:?}: a verified absence is a 404: {text}\n{output}", case.attack);
    } else {
        assert_eq!(status, 200, "the control of {:?} must pass: {text}\n{output}", case.attack);
        assert!(body == s.honest_file(case.path), "the proxy passes the file's bytes unchanged");
    }

    let ((status, body), output) = run(true);
    let text = String::from_utf8_lossy(&body).into_owned();
    eprintln!("the proxy refused {:?} with {status}: {text}", case.attack);
    assert!(
        !(200..400).contains(&status) && status != 404,
        "the proxy must answer an error (not a success, not a plain 404 that hides the attack) under {:?}, got \
         {status}: {text}\nproxy output:\n{output}",
        case.attack
    );
    assert_names("the proxy's error body", &text, case.expect);
    assert!(!text.contains("\"vers\""), "the proxy's error body carries index lines: {text}");
    assert_stream_stopped(&s, case, 256 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------------
// The attacks
// ---------------------------------------------------------------------------------------------

/// One module per attack, with one test per client that must refuse it: `[test => check, ...]`
/// names them, then `name => Case` for each attack.
macro_rules! attacks {
    ($checks:tt $($(#[doc = $doc:literal])* $name:ident => $case:expr;)*) => {$(
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            fn case() -> Case {
                $case
            }

            checks!($checks);
        }
    )*};
}

macro_rules! checks {
    ([$($test:ident => $check:ident),*]) => {$(
        #[test]
        fn $test() {
            $check(&case());
        }
    )*};
}

// The attacks that only a long-running client can see (it must remember what it verified):
// the library and the proxy. (`tufmirror verify` is one process per run. A removal record signed
// by a key root does not list, the metadata side of the same attack, is
// `targets_with_a_removal_record_signed_by_an_unlisted_key`.)
attacks! {
    [library => check_library, proxy => check_proxy]
    /// j. A crate made to vanish by the online keys alone: a new snapshot without it, no removal
    /// record (the control has one, signed by the targets key, and is a verified absence).
    removed_without_record => Case {
        attack: Attack::RemovedWithoutRecord { path: LOG.into() },
        path: LOG,
        prime: Prime::SameClient,
        absent_in_control: true,
        expect: &[LOG, "removal record"],
    };
}

attacks! {
    [library => check_library, verify => check_verify, proxy => check_proxy]
    /// a. An altered index file under its honest proof.
    altered_index_file => Case {
        attack: Attack::AlteredFile { path: SERDE.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, "does not match"],
    };
    /// b. The proof of another file.
    proof_for_another_path => Case {
        attack: Attack::ProofForOtherPath { path: SERDE.into(), other: LOG.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, LOG],
    };
    /// c. Mix-and-match: snapshot 1's file with its valid snapshot-1 proof, metadata at snapshot 2.
    mix_and_match => Case {
        attack: Attack::MixAndMatch { path: SERDE.into(), old: 1 },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, "snapshot 1"],
    };
    /// d. Timestamp 1 served to a client that has seen timestamp 2.
    timestamp_rollback => Case {
        attack: Attack::TimestampRollback { old: 1 },
        path: SERDE,
        prime: Prime::State,
        absent_in_control: false,
        expect: &["timestamp", "rollback"],
    };
    /// d. A newer timestamp that names snapshot 1, to a client that has seen snapshot 2.
    snapshot_rollback => Case {
        attack: Attack::SnapshotRollback { old: 1 },
        path: SERDE,
        prime: Prime::State,
        absent_in_control: false,
        expect: &["snapshot", "rollback"],
    };
    /// e. Freeze: a timestamp that has expired.
    expired_timestamp => Case {
        attack: Attack::ExpiredTimestamp,
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp", "expired"],
    };
    /// f. A timestamp signed by a key that root does not list.
    unlisted_key => Case {
        attack: Attack::UnlistedKey,
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp", "0 valid signature", "needs 1"],
    };
    /// f. One signature where root asks for two.
    below_threshold => Case {
        attack: Attack::BelowThreshold,
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp", "1 valid signature", "needs 2"],
    };
    /// g. Root version 2 signed only by its new root key.
    root_signed_by_new_key_only => Case {
        attack: Attack::RootSignedByNewKeyOnly,
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["2.root.json", "0 valid signature"],
    };
    /// h. A timestamp that never ends.
    endless_timestamp => Case {
        attack: Attack::Endless { path: "/tuf/timestamp.json".into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp.json", "limit"],
    };
    /// h. A 100 MB timestamp.
    oversized_timestamp => Case {
        attack: Attack::Oversized { path: "/tuf/timestamp.json".into(), length: HUNDRED_MB },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp.json", "limit"],
    };
    /// h. An index file that never ends.
    endless_index_file => Case {
        attack: Attack::Endless { path: SERDE.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, "limit"],
    };
    /// i. A hidden crate: 404 without a proof.
    hidden_without_proof => Case {
        attack: Attack::HiddenWithoutProof { path: SERDE.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, "proof"],
    };
    /// i. A hidden crate: 404 with the valid non-inclusion proof of another absent path.
    hidden_with_other_proof => Case {
        attack: Attack::HiddenWithOtherProof { path: SERDE.into(), other_absent: ABSENT.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &[SERDE, ABSENT],
    };
    /// h. A 404 without a proof on a plain static host, checked against a leaf list that never
    /// ends (the proxy held ~850 MB reading up to the 512 MB limit).
    endless_leaf_list => Case {
        attack: Attack::EndlessLeafList { path: ABSENT.into() },
        path: ABSENT,
        prime: Prime::No,
        absent_in_control: true,
        expect: &[ABSENT, "leaf list", "longer than", "leaves can take"],
    };
    /// Current metadata signed before the root binding existed: a timestamp without
    /// `x-tufmirror-root-version` (docs/POUF.md 1.9, rule a).
    unbound_timestamp => Case {
        attack: Attack::TimestampBinding { binding: None },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp.json", "carries no `x-tufmirror-root-version`", "root 1"],
    };
    /// A current timestamp bound to another root than the one it is verified with.
    timestamp_bound_to_another_root => Case {
        attack: Attack::TimestampBinding { binding: Some(2) },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["timestamp.json", "bound to root 2", "verified with the trusted root 1"],
    };
    /// j. Targets carrying a removal record, signed by a key that root does not list. What this
    /// checks is the refusal of those targets for their signature (before any record is read);
    /// that a removal record alone cannot hide a crate is `removed_without_record`.
    targets_with_a_removal_record_signed_by_an_unlisted_key => Case {
        attack: Attack::RemovalSignedByUnlistedKey { path: SYN.into() },
        path: SERDE,
        prime: Prime::No,
        absent_in_control: false,
        expect: &["targets", "0 valid signature"],
    };
}

/// A refused leaf list is remembered for its snapshot: a second 404 is refused with the same
/// reason without fetching the list again (each fetch would read up to the bound once more).
#[test]
fn a_refused_leaf_list_is_not_fetched_again() {
    let s = Scenario::new();
    let case = Case {
        attack: Attack::EndlessLeafList { path: ABSENT.into() },
        path: ABSENT,
        prime: Prime::No,
        absent_in_control: true,
        expect: &[ABSENT, "leaf list", "longer than", "leaves can take"],
    };
    s.mount(&case, true);
    let state = s.fresh_dir("library");
    let session = library::Session::new(&s.mirror.url(), &s.root, &state);
    let first = session.ask(ABSENT).expect_err("refused");
    assert_names("the first refusal", &first, case.expect);
    let other = "no/su/nosuchcrate2";
    s.mirror.set(case.attack.rules(&s.repo).and(Attack::EndlessLeafList { path: other.into() }.rules(&s.repo)));
    let second = session.ask(other).expect_err("refused");
    assert_names("the second refusal", &second, &[other, "leaf list", "longer than"]);
    let fetched = s.mirror.stats().requests().iter().filter(|p| p.ends_with("/leaves.json")).count();
    assert_eq!(fetched, 1, "the leaf list is fetched once per snapshot, refused or not");
    assert_stream_stopped(&s, &case, 0);
}

/// The hostile mirror itself: honest until told otherwise, and each piece does what it says.
#[test]
fn hostile_mirror_serves_honestly_and_each_rule_applies() {
    use common::hostile::{Action, Rules};
    let s = Scenario::new();
    let addr = s.mirror.addr;
    let honest = common::http_get(addr, &format!("/index/{SERDE}"), &[]);
    assert_eq!(honest.status, 200);
    assert_eq!(honest.body, s.honest_file(SERDE));
    let proof = honest.headers.get("tuf-merkle-proof").expect("proof header").clone();
    assert_eq!(proof, s.repo.proof_header(2, SERDE), "Repo::proof_header is what the server sends");

    let old = "/history/1.timestamp.json";
    s.mirror.set(
        Rules::new()
            .on(format!("/index/{SERDE}"), Action::MapBody(std::sync::Arc::new(common::hostile::altered)))
            .on("/tuf/timestamp.json", Action::ServeFrom(old.into()))
            .file("/tuf/9.root.json", b"{}".to_vec())
            .on(format!("/index/{LOG}"), Action::Status(404))
            .on(format!("/index/{LOG}"), Action::RemoveHeader("tuf-merkle-proof".into())),
    );
    let altered = common::http_get(addr, &format!("/index/{SERDE}"), &[]);
    assert_eq!(altered.body, common::hostile::altered(&s.honest_file(SERDE)));
    assert_eq!(altered.headers.get("tuf-merkle-proof"), Some(&proof), "the proof header is kept");
    assert_eq!(common::http_get(addr, "/tuf/timestamp.json", &[]).body, s.repo.read("history/1.timestamp.json"));
    let made = common::http_get(addr, "/tuf/9.root.json", &[]);
    assert_eq!((made.status, made.body.as_slice()), (200, &b"{}"[..]));
    let hidden = common::http_get(addr, &format!("/index/{LOG}"), &[]);
    assert_eq!(hidden.status, 404);
    assert!(!hidden.headers.contains_key("tuf-merkle-proof"));

    s.mirror.honest();
    assert_eq!(common::http_get(addr, "/tuf/timestamp.json", &[]).body, s.repo.read("tuf/timestamp.json"));
    assert!(s.mirror.stats().requests().iter().any(|p| p == "/tuf/9.root.json"));

    // A forwarding hostile mirror passes status, body and proof header through, 304s included.
    let forward = HostileMirror::forward(&s.mirror.url());
    let via = common::http_get(forward.addr, &format!("/index/{SERDE}"), &[]);
    assert_eq!((via.status, &via.body, via.headers.get("tuf-merkle-proof")), (200, &honest.body, Some(&proof)));
    let etag = via.headers.get("etag").expect("etag").clone();
    let revalidated = common::http_get(forward.addr, &format!("/index/{SERDE}"), &[("If-None-Match", &etag)]);
    assert_eq!((revalidated.status, revalidated.headers.get("tuf-merkle-proof")), (304, Some(&proof)));
    assert_eq!(common::http_get(forward.addr, &format!("/index/{ABSENT}"), &[]).status, 404);
}
