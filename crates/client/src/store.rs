//! The client's metadata folder: one file per role, written durably.
//!
//! Only the newest trusted version of each role is kept, under its unversioned name (what the
//! TUF conformance suite inspects). Role names come from delegations, that is from the
//! repository, so they are percent-encoded into file names: nothing but letters, digits and
//! `_.-~` survives, and a name like `../x` or `a/b` stays inside the folder.

use crate::ClientError;
use std::io;
use std::path::{Path, PathBuf};
use tufmirror_durable::{IfExists, write_durably};

/// Percent-encodes everything but ASCII letters, digits and `_.-~` (Python's
/// `urllib.parse.quote(name, safe="")`, which python-tuf uses for file names and URLs).
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The folder that holds a client's trusted metadata.
#[derive(Debug, Clone)]
pub struct MetadataDir {
    path: PathBuf,
}

impl MetadataDir {
    /// The metadata folder at `path` (nothing is read or created yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MetadataDir { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `role`'s metadata is kept.
    pub fn file(&self, role: &str) -> PathBuf {
        self.path.join(format!("{}.json", encode_name(role)))
    }

    /// The stored bytes of `role`, or `None` if there are none.
    pub fn read(&self, role: &str) -> Result<Option<Vec<u8>>, ClientError> {
        let path = self.file(role);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ClientError::Io { action: "read", path, source }),
        }
    }

    /// Replaces `role`'s stored bytes; once this returns, a crash keeps them.
    pub fn write(&self, role: &str, bytes: &[u8]) -> Result<(), ClientError> {
        let path = self.file(role);
        write_durably(&path, bytes, IfExists::Replace).map_err(|source| ClientError::Io {
            action: "write",
            path,
            source,
        })
    }

    /// Deletes `role`'s stored bytes, if any.
    pub fn remove(&self, role: &str) -> Result<(), ClientError> {
        let path = self.file(role);
        match std::fs::remove_file(&path) {
            Ok(()) => std::fs::File::open(&self.path)
                .and_then(|dir| dir.sync_all())
                .map_err(|source| ClientError::Io { action: "sync", path: self.path.clone(), source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ClientError::Io { action: "delete", path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_like_python_quote() {
        assert_eq!(encode_name("targets"), "targets");
        assert_eq!(encode_name("bin-0a_x.y~"), "bin-0a_x.y~");
        assert_eq!(encode_name("../delegatedrole"), "..%2Fdelegatedrole");
        assert_eq!(encode_name("/delegatedrole"), "%2Fdelegatedrole");
        assert_eq!(encode_name("?"), "%3F");
        assert_eq!(encode_name("#"), "%23");
        assert_eq!(encode_name("a b:ä"), "a%20b%3A%C3%A4");
    }

    #[test]
    fn files_stay_inside_the_folder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = MetadataDir::new(tmp.path());
        dir.write("../escape", b"x").expect("write");
        assert_eq!(dir.read("../escape").expect("read"), Some(b"x".to_vec()));
        assert!(tmp.path().join("..%2Fescape.json").exists());
        dir.remove("../escape").expect("remove");
        dir.remove("../escape").expect("removing twice is fine");
        assert_eq!(dir.read("../escape").expect("read"), None);
    }
}
