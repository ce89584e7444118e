//! Static files from a served tree, opened so that a request can never leave it.
//!
//! The trees served this way are a `publish` output (whose `current`, `index` and
//! `tuf/timestamp.json` are relative links inside it) and the daemon's `DATA/audit/`, which the
//! auditor's account writes. Whoever can write a served tree must not be able to publish other
//! files through it: a link to `..` would otherwise serve `DATA/keys/*.pem` or `DATA/admin.token`
//! to anyone. So every file is opened relative to the tree's folder with `openat2`:
//! [`Links::Inside`] lets links resolve as long as every step stays beneath the tree (an absolute
//! link, or one that climbs out, fails); [`Links::Never`] refuses any link at all. Only regular
//! files are answered; everything else (a folder, a FIFO, a device, a missing file, a refused
//! link) is a plain 404 that does not say which.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Which symbolic links a served tree may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Links that resolve inside the tree (relative ones that never climb above it).
    Inside,
    /// None: every component must be a real folder or file.
    Never,
}

/// Why a file is not served; all of them reach the client as the same 404.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not a relative path of normal components.
    #[error("not a plain relative path")]
    BadPath,
    /// A folder, a FIFO, a device: only regular files are served.
    #[error("not a regular file")]
    NotRegular,
    /// Opening or reading failed: missing, a link that leaves the tree, no permission.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The blocking task that reads the file failed (it panicked, or the runtime is shutting
    /// down): a fault of ours, unlike the others.
    #[error("reading the file failed: {0}")]
    Task(String),
}

/// `rel` as a path below a tree: non-empty `/`-separated names, none of them empty, `.` or `..`,
/// and no NUL. Anything else is refused before the file system is asked.
fn relative(rel: &str) -> Option<PathBuf> {
    if rel.is_empty() || rel.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

/// Reads the regular file `rel` below `root`, following links only as `links` allows. Blocking.
pub fn read_beneath(root: &Path, rel: &str, links: Links) -> Result<Vec<u8>, FileError> {
    let rel = relative(rel).ok_or(FileError::BadPath)?;
    let dir = rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(std::io::Error::from)?;
    let resolve = match links {
        Links::Inside => ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        Links::Never => ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    };
    // O_NONBLOCK: opening a FIFO someone left in the tree must not hang the request.
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let mut file = match rustix::fs::openat2(&dir, &rel, flags, Mode::empty(), resolve) {
        Ok(fd) => std::fs::File::from(fd),
        Err(rustix::io::Errno::NOSYS) => open_checked(root, &rel, links)?,
        Err(e) => return Err(FileError::Io(e.into())),
    };
    if !file.metadata()?.is_file() {
        return Err(FileError::NotRegular);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Without `openat2` (Linux before 5.6, or a seccomp filter that refuses it): the same rules
/// checked on the resolved path before opening it. A link swapped in between the check and the
/// open can still win that race; `openat2` has no such window.
fn open_checked(root: &Path, rel: &Path, links: Links) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let root = root.canonicalize()?;
    if links == Links::Never {
        let mut path = root.clone();
        for part in rel.components() {
            path.push(part);
            if path.symlink_metadata()?.file_type().is_symlink() {
                return Err(rustix::io::Errno::LOOP.into());
            }
        }
    }
    let real = root.join(rel).canonicalize()?;
    if !real.starts_with(&root) {
        return Err(rustix::io::Errno::XDEV.into());
    }
    let flags = (OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits();
    std::fs::OpenOptions::new().read(true).custom_flags(flags as i32).open(real)
}

/// [`read_beneath`] on the blocking pool.
pub async fn read_beneath_async(root: PathBuf, rel: String, links: Links) -> Result<Vec<u8>, FileError> {
    tokio::task::spawn_blocking(move || read_beneath(&root, &rel, links))
        .await
        .map_err(|e| FileError::Task(e.to_string()))?
}

/// The answer for `rel` below `root`: the file's bytes, typed by its name. The front ends turn
/// the error into their 404 (or 500 for [`FileError::Task`]).
pub async fn serve_beneath(root: PathBuf, rel: String, links: Links) -> Result<Response, FileError> {
    let kind = if rel.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    let bytes = read_beneath_async(root, rel, links).await?;
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("served");
        std::fs::create_dir_all(root.join("snapshots/1")).expect("mkdir");
        std::fs::write(root.join("snapshots/1/timestamp.json"), b"ts").expect("write");
        std::fs::write(tmp.path().join("admin.token"), b"secret").expect("write");
        symlink("snapshots/1", root.join("current")).expect("link");
        std::fs::create_dir(root.join("tuf")).expect("mkdir");
        symlink("../current/timestamp.json", root.join("tuf/timestamp.json")).expect("link");
        symlink("..", root.join("up")).expect("link");
        symlink(tmp.path().join("admin.token"), root.join("absolute")).expect("link");
        symlink(root.join("snapshots/1/timestamp.json"), root.join("absolute-inside")).expect("link");
        tmp
    }

    #[test]
    fn links_inside_the_tree_are_followed_and_nothing_leaves_it() {
        let tmp = tree();
        let root = tmp.path().join("served");
        assert_eq!(read_beneath(&root, "tuf/timestamp.json", Links::Inside).expect("inside"), b"ts");
        assert_eq!(read_beneath(&root, "current/timestamp.json", Links::Inside).expect("inside"), b"ts");
        for escape in ["up/admin.token", "absolute", "absolute-inside"] {
            let e = read_beneath(&root, escape, Links::Inside).expect_err(escape);
            // EXDEV is openat2's answer to a resolution that leaves the tree.
            assert!(
                matches!(&e, FileError::Io(io) if io.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error())),
                "{escape}: {e:?}"
            );
        }
        for bad in ["../admin.token", "/etc/passwd", "snapshots//1/timestamp.json", "./tuf/timestamp.json", ""] {
            assert!(matches!(read_beneath(&root, bad, Links::Inside), Err(FileError::BadPath)), "{bad}");
        }
        assert!(matches!(read_beneath(&root, "snapshots", Links::Inside), Err(FileError::NotRegular)));
    }

    #[test]
    fn a_tree_without_links_refuses_every_link() {
        let tmp = tree();
        let root = tmp.path().join("served");
        assert_eq!(read_beneath(&root, "snapshots/1/timestamp.json", Links::Never).expect("plain"), b"ts");
        for link in ["tuf/timestamp.json", "current/timestamp.json", "up/admin.token", "absolute"] {
            let e = read_beneath(&root, link, Links::Never).expect_err(link);
            assert!(
                matches!(&e, FileError::Io(io) if io.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
                    || io.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error())),
                "{link}: {e:?}"
            );
        }
    }

    #[test]
    fn a_fifo_is_not_a_file() {
        let tmp = tree();
        let root = tmp.path().join("served");
        rustix::fs::mknodat(rustix::fs::CWD, root.join("pipe"), rustix::fs::FileType::Fifo, Mode::RUSR | Mode::WUSR, 0)
            .expect("mkfifo");
        assert!(matches!(read_beneath(&root, "pipe", Links::Never), Err(FileError::NotRegular)));
    }
}
