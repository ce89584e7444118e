//! Reading a directory laid out as cargo expects (`1/`, `2/`, `3/a/`, `ab/cd/`) and validating
//! every file before anything is written anywhere.

use std::path::{Path, PathBuf};
use tufmirror_core::merkle::Leaf;
use tufmirror_index::{
    IndexFileError, PathError, RegistryConfig, RegistryConfigError, crate_of_path, validate_index_file,
};

/// One validated index file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where the bytes are on disk.
    pub source: PathBuf,
    /// The file's leaf; `leaf.path` is its sparse-index path.
    pub leaf: Leaf,
}

/// A validated input directory: files sorted by sparse path, and `config.json` if it had one.
#[derive(Debug, Clone)]
pub struct InputIndex {
    /// The index files, sorted by sparse path, each validated.
    pub files: Vec<InputFile>,
    /// The bytes of the directory's `config.json`; `None` when it has none.
    pub config: Option<Vec<u8>>,
}

/// Why an input directory was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A file or folder cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// A file whose path is not where cargo looks for any crate.
    #[error("{path}: not a file of the sparse-index layout")]
    NotIndexPath {
        /// The file.
        path: PathBuf,
        /// Why the path is not an index path.
        #[source]
        source: PathError,
    },
    /// A symbolic link, which is refused.
    #[error("{path}: symbolic links are not allowed in an index directory")]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A file name that is not UTF-8.
    #[error("{path}: file names must be UTF-8")]
    NonUtf8Name {
        /// The file.
        path: PathBuf,
    },
    /// An index file that is not valid.
    #[error("{path}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: IndexFileError,
    },
    /// A `config.json` that cargo could not use.
    #[error("{path}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: RegistryConfigError,
    },
    /// A file whose bytes changed between validation and publication.
    #[error("{path} changed while it was being published")]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

/// Walks `dir`, validates every file and returns them sorted by sparse path.
pub fn read_index_dir(dir: &Path) -> Result<InputIndex, InputError> {
    let mut found = Vec::new();
    let mut config = None;
    walk(dir, dir, &mut found, &mut config)?;
    found.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    // Validation is CPU-bound JSON parsing; spread it over the cores, keep the first error in path
    // order so that the message is the same on every run.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = found.len().div_ceil(workers).max(1);
    let results: Vec<Result<Vec<InputFile>, InputError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = found
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|(rel, abs)| validate_file(rel, abs)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(InputError::Changed { path: dir.to_owned() })))
            .collect()
    });
    let mut files = Vec::with_capacity(found.len());
    for part in results {
        files.extend(part?);
    }
    Ok(InputIndex { files, config })
}

fn validate_file(rel: &str, abs: &Path) -> Result<InputFile, InputError> {
    let name = crate_of_path(rel).map_err(|source| InputError::NotIndexPath { path: abs.to_owned(), source })?;
    let bytes = std::fs::read(abs).map_err(|source| InputError::Io { path: abs.to_owned(), source })?;
    validate_index_file(&bytes, &name).map_err(|source| InputError::InvalidFile { path: abs.to_owned(), source })?;
    Ok(InputFile { source: abs.to_owned(), leaf: Leaf::of(rel, &bytes) })
}

fn walk(
    root: &Path,
    dir: &Path,
    found: &mut Vec<(String, PathBuf)>,
    config: &mut Option<Vec<u8>>,
) -> Result<(), InputError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| InputError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_symlink() {
            return Err(InputError::Symlink { path });
        }
        if kind.is_dir() {
            walk(root, &path, found, config)?;
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let Some(rel) = rel.to_str() else {
            return Err(InputError::NonUtf8Name { path });
        };
        let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
        if rel == "config.json" {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            RegistryConfig::parse(&bytes).map_err(|source| InputError::Config { path: path.clone(), source })?;
            *config = Some(bytes);
        } else {
            found.push((rel, path));
        }
    }
    Ok(())
}

/// Reads a validated file again for publishing, checking that it is still the file that was
/// validated.
pub fn read_again(file: &InputFile) -> Result<Vec<u8>, InputError> {
    let bytes = std::fs::read(&file.source).map_err(|source| InputError::Io { path: file.source.clone(), source })?;
    if Leaf::of(file.leaf.path.clone(), &bytes) != file.leaf {
        return Err(InputError::Changed { path: file.source.clone() });
    }
    Ok(bytes)
}
