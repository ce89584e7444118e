//! `tufmirror setup`: what makes cargo use the proxy, written so that running it again changes
//! nothing more.
//!
//! - the trusted root, stored as `<config dir>/root.json` (the proxy's bootstrap root);
//! - cargo's source replacement in the file cargo reads: `$CARGO_HOME/config.toml`, or the legacy
//!   `config` whenever that exists (cargo then ignores `config.toml`), edited in place
//!   ([`cargo_config`]);
//! - optionally a systemd user unit running the proxy ([`service`]).
//!
//! A file whose content is already what setup would write is left alone. A file that changes is
//! first copied to `<name>.tufmirror-backup-<UTC time>` (permissions kept), then replaced
//! atomically with the old permissions; a symbolic link (a dotfile manager's) is followed, not
//! replaced.

pub mod cargo_config;
pub mod service;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tufmirror_core::trusted::{TrustError, TrustedSet};
use tufmirror_durable::{IfExists, write_durably};

/// The proxy's address unless told otherwise (`tufmirror proxy` and `tufmirror setup`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8877";

/// What to set up.
#[derive(Debug, Clone)]
pub struct SetupPlan {
    /// The mirror's base URL, as `verify` and `proxy` take it.
    pub mirror_url: String,
    /// The root to trust (bytes of a `N.root.json`).
    pub root: Vec<u8>,
    /// The folder of this mirror's configuration (`<config home>/tufmirror/<name>`).
    pub config_dir: PathBuf,
    /// Where the proxy listens; cargo reads `sparse+http://<listen>/index/`.
    pub listen: SocketAddr,
    /// `$CARGO_HOME`, whose `config.toml` (or legacy `config`) is edited.
    pub cargo_home: PathBuf,
    /// The proxy's state folder (its trusted metadata), written into the unit.
    pub state_dir: PathBuf,
    /// The systemd user unit to write, if any.
    pub service: Option<ServicePlan>,
}

/// Where the systemd user unit goes and what it runs.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// `~/.config/systemd/user`.
    pub unit_dir: PathBuf,
    /// The `tufmirror` executable.
    pub exe: PathBuf,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Written where there was no file.
    Created,
    /// Already as setup would write it: not touched.
    Unchanged,
    /// Replaced; the old content is at `backup`.
    Replaced {
        /// Where the old content was saved.
        backup: PathBuf,
    },
}

/// One file setup wrote (or left as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// What happened to it.
    pub change: Change,
}

/// What [`apply`] did.
#[derive(Debug, Clone)]
pub struct SetupReport {
    /// The trusted root in the mirror's configuration folder.
    pub root: FileChange,
    /// cargo's configuration file (source replacement to the proxy).
    pub cargo_config: FileChange,
    /// `config.toml` when it exists beside the legacy `config` that was edited: cargo ignores it
    /// (and warns), so the user should merge the two.
    pub ignored_cargo_config: Option<PathBuf>,
    /// The systemd user unit, when one was planned.
    pub unit: Option<FileChange>,
    /// The arguments of `tufmirror` that run the proxy as set up.
    pub proxy_args: Vec<String>,
}

/// Why setup stopped (files written before the failure stay, each complete).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The root given is not one a client can start from.
    #[error("the root is not signed by a threshold of its own root keys")]
    Root(#[source] TrustError),
    /// A file or folder could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// "read", "write", "create", ...
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// cargo's configuration file is not one setup can edit.
    #[error("cannot edit {}", path.display())]
    CargoConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: cargo_config::CargoConfigError,
    },
}

/// The registry URL cargo is given for a proxy listening on `listen`.
pub fn registry_url(listen: SocketAddr) -> String {
    format!("sparse+http://{listen}/index/")
}

/// A folder name for a mirror: its host and port, with anything but letters, digits, `.` and `-`
/// replaced (`https://mirror.example:8443/x` gives `mirror.example-8443`).
pub fn default_name(mirror_url: &str) -> String {
    let rest = mirror_url.split_once("://").map_or(mirror_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut name = String::new();
    for c in host_port.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name = name.trim_matches(['-', '.']).to_owned();
    if name.is_empty() { "mirror".to_owned() } else { name }
}

/// The cargo configuration file to edit in `cargo_home`: the one cargo reads. That is the legacy
/// `config` whenever it exists, even beside a `config.toml` (cargo then warns and ignores
/// `config.toml`: editing that one would leave cargo bypassing the proxy), else `config.toml`.
/// A `config` that is a symbolic link to `config.toml` is followed when written, so the same file
/// is edited.
pub fn cargo_config_file(cargo_home: &Path) -> PathBuf {
    let legacy = cargo_home.join("config");
    if legacy.symlink_metadata().is_ok() { legacy } else { cargo_home.join("config.toml") }
}

/// `config.toml` if cargo ignores it: it exists beside a legacy `config` that is not the same file.
fn ignored_cargo_config(cargo_home: &Path) -> Option<PathBuf> {
    let (legacy, toml) = (cargo_home.join("config"), cargo_home.join("config.toml"));
    let same = match (std::fs::canonicalize(&legacy), std::fs::canonicalize(&toml)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    (legacy.symlink_metadata().is_ok() && toml.symlink_metadata().is_ok() && !same).then_some(toml)
}

/// Checks the root, then writes the root, cargo's configuration and (if planned) the unit.
pub fn apply(plan: &SetupPlan, now: OffsetDateTime) -> Result<SetupReport, SetupError> {
    TrustedSet::new(&plan.root, now).map_err(SetupError::Root)?;
    let root_path = plan.config_dir.join("root.json");
    let root = install(&root_path, &plan.root, now)?;

    let config_path = cargo_config_file(&plan.cargo_home);
    let existing = match std::fs::read_to_string(&config_path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(SetupError::Io { action: "read", path: config_path, source }),
    };
    let edited = cargo_config::replace_crates_io(&existing, &registry_url(plan.listen))
        .map_err(|source| SetupError::CargoConfig { path: config_path.clone(), source })?;
    let cargo_config = install(&config_path, edited.as_bytes(), now)?;
    let ignored_cargo_config = ignored_cargo_config(&plan.cargo_home);

    let path_arg = |p: &Path| p.to_string_lossy().into_owned();
    let proxy_args = vec![
        "proxy".to_owned(),
        "--mirror".to_owned(),
        plan.mirror_url.clone(),
        "--root".to_owned(),
        path_arg(&root.path),
        "--listen".to_owned(),
        plan.listen.to_string(),
        "--state".to_owned(),
        path_arg(&plan.state_dir),
    ];
    let unit = match &plan.service {
        Some(service) => {
            let text = service::unit(&service.exe, &proxy_args, &plan.mirror_url);
            Some(install(&service.unit_dir.join(service::UNIT_NAME), text.as_bytes(), now)?)
        }
        None => None,
    };
    Ok(SetupReport { root, cargo_config, ignored_cargo_config, unit, proxy_args })
}

/// Puts `bytes` at `path` unless they are there already; see the module documentation.
fn install(path: &Path, bytes: &[u8], now: OffsetDateTime) -> Result<FileChange, SetupError> {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SetupError + use<> {
        let path = path.to_owned();
        move |source| SetupError::Io { action, path, source }
    }
    // Follow a symbolic link to the file it names, so that the link stays.
    let path = match std::fs::canonicalize(path) {
        Ok(target) => target,
        Err(e) if e.kind() == io::ErrorKind::NotFound => path.to_owned(),
        Err(e) => return Err(io("resolve", path)(e)),
    };
    let change = match std::fs::read(&path) {
        Ok(old) if old == bytes => return Ok(FileChange { path, change: Change::Unchanged }),
        Ok(_) => {
            let backup = backup_path(&path, now);
            std::fs::copy(&path, &backup).map_err(io("back up", &path))?;
            std::fs::File::open(&backup).and_then(|f| f.sync_all()).map_err(io("sync", &backup))?;
            let permissions = std::fs::metadata(&path).map_err(io("read", &path))?.permissions();
            write_durably(&path, bytes, IfExists::Replace).map_err(io("write", &path))?;
            std::fs::set_permissions(&path, permissions).map_err(io("set permissions of", &path))?;
            Change::Replaced { backup }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io("create", parent))?;
            }
            write_durably(&path, bytes, IfExists::Replace).map_err(io("write", &path))?;
            Change::Created
        }
        Err(e) => return Err(io("read", &path)(e)),
    };
    Ok(FileChange { path, change })
}

/// `<path>.tufmirror-backup-<YYYYMMDDTHHMMSSZ>`, with `-2`, `-3`, ... if that name is taken.
fn backup_path(path: &Path, now: OffsetDateTime) -> PathBuf {
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let base = path.with_file_name(format!("{name}.tufmirror-backup-{stamp}"));
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() {
        n += 1;
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_host_and_port() {
        assert_eq!(default_name("https://mirror.example/"), "mirror.example");
        assert_eq!(default_name("https://mirror.example:8443/x/"), "mirror.example-8443");
        assert_eq!(default_name("http://user:pw@127.0.0.1:80"), "127.0.0.1-80");
        assert_eq!(default_name("http://[::1]:7878/"), "1-7878");
        assert_eq!(default_name("///"), "mirror");
    }

    #[test]
    fn install_backs_up_what_it_replaces_and_leaves_equal_files_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("sub/config.toml");
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(install(&path, b"a", now).expect("create").change, Change::Created);
        assert_eq!(install(&path, b"a", now).expect("same").change, Change::Unchanged);
        let Change::Replaced { backup } = install(&path, b"b", now).expect("replace").change else {
            panic!("not replaced");
        };
        assert!(backup.ends_with("config.toml.tufmirror-backup-20260102T030405Z"), "{}", backup.display());
        assert_eq!(std::fs::read(&backup).expect("backup"), b"a");
        let Change::Replaced { backup: second } = install(&path, b"c", now).expect("again").change else {
            panic!("not replaced");
        };
        assert_ne!(second, backup, "a second backup in the same second gets its own name");
        assert_eq!(std::fs::read(&path).expect("file"), b"c");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_stays_a_link() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("dotfiles-config.toml");
        std::fs::write(&target, "x = 1\n").expect("target");
        let link = tmp.path().join("config.toml");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        install(&link, b"x = 2\n", OffsetDateTime::now_utc()).expect("install");
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
        assert_eq!(std::fs::read(&target).expect("target"), b"x = 2\n");
    }
}
