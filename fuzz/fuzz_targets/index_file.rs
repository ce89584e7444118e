//! An upstream index file (hostile bytes) through the validation the mirror runs before it
//! publishes anything: `validate_index_file`, and the history check against itself.
//!
//! The crate the file is checked for is the `name` of its first line when that is a crate name
//! (so that real index files, the seeds, pass), else `foo`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashSet};
use tufmirror_index::{
    CrateName, History, HistoryRule, HistoryViolation, IndexFileError, IndexLine, validate_index_file,
};

fn expected_name(data: &[u8]) -> CrateName {
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).and_then(|n| CrateName::new(n).ok()))
        .unwrap_or_else(|| CrateName::new("foo").expect("a crate name"))
}

/// The history check as the mirror calls it (POUF 1.8): the file served before, with its lines,
/// against a new file. A thin call so that a change of the rule's signature is adapted here.
/// Returns the violations other than a foreign `registry`, which a file can hold against itself.
fn history_violations(published: (&[u8], &[IndexLine]), offered: (&[u8], &[IndexLine])) -> usize {
    let cksums: BTreeMap<String, String> = published.1.iter().map(|l| (l.vers.clone(), l.cksum.clone())).collect();
    let history = History { cksums: &cksums, file: Some(published.0) };
    HistoryRule::default()
        .check(history, offered.0, offered.1)
        .iter()
        .filter(|v| !matches!(v, HistoryViolation::ForeignRegistry { .. }))
        .count()
}

fuzz_target!(|data: &[u8]| {
    let name = expected_name(data);
    match validate_index_file(data, &name) {
        Ok(lines) => {
            let non_empty = data
                .split(|&b| b == b'\n')
                .filter(|l| !std::str::from_utf8(l).unwrap_or("x").trim().is_empty())
                .count();
            assert_eq!(lines.len(), non_empty, "every non-empty line is one version");
            let mut seen = HashSet::new();
            for line in &lines {
                assert!(line.name.eq_ignore_ascii_case(name.as_str()), "{line:?}");
                assert!(semver::Version::parse(&line.vers).is_ok(), "{line:?}");
                assert!(line.cksum.len() == 64 && line.cksum.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
                assert!(seen.insert(line.vers.as_str()), "duplicate version {} accepted", line.vers);
                for dep in &line.deps {
                    assert!(CrateName::new(dep.crate_name()).is_ok() && CrateName::new(&dep.name).is_ok());
                }
            }
            // A file never contradicts itself.
            assert_eq!(history_violations((data, &lines), (data, &lines)), 0);
        }
        Err(IndexFileError::Line { line, .. }) => {
            assert!(line >= 1 && line <= data.split(|&b| b == b'\n').count(), "line {line} out of range");
        }
        Err(_) => {}
    }
});
