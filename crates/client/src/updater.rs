//! [`Updater`]: the client workflow of the specification (section 5) with its I/O.

use crate::store::{MetadataDir, encode_name};
use crate::{ClientError, Fetcher, UpdaterConfig};
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;
use tufmirror_core::binding::RootChain;
use tufmirror_core::metadata::{Snapshot, TargetFile, Targets, Timestamp};
use tufmirror_core::trusted::{DelegationWalk, Origin, TimestampUpdate, TrustError, TrustedSet};
use tufmirror_durable::{IfExists, write_durably};

/// A target found by [`Updater::get_target_info`]: its path, its signed description, and the
/// role that listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// The target path, as asked.
    pub path: String,
    /// Its signed length and hashes.
    pub file: TargetFile,
    /// The targets role that listed it (`targets` or a delegated role's name).
    pub role: String,
}

/// A TUF client bound to one repository and one metadata folder. See the crate documentation.
///
/// [`Self::refresh`] may be called again at any time (a long-running client refreshes when it
/// learns of a newer snapshot, see [`Self::ensure_snapshot`]); each refresh starts from the
/// trusted root on disk and the metadata stored beside it, as the specification's workflow does.
#[derive(Debug)]
pub struct Updater {
    dir: MetadataDir,
    metadata_base_url: String,
    fetcher: Arc<dyn Fetcher>,
    config: UpdaterConfig,
    /// The bytes of the newest trusted root (what `root.json` holds).
    root_bytes: Vec<u8>,
    trusted: TrustedSet,
    /// Every root verified since this client was created, from the stored root on: which root
    /// verifies older metadata (docs/POUF.md 1.9).
    chain: RootChain,
    /// Whether the last refresh completed: only then is the trusted set final.
    refreshed: bool,
}

const ROOT: &str = "root";
const TIMESTAMP: &str = "timestamp";
const SNAPSHOT: &str = "snapshot";
const TARGETS: &str = "targets";

fn refused(file: impl Into<String>) -> impl FnOnce(TrustError) -> ClientError {
    let file = file.into();
    move |source| ClientError::Refused { file, source: Box::new(source) }
}

pub(crate) fn with_slash(url: &str) -> String {
    if url.ends_with('/') { url.to_owned() } else { format!("{url}/") }
}

impl Updater {
    /// Stores `root_bytes` as the trusted root of a new client in `metadata_dir` (created if
    /// missing), after checking that it parses and is signed by a threshold of its own root keys.
    /// Expiry is not checked: the first refresh updates an old root.
    pub fn init(metadata_dir: &Path, root_bytes: &[u8]) -> Result<(), ClientError> {
        TrustedSet::new(root_bytes, OffsetDateTime::now_utc()).map_err(refused("the initial root"))?;
        std::fs::create_dir_all(metadata_dir).map_err(|source| ClientError::Io {
            action: "create",
            path: metadata_dir.to_owned(),
            source,
        })?;
        MetadataDir::new(metadata_dir).write(ROOT, root_bytes)
    }

    /// A client for the repository whose metadata is at `metadata_base_url`, trusting the root
    /// stored in `metadata_dir` (see [`Self::init`]). Makes no request.
    pub fn new(
        metadata_dir: &Path,
        metadata_base_url: &str,
        fetcher: Arc<dyn Fetcher>,
        config: UpdaterConfig,
    ) -> Result<Self, ClientError> {
        let dir = MetadataDir::new(metadata_dir);
        let root_bytes = dir.read(ROOT)?.ok_or_else(|| ClientError::NoTrustedRoot { path: dir.file(ROOT) })?;
        let trusted = TrustedSet::new(&root_bytes, OffsetDateTime::now_utc()).map_err(refused("root.json"))?;
        let chain = RootChain::new(trusted.root().clone());
        Ok(Updater {
            dir,
            metadata_base_url: with_slash(metadata_base_url),
            fetcher,
            config,
            root_bytes,
            trusted,
            chain,
            refreshed: false,
        })
    }

    /// Everything the client trusts right now. After a failed refresh this may hold
    /// intermediate metadata (see `tufmirror_core::trusted`): prefer [`Self::timestamp`],
    /// [`Self::snapshot`] and [`Self::targets`], which answer only after a complete refresh.
    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// The roots verified since this client was created: the stored root it started from, then
    /// each root a refresh verified, up to the trusted one.
    pub fn root_chain(&self) -> &RootChain {
        &self.chain
    }

    /// The verified timestamp of the last complete refresh: for tufmirror repositories it
    /// carries the snapshot's `merkle_root` and `merkle_tree_size`.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.trusted.timestamp().filter(|_| self.refreshed)
    }

    /// The verified snapshot of the last complete refresh.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.trusted.snapshot().filter(|_| self.refreshed)
    }

    /// The verified top-level targets of the last complete refresh (tufmirror's lists
    /// `config.json` and carries `x-tufmirror-removals`).
    pub fn targets(&self) -> Option<&Targets> {
        self.trusted.targets().filter(|_| self.refreshed)
    }

    /// Refreshes the top-level metadata now: root, timestamp, snapshot, targets (5.3 - 5.6).
    pub async fn refresh(&mut self) -> Result<(), ClientError> {
        self.refresh_at(OffsetDateTime::now_utc()).await
    }

    /// [`Self::refresh`] judging expiry against `now`.
    pub async fn refresh_at(&mut self, now: OffsetDateTime) -> Result<(), ClientError> {
        self.refreshed = false;
        self.trusted = TrustedSet::new(&self.root_bytes, now).map_err(refused("root.json"))?;
        self.load_root().await?;
        self.load_timestamp().await?;
        self.load_snapshot().await?;
        self.load_targets(TARGETS, ROOT).await?;
        self.refreshed = true;
        Ok(())
    }

    /// Refreshes unless the trusted snapshot is already `version` or newer; returns whether it
    /// is afterwards. For a client that sees a newer snapshot named elsewhere (a Merkle proof
    /// from a tufmirror server) and must catch up before it can check it.
    pub async fn ensure_snapshot(&mut self, version: u64) -> Result<bool, ClientError> {
        let current = |u: &Self| u.snapshot().is_some_and(|s| s.version >= version);
        if !current(self) {
            self.refresh().await?;
        }
        Ok(current(self))
    }

    /// Root: each next version from the repository until it has none (5.3). Every accepted
    /// root is persisted at once; when one changes the timestamp or snapshot keys, the stored
    /// timestamp and snapshot are deleted (fast-forward recovery, 5.3.11).
    async fn load_root(&mut self) -> Result<(), ClientError> {
        let first = self.trusted.root().version + 1;
        for version in first..first.saturating_add(self.config.max_root_rotations) {
            let name = format!("{version}.{ROOT}.json");
            let bytes = match self.fetch_metadata(&name, self.config.root_max_length).await {
                Ok(bytes) => bytes,
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e),
            };
            let root = self.trusted.update_root(&bytes).map_err(refused(&name))?.clone();
            if self.chain.newest().version < root.version {
                // The trusted set checked that it follows the newest root: never a gap.
                self.chain.push(root).map_err(|e| ClientError::Refused {
                    file: name.clone(),
                    source: Box::new(TrustError::UnexpectedVersion {
                        role: ROOT.into(),
                        expected: e.last + 1,
                        found: e.found,
                    }),
                })?;
            }
            self.dir.write(ROOT, &bytes)?;
            self.root_bytes = bytes;
            tracing::info!(version, "updated root");
            if self.trusted.fast_forward_reset() {
                self.dir.remove(TIMESTAMP)?;
                self.dir.remove(SNAPSHOT)?;
            }
        }
        self.trusted.check_final_root().map_err(refused("root.json"))
    }

    /// Timestamp: the stored one first (as the rollback reference, even if expired), then the
    /// repository's (5.4). The new one is persisted only once it is accepted as final.
    async fn load_timestamp(&mut self) -> Result<(), ClientError> {
        if let Some(stored) = self.read_stored(TIMESTAMP)
            && let Err(e) = self.trusted.update_timestamp(&stored)
        {
            tracing::debug!(error = %e, "stored timestamp is not usable as final");
        }
        let name = format!("{TIMESTAMP}.json");
        let bytes = self.fetch_metadata(&name, self.config.timestamp_max_length).await?;
        match self.trusted.update_timestamp(&bytes).map_err(refused(&name))? {
            TimestampUpdate::Updated => self.dir.write(TIMESTAMP, &bytes),
            TimestampUpdate::Unchanged => Ok(()),
        }
    }

    /// Snapshot: the stored one if it is still the one the timestamp names (no download);
    /// otherwise it is the rollback reference for the repository's (5.5).
    async fn load_snapshot(&mut self) -> Result<(), ClientError> {
        if let Some(stored) = self.read_stored(SNAPSHOT) {
            match self.trusted.update_snapshot(&stored, Origin::Cache) {
                Ok(_) => return Ok(()),
                Err(e) => tracing::debug!(error = %e, "stored snapshot is not usable as final"),
            }
        }
        let meta = self.trusted.timestamp().and_then(|t| t.meta.get("snapshot.json")).cloned();
        let (version, length) = meta.map(|m| (m.version, m.length)).unwrap_or_default();
        let name = self.versioned_name(SNAPSHOT, version);
        let bytes = self.fetch_metadata(&name, length.unwrap_or(self.config.snapshot_max_length)).await?;
        self.trusted.update_snapshot(&bytes, Origin::Repository).map_err(refused(&name))?;
        self.dir.write(SNAPSHOT, &bytes)
    }

    /// A targets role (5.6): already trusted for this delegator, or the stored copy if it is
    /// still what the snapshot names, or the repository's.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<(), ClientError> {
        let stored_name = format!("{}.json", encode_name(role));
        if self.trusted.delegated_targets(role, delegator).map_err(refused(&stored_name))?.is_some() {
            return Ok(());
        }
        if let Some(stored) = self.read_stored(role) {
            match self.trusted.update_delegated_targets(&stored, role, delegator) {
                Ok(_) => return Ok(()),
                Err(e) => tracing::debug!(role, error = %e, "stored targets metadata is not usable"),
            }
        }
        let meta = self.trusted.snapshot().and_then(|s| s.meta.get(&format!("{role}.json"))).cloned();
        let Some(meta) = meta else {
            return Err(ClientError::Refused {
                file: stored_name,
                source: Box::new(TrustError::NotInSnapshot { role: role.to_owned() }),
            });
        };
        let name = self.versioned_name(role, meta.version);
        let bytes = self.fetch_metadata(&name, meta.length.unwrap_or(self.config.targets_max_length)).await?;
        self.trusted.update_delegated_targets(&bytes, role, delegator).map_err(refused(&name))?;
        self.dir.write(role, &bytes)
    }

    /// The name of `role`'s file on the repository: `VERSION.ROLE.json` with consistent
    /// snapshots, `ROLE.json` otherwise.
    fn versioned_name(&self, role: &str, version: u64) -> String {
        if self.trusted.root().consistent_snapshot {
            format!("{version}.{}.json", encode_name(role))
        } else {
            format!("{}.json", encode_name(role))
        }
    }

    /// A stored file, or `None`; a file that cannot be read is treated as absent (and said so):
    /// stored metadata is only a cache of what the repository serves.
    fn read_stored(&self, role: &str) -> Option<Vec<u8>> {
        self.dir.read(role).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "ignoring stored metadata");
            None
        })
    }

    async fn fetch_metadata(&self, name: &str, max_length: u64) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{name}", self.metadata_base_url);
        self.fetcher.fetch(&url, max_length).await.map_err(|source| ClientError::Fetch { url, source })
    }

    /// Finds `target` through the delegations (5.6.7), loading the delegated roles it needs.
    /// Refreshes first unless a refresh has completed. `None`: no trusted role lists it.
    pub async fn get_target_info(&mut self, target: &str) -> Result<Option<TargetInfo>, ClientError> {
        if !self.refreshed {
            self.refresh().await?;
        }
        let mut walk = DelegationWalk::new(target, self.config.max_delegations);
        while let Some((role, delegator)) = walk.next_role() {
            self.load_targets(&role, &delegator).await?;
            if let Some(targets) = self.trusted.any_targets(&role)
                && let Some(file) = walk.visit(&role, targets)
            {
                return Ok(Some(TargetInfo { path: target.to_owned(), file, role }));
            }
        }
        Ok(None)
    }

    /// Whether `path` already holds the target `info` describes (length and every hash match).
    pub fn find_cached_target(&self, info: &TargetInfo, path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|bytes| info.file.verify(&bytes).is_ok())
    }

    /// Downloads the target `info` describes from `target_base_url` (as `DIR/HASH.NAME` with
    /// consistent snapshots), checks its length and every hash, and only then writes it durably
    /// to `dest`. Reads at most the signed length.
    pub async fn download_target(
        &self,
        info: &TargetInfo,
        target_base_url: &str,
        dest: &Path,
    ) -> Result<(), ClientError> {
        let mut remote = info.path.clone();
        if self.trusted.root().consistent_snapshot && self.config.prefix_targets_with_hash {
            // The first listed hash names the file (any of them would do for a repository that
            // stores every name, which is what the specification asks of it).
            if let Some(hash) = info.file.hashes.values().next() {
                remote = match info.path.rsplit_once('/') {
                    Some((dir, name)) => format!("{dir}/{hash}.{name}"),
                    None => format!("{hash}.{}", info.path),
                };
            }
        }
        let url = format!("{}{remote}", with_slash(target_base_url));
        let bytes = self
            .fetcher
            .fetch(&url, info.file.length)
            .await
            .map_err(|source| ClientError::Fetch { url: url.clone(), source })?;
        info.file.verify(&bytes).map_err(|source| ClientError::TargetMismatch {
            path: info.path.clone(),
            url,
            source,
        })?;
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| ClientError::Io {
                action: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        write_durably(dest, &bytes, IfExists::Replace).map_err(|source| ClientError::Io {
            action: "write",
            path: dest.to_owned(),
            source,
        })
    }
}
