//! The history check (`crates/index/src/history.rs`) with two hostile files: the one published
//! before and the one offered now, separated by a line holding only `---`.
//!
//! Properties that hold for any rule that keeps published history immutable: a file never
//! contradicts itself, appending new versions is never a violation, and a published version that
//! disappears always is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use tufmirror_index::{CrateName, IndexLine, validate_index_file};

/// The history check as the mirror calls it (a thin call so that a change of the rule's
/// signature is adapted here only). Returns the number of violations.
fn history_violations(published: &[IndexLine], offered: &[IndexLine]) -> usize {
    let published: BTreeMap<String, String> = published.iter().map(|l| (l.vers.clone(), l.cksum.clone())).collect();
    tufmirror_index::check_history(&published, offered).len()
}

fuzz_target!(|data: &[u8]| {
    let Some(at) = data.windows(5).position(|w| w == b"\n---\n") else { return };
    let (old, new) = (&data[..at], &data[at + 5..]);
    let name = CrateName::new("foo").expect("a crate name");
    let (Ok(old), Ok(new)) = (validate_index_file(old, &name), validate_index_file(new, &name)) else { return };
    assert_eq!(history_violations(&old, &old), 0);
    assert_eq!(history_violations(&new, &new), 0);
    let violations = history_violations(&old, &new);
    if old.iter().any(|o| !new.iter().any(|n| n.vers == o.vers)) {
        assert!(violations > 0, "a published version disappeared unnoticed");
    }
    // Everything published, then new versions: fine.
    let mut appended = old.clone();
    appended.extend(new.iter().filter(|n| !old.iter().any(|o| o.vers == n.vers)).cloned());
    assert_eq!(history_violations(&old, &appended), 0);
});
