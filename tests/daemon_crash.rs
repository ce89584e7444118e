//! A sync killed with SIGKILL at any moment (the `tufmirror sync` process, or the daemon in the
//! middle of its own refresh) never leaves the data folder in a state that serves anything but a
//! complete, verifying snapshot, and the next sync completes. The daemon comes back with the root
//! and keys it had: a client that pinned `1.root.json` and the online keys before the first kill
//! still trusts what it serves after every one.

mod common;

use common::daemon::{Daemon, DaemonConfig, tufmirror_command};
use common::verify_http::{Pins, verify_daemon};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tufmirror_core::Sha256Hash;
use tufmirror_testkit::upstream::FakeUpstream;

/// Index files in the synthetic upstream.
const FILES: usize = 3_000;
const ROUNDS: u32 = 8;
/// Where round N kills the sync: once it has sent this many upstream requests, and this many
/// milliseconds later. The first ones land while files are fetched and stored, the later ones
/// after every file was fetched: while the snapshot is built, signed, written and committed.
const KILL_POINTS: [(usize, u64); 8] =
    [(1, 0), (500, 0), (1_500, 0), (FILES, 0), (FILES, 20), (FILES, 60), (FILES, 120), (FILES, 250)];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn sync_command(dir: &Path) -> Command {
    let mut command = tufmirror_command(dir, &["sync", "--config", "tufmirror.toml"]);
    command.env("RUST_LOG", "off").stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Runs `tufmirror sync` to the end; it must succeed and have checked every crate without a
/// failure. Returns how long it took.
fn sync_to_completion(dir: &Path) -> Duration {
    let started = Instant::now();
    let out = sync_command(dir).output().expect("run tufmirror sync");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "sync failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let expected = format!("{FILES} index files; checked {FILES} crates (0 failed, 0 not found upstream)");
    assert!(stdout.contains(&expected), "{stdout}");
    started.elapsed()
}

/// A new version appended to every `step`-th file starting at `offset`: a change that keeps
/// history, so the next sync stores and publishes it.
fn grow(files: &mut BTreeMap<String, Vec<u8>>, round: u32, offset: usize, step: usize) -> usize {
    let mut changed = 0;
    for (i, (path, bytes)) in files.iter_mut().enumerate() {
        if i % step != offset % step {
            continue;
        }
        let name = path.rsplit('/').next().expect("a name");
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        let cksum = Sha256Hash::of(format!("{name} {round}").as_bytes());
        bytes.extend_from_slice(
            format!(
                "{{\"name\": \"{name}\", \"vers\": \"999.{round}.0\", \"deps\": [], \"cksum\": \"{cksum}\", \
                 \"features\": {{}}, \"yanked\": false}}\n"
            )
            .as_bytes(),
        );
        changed += 1;
    }
    changed
}

/// The served snapshot verifies, and every file in it is upstream's file of this round or of the
/// round before (nothing torn, nothing mixed within a file, nothing else).
fn verify_against(
    daemon: &Daemon,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> (u64, &'static str) {
    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.files.len(), after.len(), "every listed crate is mirrored");
    for (path, bytes) in &verified.files {
        assert!(
            before.get(path) == Some(bytes) || after.get(path) == Some(bytes),
            "{path}: served bytes are neither the old nor the new upstream file"
        );
    }
    let state = if verified.files == *after {
        "new"
    } else if verified.files == *before {
        "old"
    } else {
        "partly new"
    };
    (verified.version, state)
}

/// The daemon's log, at info for the engine: a refresh logs its end (`refresh finished`).
const DAEMON_LOG: &str = "warn,tufmirror_mirror=info";
const REFRESH_FINISHED: &str = "refresh finished";

/// Whether a daemon whose log is `log` was killed inside the refresh it was asked for: it had
/// asked upstream for something since (`asked`; nothing else in this test makes the daemon ask
/// upstream), and had not logged the refresh's end.
fn killed_inside_refresh(log: &str, asked: usize) -> bool {
    asked > 0 && !log.contains(REFRESH_FINISHED)
}

#[test]
fn sigkill_during_a_sync_always_leaves_a_verifying_mirror() {
    let test_started = Instant::now();
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let mut files: BTreeMap<String, Vec<u8>> = tufmirror_testkit::synthetic_index(FILES, 11).into_iter().collect();
    for (path, bytes) in &files {
        upstream.set_file(path, bytes.clone());
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<&str> = files.keys().map(|p| p.rsplit('/').next().expect("name")).collect();
    std::fs::write(dir.path().join("crates.txt"), names.join("\n")).expect("list file");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "list_file = \"crates.txt\"".to_owned();
    config.write(dir.path(), 9);

    let first = sync_to_completion(dir.path());
    let mut daemon = Daemon::start(dir.path(), &config);
    verify_against(&daemon, &files, &files);
    // What a client configured from this mirror trusts from now on.
    let pins = Pins::observe(daemon.addr);
    daemon.stop();
    eprintln!("first sync of {FILES} files: {first:?}");

    let mut mid_sync = 0;
    let mut daemon_kills_inside_refresh = 0;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for round in 0..ROUNDS {
        let before = files.clone();
        let changed = grow(&mut files, round, round as usize, 3);
        for (path, bytes) in &files {
            if before.get(path) != Some(bytes) {
                upstream.set_file(path, bytes.clone());
            }
        }
        let (requests, extra) = KILL_POINTS[round as usize % KILL_POINTS.len()];
        let extra = Duration::from_millis(extra);
        let daemon_mode = round % 2 == 1;
        let hits_before = upstream.total_hits();
        let sync_started = Instant::now();
        // Waits until the sync has sent `requests` upstream requests (or `exited` says it ended),
        // then `extra` longer.
        let wait_for_kill_point = |exited: &mut dyn FnMut() -> bool| {
            let deadline = Instant::now() + Duration::from_secs(30);
            while upstream.total_hits() - hits_before < requests && Instant::now() < deadline && !exited() {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(extra);
        };
        let was_running = if daemon_mode {
            // The daemon's own refresh (asked for as `tufmirror sync` asks a running daemon),
            // killed in the middle.
            let log_file = dir.path().join(format!("daemon-round-{round}.log"));
            let mut logged = config.clone();
            logged.log_file = Some(log_file.clone());
            logged.env.push(("RUST_LOG".into(), DAEMON_LOG.into()));
            let mut daemon = Daemon::start(dir.path(), &logged);
            let hits_when_asked = upstream.total_hits();
            daemon.refresh_now();
            wait_for_kill_point(&mut || false);
            daemon.kill();
            // Read after the kill: everything the daemon logged before it died is in the file.
            let log = std::fs::read_to_string(&log_file).expect("daemon log");
            let inside = killed_inside_refresh(&log, upstream.total_hits() - hits_when_asked);
            daemon_kills_inside_refresh += usize::from(inside);
            inside
        } else {
            let mut child = sync_command(dir.path()).spawn().expect("spawn sync");
            wait_for_kill_point(&mut || child.try_wait().ok().flatten().is_some());
            let running = child.try_wait().expect("try_wait").is_none();
            let _ = child.kill();
            let _ = child.wait();
            running
        };
        let delay = sync_started.elapsed();
        let asked = upstream.total_hits() - hits_before;

        let mut started = Instant::now();
        let mut daemon = Daemon::start(dir.path(), &config);
        let start_took = started.elapsed();
        started = Instant::now();
        pins.assert_kept(daemon.addr, &format!("round {round}: after the kill the daemon serves what a client pinned"));
        let (served, state) = verify_against(&daemon, &before, &files);
        mid_sync += usize::from(was_running);
        *outcomes.entry(state).or_insert(0) += 1;
        eprintln!(
            "round {round}: {} killed after {delay:?} (kill point {requests} requests + {extra:?}; {changed} files changed upstream, {asked} upstream requests, \
             {}); snapshot {served} verifies, {state} files; started in {start_took:?}, verified in {:?}",
            if daemon_mode { "daemon refresh" } else { "tufmirror sync" },
            match (daemon_mode, was_running) {
                (true, true) => "inside the refresh (upstream asked, its end not logged)",
                (true, false) => "not inside a refresh",
                (false, true) => "mid-sync",
                (false, false) => "not mid-sync",
            },
            started.elapsed(),
        );
        let status = daemon.stop();
        assert!(status.success(), "round {round}: the daemon stops cleanly: {status:?}");

        // The next sync completes (what it leaves is the `before` of the next round, checked
        // there, and after the last round below).
        let took = sync_to_completion(dir.path());
        eprintln!("round {round}: the next sync completed in {took:?}");
    }
    eprintln!(
        "{mid_sync} of {ROUNDS} kills landed mid-sync ({daemon_kills_inside_refresh} of them inside a daemon refresh); \
         served after the kill: {outcomes:?}; total {:?}",
        test_started.elapsed()
    );
    let mut daemon = Daemon::start(dir.path(), &config);
    pins.assert_kept(daemon.addr, "at the end");
    let verified = verify_daemon(daemon.addr);
    assert!(verified.files == files, "after a complete sync the mirror has exactly upstream's files");
    assert!(daemon.stop().success());
    assert!(mid_sync * 2 >= ROUNDS as usize, "most kills must land in the middle of a sync: {mid_sync}/{ROUNDS}");
    assert!(
        daemon_kills_inside_refresh >= 1,
        "no daemon round killed the daemon inside a refresh (each log has `{REFRESH_FINISHED}`, or \
         upstream was never asked): the daemon half of this test checked nothing"
    );
}
