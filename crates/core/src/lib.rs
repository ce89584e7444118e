//! The pure heart of tufmirror: everything that decides which bytes are signed and whether a
//! signature, a threshold, an expiry or a Merkle proof is good. No I/O, no async and no clock: the
//! current time is always an argument, so every rule here is testable with fixed inputs.
//!
//! The formats are specified in `docs/POUF.md`; this crate is their reference implementation.

pub mod audit;
pub mod cjson;
pub mod delegation;
pub mod diff;
pub mod hash;
pub mod key;
pub mod merkle;
pub mod metadata;
pub mod time;
pub mod trusted;
pub mod verify;

pub use hash::Sha256Hash;
pub use key::{KeyId, PublicKey};
pub use metadata::{Role, Root, Snapshot, Targets, Timestamp};
