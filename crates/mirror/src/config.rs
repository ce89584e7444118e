//! The daemon's configuration: typed, TOML, every key optional with a default, unknown keys
//! refused, and every error naming the key and the file (or environment variable) it came from.
//!
//! With no file at all the embedded default runs a working mirror of crates.io on
//! 127.0.0.1:8080 with its data in `./tufmirror-data`. `config/tufmirror.toml` documents every
//! key; a test keeps it parseable and in step with the defaults here.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variables that override the file, for deployment and secrets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("TUFMIRROR_LISTEN", "server.listen"),
    ("TUFMIRROR_PUBLIC_URL", "server.public_url"),
    ("TUFMIRROR_DATA_DIR", "storage.data_dir"),
    ("TUFMIRROR_UPSTREAM_INDEX", "upstream.index_url"),
    ("TUFMIRROR_UPSTREAM_PROXY", "upstream.proxy"),
    ("TUFMIRROR_UPSTREAM_CA_FILE", "upstream.extra_ca_file"),
];

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the configuration came from (the file, or the embedded default).
        origin: String,
        /// The TOML parser's message (it names the line).
        message: String,
    },
    /// A value parsed but is not acceptable (out of range, malformed URL, conflicting keys).
    #[error("{origin}: `{key}` {reason}")]
    Invalid {
        /// Where the value came from: the file, the embedded default, or
        /// `environment variable NAME`.
        origin: String,
        /// The refused key, as written in the file (`mirror.revalidate_after`).
        key: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[storage]`.
    pub storage: StorageConfig,
    /// `[upstream]`.
    pub upstream: UpstreamConfig,
    /// `[mirror]`.
    pub mirror: MirrorConfig,
    /// `[keys]`.
    pub keys: KeysConfig,
    /// `[expiry]`.
    pub expiry: ExpiryConfig,
    /// The folder relative paths (and relative `file:` key URIs) are resolved against: the
    /// config file's folder, or the working directory for the embedded default.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Where the configuration came from (the file, or the embedded default), for error messages.
    #[serde(skip)]
    pub origin: String,
    /// The file it was read from (`None`: the embedded default), read again when a new root is
    /// published, for the keys that sign under it.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// `[server]`: the one HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `server.listen`: the address the HTTP listener binds (index, TUF metadata, `.crate`
    /// downloads, health and metrics).
    pub listen: SocketAddr,
    /// The URL clients use; `dl` and every absolute URL are built from it, never from request
    /// headers (a Host header is attacker-controlled).
    pub public_url: String,
    /// `server.request_timeout`: the longest one request may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Memory for ready-to-send index responses (file, ETag, encoded proof) of the current
    /// snapshot, in MiB; 0 turns the cache off.
    pub response_cache_mib: u64,
    /// Slow clients (see `tufmirror_server::listen`): the longest a client may take to send a
    /// request's headers, how long a connection with no request in progress stays open, and the
    /// most connections at once (lowered to fit the file limit).
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// `server.idle_timeout`: how long a connection with no request in progress stays open.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// `server.max_connections`: the most connections at once (lowered to fit the file limit).
    pub max_connections: usize,
}

/// `[storage]`: where state and snapshots live.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `storage.data_dir`: the data folder (state database, index files, snapshots, `.crate`
    /// cache); relative to the config file's folder.
    pub data_dir: PathBuf,
    /// Snapshots kept readable (files addressable by hash) besides the current one.
    pub keep_snapshots: u64,
    /// A superseded snapshot also stays readable this long after the next one replaced it, so
    /// that builds pinned to `/snapshots/N/index/` keep working for a known time.
    #[serde(with = "humantime_serde")]
    pub keep_snapshots_for: Duration,
}

/// `[upstream]`: the sparse index mirrored and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// The upstream sparse index; cargo's rule: it ends with `/`.
    pub index_url: String,
    /// An explicit proxy; `HTTPS_PROXY`/`NO_PROXY` are honoured without it.
    pub proxy: Option<String>,
    /// PEM certificates trusted in addition to the operating system's store (TLS-intercepting
    /// proxies).
    pub extra_ca_file: Option<PathBuf>,
    /// `upstream.max_concurrency`: requests to upstream in flight at once.
    pub max_concurrency: usize,
    /// `upstream.timeout`: the longest one upstream request may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// `upstream.retries`: retries after a connection error, 5xx or 429 (with backoff, honouring
    /// `Retry-After`).
    pub retries: u32,
    /// `upstream.max_index_file_bytes`: larger index files from upstream are refused.
    pub max_index_file_bytes: u64,
    /// `upstream.max_crate_bytes`: larger `.crate` files from upstream are refused.
    pub max_crate_bytes: u64,
    /// Hosts `.crate` files may be downloaded from (upstream's `config.json` names the URL).
    /// `None`: the `index_url` host, plus `static.crates.io` for `index.crates.io`, at public
    /// addresses only; listed hosts may also be loopback, link-local or private addresses.
    pub download_hosts: Option<Vec<String>>,
}

/// `[mirror]`: what gets mirrored and how it is kept fresh.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MirrorConfig {
    /// Fetch a crate the mirror lacks when someone asks for it.
    pub on_demand: bool,
    /// With `on_demand`, also fetch the dependencies of the newest version of each crate fetched
    /// on demand, in the same batch: cargo asks for them next, so they are ready when it does.
    pub prefetch_dependencies: bool,
    /// Crate names whose whole dependency closure is mirrored.
    pub seeds: Vec<String>,
    /// `Cargo.lock` files whose packages seed the closure.
    pub lockfiles: Vec<PathBuf>,
    /// Follow dev-dependencies in the closure too.
    pub dev_dependencies: bool,
    /// A file of crate names, one per line (a full mirror is a full list).
    pub list_file: Option<PathBuf>,
    /// Glob patterns; a crate must match one of `allow` and none of `deny` (denied: 404).
    pub allow: Vec<String>,
    /// `mirror.deny`: see `allow`.
    pub deny: Vec<String>,
    /// Download every mirrored `.crate` ahead of time (air-gapped sites), not only on demand.
    pub prefetch_crates: bool,
    /// A file requested after this long since its last check is revalidated first.
    #[serde(with = "humantime_serde")]
    pub revalidate_after: Duration,
    /// Every mirrored file is revalidated at least this often.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Keep serving crates that disappear upstream (a removal is then never published).
    pub keep_removed: bool,
    /// Index URLs a dependency's `registry` may name (exact strings, as in the index line). A
    /// dependency from any other registry is quarantined: cargo would fetch it from there, past
    /// the mirror (POUF 1.8).
    pub allowed_registries: Vec<String>,
    /// With `keep_removed = false`, a removal is published only once upstream has answered 404
    /// for at least this long (first 404 at t0, still 404 at t0 + grace; an answer with the file
    /// in between starts over): one bad answer must not remove a crate. 0 removes at the first 404.
    #[serde(with = "humantime_serde")]
    pub removal_grace: Duration,
    /// Requests for crates the mirror does not have that may wait for upstream at once; more are
    /// answered 503 with `Retry-After` at once (cargo retries 5xx). Requests for crates the mirror
    /// has never count against it. Bounds what a flood of made-up names can queue.
    pub max_new_crate_requests: usize,
}

/// `[keys]`: the online role keys (URIs, see `tufmirror-signer`) and the root chain. The paths a
/// file leaves out follow `storage.data_dir` (`DATA_DIR/keys`, `file:DATA_DIR/keys/ROLE.pem`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Folder holding `1.root.json`, `2.root.json`, ...
    pub root_dir: PathBuf,
    /// Each online role's key URIs: one URI, or a list when root asks that role for a threshold
    /// of several signatures.
    #[serde(deserialize_with = "one_or_many")]
    pub targets: Vec<String>,
    /// `keys.snapshot`: as `targets`.
    #[serde(deserialize_with = "one_or_many")]
    pub snapshot: Vec<String>,
    /// `keys.timestamp`: as `targets`.
    #[serde(deserialize_with = "one_or_many")]
    pub timestamp: Vec<String>,
    /// Create development keys and root v1 on first start when `root_dir` has no root (with a
    /// loud warning). Never for production.
    pub generate_development_keys: bool,
}

impl KeysConfig {
    /// Each online role with its configuration key and URIs.
    pub fn online_roles(&self) -> [(tufmirror_core::metadata::Role, &'static str, &[String]); 3] {
        use tufmirror_core::metadata::Role;
        [
            (Role::Targets, "keys.targets", &self.targets),
            (Role::Snapshot, "keys.snapshot", &self.snapshot),
            (Role::Timestamp, "keys.timestamp", &self.timestamp),
        ]
    }
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a key URI or a list of key URIs")]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(uri) => Ok(vec![uri]),
        OneOrMany::Many(uris) => Ok(uris),
    }
}

/// `[expiry]`: days until each online role's metadata expires; re-signed well before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpiryConfig {
    /// `expiry.targets_days`.
    pub targets_days: i64,
    /// `expiry.snapshot_days`.
    pub snapshot_days: i64,
    /// `expiry.timestamp_days`.
    pub timestamp_days: i64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".to_owned(),
            request_timeout: Duration::from_secs(60),
            response_cache_mib: 256,
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("tufmirror-data"),
            keep_snapshots: 3,
            keep_snapshots_for: Duration::from_secs(24 * 3600),
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            index_url: "https://index.crates.io/".to_owned(),
            proxy: None,
            extra_ca_file: None,
            max_concurrency: 32,
            timeout: Duration::from_secs(30),
            retries: 4,
            max_index_file_bytes: 32 << 20,
            max_crate_bytes: 64 << 20,
            download_hosts: None,
        }
    }
}

impl Default for MirrorConfig {
    fn default() -> Self {
        MirrorConfig {
            on_demand: true,
            prefetch_dependencies: false,
            seeds: Vec::new(),
            lockfiles: Vec::new(),
            dev_dependencies: false,
            list_file: None,
            allow: Vec::new(),
            deny: Vec::new(),
            prefetch_crates: false,
            revalidate_after: Duration::from_secs(300),
            refresh_interval: Duration::from_secs(6 * 3600),
            keep_removed: true,
            allowed_registries: Vec::new(),
            removal_grace: Duration::from_secs(3600),
            max_new_crate_requests: 256,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        let mut keys = KeysConfig {
            root_dir: PathBuf::new(),
            targets: Vec::new(),
            snapshot: Vec::new(),
            timestamp: Vec::new(),
            generate_development_keys: true,
        };
        keys.follow_data_dir(&StorageConfig::default().data_dir, KeyPathsSet::default());
        keys
    }
}

/// Which of `[keys]`' paths a configuration file sets itself.
#[derive(Debug, Clone, Copy, Default)]
struct KeyPathsSet {
    root_dir: bool,
    targets: bool,
    snapshot: bool,
    timestamp: bool,
}

impl KeyPathsSet {
    /// Read from the file's text, which has already parsed as a `Config`.
    fn in_file(text: &str) -> KeyPathsSet {
        let table: toml::Table = toml::from_str(text).unwrap_or_default();
        let keys = table.get("keys").and_then(toml::Value::as_table);
        let set = |key: &str| keys.is_some_and(|keys| keys.contains_key(key));
        KeyPathsSet {
            root_dir: set("root_dir"),
            targets: set("targets"),
            snapshot: set("snapshot"),
            timestamp: set("timestamp"),
        }
    }
}

impl KeysConfig {
    /// Puts the paths not `set` under `data_dir`: the root chain in `DATA_DIR/keys`, each online
    /// key in `file:DATA_DIR/keys/ROLE.pem`, where first start creates the development keys. So a
    /// configuration that moves `storage.data_dir` moves its keys along, instead of leaving them
    /// in `./tufmirror-data`. Called before paths are resolved: relative stays relative.
    fn follow_data_dir(&mut self, data_dir: &Path, set: KeyPathsSet) {
        let dir = data_dir.join("keys");
        if !set.root_dir {
            self.root_dir = dir.clone();
        }
        for (given, uris, file) in [
            (set.targets, &mut self.targets, "targets.pem"),
            (set.snapshot, &mut self.snapshot, "snapshot.pem"),
            (set.timestamp, &mut self.timestamp, "timestamp.pem"),
        ] {
            if !given {
                *uris = vec![format!("file:{}", dir.join(file).display())];
            }
        }
    }
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        ExpiryConfig { targets_days: 90, snapshot_days: 7, timestamp_days: 1 }
    }
}

impl Config {
    /// Loads `path` (or the embedded default when `None`), applies environment overrides read
    /// through `env`, resolves relative paths against the file's folder, and validates.
    pub fn load(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (mut config, origin, base, keys_set) = match path {
            None => (
                Config::default(),
                "the embedded default configuration".to_owned(),
                PathBuf::from("."),
                KeyPathsSet::default(),
            ),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                let config = Config::parse(&text, &path.display().to_string())?;
                let base = path.parent().map(Path::to_owned).unwrap_or_default();
                (config, path.display().to_string(), base, KeyPathsSet::in_file(&text))
            }
        };
        config.apply_env(&env)?;
        // After the environment: TUFMIRROR_DATA_DIR moves the keys too.
        config.keys.follow_data_dir(&config.storage.data_dir, keys_set);
        config.resolve_paths(&base);
        config.base_dir = base;
        config.origin = origin.clone();
        config.file = path.map(Path::to_owned);
        config.validate(&origin)?;
        Ok(config)
    }

    /// Parses TOML text; `origin` names it in errors. Key paths it leaves out follow its
    /// `storage.data_dir`.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // toml's message names the key and shows the line, e.g. "unknown field `lisen`".
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { origin: origin.to_owned(), message: e.to_string() })?;
        config.keys.follow_data_dir(&config.storage.data_dir, KeyPathsSet::in_file(text));
        Ok(config)
    }

    fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for &(var, key) in ENV_OVERRIDES {
            let Some(value) = env(var) else { continue };
            let invalid =
                |reason: String| ConfigError::Invalid { origin: format!("environment variable {var}"), key, reason };
            match key {
                "server.listen" => {
                    self.server.listen = value.parse().map_err(|e| invalid(format!("{value:?}: {e}")))?
                }
                "server.public_url" => self.server.public_url = value,
                "storage.data_dir" => self.storage.data_dir = value.into(),
                "upstream.index_url" => self.upstream.index_url = value,
                "upstream.proxy" => self.upstream.proxy = Some(value),
                "upstream.extra_ca_file" => self.upstream.extra_ca_file = Some(value.into()),
                _ => {}
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.storage.data_dir);
        resolve(&mut self.keys.root_dir);
        self.upstream.extra_ca_file.as_mut().map(resolve);
        self.mirror.list_file.as_mut().map(resolve);
        self.mirror.lockfiles.iter_mut().for_each(resolve);
    }

    fn validate(&mut self, origin: &str) -> Result<(), ConfigError> {
        let invalid =
            |key: &'static str, reason: String| ConfigError::Invalid { origin: origin.to_owned(), key, reason };
        self.server.public_url =
            http_url(&self.server.public_url, false).map_err(|r| invalid("server.public_url", r.to_string()))?;
        self.upstream.index_url =
            http_url(&self.upstream.index_url, true).map_err(|r| invalid("upstream.index_url", r.to_string()))?;
        if let Some(hosts) = &self.upstream.download_hosts {
            tufmirror_upstream::DownloadHosts::listed(hosts)
                .map_err(|r| invalid("upstream.download_hosts", r.to_string()))?;
        }
        if let Some(proxy) = &self.upstream.proxy {
            url::Url::parse(proxy).map_err(|e| invalid("upstream.proxy", format!("is not a URL: {e}")))?;
        }
        for (key, patterns) in [("mirror.allow", &self.mirror.allow), ("mirror.deny", &self.mirror.deny)] {
            for p in patterns {
                globset::Glob::new(p).map_err(|e| invalid(key, format!("pattern {p:?}: {e}")))?;
            }
        }
        for registry in &self.mirror.allowed_registries {
            url::Url::parse(registry)
                .map_err(|e| invalid("mirror.allowed_registries", format!("{registry:?} is not a URL: {e}")))?;
        }
        let positive = [
            ("storage.keep_snapshots", self.storage.keep_snapshots),
            ("upstream.max_concurrency", self.upstream.max_concurrency as u64),
            ("upstream.max_index_file_bytes", self.upstream.max_index_file_bytes),
            ("upstream.max_crate_bytes", self.upstream.max_crate_bytes),
            ("mirror.max_new_crate_requests", self.mirror.max_new_crate_requests as u64),
            ("server.max_connections", self.server.max_connections as u64),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be at least 1".to_owned()));
            }
        }
        let e = self.expiry;
        for (key, days) in [
            ("expiry.targets_days", e.targets_days),
            ("expiry.snapshot_days", e.snapshot_days),
            ("expiry.timestamp_days", e.timestamp_days),
        ] {
            if days < 1 {
                return Err(invalid(key, format!("is {days}; metadata must live at least a day")));
            }
        }
        for (_, key, uris) in self.keys.online_roles() {
            if uris.is_empty() {
                return Err(invalid(key, "lists no key".to_owned()));
            }
        }
        for (key, timeout) in [
            ("server.request_timeout", self.server.request_timeout),
            ("upstream.timeout", self.upstream.timeout),
            ("server.header_timeout", self.server.header_timeout),
            ("server.idle_timeout", self.server.idle_timeout),
        ] {
            if timeout.is_zero() {
                return Err(invalid(key, "must be longer than zero".to_owned()));
            }
        }
        Ok(())
    }
}

/// What is wrong with a URL the configuration gives; said after the key's name.
#[derive(Debug, thiserror::Error)]
enum BadUrl {
    #[error("{0:?} is not a URL: {1}")]
    NotAUrl(String, url::ParseError),
    #[error("{0:?} must be an http:// or https:// URL with a host")]
    NotHttp(String),
    #[error("{0:?} must not have a query or fragment")]
    QueryOrFragment(String),
}

/// Checks an http(s) URL without query or fragment; `dir` adds the trailing `/` that cargo
/// requires of a registry, otherwise a trailing `/` is dropped.
fn http_url(raw: &str, dir: bool) -> Result<String, BadUrl> {
    let url = url::Url::parse(raw).map_err(|e| BadUrl::NotAUrl(raw.to_owned(), e))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(BadUrl::NotHttp(raw.to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BadUrl::QueryOrFragment(raw.to_owned()));
    }
    let trimmed = url.as_str().trim_end_matches('/');
    Ok(if dir { format!("{trimmed}/") } else { trimmed.to_owned() })
}

#[cfg(test)]
mod tests;
