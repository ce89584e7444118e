//! `.crate` files: fetched from upstream once, checked against the `cksum` that a signed snapshot
//! published for that version (before anything is stored or served), then served from disk.
//! Yanked versions stay downloadable: yanking only stops new resolutions.

//!
//! Contract: safe to call from any number of requests at once; one download per `.crate` runs
//! at a time, and the others wait for it. A file is stored only after its hash matched, and
//! written under a temporary name and renamed (the blob store's rule): a crash leaves either
//! nothing or the whole verified file. Upstream failures are not retried here beyond upstream's
//! client; the next request tries again.

use crate::checker::Checker;
use crate::metrics::Metrics;
use crate::storage::Storage;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use tracing::{error, info};
use tufmirror_core::Sha256Hash;
use tufmirror_index::{CrateName, RegistryConfig};
use tufmirror_upstream::{CrateFetch, UpstreamClient, UpstreamError, Url};

/// Why a `.crate` cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// Not a version any signed snapshot published (or a denied crate): 404.
    #[error("{name} {vers} is not in the mirror")]
    NotFound {
        /// The crate's name.
        name: String,
        /// The version (`vers` in the index line).
        vers: String,
    },
    /// Upstream's file is not the one the index signed: 502, nothing cached. The message (the
    /// 502's body) does not echo the fetched file's hash: that would tell anyone who asks a
    /// digest of whatever the download URL returned. The log has it.
    #[error("upstream's {name}-{vers}.crate does not match the signed cksum {expected}; refused")]
    Mismatch {
        /// The crate's name.
        name: String,
        /// The version (`vers` in the index line).
        vers: String,
        /// The signed `cksum` (hex SHA-256).
        expected: String,
        /// SHA-256 of what upstream sent (hex); for the log only.
        got: String,
    },
    /// Upstream failed or does not have it: 502.
    #[error("fetching {name}-{vers}.crate from upstream")]
    Upstream {
        /// The crate's name.
        name: String,
        /// The version (`vers` in the index line).
        vers: String,
        /// What went wrong.
        #[source]
        source: UpstreamFault,
    },
    /// Writing the checked file into the data folder failed: 500.
    #[error("storing {name}-{vers}.crate")]
    Store {
        /// The crate's name.
        name: String,
        /// The version (`vers` in the index line).
        vers: String,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
}

/// What went wrong upstream for a download.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamFault {
    /// Upstream does not have the file.
    #[error("upstream answered {status}")]
    Missing {
        /// Upstream's HTTP status (404, 410, ...).
        status: u16,
    },
    /// The request failed.
    #[error(transparent)]
    Request(#[from] UpstreamError),
    /// Upstream's `config.json` gives a download URL that does not parse.
    #[error("upstream's dl gives a bad URL")]
    BadUrl(#[source] url::ParseError),
    /// Upstream's `config.json` cannot be fetched.
    #[error("upstream's config.json")]
    ConfigJson(#[source] UpstreamError),
    /// Upstream's `config.json` is not one.
    #[error("upstream's config.json is invalid")]
    BadConfigJson(#[source] tufmirror_index::RegistryConfigError),
    /// Upstream has no `config.json`.
    #[error("upstream has no config.json")]
    NoConfigJson,
    /// An answer of a kind this version does not handle.
    #[error("unexpected answer")]
    Unexpected,
}

/// Serves `.crate` files (see the module documentation).
#[derive(Debug)]
pub struct Downloads {
    storage: Arc<Storage>,
    upstream: UpstreamClient,
    checker: Arc<Checker>,
    metrics: Arc<Metrics>,
    /// One download per `.crate` at a time.
    running: Mutex<HashMap<Sha256Hash, Arc<tokio::sync::Mutex<()>>>>,
    /// Upstream's `config.json`, read once (its `dl` says where `.crate` files are).
    registry: tokio::sync::OnceCell<RegistryConfig>,
}

impl Downloads {
    /// Downloads from `upstream`, stored in `storage`, for the crates `checker` allows.
    pub fn new(storage: Arc<Storage>, upstream: UpstreamClient, checker: Arc<Checker>, metrics: Arc<Metrics>) -> Self {
        Downloads {
            storage,
            upstream,
            checker,
            metrics,
            running: Mutex::new(HashMap::new()),
            registry: tokio::sync::OnceCell::new(),
        }
    }

    /// The path of the verified `.crate` of `name` `vers`, fetching it first if needed.
    pub async fn crate_file(&self, name: &str, vers: &str) -> Result<PathBuf, DownloadError> {
        let not_found = || DownloadError::NotFound { name: name.to_owned(), vers: vers.to_owned() };
        let Ok(krate) = CrateName::new(name) else { return Err(not_found()) };
        if !self.checker.allows(krate.as_str()) {
            return Err(not_found());
        }
        let cksum = self.storage.db.cksum(krate.as_str(), vers).ok().flatten().ok_or_else(not_found)?;
        let hash = Sha256Hash::from_hex(&cksum).map_err(|_| not_found())?;
        let path = self.storage.crates.path(&hash);
        if path.is_file() {
            self.metrics.count_download("cached");
            return Ok(path);
        }
        let lock = {
            let mut downloads = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            downloads.entry(hash).or_insert_with(|| Arc::new(tokio::sync::Mutex::new(()))).clone()
        };
        let _one_at_a_time = lock.lock().await;
        if path.is_file() {
            self.metrics.count_download("cached");
            return Ok(path);
        }
        let result = self.fetch_crate(name, vers, &cksum, &hash).await;
        self.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&hash);
        result.map(|()| path)
    }

    async fn fetch_crate(&self, name: &str, vers: &str, cksum: &str, hash: &Sha256Hash) -> Result<(), DownloadError> {
        let upstream_err =
            |source: UpstreamFault| DownloadError::Upstream { name: name.to_owned(), vers: vers.to_owned(), source };
        let registry = self.upstream_registry().await.map_err(upstream_err)?;
        let url = Url::parse(&registry.download_url(name, vers, cksum))
            .map_err(|e| upstream_err(UpstreamFault::BadUrl(e)))?;
        let bytes = match self.upstream.fetch_crate(&url).await {
            Ok(CrateFetch::Fetched { bytes }) => bytes,
            Ok(CrateFetch::NotFound { status }) => {
                self.metrics.count_download("upstream_missing");
                return Err(upstream_err(UpstreamFault::Missing { status }));
            }
            Ok(_) => return Err(upstream_err(UpstreamFault::Unexpected)),
            Err(e) => {
                self.metrics.upstream_errors.inc();
                self.metrics.count_download("upstream_error");
                return Err(upstream_err(e.into()));
            }
        };
        let got = Sha256Hash::of(&bytes);
        if got != *hash {
            self.metrics.count_download("checksum_mismatch");
            error!(krate = name, vers, expected = cksum, got = %got, "upstream's .crate does not match the signed cksum; refused, nothing cached");
            return Err(DownloadError::Mismatch {
                name: name.to_owned(),
                vers: vers.to_owned(),
                expected: cksum.to_owned(),
                got: got.to_hex(),
            });
        }
        self.storage.crates.put(&bytes).map_err(|source| DownloadError::Store {
            name: name.to_owned(),
            vers: vers.to_owned(),
            source,
        })?;
        self.metrics.count_download("fetched");
        info!(krate = name, vers, bytes = bytes.len(), "crate fetched and verified");
        Ok(())
    }

    /// Upstream's `config.json`, read once; a failure is retried on the next download.
    async fn upstream_registry(&self) -> Result<&RegistryConfig, UpstreamFault> {
        self.registry
            .get_or_try_init(|| async {
                let fetch = self.upstream.fetch_config_json(None).await.map_err(UpstreamFault::ConfigJson)?;
                match fetch {
                    tufmirror_upstream::IndexFetch::Fetched { bytes, .. } => {
                        RegistryConfig::parse(&bytes).map_err(UpstreamFault::BadConfigJson)
                    }
                    _ => Err(UpstreamFault::NoConfigJson),
                }
            })
            .await
    }
}
