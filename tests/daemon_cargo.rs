//! Real cargo against the daemon, on loopback only: the daemon mirrors a fake upstream, and a
//! throw-away project resolves, fetches and builds through it with `[source.crates-io]
//! replace-with`. Each test has its own upstream, daemon, `CARGO_HOME` and target folder.

mod common;

use common::daemon::{Daemon, DaemonConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use tufmirror_testkit::registry::{CrateFile, Dep, make_crate};
use tufmirror_testkit::upstream::FakeUpstream;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A throw-away cargo project whose crates.io source is the daemon, with its own `CARGO_HOME`
/// and target folder.
struct Project {
    dir: PathBuf,
    cargo_home: PathBuf,
    target: PathBuf,
}

impl Project {
    /// Sets up `root/project` (a copy of `template` if given), `root/cargo-home` and
    /// `root/target`, pointing crates.io at `daemon`.
    fn new(root: &Path, daemon: &Daemon, template: Option<&Path>) -> Project {
        let dir = root.join("project");
        match template {
            Some(template) => common::copy_dir(template, &dir),
            None => std::fs::create_dir_all(&dir).expect("project dir"),
        }
        std::fs::create_dir_all(dir.join(".cargo")).expect(".cargo");
        std::fs::write(
            dir.join(".cargo/config.toml"),
            format!(
                "[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+{}/index/\"\n",
                daemon.url()
            ),
        )
        .expect("write .cargo/config.toml");
        let project = Project { dir, cargo_home: root.join("cargo-home"), target: root.join("target") };
        std::fs::create_dir_all(&project.cargo_home).expect("cargo home");
        project
    }

    /// Runs `cargo ARGS` in the project with `extra_env`, on loopback only: no proxy, no
    /// inherited cargo settings, not offline.
    fn cargo_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        common::cargo::run_cargo(&self.dir, &self.cargo_home, &self.target, args, extra_env)
    }

    fn cargo(&self, args: &[&str]) -> Output {
        self.cargo_env(args, &[])
    }

    /// Runs `cargo ARGS` and fails the test, showing cargo's output, unless it succeeds.
    fn cargo_ok(&self, args: &[&str]) -> Output {
        let started = Instant::now();
        let out = self.cargo(args);
        assert!(
            out.status.success(),
            "cargo {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("cargo {args:?}: {:.1?}", started.elapsed());
        out
    }

    fn lockfile(&self) -> String {
        std::fs::read_to_string(self.dir.join("Cargo.lock")).expect("Cargo.lock")
    }

    /// The binary `name` built in the debug profile.
    fn binary(&self, name: &str) -> PathBuf {
        self.target.join("debug").join(name)
    }
}

/// A lockfile without its comment lines (`# This file is automatically @generated...`).
fn without_comments(lockfile: &str) -> String {
    lockfile.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect()
}

/// The locked versions of `name` in a Cargo.lock, with their checksums.
fn locked(lockfile: &str, name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for package in lockfile.split("[[package]]").skip(1) {
        let field = |key: &str| {
            package
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or("")
                .to_owned()
        };
        if field("name") == name {
            out.push((field("version"), field("checksum")));
        }
    }
    out
}

/// The value of the series `name` (with its labels, if any) in the daemon's `/metrics`.
fn metric(daemon: &Daemon, name: &str) -> i64 {
    let response = daemon.get("/metrics");
    assert_eq!(response.status, 200);
    let text = String::from_utf8(response.body).expect("metrics are UTF-8");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn fixture_project_resolves_to_the_fixture_lockfile() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let loaded = upstream.load_index_dir(&common::fixture_index()).expect("load the fixture index");
    assert!(loaded > 150, "the fixture index has its files ({loaded})");

    let tmp = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&tmp.path().join("daemon"), &DaemonConfig::new(&upstream.url()));
    let template = common::repo_root().join("tests/fixtures/crates-io-sample/project");
    let project = Project::new(tmp.path(), &daemon, Some(&template));
    std::fs::remove_file(project.dir.join("Cargo.lock")).expect("remove the copied Cargo.lock");

    project.cargo_ok(&["generate-lockfile"]);
    let expected = std::fs::read_to_string(template.join("Cargo.lock")).expect("fixture Cargo.lock");
    assert!(
        without_comments(&project.lockfile()) == without_comments(&expected),
        "cargo through the daemon resolved differently from the fixture's Cargo.lock:\n{}",
        project.lockfile()
    );

    // cargo keeps at most two requests in flight per host over HTTP/1.1 (it asks for an h2c
    // upgrade, which the daemon does not do), so an on-demand batch holds one or two misses: with
    // the default configuration about half as many snapshots as files, not one per file.
    let version = metric(&daemon, "tufmirror_snapshot_version");
    let files = metric(&daemon, "tufmirror_index_files");
    eprintln!("{files} index files in snapshot {version}");
    let crates: std::collections::BTreeSet<&str> = expected
        .split("[[package]]")
        .filter(|p| p.contains("source = \"registry+"))
        .filter_map(|p| p.lines().find_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')))
        .collect();
    assert!(
        files >= crates.len() as i64,
        "every resolved crate's index file is mirrored: {files} files, {} crates",
        crates.len()
    );
    assert!(version * 3 <= files * 2, "on-demand fetches are batched: {files} index files took {version} snapshots");
}

/// `tm-leaf` `vers`, whose `value()` is `value`.
fn leaf(vers: &str, value: u32) -> CrateFile {
    make_crate("tm-leaf", vers, &[], &format!("pub fn value() -> u32 {{\n    {value}\n}}\n"))
}

#[test]
fn synthetic_registry_builds_updates_and_refuses_an_altered_crate() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    // Three synthetic crates: `tm-top` uses `tm-mid` and `tm-leaf`, `tm-mid` uses `tm-leaf`.
    let mid = make_crate(
        "tm-mid",
        "1.0.0",
        &[Dep::new("tm-leaf", "^1")],
        "pub fn value() -> u32 {\n    tm_leaf::value() + 10\n}\n",
    );
    let top = make_crate(
        "tm-top",
        "1.0.0",
        &[Dep::new("tm-mid", "^1"), Dep::new("tm-leaf", "^1")],
        "pub fn value() -> u32 {\n    tm_mid::value() * 10 + tm_leaf::value()\n}\n",
    );
    upstream.publish(&leaf("1.0.0", 1), false);
    upstream.publish(&mid, false);
    upstream.publish(&top, false);

    let tmp = tempfile::tempdir().expect("tempdir");
    let config =
        DaemonConfig { mirror_extra: "revalidate_after = \"0s\"".to_owned(), ..DaemonConfig::new(&upstream.url()) };
    let daemon = Daemon::start(&tmp.path().join("daemon"), &config);
    let project = Project::new(tmp.path(), &daemon, None);
    std::fs::write(
        project.dir.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntm-top = \"1\"\n",
    )
    .expect("Cargo.toml");
    std::fs::create_dir_all(project.dir.join("src")).expect("src");
    std::fs::write(project.dir.join("src/main.rs"), "fn main() {\n    println!(\"value={}\", tm_top::value());\n}\n")
        .expect("main.rs");
    let run = || {
        let out = Command::new(project.binary("app")).output().expect("run the built binary");
        assert!(out.status.success(), "the built binary failed: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };

    // Resolve, fetch, build and run against 1.0.0 everywhere.
    project.cargo_ok(&["generate-lockfile"]);
    let lock = project.lockfile();
    assert_eq!(locked(&lock, "tm-leaf"), [("1.0.0".to_owned(), leaf("1.0.0", 1).cksum)]);
    assert_eq!(locked(&lock, "tm-mid"), [("1.0.0".to_owned(), mid.cksum.clone())]);
    assert_eq!(locked(&lock, "tm-top"), [("1.0.0".to_owned(), top.cksum.clone())]);
    project.cargo_ok(&["fetch"]);
    assert_eq!(upstream.hits("crates/tm-leaf/1.0.0/download"), 1, "downloaded once through the mirror");
    project.cargo_ok(&["build"]);
    assert_eq!(run(), "value=111", "(1 + 10) * 10 + 1");

    // Upstream publishes tm-leaf 1.1.0: with revalidate_after = 0s the next request sees it.
    upstream.publish(&leaf("1.1.0", 2), false);
    project.cargo_ok(&["update"]);
    assert_eq!(locked(&project.lockfile(), "tm-leaf"), [("1.1.0".to_owned(), leaf("1.1.0", 2).cksum)]);
    project.cargo_ok(&["build"]);
    assert_eq!(run(), "value=122", "(2 + 10) * 10 + 2");
    assert_eq!(upstream.hits("crates/tm-leaf/1.1.0/download"), 1, "1.1.0 downloaded once through the mirror");

    // Upstream publishes tm-leaf 1.2.0 and then swaps its archive for another one: the index the
    // mirror signed says one checksum, upstream's file has another.
    let honest = leaf("1.2.0", 3);
    let altered = make_crate("tm-leaf", "1.2.0", &[], "pub fn value() -> u32 {\n    666\n}\n");
    assert_ne!(honest.cksum, altered.cksum);
    upstream.publish(&honest, false);
    upstream.set_crate_bytes("tm-leaf", "1.2.0", altered.bytes.clone());
    project.cargo_ok(&["update"]);
    assert_eq!(locked(&project.lockfile(), "tm-leaf"), [("1.2.0".to_owned(), honest.cksum.clone())]);

    let download = "crates/tm-leaf/1.2.0/download";
    let no_retry = [("CARGO_NET_RETRY", "0")];
    let fetch = project.cargo_env(&["fetch"], &no_retry);
    let err = stderr(&fetch);
    assert!(!fetch.status.success(), "cargo fetch must fail on the altered crate:\n{err}");
    assert!(
        err.contains("tm-leaf") && err.contains("502") && err.contains(&honest.cksum) && !err.contains(&altered.cksum),
        "cargo's error should name the crate, the 502 and the daemon's reason (the signed checksum, not the \
         fetched file's):\n{err}"
    );
    eprintln!("cargo fetch refused the altered crate:\n{err}");
    let hits = upstream.hits(download);
    assert!(hits >= 1, "the daemon asked upstream for the archive");

    // Nothing was cached: the next attempt goes to upstream again and fails the same way.
    let build = project.cargo_env(&["build"], &no_retry);
    let err = stderr(&build);
    assert!(!build.status.success(), "cargo build must fail on the altered crate:\n{err}");
    assert!(err.contains("tm-leaf") && err.contains("502"), "for the same reason, the daemon's 502:\n{err}");
    assert!(upstream.hits(download) > hits, "a second attempt reaches upstream again (nothing cached)");
    let hits = upstream.hits(download);
    let direct = daemon.get("/crates/tm-leaf/1.2.0/download");
    assert_eq!(direct.status, 502, "{}", String::from_utf8_lossy(&direct.body));
    let body = String::from_utf8_lossy(&direct.body);
    assert!(body.contains("does not match the signed cksum") && body.contains(&honest.cksum), "{body}");
    assert!(!body.contains(&altered.cksum), "the 502 must not reveal the fetched bytes' sha256: {body}");
    assert_eq!(upstream.hits(download), hits + 1);
    assert_eq!(
        metric(&daemon, "tufmirror_crate_downloads_total{result=\"checksum_mismatch\"}"),
        upstream.hits(download) as i64,
        "every upstream answer for the altered archive was refused"
    );
    assert_eq!(run(), "value=122", "the last good build is untouched");
}
