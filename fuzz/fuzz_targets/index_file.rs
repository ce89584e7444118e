//! An upstream index file (hostile bytes) through the validation the mirror runs before it
//! publishes anything: `validate_index_file`, and the history check against itself.
//!
//! The crate the file is checked for is the `name` of its first line when that is a crate name
//! (so that real index files, the seeds, pass), else `foo`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashSet};
use tufmirror_index::{CrateName, IndexFileError, IndexLine, validate_index_file};

fn expected_name(data: &[u8]) -> CrateName {
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).and_then(|n| CrateName::new(n).ok()))
        .unwrap_or_else(|| CrateName::new("foo").expect("a crate name"))
}

/// The history check as the mirror calls it: the versions published before (vers -> cksum)
/// against a new file's lines. A thin call so that a change of the rule's signature is adapted here.
fn history_violations(published: &[IndexLine], offered: &[IndexLine]) -> usize {
    let published: BTreeMap<String, String> = published.iter().map(|l| (l.vers.clone(), l.cksum.clone())).collect();
    tufmirror_index::check_history(&published, offered).len()
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
            assert_eq!(history_violations(&lines, &lines), 0);
        }
        Err(IndexFileError::Line { line, .. }) => {
            assert!(line >= 1 && line <= data.split(|&b| b == b'\n').count(), "line {line} out of range");
        }
        Err(_) => {}
    }
});
