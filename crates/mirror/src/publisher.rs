//! Publishing: the only writer of snapshots. Changes go in, the next signed snapshot comes out,
//! and it becomes visible in one database transaction after every byte it refers to is on disk.
//!
//! Order of one publish: index files are already in the blob store (written without a flush);
//! the leaf list, the signed metadata and the diff are written; one `syncfs` flushes all of it;
//! the database commits the new current snapshot (the switch); memory follows. A crash before
//! the commit leaves the previous snapshot current, and the files written for the lost one are
//! overwritten by the next publish of that version (nothing served refers to them: `/tuf/` and
//! `/history/` only answer versions up to the committed ones).

use crate::changes::Changes;
use crate::clock::Clock;
use crate::daemon_keys::DaemonKeys;
use crate::datadir::DataDir;
use crate::metrics::Metrics;
use crate::published::{DamagedSnapshot, Published};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use time::OffsetDateTime;
use tracing::{Instrument as _, info, info_span};
use tufmirror_core::diff::{LeafList, SnapshotDiff};
use tufmirror_core::merkle::{Leaf, LeafError, MerkleTree};
use tufmirror_repo::durable::{IfExists, write_durably};
use tufmirror_repo::sign::{Expiries, SnapshotPlan, removal_records, sign_snapshot, sign_timestamp};
use tufmirror_signer::SignerError;
use tufmirror_store::{Batch, BlobStore, FileRecord, SnapshotRecord, StateDb, StoreError};

/// Why a publish failed; the previous snapshot stays current.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The state database or the blob store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An online role's key could not sign.
    #[error("signing failed")]
    Sign(#[from] SignerError),
    /// Writing signed metadata or history into the data folder failed.
    #[error("writing {path}")]
    Write {
        /// The file being written.
        path: String,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// The index files do not make a valid Merkle tree (unsorted, a path twice, too many).
    #[error("index files")]
    Leaves(#[from] LeafError),
    /// The previous snapshot's files are missing or disagree with the database.
    #[error(transparent)]
    Damaged(#[from] DamagedSnapshot),
}

fn write_err(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> PublishError {
    move |source| PublishError::Write { path: path.to_string(), source }
}

/// Compact JSON with sorted keys (leaf lists and diffs).
fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers: serializing cannot fail.
    serde_json::to_value(value).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default()
}

/// The publisher and the snapshot it last published.
#[derive(Debug)]
pub struct Publisher {
    dir: DataDir,
    db: Arc<StateDb>,
    blobs: BlobStore,
    /// The online keys and the root chain they sign under; replaced together when a new root is
    /// published ([`Publisher::rotate`]).
    keys: RwLock<Arc<DaemonKeys>>,
    config_json: Vec<u8>,
    expiries: Expiries,
    current: RwLock<Arc<Published>>,
    /// Older snapshots read back on demand (`/snapshots/N/`), a few at a time.
    older: Mutex<Vec<Arc<Published>>>,
    /// One publish at a time.
    serial: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
}

/// What a [`Publisher`] is opened with.
#[derive(Debug)]
pub struct PublisherParts {
    /// The data folder (metadata and history files).
    pub dir: DataDir,
    /// The state database.
    pub db: Arc<StateDb>,
    /// Index files and leaf lists.
    pub blobs: BlobStore,
    /// The online keys and the root chain.
    pub keys: DaemonKeys,
    /// `config.json` as signed in targets.
    pub config_json: Vec<u8>,
    /// How long each role's metadata lives.
    pub expiries: Expiries,
    /// Counters and gauges it keeps current.
    pub metrics: Arc<Metrics>,
    /// The time (signing dates and expiries).
    pub clock: Arc<dyn Clock>,
}

impl Publisher {
    /// Loads the current snapshot, or signs the empty snapshot 1 on first start so that the
    /// mirror is ready at once. A snapshot whose `config.json` is not the one given (the public
    /// URL changed), or whose metadata the newest root's keys did not sign (a root was published
    /// while no daemon ran, or the daemon stopped in the middle of adopting it), is followed by a
    /// new one that is signed properly.
    pub async fn open(parts: PublisherParts) -> Result<Publisher, PublishError> {
        let PublisherParts { dir, db, blobs, keys, config_json, expiries, metrics, clock } = parts;
        let (current, fresh) = match db.current_snapshot()? {
            Some(record) => (Published::load(&dir, &blobs, record)?, false),
            None => (Self::placeholder()?, true),
        };
        let publisher = Publisher {
            dir,
            db,
            blobs,
            keys: RwLock::new(Arc::new(keys)),
            config_json,
            expiries,
            current: RwLock::new(Arc::new(current)),
            older: Mutex::new(Vec::new()),
            serial: tokio::sync::Mutex::new(()),
            metrics,
            clock,
        };
        let signed_config = publisher.signed_config_matches()?;
        let signed_by_root = fresh || publisher.signed_by_newest_root()?;
        if fresh || !signed_config || !signed_by_root {
            info!(
                first_start = fresh,
                config_changed = !signed_config,
                keys_changed = !signed_by_root,
                "signing a snapshot for the current configuration and keys"
            );
            // Not counted in `snapshots_published`: that counts what this process changed.
            publisher.publish_locked(Changes::default(), true, None).await?;
        }
        Ok(publisher)
    }

    /// The online keys and the root chain being served.
    pub fn keys(&self) -> Arc<DaemonKeys> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether the current snapshot's targets, snapshot and timestamp verify under the newest root
    /// and are bound to it (`x-tufmirror-root-version`, docs/POUF.md 1.9: metadata signed before
    /// the binding existed is re-signed, since clients accept only bound metadata as current).
    fn signed_by_newest_root(&self) -> Result<bool, PublishError> {
        use tufmirror_core::binding::{RootBound, check_current};
        use tufmirror_core::metadata::{Metadata, Snapshot, Targets, Timestamp};
        use tufmirror_core::verify::{RoleVerifier, parse_verified};
        fn good<T: Metadata + RootBound>(bytes: &[u8], root: &tufmirror_core::Root) -> bool {
            RoleVerifier::from_root(root, T::ROLE).is_ok_and(|v| {
                parse_verified::<T>(bytes, &v).is_ok_and(|m| check_current(&m.signed, "", root.version).is_ok())
            })
        }
        let keys = self.keys();
        let Some(root) = keys.roots.last() else { return Ok(false) };
        let root = &root.root.signed;
        let current = self.current();
        let path = self.dir.tuf(&format!("{}.targets.json", current.version()));
        let targets = std::fs::read(&path).map_err(write_err(path.display()))?;
        Ok(good::<Targets>(&targets, root)
            && good::<Snapshot>(&current.snapshot_json, root)
            && good::<Timestamp>(&current.timestamp_json, root))
    }

    /// Switches to `keys` (a newly published root and the online keys it lists) and publishes
    /// the next snapshot signed by them: targets, snapshot and timestamp all at once, so that a
    /// client that has fetched the new root finds metadata it accepts. The new root becomes
    /// visible in the same moment as that snapshot; if signing fails, nothing changes.
    pub async fn rotate(&self, keys: DaemonKeys) -> Result<Arc<Published>, PublishError> {
        let _serial = self.serial.lock().await;
        let published = self.publish_locked(Changes::default(), true, Some(Arc::new(keys))).await?;
        self.metrics.snapshots_published.inc();
        self.update_gauges();
        Ok(published)
    }

    /// Version 0: the empty tree before anything was published; never served.
    fn placeholder() -> Result<Published, PublishError> {
        let tree = MerkleTree::build(Vec::new())?;
        let record = SnapshotRecord {
            version: 0,
            timestamp_version: 0,
            merkle_root: tree.root(),
            tree_size: 0,
            leaves: tufmirror_core::Sha256Hash::of(b""),
            published_at: 0,
        };
        let epoch = OffsetDateTime::UNIX_EPOCH;
        Ok(Published {
            record,
            tree: Arc::new(tree),
            snapshot_json: Vec::new(),
            timestamp_json: Vec::new(),
            timestamp_expires: epoch,
            snapshot_expires: epoch,
            targets_expires: epoch,
        })
    }

    fn signed_config_matches(&self) -> Result<bool, PublishError> {
        let current = self.current();
        if current.version() == 0 {
            return Ok(false);
        }
        let path = self.dir.tuf(&format!("{}.targets.json", current.version()));
        let bytes = std::fs::read(&path).map_err(write_err(path.display()))?;
        let parsed = tufmirror_core::verify::parse_unverified::<tufmirror_core::metadata::Targets>(&bytes);
        Ok(parsed.is_ok_and(|(t, _)| t.signed.targets.get("config.json").is_some_and(|f| f.matches(&self.config_json))))
    }

    /// The snapshot being served.
    pub fn current(&self) -> Arc<Published> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// `config.json` as signed in targets.
    pub fn config_json(&self) -> &[u8] {
        &self.config_json
    }

    /// Snapshot `version` (the current one, or an older one read back from its leaf list). The
    /// caller decides whether it is still retained.
    pub fn snapshot(&self, version: u64) -> Result<Option<Arc<Published>>, PublishError> {
        let current = self.current();
        if version == current.version() {
            return Ok(Some(current));
        }
        if version == 0 || version > current.version() {
            return Ok(None);
        }
        let mut older = self.older.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = older.iter().find(|p| p.version() == version) {
            return Ok(Some(p.clone()));
        }
        let Some(record) = self.db.snapshot(version)? else { return Ok(None) };
        let loaded = Arc::new(Published::load(&self.dir, &self.blobs, record)?);
        older.insert(0, loaded.clone());
        older.truncate(2);
        Ok(Some(loaded))
    }

    /// Applies `changes`. When the set of files changes (or `force`), signs and publishes the next
    /// snapshot; otherwise only records are updated. Returns the snapshot current afterwards, and
    /// keeps the gauges that follow the state current.
    ///
    /// Callers that stored blobs for `changes` hold [`crate::storage::Storage::blob_guard`]
    /// shared across this call.
    pub async fn apply(&self, changes: Changes, force: bool) -> Result<Arc<Published>, PublishError> {
        let _serial = self.serial.lock().await;
        let before = self.current().version();
        let published = self.publish_locked(changes, force, None).await?;
        if published.version() != before {
            self.metrics.snapshots_published.inc();
        }
        self.update_gauges();
        Ok(published)
    }

    /// Refreshes the gauges that follow the state (after every publish).
    pub fn update_gauges(&self) {
        let current = self.current();
        self.metrics.snapshot_version.set(current.version() as i64);
        self.metrics.index_files.set(current.tree.len() as i64);
        if let Ok(q) = self.db.quarantined() {
            self.metrics.quarantined_files.set(q.iter().filter(|(_, r)| !r.rejected).count() as i64);
        }
    }

    /// [`Self::apply`], with the publish lock held; signs with `new_keys` when given, and makes
    /// them current together with the snapshot.
    async fn publish_locked(
        &self,
        changes: Changes,
        force: bool,
        new_keys: Option<Arc<DaemonKeys>>,
    ) -> Result<Arc<Published>, PublishError> {
        let keys = new_keys.clone().unwrap_or_else(|| self.keys());
        let previous = self.current();
        let leaves = next_leaves(previous.tree.leaves(), &changes.files);
        let mut batch = Batch {
            files: changes.files,
            versions: changes.versions,
            replaced_versions: changes.replaced_versions,
            quarantine: changes.quarantine,
            snapshot: None,
            meta: changes.meta,
        };
        if !force && leaves.as_slice() == previous.tree.leaves() {
            if batch.quarantine.iter().any(|(_, q)| q.is_some()) {
                // A quarantine record must not outlive (a power loss of) the file it points to.
                self.blobs.sync().map_err(write_err(self.dir.root.display()))?;
            }
            self.db.apply(&batch)?;
            return Ok(previous);
        }
        let version = previous.version() + 1;
        let span = info_span!("publish", version);
        async {
            let tree = tokio::task::spawn_blocking(move || MerkleTree::build(leaves))
                .await
                .map_err(|e| PublishError::Write { path: "merkle tree".into(), source: std::io::Error::other(e) })??;
            let diff = SnapshotDiff::between(&previous.tree, previous.version(), &tree, version);
            let removals = removal_records(&diff, |path| {
                changes.removal_reasons.get(path).cloned().unwrap_or_else(|| "removed".to_owned())
            });
            let now = self.clock.now();
            let timestamp_version = previous.record.timestamp_version + 1;
            let signed = sign_snapshot(
                SnapshotPlan {
                    snapshot_version: version,
                    timestamp_version,
                    tree: &tree,
                    config: &self.config_json,
                    removals,
                    now,
                    expiries: self.expiries,
                    root_version: keys.root_version(),
                },
                &keys.signers,
            )
            .await?;
            let leaf_list = LeafList {
                snapshot_version: version,
                tree_size: tree.len() as u64,
                merkle_root: tree.root(),
                leaves: tree.leaves().to_vec(),
            };
            let leaves_blob = self.blobs.put_deferred(&to_json(&leaf_list)).map_err(write_err("leaf list"))?;
            for (path, bytes) in [
                (self.dir.tuf(&format!("{version}.targets.json")), &signed.targets),
                (self.dir.tuf(&format!("{version}.snapshot.json")), &signed.snapshot),
                (self.dir.history(&format!("{timestamp_version}.timestamp.json")), &signed.timestamp),
                (self.dir.history(&format!("{version}.diff.json")), &to_json(&diff)),
            ] {
                std::fs::write(&path, bytes).map_err(write_err(path.display()))?;
            }
            self.blobs.sync().map_err(write_err(self.dir.root.display()))?;

            let record = SnapshotRecord {
                version,
                timestamp_version,
                merkle_root: tree.root(),
                tree_size: tree.len() as u64,
                leaves: leaves_blob,
                published_at: now.unix_timestamp(),
            };
            batch.snapshot = Some(record.clone());
            self.db.apply(&batch)?;
            let expires = |days| tufmirror_core::time::in_days(now, days);
            let published = Arc::new(Published {
                record,
                tree: Arc::new(tree),
                snapshot_json: signed.snapshot,
                timestamp_json: signed.timestamp,
                timestamp_expires: expires(self.expiries.timestamp),
                snapshot_expires: expires(self.expiries.snapshot),
                targets_expires: expires(self.expiries.targets),
            });
            if let Some(new_keys) = new_keys {
                self.set_keys(new_keys);
            }
            self.set_current(published.clone(), Some(previous));
            info!(
                files = published.tree.len(),
                added = diff.added.len(),
                changed = diff.changed.len(),
                removed = diff.removed.len(),
                root = %published.record.merkle_root,
                "published"
            );
            Ok(published)
        }
        .instrument(span)
        .await
    }

    /// Signs a new timestamp for the current snapshot (the timestamp expires first; it is
    /// re-signed before it does even when nothing changed).
    pub async fn resign_timestamp(&self) -> Result<Arc<Published>, PublishError> {
        let _serial = self.serial.lock().await;
        let current = self.current();
        let now = self.clock.now();
        let version = current.record.timestamp_version + 1;
        let keys = self.keys();
        let bytes = sign_timestamp(
            version,
            current.version(),
            &current.snapshot_json,
            &current.tree,
            now,
            self.expiries.timestamp,
            keys.root_version(),
            &keys.signers,
        )
        .await?;
        let path = self.dir.history(&format!("{version}.timestamp.json"));
        write_durably(&path, &bytes, IfExists::Replace).map_err(write_err(path.display()))?;
        let record = SnapshotRecord { timestamp_version: version, ..current.record.clone() };
        self.db.apply(&Batch { snapshot: Some(record.clone()), ..Batch::default() })?;
        let published = Arc::new(Published {
            record,
            tree: current.tree.clone(),
            snapshot_json: current.snapshot_json.clone(),
            timestamp_json: bytes,
            timestamp_expires: tufmirror_core::time::in_days(now, self.expiries.timestamp),
            snapshot_expires: current.snapshot_expires,
            targets_expires: current.targets_expires,
        });
        self.set_current(published.clone(), None);
        info!(snapshot = published.version(), timestamp = version, "timestamp re-signed");
        Ok(published)
    }

    fn set_keys(&self, keys: Arc<DaemonKeys>) {
        match self.keys.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    fn set_current(&self, published: Arc<Published>, previous: Option<Arc<Published>>) {
        match self.current.write() {
            Ok(mut guard) => *guard = published,
            Err(poisoned) => *poisoned.into_inner() = published,
        }
        if let Some(previous) = previous.filter(|p| p.version() > 0) {
            let mut older = self.older.lock().unwrap_or_else(|p| p.into_inner());
            older.insert(0, previous);
            older.truncate(2);
        }
    }
}

/// The leaves after `files` are applied to `previous` (sorted by path, as the tree wants).
fn next_leaves(previous: &[Leaf], files: &[(String, Option<FileRecord>)]) -> Vec<Leaf> {
    let mut map: BTreeMap<&str, Leaf> = previous.iter().map(|l| (l.path.as_str(), l.clone())).collect();
    for (path, record) in files {
        match record {
            Some(r) => {
                map.insert(path, Leaf { path: path.clone(), length: r.length, sha256: r.sha256 });
            }
            None => {
                map.remove(path.as_str());
            }
        }
    }
    map.into_values().collect()
}
