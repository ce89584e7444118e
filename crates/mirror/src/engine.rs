//! The mirror: the engine's parts, opened once at start and composed. The daemon and
//! `tufmirror sync` reach each part through an accessor; the parts own what they need and know
//! nothing of each other but what they are given (see docs/ARCHITECTURE.md for the picture).
//!
//! Opening order, and what a crash at each step leaves: the data folder and its lock; the admin
//! token (written whole or not at all); the keys (development keys are created once); the
//! stores; the publisher, which signs a first snapshot or re-signs one the current keys did not
//! sign (one publish: before its commit the previous snapshot stays current); then the parts
//! over them. Nothing is served before `open` returns.

use crate::changes::Changes;
use crate::checker::{Checker, CheckerParts};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::datadir::DataDir;
use crate::downloads::Downloads;
use crate::lookup::{Lookup, LookupParts};
use crate::maintenance::{Maintenance, MaintenanceParts};
use crate::metrics::Metrics;
use crate::ondemand::{OnDemand, OnDemandParts};
use crate::publisher::{PublishError, Publisher, PublisherParts};
use crate::quarantine::Quarantine;
use crate::refresh::{Refresh, RefreshParts};
use crate::resign::Resigner;
use crate::retention::Retention;
use crate::rotation::RootRotation;
use crate::selection::{Filter, PatternError};
use crate::storage::{LAST_REFRESH, Storage, StorageError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::info;
use tufmirror_index::{HistoryRule, RegistryConfig, crate_of_path};
use tufmirror_repo::sign::Expiries;
use tufmirror_store::StoreError;
use tufmirror_upstream::{ProxySetting, UpstreamClient, UpstreamError};

/// Why the mirror could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The data folder cannot be created or read.
    #[error("cannot use the data folder {path}")]
    DataDir {
        /// `storage.data_dir`.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Another process (a daemon, `tufmirror sync`) holds the data folder's `.lock`.
    #[error("another tufmirror process is using the data folder {path}")]
    Locked {
        /// `storage.data_dir`.
        path: String,
    },
    /// The keys or the root chain are not fit to sign with.
    #[error(transparent)]
    Keys(#[from] crate::daemon_keys::StartupKeyError),
    /// The state database failed while starting.
    #[error("state database")]
    Store(#[from] StoreError),
    /// The stores in the data folder cannot be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The first snapshot (of an empty mirror) could not be published.
    #[error("publishing the first snapshot")]
    Publish(#[from] PublishError),
    /// The upstream HTTP client cannot be built (`upstream.extra_ca_file`, TLS setup).
    #[error("the upstream client")]
    Upstream(#[from] UpstreamError),
    /// A `mirror.allow` or `mirror.deny` pattern is not a glob.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// `admin.token` holds no token: it would let a request without any `Authorization` in.
    #[error(
        "the admin token {path} is empty: refusing to start, since an empty token would open /admin/ to \
         requests without one; remove the file and a new token is created on the next start"
    )]
    EmptyAdminToken {
        /// `DATA_DIR/admin.token`.
        path: String,
    },
    /// `upstream.proxy` (the value) does not parse as a URL.
    #[error("`upstream.proxy` {0:?} is not a URL")]
    Proxy(String),
    /// `upstream.index_url` (the value) does not parse as a URL.
    #[error("`upstream.index_url` {0:?} is not a URL")]
    IndexUrl(String),
}

/// The running mirror: its parts (see the module documentation). No public fields: a part is
/// reached through its accessor, and only the parts change state.
#[derive(Debug)]
pub struct Mirror {
    config: Arc<Config>,
    storage: Arc<Storage>,
    publisher: Arc<Publisher>,
    checker: Arc<Checker>,
    on_demand: Arc<OnDemand>,
    lookup: Lookup,
    downloads: Arc<Downloads>,
    quarantine: Quarantine,
    rotation: RootRotation,
    retention: Arc<Retention>,
    resigner: Arc<Resigner>,
    refresh: Arc<Refresh>,
    maintenance: Arc<Maintenance>,
    metrics: Arc<Metrics>,
    metrics_registry: prometheus_client::registry::Registry,
    admin_token: String,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    _lock: std::fs::File,
}

/// `config.json` for cargo: downloads go through the mirror.
pub fn mirror_registry_config(public_url: &str) -> Vec<u8> {
    RegistryConfig { dl: format!("{public_url}/crates"), api: None, auth_required: false, unknown: Default::default() }
        .to_bytes()
}

impl Mirror {
    /// Opens the data folder (creating it), checks the keys, and loads or signs the current
    /// snapshot, on the system clock. Background work (on-demand batches) starts at once;
    /// the schedule ([`Maintenance::run`]) is the caller's to start.
    pub async fn open(config: Config, shutdown: CancellationToken) -> Result<Arc<Mirror>, OpenError> {
        Self::open_with_clock(config, shutdown, SystemClock::shared()).await
    }

    /// [`Mirror::open`] on `clock`: tests set the time instead of sleeping.
    pub async fn open_with_clock(
        config: Config,
        shutdown: CancellationToken,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Mirror>, OpenError> {
        let config = Arc::new(config);
        let dir = DataDir::new(&config.storage.data_dir);
        let io = |source| OpenError::DataDir { path: dir.root.display().to_string(), source };
        dir.create().map_err(io)?;
        let lock = lock(&dir)?;
        // Before anything else: a blank token would open /admin/ (see `admin_token`).
        let admin_token = admin_token(&dir)?;
        let keys = crate::daemon_keys::load(&config.keys, &config.base_dir, &config.origin, &dir).await?;
        let storage = Arc::new(Storage::open(dir.clone())?);
        let metrics = Arc::new(Metrics::default());
        let metrics_registry = metrics.registry();
        let publisher = Arc::new(
            Publisher::open(PublisherParts {
                dir: dir.clone(),
                db: storage.db.clone(),
                blobs: storage.blobs.clone(),
                keys,
                config_json: mirror_registry_config(&config.server.public_url),
                expiries: Expiries {
                    targets: config.expiry.targets_days,
                    snapshot: config.expiry.snapshot_days,
                    timestamp: config.expiry.timestamp_days,
                },
                metrics: metrics.clone(),
                clock: clock.clone(),
            })
            .await?,
        );
        let upstream = UpstreamClient::new(upstream_config(&config)?)?;
        let m = &config.mirror;
        let checker = Arc::new(Checker::new(CheckerParts {
            storage: storage.clone(),
            upstream: upstream.clone(),
            filter: Filter::new(&m.allow, &m.deny)?,
            history_rule: HistoryRule::new(m.allowed_registries.iter().cloned()),
            keep_removed: m.keep_removed,
            removal_grace: m.removal_grace,
            metrics: metrics.clone(),
            clock: clock.clone(),
        }));
        let on_demand = Arc::new(OnDemand::new(OnDemandParts {
            checker: checker.clone(),
            publisher: publisher.clone(),
            storage: storage.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
            max_new_requests: m.max_new_crate_requests,
            revalidate_after: m.revalidate_after,
            prefetch_dependencies: m.prefetch_dependencies,
            shutdown: shutdown.clone(),
        }));
        let lookup = Lookup::new(LookupParts {
            publisher: publisher.clone(),
            on_demand: on_demand.clone(),
            checker: checker.clone(),
            storage: storage.clone(),
            cache_bytes: config.server.response_cache_mib as usize * 1024 * 1024,
            clock: clock.clone(),
            fetch_on_demand: m.on_demand,
            revalidate_after: m.revalidate_after,
            request_timeout: config.server.request_timeout,
            shutdown: shutdown.clone(),
        });
        let downloads = Arc::new(Downloads::new(storage.clone(), upstream, checker.clone(), metrics.clone()));
        let quarantine = Quarantine::new(storage.clone(), publisher.clone(), clock.clone());
        let rotation = RootRotation::new(publisher.clone(), config.clone(), dir.root.join("tuf"));
        let s = &config.storage;
        let retention = Arc::new(Retention::new(
            publisher.clone(),
            storage.clone(),
            clock.clone(),
            s.keep_snapshots,
            s.keep_snapshots_for,
        ));
        let resigner = Arc::new(Resigner::new(publisher.clone(), config.expiry, clock.clone()));
        let refresh = Arc::new(Refresh::new(RefreshParts {
            checker: checker.clone(),
            publisher: publisher.clone(),
            storage: storage.clone(),
            downloads: downloads.clone(),
            resigner: resigner.clone(),
            config: m.clone(),
            clock: clock.clone(),
            shutdown: shutdown.clone(),
        }));
        let maintenance = Arc::new(Maintenance::new(MaintenanceParts {
            resigner: resigner.clone(),
            refresh: refresh.clone(),
            publisher: publisher.clone(),
            storage: storage.clone(),
            retention: retention.clone(),
            config: m.clone(),
            clock: clock.clone(),
            shutdown: shutdown.clone(),
        }));
        let mirror = Arc::new(Mirror {
            config,
            storage,
            publisher,
            checker,
            on_demand,
            lookup,
            downloads,
            quarantine,
            rotation,
            retention,
            resigner,
            refresh,
            maintenance,
            metrics,
            metrics_registry,
            admin_token,
            clock,
            shutdown,
            _lock: lock,
        });
        mirror.publisher.update_gauges();
        mirror.remove_denied().await?;
        mirror.on_demand.start();
        let current = mirror.publisher.current();
        let data = mirror.storage.dir.root.display();
        info!(snapshot = current.version(), files = current.tree.len(), %data, "mirror open");
        Ok(mirror)
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data folder and its stores.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The data folder.
    pub fn dir(&self) -> &DataDir {
        &self.storage.dir
    }

    /// Publishing, and the snapshot being served.
    pub fn publisher(&self) -> &Publisher {
        &self.publisher
    }

    /// Checks crates against upstream.
    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// Answers index requests.
    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }

    /// Serves `.crate` files.
    pub fn downloads(&self) -> &Downloads {
        &self.downloads
    }

    /// The quarantine.
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// Adopts new roots.
    pub fn rotation(&self) -> &RootRotation {
        &self.rotation
    }

    /// Which snapshots stay readable.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// Re-signs what is due.
    pub fn resigner(&self) -> &Resigner {
        &self.resigner
    }

    /// Full refreshes.
    pub fn refresh(&self) -> &Refresh {
        &self.refresh
    }

    /// The daemon's schedule; `tokio::spawn(mirror.maintenance().clone().run())` starts it.
    pub fn maintenance(&self) -> &Arc<Maintenance> {
        &self.maintenance
    }

    /// The daemon's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The registry `/metrics` encodes.
    pub fn metrics_registry(&self) -> &prometheus_client::registry::Registry {
        &self.metrics_registry
    }

    /// The `/admin/` bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Cancelled when the mirror shuts down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Shuts the mirror down and waits for its background batches to end: once the last
    /// `Arc<Mirror>` is dropped after this, the data folder can be opened again at once.
    pub async fn close(&self) {
        self.shutdown.cancel();
        self.on_demand.stopped().await;
    }

    /// Files of crates that `allow`/`deny` no longer admit (the configuration changed since they
    /// were mirrored) leave the mirror at start, with a signed removal record: otherwise they stay
    /// served until their next revalidation, although their downloads are refused.
    async fn remove_denied(&self) -> Result<(), PublishError> {
        let mut changes = Changes::default();
        for leaf in self.publisher.current().tree.leaves() {
            let Ok(name) = crate_of_path(&leaf.path) else { continue };
            if !self.checker.allows(name.as_str()) {
                changes.files.push((leaf.path.clone(), None));
                changes.removal_reasons.insert(leaf.path.clone(), "denied by the mirror's configuration".to_owned());
            }
        }
        if !changes.files.is_empty() {
            info!(files = changes.files.len(), "removing files that allow/deny no longer admit");
            self.publisher.apply(changes, false).await?;
        }
        Ok(())
    }

    /// Sets the clock-dependent gauges; called when `/metrics` is scraped.
    pub fn update_clock_gauges(&self) {
        let now = self.clock.now();
        let current = self.publisher.current();
        self.metrics.snapshot_age_seconds.set(now.unix_timestamp() - current.record.published_at);
        self.metrics.timestamp_expires_in_seconds.set((current.timestamp_expires - now).whole_seconds());
        if let Some(root) = self.publisher.keys().roots.last() {
            self.metrics.root_version.set(root.root.signed.version as i64);
            self.metrics.root_expires_in_seconds.set((root.root.signed.expires - now).whole_seconds());
        }
        let lag = match self.storage.db.meta(LAST_REFRESH) {
            Ok(Some(t)) => now.unix_timestamp() - t as i64,
            _ => -1,
        };
        self.metrics.sync_lag_seconds.set(lag);
    }

    /// Whether a valid signed snapshot is being served.
    pub fn is_ready(&self) -> bool {
        let current = self.publisher.current();
        current.version() > 0 && current.timestamp_expires > self.clock.now()
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
    let url = tufmirror_upstream::Url::parse(&u.index_url).map_err(|_| OpenError::IndexUrl(u.index_url.clone()))?;
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
            .map_err(|e| OpenError::Upstream(UpstreamError::Config { reason: e.to_string() }))?;
    }
    Ok(out)
}
