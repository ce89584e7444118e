//! The pure heart of tufmirror: everything that decides which bytes are signed and whether a
//! signature, a threshold, an expiry or a Merkle proof is good. No I/O, no async and no clock: the
//! current time is always an argument, so every rule here is testable with fixed inputs.
//!
//! The formats are specified in `docs/POUF.md`; this crate is their reference implementation.

#![warn(missing_docs)]

pub mod audit_rules;
pub mod binding;
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
pub mod wire;

pub use hash::Sha256Hash;

/// An error and its causes on one line, `outer: cause: cause`, for logs, command-line messages
/// and the one-line bodies the proxy sends cargo. A cause whose text already ends the line (a
/// wrapper that repeats its source) is not written twice, and line breaks become spaces.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out.replace(['\n', '\r'], " ")
}
pub use key::{KeyId, PublicKey};
pub use metadata::{Role, Root, Snapshot, Targets, Timestamp};

#[cfg(test)]
mod tests {
    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn error_chain_is_one_line_without_repeats() {
        let e = E("outer", Some(Box::new(E("same", Some(Box::new(E("same", Some(Box::new(E("two\nlines", None))))))))));
        assert_eq!(super::error_chain(&e), "outer: same: two lines");
    }
}
