//! The rule that keeps signed history honest: a version once published keeps its `cksum` and
//! never disappears. Upstream may add fields to old lines (`pubtime`, `rust_version`) and flip
//! `yanked`; anything else is a rewrite of history, which the mirror quarantines instead of
//! publishing.

use crate::IndexLine;
use std::collections::BTreeMap;

/// One way a new index file contradicts what was published before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryViolation {
    #[error("version {vers} changed its cksum from {published} to {offered}")]
    ChecksumChanged { vers: String, published: String, offered: String },
    #[error("version {vers} (cksum {published}) disappeared")]
    VersionRemoved { vers: String, published: String },
}

/// Compares a new file's lines with the versions published before (vers -> cksum) and returns
/// every violation, in version order.
pub fn check_history(published: &BTreeMap<String, String>, lines: &[IndexLine]) -> Vec<HistoryViolation> {
    let offered: BTreeMap<&str, &str> = lines.iter().map(|l| (l.vers.as_str(), l.cksum.as_str())).collect();
    let mut violations = Vec::new();
    for (vers, cksum) in published {
        match offered.get(vers.as_str()) {
            None => violations.push(HistoryViolation::VersionRemoved { vers: vers.clone(), published: cksum.clone() }),
            Some(offered) if offered != cksum => violations.push(HistoryViolation::ChecksumChanged {
                vers: vers.clone(),
                published: cksum.clone(),
                offered: (*offered).to_owned(),
            }),
            Some(_) => {}
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CrateName, validate_index_file};

    fn line(vers: &str, cksum_byte: char, yanked: bool) -> String {
        let cksum = cksum_byte.to_string().repeat(64);
        format!(
            r#"{{"name": "foo", "vers": "{vers}", "deps": [], "cksum": "{cksum}", "features": {{}}, "yanked": {yanked}}}"#
        )
    }

    fn lines(file: &str) -> Vec<IndexLine> {
        validate_index_file(file.as_bytes(), &CrateName::new("foo").expect("name")).expect("valid")
    }

    #[test]
    fn yank_flips_new_fields_and_new_versions_are_fine() {
        let published = BTreeMap::from([("1.0.0".to_owned(), "a".repeat(64))]);
        let old = line("1.0.0", 'a', true);
        let yanked_with_pubtime = format!("{}, \"pubtime\": \"2020-01-01T00:00:00Z\"}}", &old[..old.len() - 1]);
        let next = format!("{yanked_with_pubtime}\n{}\n", line("1.1.0", 'b', false));
        assert_eq!(check_history(&published, &lines(&next)), vec![]);
    }

    #[test]
    fn a_changed_cksum_and_a_removed_version_are_violations() {
        let published = BTreeMap::from([("1.0.0".to_owned(), "a".repeat(64)), ("1.1.0".to_owned(), "b".repeat(64))]);
        let next = format!("{}\n", line("1.0.0", 'c', false));
        assert_eq!(
            check_history(&published, &lines(&next)),
            vec![
                HistoryViolation::ChecksumChanged {
                    vers: "1.0.0".into(),
                    published: "a".repeat(64),
                    offered: "c".repeat(64)
                },
                HistoryViolation::VersionRemoved { vers: "1.1.0".into(), published: "b".repeat(64) },
            ]
        );
    }
}
