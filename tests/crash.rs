//! A publish killed with SIGKILL at any moment never leaves a mixed or corrupt repository: what
//! is served afterwards always verifies completely, and the next publish succeeds.

mod common;

use common::*;
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
    let (first, size) = verify_repository(&out);
    assert_eq!((first, size), (1, files.len()));

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
        let (version, checked) = verify_repository(&out);
        assert!(checked == files.len() || checked == changed.len(), "round {round}: {checked} files");
        seen_new |= version > first;
    }
    // Publishing still works after all those kills.
    publish_ok(&b, &keys, &out);
    let (_, checked) = verify_repository(&out);
    assert_eq!(checked, changed.len());
    assert!(seen_new || full < Duration::from_millis(50), "no round got to publish; the kills all came too early");
}
