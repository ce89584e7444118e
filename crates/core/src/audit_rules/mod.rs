//! The auditor's rules (docs/audit.md), pure: no I/O and no clock. The I/O around them (fetching a
//! mirror's history, the state folder, signing attestations) is `tufmirror-audit`.
//!
//! TAP-16 leaves one hole that signatures alone cannot close: whoever holds the online timestamp
//! key can sign a tree that rolls a crate back or hides it. An auditor closes it by checking every
//! signed tree against the one before (this module's rules), and a client closes it by accepting
//! only trees that an auditor attested ([`check_attestations`]).
//!
//! - [`LeafTree`]: the snapshot tree kept bucket by bucket, so that a diff costs what it touches;
//! - [`rules`]: signatures under the root chain, removal records against diffs, the timestamp
//!   sequence;
//! - [`Finding`]: what is wrong, named so that a person can act on it;
//! - [`attestation`]: the auditors root declares, the signed attestation, and the client's check.

pub mod attestation;
mod finding;
pub mod rules;
mod tree;

pub use attestation::{
    ATTESTATION_TYPE, AUDITORS_FIELD, Attestation, AttestationError, Attested, Auditors, SignedAttestation,
    check_attestations,
};
pub use finding::{Finding, crate_of};
pub use tree::LeafTree;
