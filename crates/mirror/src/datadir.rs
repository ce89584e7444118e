//! Where the daemon keeps things. One folder, so that a backup, a move or an air-gapped
//! transfer is one copy:
//!
//! | path | what |
//! |---|---|
//! | `state.redb` | the state database (files, versions, quarantine, snapshots) |
//! | `blobs/hh/<sha256>` | index files and leaf lists, by content |
//! | `crates/hh/<sha256>` | `.crate` files, by content (their sha256 is their `cksum`) |
//! | `tuf/` | `N.root.json`, `N.snapshot.json`, `N.targets.json` (the current timestamp is served from memory) |
//! | `history/` | `N.diff.json`, `V.timestamp.json` |
//! | `admin.token` | the bearer token of the `/admin/` routes (mode 0600) |
//! | `.lock` | held by the one process that owns the folder |

use std::path::{Path, PathBuf};

/// The daemon's data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.redb")
    }

    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub fn crates(&self) -> PathBuf {
        self.root.join("crates")
    }

    pub fn tuf(&self, file: &str) -> PathBuf {
        self.root.join("tuf").join(file)
    }

    pub fn history(&self, file: &str) -> PathBuf {
        self.root.join("history").join(file)
    }

    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// Creates the folders.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [self.root.clone(), self.root.join("tuf"), self.root.join("history")] {
            std::fs::create_dir_all(&dir)?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, flushed (file and folder)
/// before returning: a reader sees the old bytes or the new ones, and a crash keeps one of them.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
