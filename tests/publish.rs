//! `tufmirror keys generate` and `tufmirror publish` end to end, checked with tufmirror-core's
//! verification (python-tuf and an independent Python verifier check the same output in
//! python_interop.rs).

mod common;

use common::*;
use std::path::Path;

#[test]
fn fixture_publishes_and_every_file_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let out = tmp.path().join("out");
    let report = publish_ok(&fixture_index(), &keys, &out);
    assert!(report.contains("published snapshot 1"), "{report}");
    assert_eq!(verify_repository(&out), (1, 191));
    // Served bytes are exactly the input bytes: never re-serialized.
    for rel in ["se/rd/serde", "3/s/syn", "2/cc"] {
        assert_eq!(
            std::fs::read(out.join("index").join(rel)).expect("served"),
            std::fs::read(fixture_index().join(rel)).expect("input"),
            "{rel}"
        );
    }
}

#[test]
fn republishing_changed_input_raises_versions_and_keeps_the_old_snapshot() {
    let Published { tmp: _tmp, keys, index, out } = Published::fixture_copy();
    let v1_serde = std::fs::read(out.join("index/se/rd/serde")).expect("v1");

    // Change one file, remove one, add one.
    let serde = index.join("se/rd/serde");
    let mut bytes = std::fs::read(&serde).expect("serde");
    let last = bytes.split(|b| *b == b'\n').rfind(|l| !l.is_empty()).expect("a line").to_vec();
    let new_line = String::from_utf8(last).expect("utf-8").replacen("\"vers\": \"", "\"vers\": \"99.0.0-test.", 1);
    bytes.extend_from_slice(new_line.as_bytes());
    bytes.push(b'\n');
    std::fs::write(&serde, &bytes).expect("write");
    std::fs::remove_file(index.join("3/s/syn")).expect("rm");
    std::fs::create_dir_all(index.join("ne/wc")).expect("mkdir");
    std::fs::write(index.join("ne/wc/newcrate"), new_line.replace("\"name\": \"serde\"", "\"name\": \"newcrate\""))
        .expect("add");

    let report = publish_ok(&index, &keys, &out);
    assert!(report.contains("published snapshot 2 (timestamp 2)"), "{report}");
    assert!(report.contains("1 added, 1 changed, 1 removed"), "{report}");
    assert_eq!(verify_repository(&out), (2, 191));
    // Root stays at version 1; the earlier consistent snapshot stays readable.
    assert!(!out.join("tuf/2.root.json").exists());
    assert!(out.join("tuf/1.snapshot.json").exists() && out.join("tuf/1.targets.json").exists());
    assert_eq!(std::fs::read(out.join("snapshots/1/index/se/rd/serde")).expect("old"), v1_serde);
    assert_eq!(std::fs::read(out.join("index/se/rd/serde")).expect("new"), bytes);

    // The removal is a signed record in targets v2, and the diff lists it.
    let targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tuf/2.targets.json")).expect("targets")).expect("json");
    let removals = &targets["signed"]["x-tufmirror-removals"];
    assert_eq!(removals[0]["path"], "3/s/syn");
    assert_eq!(removals[0]["snapshot_version"], 2);
    let diff: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("history/2.diff.json")).expect("diff")).expect("json");
    assert_eq!(diff["removed"], serde_json::json!(["3/s/syn"]));
    assert_eq!(diff["added"][0]["path"], "ne/wc/newcrate");
}

/// Each bad input is refused with a message naming the file (and line), and OUT is untouched.
#[test]
fn bad_input_is_refused_and_out_stays_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let out = tmp.path().join("out");
    publish_ok(&fixture_index(), &keys, &out);
    let before = fingerprint(&out);

    type Breaker = fn(&Path);
    // The line after the last one of a fixture file: where `append` puts the bad line.
    let next_line = |rel: &str| {
        format!("line {}:", std::fs::read_to_string(fixture_index().join(rel)).expect("read").lines().count() + 1)
    };
    let cases: Vec<(&str, Breaker, Vec<String>)> = vec![
        (
            "malformed line",
            |i| append(i, "se/rd/serde", "{\"name\": \"serde\", oops\n"),
            vec!["se/rd/serde".into(), next_line("se/rd/serde")],
        ),
        (
            "name mismatch",
            |i| {
                let line = first_line(i, "3/s/syn").replace("\"name\": \"syn\"", "\"name\": \"other\"");
                append(i, "3/s/syn", &line);
            },
            vec!["3/s/syn".into(), next_line("3/s/syn"), "other".into()],
        ),
        (
            "bad cksum",
            |i| {
                let line = first_line(i, "2/cc");
                let at = line.find("\"cksum\": \"").expect("cksum") + 10;
                let broken = format!("{}zz{}", &line[..at], &line[at + 2..]);
                append(i, "2/cc", &broken.replacen("\"vers\": \"", "\"vers\": \"77.", 1));
            },
            vec!["2/cc".into(), next_line("2/cc"), "cksum".into()],
        ),
        (
            "file outside the layout",
            |i| std::fs::write(i.join("se/wrong"), "x").expect("write"),
            vec!["se/wrong".into(), "sparse-index".into()],
        ),
        (
            "link to ../x",
            |i| std::os::unix::fs::symlink("../x", i.join("se/rd/serdx")).expect("symlink"),
            vec!["se/rd/serdx".into(), "symbolic link".into()],
        ),
        (
            "non-UTF-8 file",
            |i| {
                let mut b = std::fs::read(i.join("3/l/log")).expect("read");
                b.extend_from_slice(b"\xff\xfe\n");
                std::fs::write(i.join("3/l/log"), b).expect("write");
            },
            vec!["3/l/log".into(), next_line("3/l/log"), "UTF-8".into()],
        ),
    ];
    for (what, breaker, expected) in cases {
        let index = tmp.path().join(format!("index-{}", what.replace(' ', "-")));
        copy_dir(&fixture_index(), &index);
        breaker(&index);
        let result = publish(&index, &keys, &out);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{what}: publish succeeded");
        for needle in &expected {
            assert!(stderr.contains(needle.as_str()), "{what}: {needle:?} not in {stderr}");
        }
        assert!(fingerprint(&out) == before, "{what}: OUT changed");
    }
}

fn append(index: &Path, rel: &str, line: &str) {
    let mut bytes = std::fs::read(index.join(rel)).expect("read");
    bytes.extend_from_slice(line.as_bytes());
    if !line.ends_with('\n') {
        bytes.push(b'\n');
    }
    std::fs::write(index.join(rel), bytes).expect("write");
}

fn first_line(index: &Path, rel: &str) -> String {
    std::fs::read_to_string(index.join(rel)).expect("read").lines().next().expect("line").to_owned()
}

#[test]
fn a_key_that_root_does_not_list_is_refused_by_name() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let other = generate_keys(&tmp.path().join("other"));
    std::fs::copy(other.join("timestamp.pem"), keys.join("timestamp.pem")).expect("swap key");
    let out = tmp.path().join("out");
    let result = publish(&fixture_index(), &keys, &out);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("timestamp key") && stderr.contains("not listed for the timestamp role"), "{stderr}");
    assert!(!out.exists(), "nothing written");

    // A root key used as an online key is refused too.
    std::fs::copy(keys.join("root.pem"), keys.join("timestamp.pem")).expect("root key online");
    let stderr = String::from_utf8_lossy(&publish(&fixture_index(), &keys, &out).stderr).into_owned();
    assert!(stderr.contains("also a root key"), "{stderr}");
}

#[test]
fn refuses_to_write_into_a_directory_that_is_not_a_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("precious.txt"), "keep me").expect("write");
    let result = publish(&fixture_index(), &keys, &out);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("not a tufmirror repository"));
    assert_eq!(std::fs::read_dir(&out).expect("dir").count(), 1);
}

/// A blob left torn by a killed publish (same name, wrong bytes) is never reused: only blobs of
/// the served, flushed snapshot are.
#[test]
fn a_torn_blob_from_a_killed_publish_is_rewritten() {
    let Published { tmp: _tmp, keys, index, out } = Published::fixture_copy();

    let changed = format!("{}\n", std::fs::read_to_string(index.join("3/l/log")).expect("read").trim_end());
    let changed = changed.clone()
        + &changed.lines().last().expect("line").replacen("\"vers\": \"", "\"vers\": \"99.0.0-torn.", 1)
        + "\n";
    std::fs::write(index.join("3/l/log"), &changed).expect("write");
    let hash = tufmirror_core::Sha256Hash::of(changed.as_bytes()).to_hex();
    let torn = out.join("blobs").join(&hash[..2]).join(&hash);
    std::fs::create_dir_all(torn.parent().expect("parent")).expect("mkdir");
    std::fs::write(&torn, &changed.as_bytes()[..10]).expect("torn write");

    publish_ok(&index, &keys, &out);
    let served = std::fs::read(out.join("index/3/l/log")).expect("served");
    assert!(served == changed.as_bytes(), "served {} bytes of a torn blob instead of the file", served.len());
    verify_repository(&out);
}

/// `tuf/root.json` follows the chain even if a publish died before updating it.
#[test]
fn root_json_is_repaired_from_the_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let out = tmp.path().join("out");
    publish_ok(&fixture_index(), &keys, &out);
    std::fs::write(out.join("tuf/root.json"), b"stale").expect("write");
    publish_ok(&fixture_index(), &keys, &out);
    assert_eq!(
        std::fs::read(out.join("tuf/root.json")).expect("root"),
        std::fs::read(out.join("tuf/1.root.json")).expect("1")
    );
}

/// ECDSA P-256 keys (what KMS and HSMs without Ed25519 offer) work end to end: the root holds PEM
/// keys, whose newlines must be escaped in the JSON that is written.
#[test]
fn ecdsa_keys_publish_and_verify() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = tmp.path().join("keys");
    tufmirror_ok(&["keys", "generate", "--algorithm", "ecdsa-p256", "--out", keys.to_str().expect("utf-8")]);
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys.join("1.root.json")).expect("root")).expect("root is valid JSON");
    assert!(root["signed"]["keys"].as_object().expect("keys").values().all(|k| k["scheme"] == "ecdsa-sha2-nistp256"));
    let out = tmp.path().join("out");
    publish_ok(&fixture_index(), &keys, &out);
    assert_eq!(verify_repository(&out), (1, 191));
}

/// An empty mirror is a valid, signed snapshot whose Merkle root is that of 65,536 empty buckets
/// (docs/POUF.md 1.4).
#[test]
fn an_empty_index_publishes_a_signed_empty_tree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = generate_keys(tmp.path());
    let (index, out) = (tmp.path().join("empty"), tmp.path().join("out"));
    std::fs::create_dir(&index).expect("mkdir");
    let report = publish_ok(&index, &keys, &out);
    assert!(
        report.contains("0 files, merkle root 03f0e06610687f70ab58d0e39ae4abb846a5ad17ec789db9d910d27f0ec52ba3"),
        "{report}"
    );
    assert_eq!(verify_repository(&out), (1, 0));
}
