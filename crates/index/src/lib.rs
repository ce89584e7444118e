//! Cargo's sparse-index protocol, as far as a mirror must understand it: which names are crates,
//! where their files live, what `config.json` says, and whether an index file is well formed.
//!
//! Index files are opaque bytes everywhere else in tufmirror: they are validated here but never
//! re-serialized, because upstream's exact bytes are what is hashed, signed and served.

#![warn(missing_docs)]

mod config;
mod history;
mod line;
mod path;

pub use config::{RegistryConfig, RegistryConfigError};
pub use history::{History, HistoryRule, HistoryViolation, MAY_APPEAR};
pub use line::{IndexFileError, IndexLine, LineError, validate_index_file};
pub use path::{CrateName, NameError, PathError, crate_of_path, index_path};
