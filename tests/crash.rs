//! A publish killed with SIGKILL at any moment never leaves a mixed or corrupt repository: what
//! is served afterwards always verifies completely, and the next publish succeeds.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigkill_during_publish_always_leaves_a_verifying_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let out = tmp.path().join("out");
    // Big enough that a publish takes a while, so kills land in every phase.
    let files = tufmirror_testkit::synthetic_index(2_500, 7);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    tufmirror_testkit::write_index(&a, &files).expect("write a");
    let mut changed = files.clone();
    changed.retain(|(path, _)| !path.ends_with('x'));
    for (_, bytes) in changed.iter_mut().step_by(7) {
        bytes.extend_from_slice(b"\n");
    }
    tufmirror_testkit::write_index(&b, &changed).expect("write b");

    let started = Instant::now();
    publish_ok(&a, &keys, &out);
    let full = started.elapsed();
    let old: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
    let new: BTreeMap<String, Vec<u8>> = changed.iter().cloned().collect();
    let (first, served) = verify_repository_files(&out);
    assert_eq!((first, &served), (1, &old));

    let mut seen_new = false;
    // Eight rounds, and more (with later kills) until one got to publish: on a loaded machine a
    // publish that first cleans up after killed ones can take several times the first one.
    for round in 0..16u32 {
        if round >= 8 && seen_new {
            break;
        }
        let input = if round % 2 == 0 { &b } else { &a };
        let mut child = Command::new(bin())
            .args(["publish", "--index", input.to_str().expect("utf-8"), "--keys", keys.to_str().expect("utf-8")])
            .args(["--out", out.to_str().expect("utf-8")])
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Spread the kills over the whole run, from the start to well past the end (a later
        // publish also cleans up what the killed ones left, so it may take longer than the first).
        // After eight rounds the delay doubles each round, so one round surely gets to publish even
        // when flushes are slow (syncfs waits for every dirty page of the filesystem, and CI has
        // just written a whole build).
        let scale = if round < 8 { f64::from(round) / 3.0 } else { f64::from(1u32 << (round - 5)) };
        std::thread::sleep(full.mul_f64(scale) + Duration::from_millis(5));
        let _ = child.kill();
        let _ = child.wait();
        // Whole, not mixed: every file is the old input's or every file is the new one's (the
        // two inputs differ in which files exist and in every seventh file's bytes).
        let (version, served) = verify_repository_files(&out);
        assert!(
            served == old || served == new,
            "round {round}: snapshot {version} serves {} files, neither input whole ({} and {} files)",
            served.len(),
            old.len(),
            new.len()
        );
        seen_new |= version > first;
    }
    // Publishing still works after all those kills.
    publish_ok(&b, &keys, &out);
    let (_, served) = verify_repository_files(&out);
    assert!(served == new, "the last publish serves the new input exactly");
    assert!(seen_new || full < Duration::from_millis(50), "no round got to publish; the kills all came too early");
}
