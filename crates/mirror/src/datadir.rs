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

use std::path::PathBuf;

/// The daemon's data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    /// The folder itself (`storage.data_dir`).
    pub root: PathBuf,
}

impl DataDir {
    /// The data folder at `root`; nothing is created or checked.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// `state.redb`, the state database.
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.redb")
    }

    /// `blobs/`: index files and leaf lists, by content.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// `crates/`: `.crate` files, by content.
    pub fn crates(&self) -> PathBuf {
        self.root.join("crates")
    }

    /// `tuf/<file>`: served TUF metadata.
    pub fn tuf(&self, file: &str) -> PathBuf {
        self.root.join("tuf").join(file)
    }

    /// `history/<file>`: snapshot diffs and past timestamps.
    pub fn history(&self, file: &str) -> PathBuf {
        self.root.join("history").join(file)
    }

    /// `admin.token`: the bearer token of the `/admin/` routes.
    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// `.lock`: held by the one process that owns the folder (see [`DataDir::try_lock`]).
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// Takes the folder's `.lock`, the lock of the one process that may change the folder (the
    /// daemon, `tufmirror sync`): `None` when another process holds it.
    pub fn try_lock(&self) -> std::io::Result<Option<std::fs::File>> {
        tufmirror_repo::durable::try_lock(&self.lock_file())
    }

    /// Whether a daemon owns the folder. When nobody does, the caller gets the lock, so that no
    /// daemon starts while it writes (`tufmirror root publish`).
    pub fn owner(&self) -> std::io::Result<DataDirOwner> {
        if !self.root.is_dir() {
            return Ok(DataDirOwner::Nobody(None));
        }
        Ok(match self.try_lock()? {
            Some(lock) => DataDirOwner::Nobody(Some(lock)),
            None => DataDirOwner::Daemon,
        })
    }

    /// Creates the folders.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [self.root.clone(), self.root.join("tuf"), self.root.join("history")] {
            std::fs::create_dir_all(&dir)?;
        }
        Ok(())
    }
}

/// Who owns a data folder, as seen by a command that wants to change it while no daemon runs.
#[derive(Debug)]
pub enum DataDirOwner {
    /// Another process (the daemon, or `tufmirror sync`) holds the folder's `.lock`.
    Daemon,
    /// Nobody: the lock is now held by the caller for as long as it keeps this value (`None`
    /// when the folder does not exist yet).
    Nobody(Option<std::fs::File>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_data_folder_lock_means_a_daemon() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(DataDir::new(dir.path().join("absent")).owner(), Ok(DataDirOwner::Nobody(None))));
        let data = DataDir::new(dir.path());
        let held = data.try_lock().expect("lock").expect("free");
        assert!(matches!(data.owner(), Ok(DataDirOwner::Daemon)));
        drop(held);
        let mine = data.owner().expect("free");
        assert!(matches!(mine, DataDirOwner::Nobody(Some(_))));
        assert!(matches!(data.owner(), Ok(DataDirOwner::Daemon)), "the caller now holds it");
        assert!(data.try_lock().expect("lock").is_none());
    }
}
