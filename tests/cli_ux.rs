//! What a new user meets first, with the real binary: `--config` after a subcommand, as the
//! README and docs/ write it; `quarantine list` as a table on a terminal and JSON in a pipe; the
//! development-keys warning once at first start; and keys that follow `storage.data_dir`.

mod common;

use common::daemon::{Daemon, DaemonConfig, tufmirror_command};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use tufmirror_core::Sha256Hash;
use tufmirror_testkit::registry::{index_path, make_crate};
use tufmirror_testkit::upstream::FakeUpstream;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const WARNING: &str = "DEVELOPMENT KEYS CREATED";

/// Every command line of README.md and docs/ that puts `--config` after a subcommand (with the
/// README's `[--config FILE]` filled in), run with a config file that does not exist: each must get
/// as far as reading it. A refused argument would be clap's usage error (exit 2) instead.
#[test]
fn config_after_the_subcommand_is_read_where_the_docs_write_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = "/nonexistent/tufmirror-ux/tufmirror.toml";
    let forms: &[&[&str]] = &[
        // README.md: `tufmirror serve [--config FILE]`, `sync [--config FILE]`,
        // `quarantine list|accept PATH|reject PATH [--config FILE]`.
        &["serve", "--config", missing],
        &["sync", "--config", missing],
        &["quarantine", "list", "--config", missing],
        &["quarantine", "list", "--json", "--config", missing],
        &["quarantine", "accept", "3/a/abc", "--config", missing],
        &["quarantine", "reject", "3/a/abc", "--config", missing],
        // Before the nested subcommand, as it always worked.
        &["quarantine", "--config", missing, "list"],
        // README.md `keys rotate ... (--roots DIR | --config FILE)`; docs/key-management.md.
        &["keys", "rotate", "--role", "timestamp", "--new", "file:t.pem", "--config", missing, "--out", "r.json"],
        &["root", "publish", "root-v2.json", "--config", missing],
        &["root", "publish", "root-v1.json", "--roots", "roots", "--config", missing],
    ];
    for args in forms {
        let out = tufmirror_command(dir.path(), args).env_remove("TUFMIRROR_CONFIG").output().expect("run tufmirror");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "tufmirror {args:?}:\n{err}");
        assert!(err.contains(&format!("cannot read {missing}")), "tufmirror {args:?} did not read --config:\n{err}");
    }
}

/// Starts `tufmirror serve --config tufmirror.toml` in `dir` with its log in `log`, and waits until
/// it listens.
fn serve_logged(dir: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    let mut child = tufmirror_command(dir, &["serve", "--config", "tufmirror.toml"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn tufmirror serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read addr");
    assert!(line.starts_with("listening on"), "daemon did not start: {line:?}");
    child
}

fn stop(mut child: Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    child.wait().expect("wait");
}

/// A config that sets `storage.data_dir` and nothing in `[keys]`: first start creates the
/// development keys under that data folder (not `./tufmirror-data`), says so once in the log, and
/// the next start reads them from there without a word.
#[test]
fn keys_follow_the_data_dir_and_first_start_warns_once() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    // DaemonConfig writes `data_dir = "data"`; an empty `[keys]` leaves every key path out.
    let config = DaemonConfig { keys: Some(String::new()), ..DaemonConfig::new(&upstream.url()) };
    config.write(dir.path(), port);
    let written = std::fs::read_to_string(dir.path().join("tufmirror.toml")).expect("config");
    assert!(!written.contains("keys/") && written.contains("data_dir = \"data\""), "{written}");

    let log = dir.path().join("first.log");
    let daemon = serve_logged(dir.path(), &log);
    let keys = dir.path().join("data/keys");
    for file in ["1.root.json", "root.pem", "targets.pem", "snapshot.pem", "timestamp.pem"] {
        assert!(keys.join(file).is_file(), "{file} not in {}", keys.display());
    }
    assert!(!dir.path().join("tufmirror-data").exists(), "nothing under ./tufmirror-data");
    let root = std::fs::read(keys.join("1.root.json")).expect("root");
    let served = common::http_get(([127, 0, 0, 1], port).into(), "/tuf/1.root.json", &[]);
    assert_eq!(served.status, 200);
    assert_eq!(served.body, root, "the daemon serves the root it made under data_dir");
    stop(daemon);
    let first = std::fs::read_to_string(&log).expect("log");
    assert_eq!(first.matches(WARNING).count(), 1, "the warning once at first start:\n{first}");

    let log = dir.path().join("second.log");
    let daemon = serve_logged(dir.path(), &log);
    stop(daemon);
    let second = std::fs::read_to_string(&log).expect("log");
    assert_eq!(second.matches(WARNING).count(), 0, "no keys created at the next start:\n{second}");
    assert!(second.contains("keys checked"), "the keys under data_dir were read:\n{second}");
    assert_eq!(std::fs::read(keys.join("1.root.json")).expect("root"), root, "and not made again");
}

/// `tufmirror ARGS` run under a pseudo-terminal (util-linux `script`), so that its
/// stdout is a terminal.
fn on_terminal(dir: &Path, args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(common::bin())
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &quoted.join(" "), "/dev/null"]).current_dir(dir).stdin(Stdio::null());
    // What `tufmirror_command` does, and no log lines in the terminal's output.
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy", "TUFMIRROR_CONFIG"]
    {
        script.env_remove(var);
    }
    let out = script.env("RUST_LOG", "off").output().expect("run script");
    assert!(out.status.success(), "{args:?} on a terminal:\n{}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout).replace("\r\n", "\n")
}

fn piped(dir: &Path, args: &[&str]) -> Output {
    let out = tufmirror_command(dir, args).env("RUST_LOG", "warn").output().expect("run tufmirror");
    assert!(out.status.success(), "{args:?}:\n{}", text(&out.stderr));
    out
}

/// A rewritten file held in quarantine, listed through the running daemon and then from the data
/// folder: a table on a terminal (path, when, held, hash, reason), the same JSON as before in a
/// pipe, and JSON on a terminal with `--json`; `--config` after `list` in each.
#[test]
fn quarantine_list_is_a_table_on_a_terminal_and_json_in_a_pipe() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let solo = make_crate("solo", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    upstream.publish(&solo, false);
    let path = index_path("solo");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"0s\"".to_owned();
    let mut daemon = Daemon::start(dir.path(), &config);
    let good = daemon.get(&format!("/index/{path}")).body;
    let list = ["quarantine", "list", "--config", "tufmirror.toml"];
    assert_eq!(on_terminal(dir.path(), &list), "no files in quarantine\n");

    // The same version with another checksum: history rewritten, so held back.
    let mut line: Value = serde_json::from_str(&solo.index_line(false)).expect("index line");
    line["cksum"] = Value::from("0".repeat(64));
    let rewritten = format!("{line}\n").into_bytes();
    upstream.set_file(&path, rewritten.clone());
    assert_eq!(daemon.get(&format!("/index/{path}")).body, good, "the last good file stays served");
    let sha256 = Sha256Hash::of(&rewritten).to_hex();

    for running in [true, false] {
        if !running {
            daemon.stop();
        }
        let json: Vec<Value> = serde_json::from_slice(&piped(dir.path(), &list).stdout).expect("JSON in a pipe");
        assert_eq!(json.len(), 1, "{json:?}");
        assert_eq!(json[0]["path"], path.as_str());
        assert_eq!(json[0]["sha256"], sha256.as_str());
        assert_eq!(json[0]["rejected"], false);
        let reason = json[0]["reason"].as_str().expect("reason").to_owned();

        let table = on_terminal(dir.path(), &list);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("PATH") && lines[0].contains("REASON"), "{table}");
        let row: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(row[0], path, "{table}");
        assert!(row[1].ends_with('Z'), "a UTC time: {table}");
        assert_eq!(row[2], "held", "{table}");
        assert_eq!(row[3], &sha256[..12], "{table}");
        assert!(lines[1].ends_with(&reason), "{table}");

        let forced = on_terminal(dir.path(), &["quarantine", "list", "--json", "--config", "tufmirror.toml"]);
        let forced: Vec<Value> = serde_json::from_str(&forced).expect("JSON with --json");
        assert_eq!(forced, json, "running: {running}");
    }
}
