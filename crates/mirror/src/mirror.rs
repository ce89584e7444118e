//! The mirror: everything the daemon and `tufmirror sync` share, opened once at start.

use crate::config::Config;
use crate::datadir::DataDir;
use crate::metrics::Metrics;
use crate::ondemand::OnDemand;
use crate::publisher::{Changes, PublishError, Publisher};
use crate::selection::{Filter, PatternError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::info;
use tufmirror_core::Sha256Hash;
use tufmirror_index::{HistoryRule, RegistryConfig, crate_of_path};
use tufmirror_repo::sign::Expiries;
use tufmirror_store::{BlobStore, StateDb, StoreError};
use tufmirror_upstream::{ProxySetting, UpstreamClient, UpstreamError};

/// Why the mirror could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("cannot use the data folder {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("another tufmirror process is using the data folder {path}")]
    Locked { path: String },
    #[error(transparent)]
    Keys(#[from] crate::keys::StartupKeyError),
    #[error("state database")]
    Store(#[from] StoreError),
    #[error("publishing the first snapshot")]
    Publish(#[from] PublishError),
    #[error("the upstream client")]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// `admin.token` holds no token: it would let a request without any `Authorization` in.
    #[error(
        "the admin token {path} is empty: refusing to start, since an empty token would open /admin/ to \
         requests without one; remove the file and a new token is created on the next start"
    )]
    EmptyAdminToken { path: String },
    #[error("`upstream.proxy` {0:?} is not a URL")]
    Proxy(String),
}

/// The running mirror.
#[derive(Debug)]
pub struct Mirror {
    pub config: Config,
    pub dir: DataDir,
    pub db: Arc<StateDb>,
    pub blobs: BlobStore,
    pub crates: BlobStore,
    pub publisher: Publisher,
    /// Ready-to-send index responses of the current snapshot.
    pub cache: crate::cache::ResponseCache,
    pub upstream: UpstreamClient,
    pub filter: Filter,
    /// What upstream may change in a published version (POUF 1.8), with `mirror.allowed_registries`.
    pub history_rule: HistoryRule,
    pub metrics: Metrics,
    pub metrics_registry: prometheus_client::registry::Registry,
    /// One root publication at a time.
    pub(crate) root_update: tokio::sync::Mutex<()>,
    pub admin_token: String,
    pub shutdown: CancellationToken,
    pub(crate) ondemand: OnDemand,
    /// Upstream's `config.json`, read once (its `dl` says where `.crate` files are).
    pub(crate) upstream_registry: tokio::sync::OnceCell<RegistryConfig>,
    /// When upstream first answered 404 for a file the mirror has (Unix seconds), for
    /// `removal_grace`.
    pub(crate) gone_since: Mutex<HashMap<String, i64>>,
    /// One download per `.crate` at a time.
    pub(crate) downloads: Mutex<HashMap<Sha256Hash, Arc<tokio::sync::Mutex<()>>>>,
    /// Checks hold it shared from storing a blob until the publish that refers to it; garbage
    /// collection holds it exclusively, so it never removes a blob that is about to be used.
    pub(crate) blob_guard: tokio::sync::RwLock<()>,
    /// Wakes the refresh loop (`/admin/sync`, SIGHUP).
    pub sync_now: tokio::sync::Notify,
    /// Unix seconds when this process opened the mirror.
    pub started_at: i64,
    _lock: std::fs::File,
}

/// `config.json` for cargo: downloads go through the mirror.
pub fn mirror_registry_config(public_url: &str) -> Vec<u8> {
    RegistryConfig { dl: format!("{public_url}/crates"), api: None, auth_required: false, unknown: Default::default() }
        .to_bytes()
}

impl Mirror {
    /// Opens the data folder (creating it), checks the keys, and loads or signs the current
    /// snapshot. Background work (on-demand batches) starts with [`Mirror::start`].
    pub async fn open(config: Config, shutdown: CancellationToken) -> Result<Arc<Mirror>, OpenError> {
        let dir = DataDir::new(&config.storage.data_dir);
        let io = |source| OpenError::DataDir { path: dir.root.display().to_string(), source };
        dir.create().map_err(io)?;
        let lock = lock(&dir)?;
        // Before anything else: a blank token would open /admin/ (see `admin_token`).
        let admin_token = admin_token(&dir)?;
        let keys = crate::keys::load(&config.keys, &config.base_dir, &config.origin, &dir).await?;
        let db = Arc::new(StateDb::open(&dir.state_db())?);
        let blobs = BlobStore::open(dir.blobs()).map_err(io)?;
        let crates = BlobStore::open(dir.crates()).map_err(io)?;
        let expiries = Expiries {
            targets: config.expiry.targets_days,
            snapshot: config.expiry.snapshot_days,
            timestamp: config.expiry.timestamp_days,
        };
        let publisher = Publisher::open(
            dir.clone(),
            db.clone(),
            blobs.clone(),
            keys,
            mirror_registry_config(&config.server.public_url),
            expiries,
        )
        .await?;
        let upstream = UpstreamClient::new(upstream_config(&config)?)?;
        let filter = Filter::new(&config.mirror.allow, &config.mirror.deny)?;
        let history_rule = HistoryRule::new(config.mirror.allowed_registries.iter().cloned());
        let cache = crate::cache::ResponseCache::new(config.server.response_cache_mib as usize * 1024 * 1024);
        let (ondemand, queue) = OnDemand::new(config.mirror.max_new_crate_requests);
        let metrics = Metrics::default();
        let metrics_registry = metrics.registry();
        let mirror = Arc::new(Mirror {
            config,
            dir,
            db,
            blobs,
            crates,
            cache,
            publisher,
            upstream,
            filter,
            history_rule,
            metrics,
            metrics_registry,
            root_update: tokio::sync::Mutex::new(()),
            admin_token,
            shutdown,
            ondemand,
            upstream_registry: tokio::sync::OnceCell::new(),
            gone_since: Mutex::new(HashMap::new()),
            downloads: Mutex::new(HashMap::new()),
            blob_guard: tokio::sync::RwLock::new(()),
            sync_now: tokio::sync::Notify::new(),
            started_at: crate::check::now_unix(),
            _lock: lock,
        });
        mirror.update_gauges();
        mirror.remove_denied().await?;
        tokio::spawn(crate::ondemand::run_batches(mirror.clone(), queue));
        let current = mirror.publisher.current();
        info!(snapshot = current.version(), files = current.tree.len(), data = %mirror.dir.root.display(), "mirror open");
        Ok(mirror)
    }

    /// Files of crates that `allow`/`deny` no longer admit (the configuration changed since they
    /// were mirrored) leave the mirror at start, with a signed removal record: otherwise they stay
    /// served until their next revalidation, although their downloads are refused.
    async fn remove_denied(&self) -> Result<(), PublishError> {
        let mut changes = Changes::default();
        for leaf in self.publisher.current().tree.leaves() {
            let Ok(name) = crate_of_path(&leaf.path) else { continue };
            if !self.filter.allows(name.as_str()) {
                changes.files.push((leaf.path.clone(), None));
                changes.removal_reasons.insert(leaf.path.clone(), "denied by the mirror's configuration".to_owned());
            }
        }
        if !changes.files.is_empty() {
            info!(files = changes.files.len(), "removing files that allow/deny no longer admit");
            self.commit(changes, false).await?;
        }
        Ok(())
    }

    /// Refreshes the gauges that follow the state (after every publish).
    pub fn update_gauges(&self) {
        let current = self.publisher.current();
        self.metrics.snapshot_version.set(current.version() as i64);
        self.metrics.index_files.set(current.tree.len() as i64);
        if let Ok(q) = self.db.quarantined() {
            self.metrics.quarantined_files.set(q.iter().filter(|(_, r)| !r.rejected).count() as i64);
        }
    }

    /// Sets the clock-dependent gauges; called when `/metrics` is scraped.
    pub fn update_clock_gauges(&self) {
        let now = time::OffsetDateTime::now_utc();
        let current = self.publisher.current();
        self.metrics.snapshot_age_seconds.set(now.unix_timestamp() - current.record.published_at);
        self.metrics.timestamp_expires_in_seconds.set((current.timestamp_expires - now).whole_seconds());
        if let Some(root) = self.publisher.keys().roots.last() {
            self.metrics.root_version.set(root.root.signed.version as i64);
            self.metrics.root_expires_in_seconds.set((root.root.signed.expires - now).whole_seconds());
        }
        let lag = match self.db.meta(crate::sync::LAST_REFRESH) {
            Ok(Some(t)) => now.unix_timestamp() - t as i64,
            _ => -1,
        };
        self.metrics.sync_lag_seconds.set(lag);
    }

    /// Whether a valid signed snapshot is being served.
    pub fn is_ready(&self) -> bool {
        let current = self.publisher.current();
        current.version() > 0 && current.timestamp_expires > time::OffsetDateTime::now_utc()
    }
}

/// Takes the data folder's lock for as long as the mirror is open: one process per folder.
fn lock(dir: &DataDir) -> Result<std::fs::File, OpenError> {
    dir.try_lock()
        .map_err(|source| OpenError::DataDir { path: dir.lock_file().display().to_string(), source })?
        .ok_or_else(|| OpenError::Locked { path: dir.root.display().to_string() })
}

/// The `/admin/` bearer token, created on first start (mode 0600). An empty or blank file (a
/// first start that died before it wrote the token, an operator who truncated it) is refused:
/// every request without an `Authorization` header offers the empty token.
fn admin_token(dir: &DataDir) -> Result<String, OpenError> {
    let path = dir.admin_token();
    let io = |source| OpenError::DataDir { path: path.display().to_string(), source };
    match std::fs::read_to_string(&path) {
        Ok(token) if token.trim().is_empty() => {
            return Err(OpenError::EmptyAdminToken { path: path.display().to_string() });
        }
        Ok(token) => return Ok(token.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut bytes = [0u8; 32];
    getrandom(&mut bytes).map_err(io)?;
    let token = tufmirror_core::Sha256Hash::of(&bytes).to_hex();
    // Written under a temporary name and renamed, so that a crash leaves no file or the whole
    // token, never an empty one. The data folder's lock keeps other processes out.
    let tmp = dir.root.join(format!(".admin.token.{}.tmp", std::process::id()));
    let written = (|| {
        use std::os::unix::fs::OpenOptionsExt as _;
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        std::io::Write::write_all(&mut f, token.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir.root)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(token)
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use rand_core::RngCore as _;
    rand_core::OsRng.try_fill_bytes(buf).map_err(std::io::Error::other)
}

fn upstream_config(config: &Config) -> Result<tufmirror_upstream::UpstreamConfig, OpenError> {
    let u = &config.upstream;
    let url = tufmirror_upstream::Url::parse(&u.index_url).map_err(|_| OpenError::Proxy(u.index_url.clone()))?;
    let mut out = tufmirror_upstream::UpstreamConfig::new(url);
    if let Some(proxy) = &u.proxy {
        out.proxy =
            ProxySetting::Url(tufmirror_upstream::Url::parse(proxy).map_err(|_| OpenError::Proxy(proxy.clone()))?);
    }
    out.extra_ca_file = u.extra_ca_file.clone();
    out.max_concurrency = u.max_concurrency;
    out.timeout = u.timeout;
    out.retries = u.retries;
    out.max_index_file_bytes = u.max_index_file_bytes;
    out.max_crate_bytes = u.max_crate_bytes;
    if let Some(hosts) = &u.download_hosts {
        out.download_hosts = tufmirror_upstream::DownloadHosts::listed(hosts)
            .map_err(|reason| OpenError::Upstream(UpstreamError::Config { reason }))?;
    }
    Ok(out)
}
