//! Running `tufmirror serve` in tests: a config file in a temporary folder, a free loopback port,
//! and the process killed (SIGKILL) on drop or on demand.

use super::{HttpResponse, bin, first_line, http_get, wait_with_deadline};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What goes into the daemon's config besides the fixed parts.
#[derive(Debug, Clone, Default)]
pub(crate) struct DaemonConfig {
    /// The upstream index URL (ends with `/`).
    pub upstream: String,
    /// Extra `key = value` lines for `[upstream]`, `[mirror]` and `[storage]`.
    pub upstream_extra: String,
    pub mirror_extra: String,
    pub storage_extra: String,
    /// The whole `[keys]` section's body instead of the development keys in `data/keys`.
    pub keys: Option<String>,
    /// Added to the daemon's environment (PINs, `SOFTHSM2_CONF`).
    pub env: Vec<(String, String)>,
    /// Not part of the config file: where the daemon's stderr (its log) is appended instead of the
    /// test's own stderr, for tests that read what the daemon logged.
    pub log_file: Option<PathBuf>,
}

/// A running daemon.
#[derive(Debug)]
pub(crate) struct Daemon {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    /// The folder holding `tufmirror.toml` and `data/`.
    pub dir: PathBuf,
    env: Vec<(String, String)>,
    log_file: Option<PathBuf>,
}

/// `tufmirror ARGS` run in `dir`, with no proxy from the environment (tests touch only loopback).
pub(crate) fn tufmirror_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(bin());
    command.args(args).current_dir(dir);
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
        command.env_remove(var);
    }
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl DaemonConfig {
    pub(crate) fn new(upstream: &str) -> Self {
        DaemonConfig { upstream: upstream.to_owned(), ..Default::default() }
    }

    /// Writes `dir/tufmirror.toml` for `port`.
    pub(crate) fn write(&self, dir: &Path, port: u16) -> PathBuf {
        let text = format!(
            r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
request_timeout = "20s"
[storage]
data_dir = "data"
{storage}
[upstream]
index_url = "{upstream}"
timeout = "3s"
retries = 1
{upstream_extra}
[mirror]
{mirror}
[keys]
{keys}
"#,
            storage = self.storage_extra,
            upstream = self.upstream,
            // The fake upstream is on loopback, which downloads reach only when listed.
            upstream_extra = if self.upstream_extra.contains("download_hosts") {
                self.upstream_extra.clone()
            } else {
                format!("download_hosts = [\"127.0.0.1\"]\n{}", self.upstream_extra)
            },
            mirror = self.mirror_extra,
            keys = self.keys.as_deref().unwrap_or(
                "root_dir = \"data/keys\"\n\
                 targets = \"file:data/keys/targets.pem\"\n\
                 snapshot = \"file:data/keys/snapshot.pem\"\n\
                 timestamp = \"file:data/keys/timestamp.pem\""
            ),
        );
        let path = dir.join("tufmirror.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }
}

impl Daemon {
    /// Starts a daemon in `dir` (created if needed) and waits until it listens.
    pub(crate) fn start(dir: &Path, config: &DaemonConfig) -> Daemon {
        std::fs::create_dir_all(dir).expect("daemon dir");
        let port = free_port();
        config.write(dir, port);
        let mut daemon = Daemon {
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_owned(),
            env: config.env.clone(),
            log_file: config.log_file.clone(),
        };
        daemon.spawn();
        daemon
    }

    fn spawn(&mut self) {
        let stderr = match &self.log_file {
            Some(path) => {
                Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(path).expect("daemon log file"))
            }
            None => Stdio::inherit(),
        };
        let mut child = tufmirror_command(&self.dir, &["serve", "--config", "tufmirror.toml"])
            .env("RUST_LOG", std::env::var("TUFMIRROR_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn tufmirror serve");
        let line = first_line(&mut child, "tufmirror serve");
        assert!(line.starts_with("listening on"), "daemon did not start: {line:?}");
        self.child = Some(child);
    }

    /// SIGKILL, no chance to clean up.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the graceful path. A daemon that has not exited after
    /// [`CHILD_DEADLINE`](super::CHILD_DEADLINE) is killed and the test fails.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        wait_with_deadline(&mut child, "tufmirror serve (after SIGTERM)")
    }

    /// Starts the same daemon again (same folder, config and port).
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path, &[])
    }

    pub(crate) fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_get(self.addr, path, headers)
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Asks the daemon to refresh now (`POST /admin/sync`, as `tufmirror sync` does when a daemon
    /// runs). Unlike SIGHUP this cannot race the daemon's start: its signal handlers are installed
    /// just after it prints `listening on`, and a SIGHUP before that ends the process.
    pub(crate) fn refresh_now(&self) {
        let token = std::fs::read_to_string(self.data().join("admin.token")).expect("admin token");
        let bearer = format!("Bearer {}", token.trim());
        let response = super::http_request(self.addr, "POST", "/admin/sync", &[("Authorization", &bearer)]);
        assert_eq!(response.status, 202, "POST /admin/sync: {}", String::from_utf8_lossy(&response.body));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
