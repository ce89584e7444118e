//! The mirror daemon's engine: configuration, what to mirror, checks against upstream,
//! publishing signed snapshots, on-demand batches, `.crate` downloads and the quarantine. HTTP
//! lives in `tufmirror-server`; this crate decides and stores.

pub mod cache;
pub mod check;
pub mod config;
pub mod datadir;
pub mod decide;
pub mod downloads;
pub mod keys;
pub mod lookup;
pub mod maintenance;
pub mod metrics;
pub mod mirror;
mod ondemand;
pub mod published;
pub mod publisher;
pub mod quarantine;
mod retention;
pub mod rotation;
pub mod selection;
pub mod sync;

pub use check::CheckResult;
pub use config::Config;
pub use lookup::IndexAnswer;
pub use mirror::{Mirror, OpenError};

pub use tufmirror_core::error_chain;
