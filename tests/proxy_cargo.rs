//! Real cargo through `tufmirror proxy`, on loopback only: the daemon mirrors a fake upstream of
//! synthetic crates, a hostile mirror (tests/common/hostile.rs) forwards the daemon's answers
//! between the daemon and the proxy (honestly, until it is told to lie), and a throw-away
//! project reads `sparse+http://PROXY/index/`. The project resolves, fetches, builds and runs
//! through the proxy; then the mirror's answers are tampered with, and cargo fails with the
//! proxy's message, which names the file and the reason.

mod common;

use common::daemon::{Daemon, DaemonConfig};
use common::hostile::{Action, HostileMirror, Proxy, Rules, altered};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use tufmirror_testkit::registry::{Dep, index_path, make_crate};
use tufmirror_testkit::upstream::FakeUpstream;

/// A throw-away project whose crates.io source is `registry` (`sparse+…/index/`).
struct Project {
    dir: PathBuf,
    target: PathBuf,
}

impl Project {
    fn new(root: &Path, registry: &str, manifest: &str, main_rs: &str) -> Project {
        let dir = root.join("project");
        std::fs::create_dir_all(dir.join(".cargo")).expect(".cargo");
        std::fs::create_dir_all(dir.join("src")).expect("src");
        std::fs::write(
            dir.join(".cargo/config.toml"),
            format!("[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"{registry}\"\n"),
        )
        .expect("write .cargo/config.toml");
        std::fs::write(dir.join("Cargo.toml"), manifest).expect("Cargo.toml");
        std::fs::write(dir.join("src/main.rs"), main_rs).expect("main.rs");
        Project { dir, target: root.join("target") }
    }

    /// Runs `cargo ARGS` with `cargo_home`, on loopback only: nothing inherited from the `cargo
    /// test` that runs us, no proxy from the environment, no retries.
    fn cargo(&self, cargo_home: &Path, args: &[&str]) -> Output {
        std::fs::create_dir_all(cargo_home).expect("cargo home");
        common::cargo::run_cargo(&self.dir, cargo_home, &self.target, args, &[("CARGO_NET_RETRY", "0")])
    }

    /// Runs `cargo ARGS` and fails the test, showing cargo's output, unless it succeeds.
    fn cargo_ok(&self, cargo_home: &Path, args: &[&str], proxy: &Proxy) -> Output {
        let started = Instant::now();
        let out = self.cargo(cargo_home, args);
        assert!(
            out.status.success(),
            "cargo {args:?} failed ({}):\n{}\n{}\nproxy output:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            proxy.output()
        );
        eprintln!("cargo {args:?}: {:.1?}", started.elapsed());
        out
    }

    /// Runs `cargo ARGS`, requires a failure, and returns cargo's stderr.
    fn cargo_fails(&self, cargo_home: &Path, args: &[&str]) -> String {
        let out = self.cargo(cargo_home, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "cargo {args:?} must fail:\n{stderr}");
        stderr
    }
}

/// `haystack` contains every `needle`.
fn assert_says(what: &str, haystack: &str, needles: &[&str]) {
    let missing: Vec<&&str> = needles.iter().filter(|n| !haystack.contains(**n)).collect();
    assert!(missing.is_empty(), "{what} does not say {missing:?}:\n{haystack}");
}

#[test]
fn cargo_builds_through_the_proxy_and_fails_clearly_on_a_tampered_mirror() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let upstream = runtime.block_on(FakeUpstream::start()).expect("upstream");
    // `tm-top` uses `tm-mid` and `tm-leaf`; `tm-mid` uses `tm-leaf`.
    let leaf = make_crate("tm-leaf", "1.0.0", &[], "pub fn value() -> u32 {\n    1\n}\n");
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
    for krate in [&leaf, &mid, &top] {
        upstream.publish(krate, false);
    }

    let tmp = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&tmp.path().join("daemon"), &DaemonConfig::new(&upstream.url()));
    let mirror = HostileMirror::forward(&daemon.url());
    let root = daemon.data().join("keys/1.root.json");
    let proxy =
        Proxy::start(&mirror.url(), &root, Some(&tmp.path().join("proxy-state")), &tmp.path().join("proxy.log"));
    let project = Project::new(
        tmp.path(),
        &format!("sparse+{}/index/", proxy.url()),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ntm-top = \"1\"\n",
        "fn main() {\n    println!(\"value={}\", tm_top::value());\n}\n",
    );

    // Resolve, fetch, build and run through the proxy.
    let home = tmp.path().join("cargo-home");
    project.cargo_ok(&home, &["generate-lockfile"], &proxy);
    let lock = std::fs::read_to_string(project.dir.join("Cargo.lock")).expect("Cargo.lock");
    for krate in [&leaf, &mid, &top] {
        assert!(lock.contains(&krate.cksum), "Cargo.lock pins {} {}:\n{lock}", krate.name, krate.cksum);
    }
    project.cargo_ok(&home, &["fetch"], &proxy);
    project.cargo_ok(&home, &["build"], &proxy);
    let run = Command::new(project.target.join("debug/app")).output().expect("run the built binary");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "value=111", "(1 + 10) * 10 + 1");
    let asked: Vec<String> = mirror.stats().requests();
    let leaf_path = format!("/index/{}", index_path("tm-leaf"));
    assert!(asked.contains(&leaf_path), "the proxy asked the mirror for {leaf_path}: {asked:?}");

    // The mirror alters tm-leaf's index file (a 200 with other bytes; the proof header is the
    // daemon's). cargo, with a fresh CARGO_HOME so that it must ask, fails: the proxy's error
    // names the file and the reason, and cargo shows it.
    let honest = daemon.get(&leaf_path);
    assert_eq!(honest.status, 200);
    mirror.set(
        Rules::new()
            .on(leaf_path.clone(), Action::Status(200))
            .on(leaf_path.clone(), Action::Body(altered(&honest.body))),
    );
    let err = project.cargo_fails(&tmp.path().join("cargo-home-altered"), &["generate-lockfile"]);
    eprintln!("cargo through the proxy, tm-leaf altered:\n{err}");
    // Straight to the mirror, cargo takes the altered file: it has no way to tell.
    let direct = Project::new(
        &tmp.path().join("direct"),
        &format!("sparse+{}/index/", mirror.url()),
        &std::fs::read_to_string(project.dir.join("Cargo.toml")).expect("Cargo.toml"),
        "fn main() {}\n",
    );
    direct.cargo_ok(&tmp.path().join("cargo-home-direct"), &["generate-lockfile"], &proxy);
    assert_says("cargo's error", &err, &[&index_path("tm-leaf"), "does not match"]);

    // The mirror hides tm-leaf: a 404 without a non-inclusion proof. Without the proxy cargo
    // would say that tm-leaf does not exist; through it, cargo fails on the missing proof.
    mirror.set(
        Rules::new()
            .on(leaf_path.clone(), Action::Status(404))
            .on(leaf_path.clone(), Action::Body(b"crate not found\n".to_vec()))
            .on(leaf_path.clone(), Action::RemoveHeader(common::hostile::PROOF_HEADER.into())),
    );
    let err = project.cargo_fails(&tmp.path().join("cargo-home-hidden"), &["generate-lockfile"]);
    eprintln!("cargo through the proxy, tm-leaf hidden:\n{err}");
    assert_says("cargo's error", &err, &[&index_path("tm-leaf"), "proof"]);

    // The mirror is honest again: cargo resolves again, to the same lock file.
    mirror.honest();
    std::fs::remove_file(project.dir.join("Cargo.lock")).expect("remove Cargo.lock");
    project.cargo_ok(&tmp.path().join("cargo-home-again"), &["generate-lockfile"], &proxy);
    assert_eq!(std::fs::read_to_string(project.dir.join("Cargo.lock")).expect("Cargo.lock"), lock);
}
