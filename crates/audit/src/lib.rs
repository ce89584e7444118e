//! The auditor (docs/audit.md): it checks every tree a tufmirror mirror signed against the one
//! before, remembers what it checked so that the next run reads only what is new, and signs
//! attestations that clients can require.
//!
//! TAP-16 signatures say *who* signed a tree, not that the tree is honest: whoever holds the online
//! timestamp key can sign a tree that rolls a crate back or hides it. The auditor recomputes every
//! signed `merkle_root` from the published diffs and checks that history only moves forward: no
//! published version disappears or changes its `cksum`, no file leaves without a removal record
//! signed by the targets role, snapshots only rise, and each timestamp signs the root its
//! snapshot recomputes to. The rules are pure and live in `tufmirror_core::audit_rules`; this crate is
//! the I/O around them:
//!
//! - [`Auditor`] (`run`): one run: root chain, timestamps, snapshots, index contents, commit,
//!   attest;
//! - [`state`]: the state folder (redb), committed chunk by chunk, never ahead of what was checked;
//! - [`source`]: the mirror's files under its base URL, with size limits, many at a time;
//! - [`content`]: index file versions and the rule that they only move forward;
//! - [`attest`]: signing attestations, and [`require_audit`] for clients;
//! - [`report`], [`metrics`], [`service`]: what a person, a scheduler and Prometheus see.

#![warn(missing_docs)]

pub mod attest;
pub mod content;
mod error;
pub mod follow;
pub mod follow_metrics;
pub mod report;
mod run;
pub mod source;
pub mod state_folder;

pub use attest::{Attestor, RequireAuditError, fetch_attestations, require_audit};
pub use error::AuditError;
pub use report::{EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, Report};
pub use run::{Auditor, AuditorConfig};
