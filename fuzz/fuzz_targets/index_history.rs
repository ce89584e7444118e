//! The history check (`crates/index/src/history.rs`, POUF 1.8) with two hostile files: the one
//! published before and the one offered now, separated by a line holding only `---`.
//!
//! Properties: a file never contradicts itself (but for a foreign `registry`, which is refused on
//! every line), a published version that disappears is always a violation, and the published
//! file followed by lines of new versions is never a violation of the immutability rule (it may
//! be one of the rules on new versions: equal precedence, a foreign registry).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use tufmirror_index::{CrateName, History, HistoryRule, HistoryViolation, IndexLine, validate_index_file};

/// The history check as the mirror calls it (a thin call so that a change of the rule's
/// signature is adapted here only).
fn history_violations(published: (&[u8], &[IndexLine]), offered: (&[u8], &[IndexLine])) -> Vec<HistoryViolation> {
    let cksums: BTreeMap<String, String> = published.1.iter().map(|l| (l.vers.clone(), l.cksum.clone())).collect();
    HistoryRule::default().check(History { cksums: &cksums, file: Some(published.0) }, offered.0, offered.1)
}

/// Violations of the immutability of published versions (not of the rules on new versions).
fn rewrites(violations: &[HistoryViolation]) -> usize {
    violations
        .iter()
        .filter(|v| !matches!(v, HistoryViolation::ForeignRegistry { .. } | HistoryViolation::EqualPrecedence { .. }))
        .count()
}

fuzz_target!(|data: &[u8]| {
    let Some(at) = data.windows(5).position(|w| w == b"\n---\n") else { return };
    let (old_bytes, new_bytes) = (&data[..at], &data[at + 5..]);
    let name = CrateName::new("foo").expect("a crate name");
    let (Ok(old), Ok(new)) = (validate_index_file(old_bytes, &name), validate_index_file(new_bytes, &name)) else {
        return;
    };
    assert_eq!(rewrites(&history_violations((old_bytes, &old), (old_bytes, &old))), 0);
    assert_eq!(rewrites(&history_violations((new_bytes, &new), (new_bytes, &new))), 0);
    let violations = history_violations((old_bytes, &old), (new_bytes, &new));
    if old.iter().any(|o| !new.iter().any(|n| n.vers == o.vers)) {
        assert!(
            violations.iter().any(|v| matches!(v, HistoryViolation::VersionRemoved { .. })),
            "a published version disappeared unnoticed"
        );
    }
    // Everything published, byte for byte, then the lines of new versions: no rewrite.
    let mut appended_bytes = old_bytes.to_vec();
    for raw in new_bytes.split(|&b| b == b'\n') {
        let Ok(line) = validate_index_file(raw, &name) else { continue };
        if line.len() == 1 && !old.iter().any(|o| o.vers == line[0].vers) {
            appended_bytes.push(b'\n');
            appended_bytes.extend_from_slice(raw);
        }
    }
    if let Ok(appended) = validate_index_file(&appended_bytes, &name) {
        assert_eq!(rewrites(&history_violations((old_bytes, &old), (&appended_bytes, &appended))), 0);
    }
});
