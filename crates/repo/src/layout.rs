//! The on-disk layout of a published repository (docs/POUF.md 2.1 and 2.3) and the atomic switch.
//!
//! ```text
//! OUT/current                 -> snapshots/N        the one mutable pointer, replaced by rename(2)
//! OUT/index                   -> current/index      (stable link)
//! OUT/tuf/timestamp.json      -> ../current/timestamp.json   (stable link)
//! OUT/tuf/N.root.json, root.json, N.snapshot.json, N.targets.json   add-only
//! OUT/snapshots/N/{index/, proofs/, leaves.json, timestamp.json}    complete and immutable
//! OUT/history/N.diff.json, V.timestamp.json                          add-only, kept forever
//! OUT/blobs/hh/<sha256>       index files by hash, hard-linked into the snapshot trees
//! ```
//!
//! Everything of snapshot N+1 is written and flushed to disk before `current` moves, so a reader
//! (or a restart after a crash) sees all of N or all of N+1.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use tufmirror_core::Sha256Hash;

/// Paths inside an output directory.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The output directory (`OUT`).
    pub dir: PathBuf,
}

impl Layout {
    /// The layout of the output directory `dir` (nothing is created).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Layout { dir: dir.into() }
    }

    /// `OUT/current`: the link to the current snapshot's tree.
    pub fn current(&self) -> PathBuf {
        self.dir.join("current")
    }
    /// `OUT/tuf/<file>`: a TUF metadata file.
    pub fn tuf(&self, file: &str) -> PathBuf {
        self.dir.join("tuf").join(file)
    }
    /// `OUT/history/<file>`: a diff or past timestamp, kept forever.
    pub fn history(&self, file: &str) -> PathBuf {
        self.dir.join("history").join(file)
    }
    /// `OUT/snapshots`: the folder of snapshot trees.
    pub fn snapshots(&self) -> PathBuf {
        self.dir.join("snapshots")
    }
    /// `OUT/snapshots/<version>`: one snapshot's complete tree.
    pub fn snapshot(&self, version: u64) -> PathBuf {
        self.snapshots().join(version.to_string())
    }
    /// `OUT/snapshots/.staging-<version>`: where a snapshot's tree is built before it is renamed into place.
    pub fn staging(&self, version: u64) -> PathBuf {
        self.snapshots().join(format!(".staging-{version}"))
    }
    /// `OUT/blobs/hh/<sha256>`: an index file, by the hash of its bytes.
    pub fn blob(&self, hash: &Sha256Hash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join("blobs").join(&hex[..2]).join(hex)
    }

    /// The snapshot version `current` points at, if anything has been published.
    pub fn current_version(&self) -> io::Result<Option<u64>> {
        match fs::read_link(self.current()) {
            Ok(target) => {
                let version =
                    target.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).ok_or_else(|| {
                        io::Error::other(format!("{} points at {}", self.current().display(), target.display()))
                    })?;
                Ok(Some(version))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether `dir` can become (or already is) a repository: it is missing, empty, or has
    /// `current` or `tuf/`.
    pub fn is_repository_or_empty(&self) -> io::Result<bool> {
        match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e),
            Ok(mut entries) => Ok(entries.next().is_none() || self.dir.join("tuf").is_dir()),
        }
    }

    /// Creates the folders and the stable links of an empty repository (idempotent).
    pub fn init(&self) -> io::Result<()> {
        for d in ["tuf", "history", "snapshots", "blobs"] {
            fs::create_dir_all(self.dir.join(d))?;
        }
        ensure_symlink(Path::new("current/index"), &self.dir.join("index"))?;
        ensure_symlink(Path::new("../current/timestamp.json"), &self.tuf("timestamp.json"))?;
        Ok(())
    }

    /// Points `current` at snapshot `version` with one atomic rename, then flushes the directory.
    pub fn switch_to(&self, version: u64) -> io::Result<()> {
        let tmp = self.dir.join(".current.tmp");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new("snapshots").join(version.to_string()), &tmp)?;
        fs::rename(&tmp, self.current())?;
        File::open(&self.dir)?.sync_all()
    }
}

fn ensure_symlink(target: &Path, link: &Path) -> io::Result<()> {
    match fs::read_link(link) {
        Ok(existing) if existing == target => Ok(()),
        Ok(_) => {
            fs::remove_file(link)?;
            std::os::unix::fs::symlink(target, link)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::os::unix::fs::symlink(target, link),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path`, creating folders. Not atomic: used for files nobody reads yet.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)
}

/// Writes `bytes` to a sibling and renames it over `path` (creating folders): a reader or a
/// crash sees the old file or the whole new one. Not flushed: `sync_filesystem` does that for
/// a whole publish at once.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp-write");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Hard-links `from` to `to` (creating folders), copying where links are not possible.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) => fs::copy(from, to).map(|_| ()),
    }
}

/// Flushes every file written so far on the filesystem holding `dir`: one `syncfs(2)` instead of
/// one `fsync` per index file.
pub fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let f = File::open(dir)?;
    rustix::fs::syncfs(&f).map_err(io::Error::from)
}

/// Takes the publish lock of `dir` (`.lock`), failing at once if another publish holds it.
pub fn lock(dir: &Path) -> io::Result<File> {
    let path = dir.join(".lock");
    crate::durable::try_lock(&path)?
        .ok_or_else(|| io::Error::other(format!("another publish holds {}", path.display())))
}

/// Removes snapshot trees older than the newest `keep`, leftovers of interrupted publishes, and
/// blobs that no retained snapshot links to any more.
pub fn prune(layout: &Layout, current: u64, keep: u64) -> io::Result<()> {
    let oldest_kept = current.saturating_sub(keep.max(1) - 1);
    for entry in fs::read_dir(layout.snapshots())? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = match name.parse::<u64>() {
            Ok(v) => v < oldest_kept || v > current,
            Err(_) => name.starts_with(".staging-"),
        };
        if stale {
            fs::remove_dir_all(entry.path())?;
        }
    }
    // A blob whose only link is its own name is referenced by no snapshot tree.
    use std::os::unix::fs::MetadataExt;
    let blobs = layout.dir.join("blobs");
    for shard in fs::read_dir(&blobs)? {
        let shard = shard?.path();
        for blob in fs::read_dir(&shard)? {
            let blob = blob?.path();
            if fs::metadata(&blob)?.nlink() == 1 {
                fs::remove_file(&blob)?;
            }
        }
    }
    Ok(())
}
