//! Adopting a newly published root while the daemon runs (`tufmirror root publish`, which hands
//! the root to `POST /admin/root`).
//!
//! A root that rotates an online key is only useful together with metadata signed by the new
//! key: a client that fetched the new root refuses a timestamp signed by the retired one. So the
//! daemon adopts a root in one step: it verifies the root against the one it serves (a threshold
//! of the old root keys *and* of the new), re-reads the configuration's online key URIs (the
//! operator has pointed them at the new keys), proves that those keys are exactly what the new
//! root lists, stores the root, and publishes the next snapshot with every online role signed
//! by the new keys. The new root and that snapshot become visible at the same moment. Anything
//! that fails leaves the served root, keys and snapshot as they were.
//!
//! A crash in the middle is repaired at the next start: the root is already in `keys.root_dir`
//! (it is written first), and [`crate::publisher::Publisher::open`] re-signs a snapshot that the
//! newest root's keys did not sign.

use crate::config::{Config, ConfigError};
use crate::daemon_keys::{DaemonKeys, StartupKeyError, signers_for};
use crate::publisher::{PublishError, Publisher};
use std::path::PathBuf;
use std::sync::Arc;
use tracing::info;
use tufmirror_core::verify::{self, VerifyError};
use tufmirror_repo::durable::{IfExists, write_durably};
use tufmirror_repo::keys::RootFile;

/// Why a new root was not adopted. Nothing changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootUpdateError {
    /// The new root is not a valid successor of the trusted one (TUF root update: signed by a
    /// threshold of the old and the new root keys, next version).
    #[error("the new root does not verify against root version {trusted}")]
    Verify {
        /// The version of the newest root the daemon trusts now.
        trusted: u64,
        /// Why verification failed.
        #[source]
        source: VerifyError,
    },
    /// The config file, read again for the online keys under the new root, is refused.
    #[error("re-reading the configuration for the new online keys")]
    Config(#[from] ConfigError),
    /// The configured online keys cannot sign under the new root.
    #[error("the configured online keys cannot sign under root version {version}")]
    Keys {
        /// The new root's version (0: no root is trusted yet).
        version: u64,
        /// What is wrong with the keys.
        #[source]
        source: StartupKeyError,
    },
    /// A file of the same root version with other bytes already exists.
    #[error("{path} already holds another root version {version}: a published root never changes")]
    Conflict {
        /// The existing root file.
        path: String,
        /// The root version.
        version: u64,
    },
    /// Reading or writing the new root's file failed.
    #[error("writing {path}")]
    Write {
        /// The root file.
        path: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Publishing the snapshot signed by the new keys failed.
    #[error("publishing the snapshot signed by the new keys")]
    Publish(#[from] PublishError),
}

impl RootUpdateError {
    /// Whether the root or the configuration was refused (as opposed to a failure of the
    /// daemon's own storage or signing).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Verify { .. } | Self::Config(_) | Self::Keys { .. } | Self::Conflict { .. })
    }
}

/// What adopting a root produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdoptedRoot {
    /// The adopted root's version.
    pub root_version: u64,
    /// The first snapshot signed under it.
    pub snapshot_version: u64,
    /// The timestamp that published that snapshot.
    pub timestamp_version: u64,
}

/// Adopts new roots (see the module documentation). One adoption at a time.
#[derive(Debug)]
pub struct RootRotation {
    publisher: Arc<Publisher>,
    /// The configuration the daemon started with; its file is read again for the new keys.
    config: Arc<Config>,
    /// The data folder's `tuf/`, where served roots are.
    served_roots: PathBuf,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl RootRotation {
    /// Rotation for the daemon that serves `publisher`'s snapshots from the data folder whose
    /// `tuf/` is `served_roots`.
    pub fn new(publisher: Arc<Publisher>, config: Arc<Config>, served_roots: PathBuf) -> RootRotation {
        RootRotation { publisher, config, served_roots, one_at_a_time: tokio::sync::Mutex::new(()) }
    }

    /// Adopts `bytes` as the next root version: see the module documentation.
    pub async fn publish_root(&self, bytes: Vec<u8>) -> Result<AdoptedRoot, RootUpdateError> {
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let current = self.publisher.keys();
        let Some(trusted) = current.roots.last() else {
            return Err(RootUpdateError::Keys {
                version: 0,
                source: tufmirror_repo::keys::OnlineKeyError::NoRoot { dir: self.config.keys.root_dir.clone() }.into(),
            });
        };
        let trusted = &trusted.root.signed;
        let root = verify::verify_root_update(trusted, &bytes)
            .map_err(|source| RootUpdateError::Verify { trusted: trusted.version, source })?;
        let version = root.signed.version;

        let keys_config = match &self.config.file {
            Some(file) => Config::load(Some(file), |var| std::env::var(var).ok())?.keys,
            None => self.config.keys.clone(),
        };
        let signers = signers_for(&keys_config, &self.config.base_dir, &self.config.origin, &root.signed)
            .await
            .map_err(|source| RootUpdateError::Keys { version, source })?;

        let root_dir = &self.config.keys.root_dir;
        for dir in [root_dir, &self.served_roots] {
            store_root(&dir.join(format!("{version}.root.json")), &bytes, version)?;
        }
        let mut roots = current.roots.clone();
        roots.push(RootFile { bytes, root });
        let published = self.publisher.rotate(DaemonKeys { signers, roots }).await?;
        info!(
            root_version = version,
            snapshot = published.version(),
            "new root adopted: every online role re-signed with the keys it lists"
        );
        Ok(AdoptedRoot {
            root_version: version,
            snapshot_version: published.version(),
            timestamp_version: published.record.timestamp_version,
        })
    }
}

/// Writes a root version durably, accepting the same bytes already there (a retried publish, or
/// an operator who copied the file in first) and refusing different ones.
fn store_root(path: &std::path::Path, bytes: &[u8], version: u64) -> Result<(), RootUpdateError> {
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => return Err(RootUpdateError::Conflict { path: path.display().to_string(), version }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(RootUpdateError::Write { path: path.display().to_string(), source }),
    }
    write_durably(path, bytes, IfExists::Replace)
        .map_err(|source| RootUpdateError::Write { path: path.display().to_string(), source })?;
    info!(path = %path.display(), version, "root stored");
    Ok(())
}
