//! The two file-system primitives that everything writing tufmirror's folders relies on (the
//! publisher, root ceremonies, the daemon): writing a file so that a crash leaves either the
//! old bytes or the new ones, and the `.lock` file that keeps a second process out of a folder.
//!
//! They live in a crate of their own, the lowest that does I/O, so that there is one
//! implementation of each: `tufmirror publish` and the daemon reach them through
//! `tufmirror_repo::durable`, and the TUF client (which must not depend on the signing backends
//! that `tufmirror-repo` brings) uses them directly for its trusted metadata.

#![warn(missing_docs)]

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// What [`write_durably`] does when the file is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Replace it atomically (`rename(2)`): a reader sees the old bytes or the new ones.
    Replace,
    /// Leave it alone and fail with [`io::ErrorKind::AlreadyExists`]. The file is put in place
    /// with a hard link, which fails if the name appeared meanwhile: never a silent overwrite.
    Refuse,
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed before it takes
/// the name and the folder flushed after: once this returns, a crash keeps the new file.
pub fn write_durably(path: &Path, bytes: &[u8], if_exists: IfExists) -> io::Result<()> {
    if if_exists == IfExists::Refuse && path.exists() {
        return Err(io::ErrorKind::AlreadyExists.into());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display())));
    };
    // The process id keeps two processes that write the same name off each other's file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    let placed = written.and_then(|()| match if_exists {
        IfExists::Replace => fs::rename(&tmp, path),
        IfExists::Refuse => {
            let linked = fs::hard_link(&tmp, path);
            let _ = fs::remove_file(&tmp);
            linked
        }
    });
    if let Err(e) = placed {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(&dir)?.sync_all()
}

/// Takes the exclusive lock of the lock file `path` (created if missing) without waiting:
/// `None` when another process holds it. The lock lasts as long as the returned file is open.
pub fn try_lock(path: &Path) -> io::Result<Option<File>> {
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        names.sort();
        names
    }

    #[test]
    fn refuse_never_overwrites_and_replace_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.json");
        write_durably(&path, b"first", IfExists::Refuse).expect("write");
        let err = write_durably(&path, b"second", IfExists::Refuse).expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).expect("read"), b"first");
        write_durably(&path, b"third", IfExists::Replace).expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"third");
        assert_eq!(names(dir.path()), vec![std::ffi::OsString::from("a.json")], "no temporary file is left behind");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should go: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).expect("mkdir");
        fs::write(path.join("x"), b"x").expect("x");
        assert!(write_durably(&path, b"bytes", IfExists::Replace).is_err());
        assert_eq!(names(dir.path()), vec![std::ffi::OsString::from("taken")]);
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = write_durably(Path::new("/"), b"bytes", IfExists::Replace).expect_err("no file name");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("names no file"), "{err}");
    }

    #[test]
    fn a_held_lock_is_seen_by_the_next_taker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".lock");
        let held = try_lock(&path).expect("lock").expect("free");
        assert!(try_lock(&path).expect("lock").is_none(), "flock conflicts between open files");
        drop(held);
        assert!(try_lock(&path).expect("lock").is_some());
        assert!(try_lock(&dir.path().join("absent/.lock")).is_err());
    }
}
