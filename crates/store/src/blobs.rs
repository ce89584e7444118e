//! Content-addressed files: `ROOT/hh/<sha256>`, immutable once written.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tufmirror_core::Sha256Hash;

/// A folder of files named by the SHA-256 of their bytes.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens the store at `root`, creating the folder if needed.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(BlobStore { root })
    }

    /// Where the blob `hash` is (or would be) stored: `ROOT/hh/<hex>`.
    pub fn path(&self, hash: &Sha256Hash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[..2]).join(hex)
    }

    /// Stores `bytes` durably and returns their hash. The file appears under its final name only
    /// after its bytes are flushed (write, fsync, rename, fsync the folder), so a blob written
    /// this way is always whole.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Sha256Hash> {
        self.write(bytes, true)
    }

    /// Stores `bytes` without flushing them: many blobs are then made durable together by one
    /// `syncfs` ([`Self::sync`]) before anything refers to them. A crash before that sync may leave
    /// a torn blob under its final name, which is why an existing blob is only reused when its
    /// bytes still have its hash.
    pub fn put_deferred(&self, bytes: &[u8]) -> io::Result<Sha256Hash> {
        self.write(bytes, false)
    }

    fn write(&self, bytes: &[u8], durable: bool) -> io::Result<Sha256Hash> {
        let hash = Sha256Hash::of(bytes);
        let path = self.path(&hash);
        if fs::read(&path).is_ok_and(|existing| Sha256Hash::of(&existing) == hash) {
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", hash.to_hex()));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            if durable {
                f.sync_all()?;
            }
        }
        fs::rename(&tmp, &path)?;
        if durable {
            File::open(dir)?.sync_all()?;
        }
        Ok(hash)
    }

    /// Flushes every deferred write of this filesystem (`syncfs(2)`): one call instead of an
    /// fsync per file.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::syncfs(File::open(&self.root)?).map_err(io::Error::from)
    }

    /// Reads a blob and checks that its bytes still have its hash (disks and people make
    /// mistakes; a served file must be the signed one).
    pub fn get(&self, hash: &Sha256Hash) -> io::Result<Vec<u8>> {
        let bytes = fs::read(self.path(hash))?;
        if Sha256Hash::of(&bytes) != *hash {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("blob {hash} is corrupt")));
        }
        Ok(bytes)
    }

    /// Whether a blob named `hash` exists (its bytes are not checked).
    pub fn contains(&self, hash: &Sha256Hash) -> bool {
        self.path(hash).is_file()
    }

    /// Removes every blob not in `keep`, and leftovers of interrupted writes.
    pub fn retain(&self, keep: &dyn Fn(&Sha256Hash) -> bool) -> io::Result<usize> {
        let mut removed = 0;
        for shard in fs::read_dir(&self.root)? {
            let shard = shard?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&shard)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let wanted = Sha256Hash::from_hex(name).is_ok_and(|h| keep(&h));
                if !wanted {
                    fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_corruption_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let h = store.put(b"{\"name\": \"x\"}\n").expect("put");
        assert_eq!(store.put(b"{\"name\": \"x\"}\n").expect("again"), h);
        assert_eq!(store.get(&h).expect("get"), b"{\"name\": \"x\"}\n");
        fs::write(store.path(&h), b"tampered").expect("tamper");
        assert_eq!(store.get(&h).expect_err("corrupt").kind(), io::ErrorKind::InvalidData);
        // A torn or corrupt blob is rewritten, not reused.
        assert_eq!(store.put_deferred(b"{\"name\": \"x\"}\n").expect("rewrite"), h);
        store.sync().expect("sync");
        assert_eq!(store.get(&h).expect("get"), b"{\"name\": \"x\"}\n");
    }

    #[test]
    fn retain_removes_unwanted_blobs_and_leftovers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path()).expect("open");
        let keep = store.put(b"keep").expect("put");
        let drop = store.put(b"drop").expect("put");
        fs::write(store.path(&keep).with_file_name(".leftover.tmp"), b"x").expect("leftover");
        assert_eq!(store.retain(&|h| *h == keep).expect("retain"), 2);
        assert!(store.contains(&keep) && !store.contains(&drop));
    }
}
