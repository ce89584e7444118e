//! `tufmirror publish` output checked by code that shares nothing with tufmirror:
//!
//! - `tests/python/pouf_verify.py`, an independent re-implementation of docs/POUF.md
//!   (canonical JSON, key ids, signatures, Merkle proofs, leaf lists, diffs, removal records);
//! - `tests/python/tuf_interop.py`, python-tuf's stock `ngclient.Updater` fetching `config.json`.
//!
//! The Python interpreter: see `common::python`.
//!
//! Everything runs on the loopback interface; nothing here touches the network.

mod common;

use common::python::{Run, pouf_verify, run, tuf_interop};

use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use tufmirror_core::merkle::{Leaf, MerkleTree, PathProof, bucket_of};

const BIN: &str = env!("CARGO_BIN_EXE_tufmirror");
const FIXTURE_FILES: usize = 191;

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_index() -> PathBuf {
    repo_dir().join("tests/fixtures/crates-io-sample/index")
}

fn tufmirror<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Path::new(BIN), args).ok()
}

/// A key directory and a published output directory inside a fresh temporary directory.
struct Mirror {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    keys: PathBuf,
    out: PathBuf,
}

impl Mirror {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_owned();
        let keys = dir.join("keys");
        let out = dir.join("out");
        tufmirror([OsStr::new("keys"), OsStr::new("generate"), OsStr::new("--out"), keys.as_os_str()]);
        for f in ["root.pem", "targets.pem", "snapshot.pem", "timestamp.pem", "1.root.json"] {
            assert!(keys.join(f).is_file(), "keys generate did not write {f}");
        }
        for f in ["root.pem", "targets.pem", "snapshot.pem", "timestamp.pem"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(keys.join(f)).expect("key file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f} has mode {mode:o}");
        }
        Mirror { _tmp: tmp, dir, keys, out }
    }

    fn publish(&self, index: &Path) -> String {
        tufmirror([
            OsStr::new("publish"),
            OsStr::new("--index"),
            index.as_os_str(),
            OsStr::new("--keys"),
            self.keys.as_os_str(),
            OsStr::new("--out"),
            self.out.as_os_str(),
        ])
    }

    fn trusted_root(&self) -> PathBuf {
        self.keys.join("1.root.json")
    }

    /// `pouf_verify.py` on a directory, trusting the root from the key directory (not the one
    /// inside the directory under test).
    fn audit(&self, out: &Path, extra: &[&str]) -> Run {
        let mut args: Vec<std::ffi::OsString> =
            vec!["--check-layout".into(), "--trusted-root".into(), self.trusted_root().into()];
        args.extend(extra.iter().map(|a| a.into()));
        args.push(out.into());
        pouf_verify(args)
    }

    fn interop(&self, out: &Path, extra: &[&str]) -> Run {
        let mut args: Vec<std::ffi::OsString> =
            vec!["--root".into(), self.trusted_root().into(), "--out".into(), out.into()];
        args.extend(extra.iter().map(|a| a.into()));
        tuf_interop(args)
    }
}

fn read_json(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_vec(value).expect("json")).expect("write");
}

/// The current timestamp's `(snapshot version, merkle_root, merkle_tree_size)`.
fn signed_tree(out: &Path) -> (u64, String, u64) {
    let ts = read_json(&out.join("tuf/timestamp.json"));
    let signed = &ts["signed"];
    (
        signed["meta"]["snapshot.json"]["version"].as_u64().expect("snapshot version"),
        signed["merkle_root"].as_str().expect("merkle_root").to_owned(),
        signed["merkle_tree_size"].as_u64().expect("merkle_tree_size"),
    )
}

/// Copies a tree, recreating symbolic links as links (the layout's links are relative, so they
/// keep working in the copy) and files as new, unshared files (no hard links back to the source).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).expect("readlink"), &dst).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Sparse-index paths of all files under `dir` (without `config.json`).
fn index_paths(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("prefix").to_str().expect("utf-8").replace('\\', "/");
                if rel != "config.json" {
                    out.push(rel);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Flips the lowest bit of the first hex digit of a hex string (it stays lowercase hex).
fn flip_hex(s: &str) -> String {
    flip_hex_at(s, 0)
}

fn flip_hex_at(s: &str, at: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let d = chars[at].to_digit(16).expect("hex digit") ^ 1;
    chars[at] = char::from_digit(d, 16).expect("hex digit");
    chars.into_iter().collect()
}

fn paths_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|v| v.get("path").unwrap_or(v).as_str().expect("path string").to_owned())
        .collect()
}

/// A line for `name` in the index format, made from the last line of an existing index file.
fn index_line(template: &Path, name: &str, vers: &str) -> String {
    let text = fs::read_to_string(template).expect("read index file");
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).expect("a line");
    let mut line: Value = serde_json::from_str(last).expect("index line is JSON");
    line["name"] = Value::from(name);
    line["vers"] = Value::from(vers);
    line["cksum"] = Value::from("5".repeat(64));
    serde_json::to_string(&line).expect("json")
}

#[test]
fn pouf_verify_self_test() {
    let stdout = pouf_verify(["--self-test"]).ok();
    assert!(stdout.contains("self-test ok"), "{stdout}");
}

/// (a) A fresh publish of the fixture passes the independent POUF audit (all 191 proofs) and
/// python-tuf's client.
#[test]
fn publish_is_accepted_by_pouf_verify_and_python_tuf() {
    let m = Mirror::new();
    m.publish(&fixture_index());

    let (version, root, size) = signed_tree(&m.out);
    assert_eq!((version, size), (1, FIXTURE_FILES as u64));
    let stdout = m.audit(&m.out, &[]).ok();
    assert!(
        stdout.contains(&format!("pouf_verify: {FIXTURE_FILES} proofs ok, root {root}")),
        "unexpected pouf_verify summary: {stdout}"
    );

    // The audit checks the published files against their proofs; this checks that they are the
    // input, all of it.
    let paths = index_paths(&fixture_index());
    assert_eq!(paths.len(), FIXTURE_FILES);
    for p in &paths {
        let want = fs::read(fixture_index().join(p)).expect("fixture file");
        let got = fs::read(m.out.join("index").join(p)).unwrap_or_else(|e| panic!("published {p}: {e}"));
        assert!(want == got, "published {p} differs from the input");
    }

    let stdout = m.interop(&m.out, &[]).ok();
    assert!(stdout.contains("tuf_interop: ok"), "{stdout}");
    // The expected bytes are a copy taken before python-tuf ran, not the file it may have read.
    let expected = m.dir.join("expected-config.json");
    fs::copy(m.out.join("index/config.json"), &expected).expect("copy config.json");
    let stdout = m.interop(&m.out, &["--expected", expected.to_str().expect("utf-8")]).ok();
    assert!(stdout.contains("bytes match"), "{stdout}");
}

/// (b) One changed byte inside the signed timestamp: python-tuf refuses the signature,
/// pouf_verify refuses it too, and without signature checks still catches the Merkle root. A
/// changed index file is caught by its proof.
#[test]
fn tampered_repository_is_refused() {
    let m = Mirror::new();
    m.publish(&fixture_index());
    let (version, root, _) = signed_tree(&m.out);

    // merkle_root: one hex digit, edited in the bytes so that nothing else moves.
    let tampered = m.dir.join("tampered-root");
    copy_tree(&m.out, &tampered);
    let ts_path = fs::canonicalize(tampered.join("tuf/timestamp.json")).expect("timestamp link resolves");
    assert!(ts_path.starts_with(fs::canonicalize(&tampered).expect("canonical")), "{}", ts_path.display());
    let text = fs::read_to_string(&ts_path).expect("timestamp");
    assert_eq!(text.matches(&root).count(), 1, "merkle_root appears once in {text}");
    let forged_root = flip_hex_at(&root, 10);
    fs::write(&ts_path, text.replace(&root, &forged_root)).expect("write");
    assert_eq!(read_json(&ts_path)["signed"]["merkle_root"], Value::from(forged_root.clone()));

    let stdout = m.interop(&tampered, &["--expect-failure", "--expect-error", "UnsignedMetadataError"]).ok();
    assert!(stdout.contains("refused the repository as expected"), "{stdout}");
    let stdout = m.audit(&tampered, &[]).rejected();
    assert!(stdout.contains("timestamp") && stdout.contains("signature"), "{stdout}");
    let stdout = m.audit(&tampered, &["--no-signatures"]).rejected();
    assert!(stdout.contains("merkle_root") && stdout.contains(&forged_root), "{stdout}");

    // version: a different signed number, still valid JSON.
    let tampered = m.dir.join("tampered-version");
    copy_tree(&m.out, &tampered);
    let ts_path = fs::canonicalize(tampered.join("tuf/timestamp.json")).expect("timestamp link resolves");
    let mut ts = read_json(&ts_path);
    let v = ts["signed"]["version"].as_u64().expect("version");
    ts["signed"]["version"] = Value::from(v + 1);
    write_json(&ts_path, &ts);
    let stdout = m.interop(&tampered, &["--expect-failure", "--expect-error", "UnsignedMetadataError"]).ok();
    assert!(stdout.contains("refused the repository as expected"), "{stdout}");
    m.audit(&tampered, &[]).rejected();

    // --expect-failure must not pass on an intact repository.
    let stdout = m.interop(&m.out, &["--expect-failure"]).rejected();
    assert!(stdout.contains("accepted the repository"), "{stdout}");

    // An index file changed after publication.
    let tampered = m.dir.join("tampered-file");
    copy_tree(&m.out, &tampered);
    let file = tampered.join(format!("snapshots/{version}/index/3/l/log"));
    let mut bytes = fs::read(&file).expect("index file");
    bytes.extend_from_slice(b"\n");
    fs::write(&file, bytes).expect("write");
    let stdout = m.audit(&tampered, &[]).rejected();
    assert!(stdout.contains("3/l/log") && stdout.contains("does not match its leaf"), "{stdout}");

    // The original is untouched by all of this.
    m.audit(&m.out, &[]).ok();
}

/// (c) A second publish with one changed and one added file: both verifiers accept version 2,
/// and the diff replay covers both snapshots.
#[test]
fn second_publish_with_changed_index() {
    let m = Mirror::new();
    let index = m.dir.join("index");
    copy_tree(&fixture_index(), &index);
    m.publish(&index);
    let (_, root1, _) = signed_tree(&m.out);

    let log = index.join("3/l/log");
    let mut text = fs::read_to_string(&log).expect("log");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&index_line(&log, "log", "99.0.0"));
    text.push('\n');
    fs::write(&log, text).expect("write");
    let probe = index.join("tu/fm/tufmirror-probe");
    fs::create_dir_all(probe.parent().expect("parent")).expect("mkdir");
    fs::write(&probe, index_line(&log, "tufmirror-probe", "0.1.0") + "\n").expect("write");
    m.publish(&index);

    let (version, root2, size) = signed_tree(&m.out);
    assert_eq!((version, size), (2, FIXTURE_FILES as u64 + 1));
    assert_ne!(root1, root2);
    let stdout = m.audit(&m.out, &["--verbose"]).ok();
    assert!(stdout.contains(&format!("pouf_verify: {} proofs ok, root {root2}", FIXTURE_FILES + 1)), "{stdout}");
    assert!(stdout.contains("snapshot 2,") && stdout.contains("2 diffs replayed"), "{stdout}");
    assert!(stdout.contains("older retained snapshots 1 ok"), "{stdout}");

    let diff = read_json(&m.out.join("history/2.diff.json"));
    assert_eq!(paths_of(&diff["added"]), ["tu/fm/tufmirror-probe"]);
    assert_eq!(paths_of(&diff["changed"]), ["3/l/log"]);
    assert_eq!(paths_of(&diff["removed"]), Vec::<String>::new());
    assert_eq!(diff["previous_root"], Value::from(root1));
    assert_eq!(diff["merkle_root"], Value::from(root2));

    let stdout = m.interop(&m.out, &[]).ok();
    assert!(stdout.contains("timestamp v2") && stdout.contains("snapshot v2"), "{stdout}");
}

/// A file that leaves the input leaves the tree with a removal record signed by targets (POUF
/// 1.6), which pouf_verify matches against the diff.
#[test]
fn removed_index_file_has_a_removal_record() {
    let m = Mirror::new();
    let index = m.dir.join("index");
    copy_tree(&fixture_index(), &index);
    m.publish(&index);
    fs::remove_file(index.join("3/s/syn")).expect("remove");
    m.publish(&index);

    let stdout = m.audit(&m.out, &[]).ok();
    assert!(stdout.contains(&format!("pouf_verify: {} proofs ok", FIXTURE_FILES - 1)), "{stdout}");
    let diff = read_json(&m.out.join("history/2.diff.json"));
    assert_eq!(paths_of(&diff["removed"]), ["3/s/syn"]);
    let snapshot = read_json(&m.out.join("tuf/2.snapshot.json"));
    let targets_version = snapshot["signed"]["meta"]["targets.json"]["version"].as_u64().expect("version");
    let targets = read_json(&m.out.join(format!("tuf/{targets_version}.targets.json")));
    let records = &targets["signed"]["x-tufmirror-removals"];
    assert_eq!(paths_of(records), ["3/s/syn"]);
    assert_eq!(records[0]["snapshot_version"], Value::from(2));
    m.interop(&m.out, &[]).ok();
}

/// (d) Real proofs, mutated one way at a time: pouf_verify's single-proof mode accepts the
/// original and rejects every mutation (exit status 1: a verdict, not a crash).
#[test]
fn mutated_proofs_are_rejected() {
    let m = Mirror::new();
    m.publish(&fixture_index());
    let (version, root, size) = signed_tree(&m.out);
    let snap = m.out.join(format!("snapshots/{version}"));
    let leaves = read_json(&snap.join("leaves.json"))["leaves"].as_array().expect("leaves").clone();
    assert_eq!(leaves.len() as u64, size);
    let path_at = |i: usize| leaves[i]["path"].as_str().expect("path").to_owned();
    let i = (leaves.len() / 2) | 1; // an odd index in the middle: siblings on both sides
    let path = path_at(i);
    let proof_file = snap.join("proofs").join(&path);
    let index_file = snap.join("index").join(&path);
    let proof = read_json(&proof_file);
    assert_eq!(proof["leaf_contents"], leaves[i]);
    let levels = proof["merkle_path"].as_object().expect("merkle_path").len();
    assert!(levels >= 16, "every proof climbs the 16 levels above its bucket");
    let work = m.dir.join("proofs");
    fs::create_dir_all(&work).expect("mkdir");

    let check = |proof: &Path, root: &str, size: u64, version: u64, path: &str, file: Option<&Path>| -> Run {
        let (size, version) = (size.to_string(), version.to_string());
        let mut args: Vec<std::ffi::OsString> = vec![
            "--proof".into(),
            proof.into(),
            "--root".into(),
            root.into(),
            "--size".into(),
            size.into(),
            "--version".into(),
            version.into(),
            "--path".into(),
            path.into(),
        ];
        if let Some(f) = file {
            args.extend(["--file".into(), f.into()]);
        }
        pouf_verify(args)
    };

    // The genuine proof verifies, for every leaf as well (the directory audit does that too, but
    // here through the single-proof mode the mutations use).
    check(&proof_file, &root, size, version, &path, Some(&index_file)).ok();
    for j in [0, 1, leaves.len() - 2, leaves.len() - 1] {
        let p = path_at(j);
        check(&snap.join("proofs").join(&p), &root, size, version, &p, Some(&snap.join("index").join(&p))).ok();
    }

    type Mutation = (&'static str, Box<dyn Fn(&mut Value)>);
    let last = (levels - 1).to_string();
    let mutations: Vec<Mutation> = vec![
        (
            "first sibling hash, one bit",
            Box::new(|p| {
                let h = flip_hex(p["merkle_path"]["0"].as_str().expect("hex"));
                p["merkle_path"]["0"] = Value::from(h);
            }),
        ),
        ("top sibling hash, one bit", {
            let last = last.clone();
            Box::new(move |p| {
                let h = flip_hex_at(p["merkle_path"][&last].as_str().expect("hex"), 63);
                p["merkle_path"][&last] = Value::from(h);
            })
        }),
        (
            "leaf sha256, one bit",
            Box::new(|p| {
                let h = flip_hex(p["leaf_contents"]["sha256"].as_str().expect("hex"));
                p["leaf_contents"]["sha256"] = Value::from(h);
            }),
        ),
        (
            "leaf length + 1",
            Box::new(|p| {
                let n = p["leaf_contents"]["length"].as_u64().expect("length");
                p["leaf_contents"]["length"] = Value::from(n + 1);
            }),
        ),
        (
            "leaf_index added (the old format)",
            Box::new(|p| {
                p["leaf_index"] = Value::from(0u64);
            }),
        ),
        (
            "tree_size + 1",
            Box::new(|p| {
                let n = p["tree_size"].as_u64().expect("size");
                p["tree_size"] = Value::from(n + 1);
            }),
        ),
        (
            "tree_size - 1",
            Box::new(|p| {
                let n = p["tree_size"].as_u64().expect("size");
                p["tree_size"] = Value::from(n - 1);
            }),
        ),
        (
            "snapshot_version + 1",
            Box::new(|p| {
                let n = p["snapshot_version"].as_u64().expect("version");
                p["snapshot_version"] = Value::from(n + 1);
            }),
        ),
        (
            "first direction reversed",
            Box::new(|p| {
                let d = if p["path_directions"]["0"] == "L" { "R" } else { "L" };
                p["path_directions"]["0"] = Value::from(d);
            }),
        ),
        ("top direction reversed", {
            let last = last.clone();
            Box::new(move |p| {
                let d = if p["path_directions"][&last] == "L" { "R" } else { "L" };
                p["path_directions"][&last] = Value::from(d);
            })
        }),
        ("last level dropped", {
            let last = last.clone();
            Box::new(move |p| {
                p["merkle_path"].as_object_mut().expect("map").remove(&last);
                p["path_directions"].as_object_mut().expect("map").remove(&last);
            })
        }),
        ("extra level added", {
            let next = levels.to_string();
            Box::new(move |p| {
                p["merkle_path"][&next] = p["merkle_path"]["0"].clone();
                p["path_directions"][&next] = Value::from("R");
            })
        }),
        ("levels swapped", {
            let last = last.clone();
            Box::new(move |p| {
                let (a, b) = (p["merkle_path"]["0"].clone(), p["merkle_path"][&last].clone());
                p["merkle_path"]["0"] = b;
                p["merkle_path"][&last] = a;
                let (a, b) = (p["path_directions"]["0"].clone(), p["path_directions"][&last].clone());
                p["path_directions"]["0"] = b;
                p["path_directions"][&last] = a;
            })
        }),
        ("another leaf's path", {
            let other = path_at(i + 1);
            Box::new(move |p| p["leaf_contents"]["path"] = Value::from(other.clone()))
        }),
    ];
    for (n, (what, mutate)) in mutations.iter().enumerate() {
        let mut p = proof.clone();
        mutate(&mut p);
        assert_ne!(p, proof, "mutation {what:?} changed nothing");
        let file = work.join(format!("mutation-{n}.json"));
        write_json(&file, &p);
        let stdout = check(&file, &root, size, version, &path, Some(&index_file)).rejected();
        assert!(stdout.contains("FAIL"), "{what}: {stdout}");
    }

    // tree_size is not committed by the root (docs/POUF.md 1.5): it is checked against the
    // signed timestamp, which the mutations above and the wrong --size below hold it to.

    // Another path's genuine proof, for this path and this file; and for its own path with this file.
    let other = path_at(i + 1);
    let other_proof = snap.join("proofs").join(&other);
    check(&other_proof, &root, size, version, &path, Some(&index_file)).rejected();
    check(&other_proof, &root, size, version, &other, Some(&index_file)).rejected();
    // The genuine proof with other bytes, or against another root, size or snapshot.
    let changed_file = work.join("changed-file");
    let mut bytes = fs::read(&index_file).expect("index file");
    bytes.push(b'\n');
    fs::write(&changed_file, bytes).expect("write");
    check(&proof_file, &root, size, version, &path, Some(&changed_file)).rejected();
    check(&proof_file, &flip_hex(&root), size, version, &path, Some(&index_file)).rejected();
    check(&proof_file, &root, size + 1, version, &path, Some(&index_file)).rejected();
    check(&proof_file, &root, size, version + 1, &path, Some(&index_file)).rejected();

    // Non-inclusion proofs of the signed tree (built here from leaves.json, as the daemon builds
    // them): one for a path that shares its bucket with a leaf, one for a path in an empty bucket.
    let leaf_list: Vec<Leaf> = serde_json::from_value(Value::Array(leaves.clone())).expect("leaves");
    let tree = MerkleTree::build(leaf_list).expect("sorted leaves");
    assert_eq!(tree.root().to_hex(), root);
    let non_inclusion = |absent: &str| match tree.prove(absent, version) {
        PathProof::Absent(p) => serde_json::from_slice::<Value>(&p.to_canonical_json()).expect("json"),
        PathProof::Included(_) => panic!("{absent} is present"),
    };
    let crowded = (0u32..).map(|n| format!("{path}-{n}")).find(|p| bucket_of(p) == bucket_of(&path)).expect("found");
    let lonely = (0u32..)
        .map(|n| format!("no/ne/none{n}"))
        .find(|p| !tree.leaves().iter().any(|l| bucket_of(&l.path) == bucket_of(p)))
        .expect("found");
    let file = work.join("absent.json");
    for absent in [&crowded, &lonely] {
        write_json(&file, &non_inclusion(absent));
        check(&file, &root, size, version, absent, None).ok();
    }
    let good = non_inclusion(&crowded);
    assert_eq!(good["bucket_leaves"][0]["path"], Value::from(path.clone()));
    let mutated = |f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        p
    };
    let bad: Vec<(&str, Value)> = vec![
        ("the bucket's leaf hidden", mutated(&|p| p["bucket_leaves"] = Value::Array(Vec::new()))),
        ("absent path is present", mutated(&|p| p["absent"] = Value::from(path.clone()))),
        (
            "a leaf of another bucket added",
            mutated(&|p| p["bucket_leaves"].as_array_mut().expect("list").push(leaves[i + 1].clone())),
        ),
        (
            "bucket path, one bit",
            mutated(&|p| p["bucket_path"][7] = Value::from(flip_hex(p["bucket_path"][7].as_str().expect("hex")))),
        ),
        ("bucket path of 15", mutated(&|p| drop(p["bucket_path"].as_array_mut().expect("list").pop()))),
        (
            "the old format (neighbours)",
            serde_json::json!({"absent": crowded, "snapshot_version": version, "tree_size": size, "left": null, "right": null}),
        ),
    ];
    for (what, value) in bad {
        write_json(&file, &value);
        let absent = value["absent"].as_str().expect("absent").to_owned();
        let stdout = check(&file, &root, size, version, &absent, None).rejected();
        assert!(stdout.contains("FAIL"), "{what}: {stdout}");
    }
}

/// A timestamp that has already expired (`--timestamp-expiry-days 0` signs `expires` = now,
/// truncated to the second): python-tuf refuses it for exactly that reason, and so does
/// pouf_verify unless told to audit an old copy.
#[test]
fn expired_timestamp_is_refused() {
    let m = Mirror::new();
    tufmirror([
        OsStr::new("publish"),
        OsStr::new("--index"),
        fixture_index().as_os_str(),
        OsStr::new("--keys"),
        m.keys.as_os_str(),
        OsStr::new("--out"),
        m.out.as_os_str(),
        OsStr::new("--timestamp-expiry-days"),
        OsStr::new("0"),
    ]);
    let stdout = m.interop(&m.out, &["--expect-failure", "--expect-error", "ExpiredMetadataError"]).ok();
    assert!(stdout.contains("ExpiredMetadataError"), "{stdout}");
    let stdout = m.audit(&m.out, &[]).rejected();
    assert!(stdout.contains("timestamp") && stdout.contains("expired"), "{stdout}");
    let stdout = m.audit(&m.out, &["--allow-expired"]).ok();
    assert!(stdout.contains(&format!("pouf_verify: {FIXTURE_FILES} proofs ok")), "{stdout}");
}

/// One changed byte inside `signed` of any metadata file python-tuf reads (snapshot, targets,
/// timestamp), and a changed byte of the `config.json` target, are each refused by python-tuf
/// and by the independent verifier.
#[test]
fn every_signed_file_is_protected() {
    let m = Mirror::new();
    m.publish(&fixture_index());
    let config_hash = {
        let bytes = fs::read(m.out.join("index/config.json")).expect("config");
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    };
    let cases = [
        // Same-length edits, so that what refuses them is a hash or a signature, not a length.
        ("tuf/1.snapshot.json", "\"spec_version\":\"1.0.31\"", "\"spec_version\":\"1.0.32\""),
        ("tuf/1.targets.json", "\"spec_version\":\"1.0.31\"", "\"spec_version\":\"1.0.32\""),
        ("tuf/1.targets.json", "\"x-tufmirror-removals\":[]", "\"x-tufmirror-removals\":{}"),
        ("tuf/timestamp.json", "\"merkle_tree_size\":191", "\"merkle_tree_size\":190"),
        ("index/config.json", "static.crates.io", "static.crates.iO"),
    ];
    for (case, (file, from, to)) in cases.into_iter().enumerate() {
        let tampered = m.dir.join(format!("tampered-{case}"));
        copy_tree(&m.out, &tampered);
        let mut path = fs::canonicalize(tampered.join(file)).expect("resolves");
        if file == "index/config.json" {
            // The TUF client downloads the consistent-snapshot name of the target.
            path = path.with_file_name(format!("{config_hash}.config.json"));
        }
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file}: {from:?} not in {text}");
        fs::write(&path, text.replacen(from, to, 1)).expect("write");
        let stdout = m.interop(&tampered, &["--expect-failure"]).ok();
        assert!(stdout.contains("refused the repository as expected"), "{file}: {stdout}");
        m.audit(&tampered, &[]).rejected();
    }
}

/// python-tuf accepts a repository whose keys are all ECDSA P-256 (PEM public keys in root).
#[test]
fn ecdsa_repository_is_accepted_by_python_tuf() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = tmp.path().join("keys");
    let out = tmp.path().join("out");
    tufmirror(
        [OsStr::new("keys"), OsStr::new("generate"), OsStr::new("--algorithm"), OsStr::new("ecdsa-p256")]
            .into_iter()
            .chain([OsStr::new("--out"), keys.as_os_str()]),
    );
    tufmirror([OsStr::new("publish"), OsStr::new("--index"), fixture_index().as_os_str()].into_iter().chain([
        OsStr::new("--keys"),
        keys.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ]));
    let root = keys.join("1.root.json");
    let stdout = tuf_interop([OsStr::new("--root"), root.as_os_str(), OsStr::new("--out"), out.as_os_str()]).ok();
    assert!(stdout.contains("config.json"), "{stdout}");
    let stdout = pouf_verify([OsStr::new("--trusted-root"), root.as_os_str(), out.as_os_str()]).ok();
    assert!(stdout.contains("191 proofs ok"), "{stdout}");
}

/// The daemon (`tufmirror serve`) is a standard TUF repository too: python-tuf bootstraps from the
/// root it generated on first start, walks its metadata after several on-demand snapshots, and
/// downloads `config.json` by its consistent-snapshot name.
#[test]
fn python_tuf_refreshes_against_the_daemon() {
    use common::daemon::{Daemon, DaemonConfig};
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let upstream = rt.block_on(tufmirror_testkit::upstream::FakeUpstream::start()).expect("upstream");
    upstream.load_index_dir(&fixture_index()).expect("fixture index");
    let tmp = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(tmp.path(), &DaemonConfig::new(&upstream.url()));
    for path in ["se/rd/serde", "3/s/syn", "to/ki/tokio"] {
        assert_eq!(daemon.get(&format!("/index/{path}")).status, 200, "{path}");
    }
    let timestamp: Value = serde_json::from_slice(&daemon.get("/tuf/timestamp.json").body).expect("timestamp");
    assert!(timestamp["signed"]["version"].as_u64().expect("version") >= 3, "several snapshots were published");

    let expected = tmp.path().join("expected-config.json");
    fs::write(&expected, format!("{{\"dl\":\"{}/crates\"}}\n", daemon.url())).expect("write expected");
    let root = daemon.data().join("keys/1.root.json");
    let url = format!("{}/", daemon.url());
    let run = tuf_interop([
        OsStr::new("--root"),
        root.as_os_str(),
        OsStr::new("--url"),
        OsStr::new(&url),
        OsStr::new("--expected"),
        expected.as_os_str(),
    ]);
    run.ok();
}
