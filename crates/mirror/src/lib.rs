//! The mirror daemon's engine: configuration, what to mirror, checks against upstream,
//! publishing signed snapshots, on-demand batches, `.crate` downloads and the quarantine. HTTP
//! lives in `tufmirror-server`; this crate decides and stores.
//!
//! [`Mirror`] composes the parts; each part is a module whose documentation opens with its
//! contract (what a crash leaves, what is safe concurrently, who retries):
//! - [`storage`]: the data folder's stores; [`publisher`]: the only writer of snapshots;
//! - [`checker`]: one crate against upstream; [`ondemand`]: batches of checks for requests;
//!   [`lookup`]: answering index requests; [`downloads`]: `.crate` files;
//! - [`refresh`]: full refreshes; [`resign`]: re-signing before expiry; [`maintenance`]: the
//!   daemon's schedule; [`retention`]: which snapshots stay readable;
//! - [`quarantine`]: the operator's decisions; [`rotation`]: adopting a new root.
//!
//! Errors follow the policy at the top of [`error`].

#![warn(missing_docs)]

pub mod cache;
pub mod changes;
pub mod checker;
pub mod clock;
pub mod config;
pub mod daemon_keys;
pub mod datadir;
pub mod decide;
pub mod downloads;
pub mod engine;
pub mod error;
pub mod lookup;
pub mod maintenance;
pub mod metrics;
pub mod ondemand;
pub mod published;
pub mod publisher;
pub mod quarantine;
pub mod refresh;
pub mod resign;
pub mod retention;
pub mod rotation;
pub mod selection;
pub mod storage;

pub use changes::Changes;
pub use checker::CheckResult;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use engine::{Mirror, OpenError};
pub use error::CheckError;
pub use lookup::IndexAnswer;

pub use tufmirror_core::error_chain;
