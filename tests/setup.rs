//! `tufmirror setup` in a throw-away home (HOME, XDG_CONFIG_HOME, XDG_STATE_HOME and CARGO_HOME
//! all temporary): the stored root, cargo's source replacement edited into an existing
//! config.toml with a backup, the systemd user unit, and that running it again changes nothing.

mod common;

use common::{bin, fingerprint, generate_keys};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Home {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().expect("tempdir");
        let keys = generate_keys(tmp.path());
        let root = keys.join("1.root.json");
        for dir in ["home", "config", "state", "cargo"] {
            std::fs::create_dir_all(tmp.path().join(dir)).expect("mkdir");
        }
        Home { tmp, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn setup(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("setup")
            .args(args)
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("CARGO_HOME", self.path("cargo"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run tufmirror setup")
    }

    fn setup_ok(&self, args: &[&str]) -> String {
        let out = self.setup(args);
        assert!(out.status.success(), "setup {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("config.toml.tufmirror-backup-"))
        .collect();
    names.sort();
    names
}

const EXISTING: &str = "# my cargo settings\n[net]\nretry = 5 # flaky wifi\n\n[source.crates-io]\n# vendored until now\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n";

#[test]
fn setup_points_cargo_at_the_proxy_once() {
    let home = Home::new();
    let config = home.path("cargo/config.toml");
    std::fs::write(&config, EXISTING).expect("existing config.toml");
    let root = home.root.to_str().expect("utf-8");
    let args =
        ["--mirror", "http://m.example:8080/", "--root", root, "--listen", "127.0.0.1:9999", "--install-service"];
    let first = home.setup_ok(&args);

    let stored = home.path("config/tufmirror/m.example-8080/root.json");
    assert_eq!(std::fs::read(&stored).expect("stored root"), std::fs::read(&home.root).expect("root"));
    let text = std::fs::read_to_string(&config).expect("config.toml");
    for kept in ["# my cargo settings", "retry = 5 # flaky wifi", "# vendored until now", "directory = \"vendor\""] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    assert!(text.contains("replace-with = \"tufmirror\""), "{text}");
    assert!(text.contains("[source.tufmirror]\nregistry = \"sparse+http://127.0.0.1:9999/index/\""), "{text}");
    let saved = backups(&home.path("cargo"));
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(std::fs::read_to_string(home.path("cargo").join(&saved[0])).expect("backup"), EXISTING);

    let unit = std::fs::read_to_string(home.path("config/systemd/user/tufmirror-proxy.service")).expect("unit");
    let state = home.path("state/tufmirror/proxy");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let expected_start = format!(
        "{} proxy --mirror http://m.example:8080/ --root {} --listen 127.0.0.1:9999 --state {}/",
        bin(),
        stored.display(),
        state.display()
    );
    assert!(exec.starts_with(&expected_start), "{exec}\n{expected_start}");
    assert!(
        first.contains("systemctl --user daemon-reload && systemctl --user enable --now tufmirror-proxy.service"),
        "{first}"
    );

    // Again: nothing changes, nothing is stacked.
    let before = fingerprint(home.tmp.path());
    let second = home.setup_ok(&args);
    assert_eq!(second.matches("already set up").count(), 3, "{second}");
    assert_eq!(fingerprint(home.tmp.path()), before, "a second run wrote something");

    // Another port: the registry changes, with a second backup, still one [source.tufmirror].
    let moved = ["--mirror", "http://m.example:8080/", "--root", root, "--listen", "127.0.0.1:9998"];
    home.setup_ok(&moved);
    let text = std::fs::read_to_string(&config).expect("config.toml");
    assert!(text.contains("sparse+http://127.0.0.1:9998/index/"), "{text}");
    assert_eq!(text.matches("[source.tufmirror]").count(), 1, "{text}");
    assert_eq!(backups(&home.path("cargo")).len(), 2);
}

#[test]
fn setup_without_a_service_writes_a_fresh_config_and_says_how_to_start_the_proxy() {
    let home = Home::new();
    let cargo_home = home.path("elsewhere");
    let out = home.setup_ok(&[
        "--mirror",
        "https://mirror.example/",
        "--root",
        home.root.to_str().expect("utf-8"),
        "--cargo-home",
        cargo_home.to_str().expect("utf-8"),
        "--name",
        "work",
    ]);
    let text = std::fs::read_to_string(cargo_home.join("config.toml")).expect("config.toml");
    assert!(text.contains("registry = \"sparse+http://127.0.0.1:8877/index/\""), "{text}");
    assert!(!home.path("cargo/config.toml").exists(), "--cargo-home wins over CARGO_HOME");
    assert!(home.path("config/tufmirror/work/root.json").is_file());
    assert!(!home.path("config/systemd").exists());
    assert!(out.contains("start the proxy: tufmirror proxy --mirror https://mirror.example/ --root "), "{out}");
}

#[test]
fn setup_refuses_a_root_that_is_not_signed_by_itself_and_writes_nothing() {
    let home = Home::new();
    let config = home.path("cargo/config.toml");
    std::fs::write(&config, EXISTING).expect("existing config.toml");
    let forged = home.path("forged.json");
    let text = std::fs::read_to_string(&home.root).expect("root");
    std::fs::write(&forged, text.replacen("\"version\":1", "\"version\":2", 1)).expect("forged root");
    let before = fingerprint(home.tmp.path());
    let out = home.setup(&["--mirror", "http://m.example/", "--root", forged.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not signed by a threshold"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fingerprint(home.tmp.path()), before);
}

/// With both `config` and `config.toml` in CARGO_HOME, cargo reads `config` and ignores
/// `config.toml`. Setup edits `config`, and the real cargo then asks the proxy's address (nothing
/// listens there: cargo fails, naming it), not the source `config` named before.
#[test]
fn setup_edits_the_legacy_config_that_cargo_reads_when_both_exist() {
    let home = Home::new();
    let legacy = home.path("cargo/config");
    let before = "[source.crates-io]\nreplace-with = \"before\"\n\n[source.before]\nregistry = \"sparse+http://127.0.0.1:9/before/\"\n";
    std::fs::write(&legacy, before).expect("config");
    let toml = home.path("cargo/config.toml");
    std::fs::write(&toml, EXISTING).expect("config.toml");
    let root = home.root.to_str().expect("utf-8");
    // Port 1: nothing listens, so cargo's request fails at once and names the address.
    let out = home.setup_ok(&["--mirror", "http://m.example/", "--root", root, "--listen", "127.0.0.1:1"]);
    assert!(out.contains("ignores"), "setup says that config.toml is ignored: {out}");
    assert_eq!(std::fs::read_to_string(&toml).expect("config.toml"), EXISTING, "config.toml is left alone");
    let edited = std::fs::read_to_string(&legacy).expect("config");
    assert!(edited.contains("replace-with = \"tufmirror\""), "{edited}");

    let project = home.path("project");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nlog = \"0.4\"\n",
    )
    .expect("Cargo.toml");
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    let cargo = common::cargo::run_cargo(
        &project,
        &home.path("cargo"),
        &home.path("target"),
        &["generate-lockfile"],
        &[("CARGO_NET_RETRY", "0")],
    );
    let stderr = String::from_utf8_lossy(&cargo.stderr);
    assert!(!cargo.status.success(), "nothing listens on the proxy's address:\n{stderr}");
    assert!(stderr.contains("127.0.0.1:1/index/"), "cargo asks the proxy:\n{stderr}");
    assert!(!stderr.contains("127.0.0.1:9/before/"), "cargo still uses the old source:\n{stderr}");
}
