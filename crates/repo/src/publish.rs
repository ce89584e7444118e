//! `tufmirror publish`: a directory of index files in, the next signed snapshot out.

use crate::durable::{IfExists, write_durably};
use crate::input::{InputError, InputIndex, read_again, read_index_dir};
use crate::keys::{self, OnlineKeyError, RoleSigners, RootFile};
use crate::layout::{self, Layout};
use crate::sign::{Expiries, SnapshotPlan, removal_records, sign_snapshot};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use tracing::{info, info_span, warn};
use tufmirror_core::diff::{LeafList, SnapshotDiff};
use tufmirror_core::merkle::{LeafError, MerkleTree};
use tufmirror_core::metadata::{Root, Timestamp};
use tufmirror_core::verify::{VerifyError, parse_unverified};
use tufmirror_core::{Sha256Hash, time as tuf_time};
use tufmirror_index::RegistryConfig;
use tufmirror_signer::SignerError;

/// What to publish, from where, to where.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The sparse-index directory to publish.
    pub index_dir: PathBuf,
    /// The folder of the online keys (targets, snapshot, timestamp) and the roots to publish.
    pub keys_dir: PathBuf,
    /// The output directory (the published repository).
    pub out_dir: PathBuf,
    /// Overrides the input's `config.json` with crates.io's, pointing `dl` here.
    pub dl: Option<String>,
    /// Snapshot trees to keep readable under `snapshots/` (at least 1).
    pub keep: u64,
    /// How long each role's new metadata stays valid.
    pub expiries: Expiries,
    /// Whether to write one static proof file per index file (`snapshots/N/proofs/`).
    pub static_proofs: bool,
    /// The time the metadata is signed at (expiries count from it).
    pub now: OffsetDateTime,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// The new snapshot's version.
    pub snapshot_version: u64,
    /// The new timestamp's version.
    pub timestamp_version: u64,
    /// The number of index files (leaves) in the new snapshot.
    pub tree_size: u64,
    /// The new snapshot's Merkle root.
    pub merkle_root: Sha256Hash,
    /// Index files new in this snapshot.
    pub added: usize,
    /// Index files whose bytes changed.
    pub changed: usize,
    /// Index files that left the mirror.
    pub removed: usize,
}

/// Why nothing was published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaticPublishError {
    /// The input directory was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The keys could not be opened or do not fit the root.
    #[error(transparent)]
    Keys(#[from] OnlineKeyError),
    /// A key could not sign.
    #[error("signing failed")]
    Sign(#[from] SignerError),
    /// `out_dir` holds files but no tufmirror repository.
    #[error("{path} is not empty and is not a tufmirror repository; refusing to write into it")]
    NotARepository {
        /// The output directory.
        path: PathBuf,
    },
    /// The published repository is inconsistent (a missing or unreadable file of its own).
    #[error("the published repository at {path} is damaged: {reason}")]
    Damaged {
        /// The output directory.
        path: PathBuf,
        /// What is wrong.
        #[source]
        reason: RepositoryDamage,
    },
    /// A file could not be written.
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why it could not be written.
        #[source]
        source: std::io::Error,
    },
    /// The index files cannot form a Merkle tree.
    #[error("index files")]
    Leaves(#[from] LeafError),
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> StaticPublishError + '_ {
    move |source| StaticPublishError::Write { path: path.to_owned(), source }
}

/// State read from the snapshot that is being served.
struct Previous {
    version: u64,
    timestamp_version: u64,
    tree: MerkleTree,
}

/// Publishes the next snapshot. Input and keys are checked before anything is written; a failure
/// after that leaves the served snapshot as it was.
pub async fn publish(opts: &PublishOptions) -> Result<PublishReport, StaticPublishError> {
    let span = info_span!("publish", out = %opts.out_dir.display());
    let _enter = span.enter();

    let input = read_index_dir(&opts.index_dir)?;
    let config = config_bytes(&input, opts.dl.as_deref());
    let signers = keys::open_online_signers(&opts.keys_dir).await?;
    let layout = Layout::new(&opts.out_dir);
    if !layout.is_repository_or_empty().map_err(write_err(&opts.out_dir))? {
        return Err(StaticPublishError::NotARepository { path: opts.out_dir.clone() });
    }
    let (new_roots, latest_root) = root_chain(&layout, &opts.keys_dir)?;
    check_root(&latest_root.root.signed, &signers, opts.now)?;
    let tree = MerkleTree::build(input.files.iter().map(|f| f.leaf.clone()).collect())?;
    info!(files = tree.len(), root = %tree.root(), "input validated");

    // From here on the output directory is written to.
    layout.init().map_err(write_err(&opts.out_dir))?;
    let _lock = layout::lock(&opts.out_dir).map_err(write_err(&opts.out_dir))?;
    let previous = read_previous(&layout)?;
    let empty = MerkleTree::build(Vec::new())?;
    let (prev_version, prev_ts, prev_tree) = match &previous {
        Some(p) => (p.version, p.timestamp_version, &p.tree),
        None => (0, 0, &empty),
    };
    let version = prev_version + 1;
    let diff = SnapshotDiff::between(prev_tree, prev_version, &tree, version);
    let removals = removal_records(&diff, |_| "absent from the published input".to_owned());
    let signed = sign_snapshot(
        SnapshotPlan {
            snapshot_version: version,
            timestamp_version: prev_ts + 1,
            tree: &tree,
            config: &config,
            removals,
            now: opts.now,
            expiries: opts.expiries,
            root_version: latest_root.root.signed.version,
        },
        &signers,
    )
    .await?;

    write_snapshot(
        &layout,
        SnapshotFiles {
            version,
            input: &input,
            tree: &tree,
            config: &config,
            timestamp: &signed.timestamp,
            durable: prev_tree,
            static_proofs: opts.static_proofs,
        },
    )?;
    for root in &new_roots {
        let path = layout.tuf(&format!("{}.root.json", root.root.signed.version));
        layout::write_new(&path, &root.bytes).map_err(write_err(&path))?;
    }
    for (file, bytes) in [
        (layout.tuf(&format!("{version}.targets.json")), &signed.targets),
        (layout.tuf(&format!("{version}.snapshot.json")), &signed.snapshot),
        (layout.history(&format!("{}.timestamp.json", prev_ts + 1)), &signed.timestamp),
        (layout.history(&format!("{version}.diff.json")), &to_json(&diff)?),
    ] {
        layout::write_new(&file, bytes).map_err(write_err(&file))?;
    }
    layout::sync_filesystem(&opts.out_dir).map_err(write_err(&opts.out_dir))?;
    let staging = layout.staging(version);
    std::fs::rename(&staging, layout.snapshot(version)).map_err(write_err(&staging))?;

    layout.switch_to(version).map_err(write_err(&layout.current()))?;
    // Derived from the chain every time, so that a publish killed right here is repaired by the next.
    let root_json = layout.tuf("root.json");
    if std::fs::read(&root_json).ok().as_deref() != Some(latest_root.bytes.as_slice()) {
        write_durably(&root_json, &latest_root.bytes, IfExists::Replace).map_err(write_err(&root_json))?;
    }
    info!(version, added = diff.added.len(), changed = diff.changed.len(), removed = diff.removed.len(), "published");
    if let Err(e) = layout::prune(&layout, version, opts.keep) {
        warn!(error = %e, "could not prune old snapshots; they stay on disk");
    }
    Ok(PublishReport {
        snapshot_version: version,
        timestamp_version: prev_ts + 1,
        tree_size: tree.len() as u64,
        merkle_root: tree.root(),
        added: diff.added.len(),
        changed: diff.changed.len(),
        removed: diff.removed.len(),
    })
}

fn config_bytes(input: &InputIndex, dl: Option<&str>) -> Vec<u8> {
    match (dl, &input.config) {
        (Some(dl), _) => RegistryConfig { dl: dl.to_owned(), api: None, ..RegistryConfig::crates_io() }.to_bytes(),
        (None, Some(bytes)) => bytes.clone(),
        (None, None) => RegistryConfig::crates_io().to_bytes(),
    }
}

/// Compact JSON with sorted keys, for the leaf list and the diff.
fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StaticPublishError> {
    let other = |e: serde_json::Error| StaticPublishError::Sign(SignerError::Other(Box::new(e)));
    serde_json::to_vec(&serde_json::to_value(value).map_err(other)?).map_err(other)
}

/// The root chain: versions in the key directory that the output does not have yet (verified
/// from the newest published root, or from version 1), and the newest root of all.
fn root_chain(layout: &Layout, keys_dir: &Path) -> Result<(Vec<RootFile>, RootFile), StaticPublishError> {
    let published = keys::verify_root_chain(None, keys::read_root_files(&layout.dir.join("tuf"))?)?;
    let offered = keys::read_root_files(keys_dir)?;
    let newer = offered.into_iter().skip(published.len()).collect();
    let new = keys::verify_root_chain(published.last().map(|r| &r.root.signed), newer)?;
    let latest =
        new.last().or(published.last()).cloned().ok_or_else(|| OnlineKeyError::NoRoot { dir: keys_dir.to_owned() })?;
    Ok((new, latest))
}

fn check_root(root: &Root, signers: &RoleSigners, now: OffsetDateTime) -> Result<(), StaticPublishError> {
    if root.expires <= now {
        return Err(
            OnlineKeyError::RootExpired { version: root.version, expires: tuf_time::format(root.expires) }.into()
        );
    }
    keys::check_signers(root, signers)?;
    Ok(())
}

/// What is wrong with the published repository: the reason of [`StaticPublishError::Damaged`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepositoryDamage {
    /// The `current` link cannot be read or does not name a snapshot.
    #[error("{0}")]
    Current(#[source] std::io::Error),
    /// A file of the current snapshot cannot be read.
    #[error("snapshot {version} {file}: {source}")]
    Unreadable {
        /// The current snapshot.
        version: u64,
        /// The file in `snapshots/N/`.
        file: &'static str,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The current snapshot's `leaves.json` is not a leaf list (docs/POUF.md 1.6).
    #[error("snapshot {version} leaves.json: {source}")]
    LeafList {
        /// The current snapshot.
        version: u64,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The current snapshot's `timestamp.json` is not timestamp metadata.
    #[error("snapshot {version}: {source}")]
    Timestamp {
        /// The current snapshot.
        version: u64,
        /// Why it is not.
        #[source]
        source: VerifyError,
    },
    /// The current snapshot's leaves do not give the `merkle_root` its timestamp signs.
    #[error("snapshot {version}: leaves.json does not match the signed merkle_root")]
    RootMismatch {
        /// The current snapshot.
        version: u64,
    },
}

fn read_previous(layout: &Layout) -> Result<Option<Previous>, StaticPublishError> {
    let damaged = |reason: RepositoryDamage| StaticPublishError::Damaged { path: layout.dir.clone(), reason };
    let Some(version) = layout.current_version().map_err(|e| damaged(RepositoryDamage::Current(e)))? else {
        return Ok(None);
    };
    let dir = layout.snapshot(version);
    let leaves_bytes = std::fs::read(dir.join("leaves.json"))
        .map_err(|source| damaged(RepositoryDamage::Unreadable { version, file: "leaves.json", source }))?;
    let leaves: LeafList = serde_json::from_slice(&leaves_bytes)
        .map_err(|source| damaged(RepositoryDamage::LeafList { version, source }))?;
    let timestamp_bytes = std::fs::read(dir.join("timestamp.json"))
        .map_err(|source| damaged(RepositoryDamage::Unreadable { version, file: "timestamp.json", source }))?;
    let (timestamp, _) = parse_unverified::<Timestamp>(&timestamp_bytes)
        .map_err(|source| damaged(RepositoryDamage::Timestamp { version, source }))?;
    let tree = MerkleTree::build(leaves.leaves)?;
    if Some(tree.root()) != timestamp.signed.merkle_root {
        return Err(damaged(RepositoryDamage::RootMismatch { version }));
    }
    Ok(Some(Previous { version, timestamp_version: timestamp.signed.version, tree }))
}

/// Everything that goes into one snapshot's folder.
struct SnapshotFiles<'a> {
    version: u64,
    input: &'a InputIndex,
    tree: &'a MerkleTree,
    config: &'a [u8],
    timestamp: &'a [u8],
    /// The served snapshot, whose blobs are known to be on disk whole.
    durable: &'a MerkleTree,
    static_proofs: bool,
}

/// Writes snapshot `version` into its staging folder: index files (hard links to blobs),
/// `config.json` under both of its names, proofs, the leaf list and the timestamp.
fn write_snapshot(layout: &Layout, files: SnapshotFiles<'_>) -> Result<(), StaticPublishError> {
    let SnapshotFiles { version, input, tree, config, timestamp, durable, static_proofs } = files;
    let staging = layout.staging(version);
    for stale in [staging.clone(), layout.snapshot(version)] {
        if stale.exists() {
            std::fs::remove_dir_all(&stale).map_err(write_err(&stale))?;
        }
    }
    let index = staging.join("index");
    // A blob of the served snapshot was flushed before that snapshot was switched to; any other
    // blob on disk may be the torn write of a killed publish, so it is written again.
    let durable: HashSet<&Sha256Hash> = durable.leaves().iter().map(|l| &l.sha256).collect();
    for (i, file) in input.files.iter().enumerate() {
        let blob = layout.blob(&file.leaf.sha256);
        if !durable.contains(&file.leaf.sha256) {
            let bytes = read_again(file)?;
            layout::write_replacing(&blob, &bytes).map_err(write_err(&blob))?;
        }
        let dest = index.join(&file.leaf.path);
        layout::link_or_copy(&blob, &dest).map_err(write_err(&dest))?;
        if static_proofs {
            let proof = tree.prove_index(i, version).to_canonical_json();
            let path = staging.join("proofs").join(&file.leaf.path);
            layout::write_new(&path, &proof).map_err(write_err(&path))?;
        }
    }
    let config_hash = Sha256Hash::of(config).to_hex();
    let leaves = LeafList {
        snapshot_version: version,
        tree_size: tree.len() as u64,
        merkle_root: tree.root(),
        leaves: tree.leaves().to_vec(),
    };
    for (path, bytes) in [
        (index.join("config.json"), config.to_vec()),
        (index.join(format!("{config_hash}.config.json")), config.to_vec()),
        (staging.join("leaves.json"), to_json(&leaves)?),
        (staging.join("timestamp.json"), timestamp.to_vec()),
    ] {
        layout::write_new(&path, &bytes).map_err(write_err(&path))?;
    }
    Ok(())
}
