//! Turning a directory of sparse-index files into a signed tufmirror repository on disk.
//!
//! The flow is one way: [`input`] reads and validates (no writes), [`keys`] opens the role keys
//! and checks them against root, [`sign`] builds and signs the metadata (no I/O but the signers),
//! and [`layout`] writes a complete snapshot beside the served one and switches to it with one
//! atomic rename. A failure before the switch leaves what is served untouched.
//!
//! Beside that flow, [`ceremony`] holds the rules of root ceremonies (proposing, signing and
//! publishing root versions held by offline keys), and [`durable`] the durable writes and lock
//! files that this crate, the ceremonies and the daemon share.

#![warn(missing_docs)]

pub mod ceremony;
pub mod input;
pub mod keys;
pub mod layout;
pub mod publish;
pub mod sign;

pub use publish::{PublishOptions, PublishReport, RepositoryDamage, StaticPublishError, publish};
/// Durable writes and lock files; the implementation is in `tufmirror-durable`.
pub use tufmirror_durable as durable;
