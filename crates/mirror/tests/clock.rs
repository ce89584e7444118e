//! What depends on time, on a set clock: `revalidate_after`, `removal_grace` and the per-name
//! upstream budget. The engine runs in this process against a fake upstream on loopback; the
//! clock is moved, never slept on, so each window is tested exactly at its edges.

use std::sync::Arc;
use std::time::Duration;
use tufmirror_core::metadata::Targets;
use tufmirror_core::verify::parse_unverified;
use tufmirror_mirror::{CheckError, Config, IndexAnswer, ManualClock, Mirror};
use tufmirror_testkit::registry::{CrateFile, index_path, make_crate};
use tufmirror_testkit::upstream::{FakeUpstream, Fault};

const SECOND: Duration = Duration::from_secs(1);

/// A mirror on `upstream` with the `[mirror]` lines `mirror_extra`, on a clock of its own.
async fn open(dir: &std::path::Path, upstream: &FakeUpstream, mirror_extra: &str) -> (Arc<ManualClock>, Arc<Mirror>) {
    let data = dir.join("data");
    let text = format!(
        r#"[storage]
data_dir = "{data}"
[upstream]
index_url = "{url}"
retries = 1
timeout = "5s"
[mirror]
{mirror_extra}
[keys]
root_dir = "{data}/keys"
targets = "file:{data}/keys/targets.pem"
snapshot = "file:{data}/keys/snapshot.pem"
timestamp = "file:{data}/keys/timestamp.pem"
"#,
        data = data.display(),
        url = upstream.url(),
    );
    let path = dir.join("tufmirror.toml");
    std::fs::write(&path, text).expect("write config");
    let config = Config::load(Some(&path), |_| None).expect("config");
    let clock = ManualClock::starting_now();
    let mirror = Mirror::open_with_clock(config, Default::default(), clock.clone()).await.expect("open");
    (clock, mirror)
}

/// What a request for `path` gets: the file's bytes, `None` for a proven absence, or the failure.
async fn get(mirror: &Mirror, path: &str) -> Result<Option<Vec<u8>>, Arc<CheckError>> {
    match mirror.lookup().index_file(path).await {
        IndexAnswer::Found(file) => Ok(Some(file.bytes.to_vec())),
        IndexAnswer::Missing { .. } => Ok(None),
        IndexAnswer::Failed(error) => Err(error),
        other => panic!("{path}: {other:?}"),
    }
}

async fn file(mirror: &Mirror, path: &str) -> Vec<u8> {
    get(mirror, path).await.unwrap_or_else(|e| panic!("{path}: {e}")).unwrap_or_else(|| panic!("{path}: absent"))
}

fn current_targets(mirror: &Mirror) -> Targets {
    let version = mirror.publisher().current().version();
    let bytes = std::fs::read(mirror.dir().tuf(&format!("{version}.targets.json"))).expect("targets");
    parse_unverified::<Targets>(&bytes).expect("targets").0.signed
}

/// New versions appear once `revalidate_after` has passed, not a second before; a yank flip is
/// published; a crate removed upstream is kept by default.
#[tokio::test]
async fn upstream_changes_are_followed_once_revalidate_after_has_passed() {
    let upstream = FakeUpstream::start().await.expect("upstream");
    let v1 = make_crate("follow-me", "1.0.0", &[], "pub fn f() -> u32 { 1 }");
    let v2 = make_crate("follow-me", "1.1.0", &[], "pub fn f() -> u32 { 2 }");
    let gone = make_crate("gone-soon", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&v1, false);
    upstream.publish(&gone, false);
    let (path, gone_path) = (index_path("follow-me"), index_path("gone-soon"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (clock, mirror) = open(dir.path(), &upstream, "revalidate_after = \"60s\"").await;
    let line = |c: &CrateFile, yanked| format!("{}\n", c.index_line(yanked));

    assert_eq!(file(&mirror, &path).await, line(&v1, false).into_bytes());
    assert!(get(&mirror, &gone_path).await.expect("fetched").is_some());
    upstream.publish(&v2, false);
    clock.advance(59 * SECOND);
    assert_eq!(file(&mirror, &path).await, line(&v1, false).into_bytes(), "59 s: within revalidate_after");
    assert_eq!(upstream.hits(&path), 1, "no upstream request within revalidate_after");
    clock.advance(SECOND);
    let both = [line(&v1, false), line(&v2, false)].concat().into_bytes();
    assert_eq!(file(&mirror, &path).await, both, "60 s: revalidated");
    assert_eq!(upstream.hits(&path), 2);

    let yanked = [line(&v1, true), line(&v2, false)].concat().into_bytes();
    upstream.set_file(&path, yanked.clone());
    upstream.remove_file(&gone_path);
    clock.advance(60 * SECOND);
    assert_eq!(file(&mirror, &path).await, yanked, "a yank flip is published");
    assert!(get(&mirror, &gone_path).await.expect("kept").is_some(), "keep_removed = true keeps it");
    assert_eq!(upstream.hits(&gone_path), 2, "and it was asked");
    assert!(mirror.quarantine().list().expect("quarantine").is_empty());
    assert!(current_targets(&mirror).removals.is_empty());
    mirror.close().await;
}

/// With `keep_removed = false`, a file is removed only once upstream's 404s span
/// `removal_grace`; an answer with the file in between starts the grace over. The removal is
/// signed into targets with its reason.
#[tokio::test]
async fn a_removal_waits_for_404s_spanning_removal_grace() {
    let upstream = FakeUpstream::start().await.expect("upstream");
    let krate = make_crate("flaky-upstream", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&krate, false);
    let path = index_path(&krate.name);
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "revalidate_after = \"10s\"\nkeep_removed = false\nremoval_grace = \"1h\"";
    let (clock, mirror) = open(dir.path(), &upstream, extra).await;
    assert!(get(&mirror, &path).await.expect("fetched").is_some());
    let revalidated = async |after: Duration, note: &str| {
        clock.advance(after);
        let hits = upstream.hits(&path);
        let answer = get(&mirror, &path).await.unwrap_or_else(|e| panic!("{note}: {e}"));
        assert_eq!(upstream.hits(&path), hits + 1, "{note}: revalidated upstream");
        answer.is_some()
    };

    upstream.remove_file(&path);
    assert!(revalidated(10 * SECOND, "first 404").await, "one 404 removes nothing");
    assert!(revalidated(30 * 60 * SECOND, "half an hour later").await);
    upstream.publish(&krate, false);
    assert!(revalidated(10 * SECOND, "back").await);
    upstream.remove_file(&path);
    assert!(revalidated(30 * 60 * SECOND, "gone again").await, "the answer in between started the grace over");
    assert!(revalidated(60 * 60 * SECOND - 10 * SECOND, "ten seconds short of the grace").await);
    let before = mirror.publisher().current().version();
    assert!(!revalidated(10 * SECOND, "404s spanning the grace").await, "removed");
    assert_eq!(mirror.publisher().current().version(), before + 1);
    let removals = current_targets(&mirror).removals;
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert_eq!((removals[0].path.as_str(), removals[0].reason.as_str()), (path.as_str(), "removed upstream"));
    mirror.close().await;
}

/// A name the mirror lacks costs at most 3 upstream requests per `revalidate_after`, then gets
/// "not asked" (503) until the window ends; a 404 is remembered for the window, and asked again
/// after it.
#[tokio::test]
async fn the_per_name_budget_and_remembered_404s_last_one_revalidate_after() {
    let upstream = FakeUpstream::start().await.expect("upstream");
    let failing = index_path("always-failing");
    upstream.set_fault(&failing, Fault::Status(500));
    let dir = tempfile::tempdir().expect("tempdir");
    let (clock, mirror) = open(dir.path(), &upstream, "revalidate_after = \"60s\"").await;

    // `retries = 1`: two requests per check; the second check gets the budget's last one.
    for (n, expected_hits) in [(1, 2), (2, 3)] {
        let error = get(&mirror, &failing).await.expect_err("upstream fails");
        assert!(matches!(*error, CheckError::Upstream(_)), "check {n}: {error:?}");
        assert_eq!(upstream.hits(&failing), expected_hits);
    }
    let error = get(&mirror, &failing).await.expect_err("spent");
    match *error {
        CheckError::NotAsked { retry_after } => assert_eq!(retry_after, 60 * SECOND, "the whole window is left"),
        ref other => panic!("a spent budget is 'not asked', got {other:?}"),
    }
    clock.advance(59 * SECOND);
    assert!(matches!(*get(&mirror, &failing).await.expect_err("spent"), CheckError::NotAsked { .. }));
    assert_eq!(upstream.hits(&failing), 3, "nothing asked while the budget is spent");
    clock.advance(SECOND);
    assert!(matches!(*get(&mirror, &failing).await.expect_err("fails"), CheckError::Upstream(_)));
    assert_eq!(upstream.hits(&failing), 5, "a new window: asked again");

    let missing = index_path("not-there");
    assert_eq!(get(&mirror, &missing).await.expect("404"), None);
    clock.advance(59 * SECOND);
    assert_eq!(get(&mirror, &missing).await.expect("404"), None);
    assert_eq!(upstream.hits(&missing), 1, "a 404 is remembered within the window");
    clock.advance(SECOND);
    upstream.publish(&make_crate("not-there", "1.0.0", &[], "pub fn f() {}"), false);
    assert!(get(&mirror, &missing).await.expect("fetched").is_some(), "asked again after the window");
    assert_eq!(upstream.hits(&missing), 2);
    mirror.close().await;
}
