//! What one upstream answer means for one crate: the rule that keeps garbage and rewritten
//! history out of every published snapshot. Pure: the sync fetches, this decides, the store
//! records.

use tufmirror_core::Sha256Hash;
use tufmirror_index::{
    CrateName, History, HistoryRule, HistoryViolation, IndexFileError, IndexLine, validate_index_file,
};

/// Upstream's answer for a crate's index file.
#[derive(Debug, Clone, Copy)]
pub enum Upstream<'a> {
    /// 200: the file's bytes.
    Bytes(&'a [u8]),
    /// 304 to a conditional request.
    NotModified,
    /// 404 (or 410/451): upstream no longer has the crate.
    NotFound,
}

/// What to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Same bytes as the current file (by validator or by content hash): only the check time moves.
    Unchanged,
    /// A valid file that keeps history: store it; `new_versions` are the versions it publishes for
    /// the first time.
    Accept {
        /// SHA-256 of upstream's file.
        sha256: Sha256Hash,
        /// `(vers, cksum)` of each version not published before.
        new_versions: Vec<(String, String)>,
    },
    /// Valid, but it rewrites what was signed before: keep serving the last good file, hold this
    /// one for an operator.
    Quarantine {
        /// SHA-256 of upstream's file, the one held.
        sha256: Sha256Hash,
        /// Each way it rewrites published history.
        violations: Vec<HistoryViolation>,
    },
    /// Not a valid index file: keep the last good file, count the error.
    Invalid(IndexFileError),
    /// Upstream has no such crate. For a crate the mirror has, keep it or publish a signed removal,
    /// as configured; for one it lacks, a 404.
    Gone,
}

/// Decides for crate `name`, whose current file (if any) has hash `current`, under `rule`.
/// `published` holds every version published before with its cksum and, when upstream's bytes
/// differ from the current file, the current file's bytes (the published lines).
pub fn decide(
    name: &CrateName,
    current: Option<&Sha256Hash>,
    published: History<'_>,
    rule: &HistoryRule,
    upstream: Upstream<'_>,
) -> Decision {
    let bytes = match upstream {
        Upstream::NotModified => return Decision::Unchanged,
        Upstream::NotFound => return Decision::Gone,
        Upstream::Bytes(bytes) => bytes,
    };
    let sha256 = Sha256Hash::of(bytes);
    if current == Some(&sha256) {
        return Decision::Unchanged;
    }
    let lines: Vec<IndexLine> = match validate_index_file(bytes, name) {
        Ok(lines) => lines,
        Err(e) => return Decision::Invalid(e),
    };
    let violations = rule.check(published, bytes, &lines);
    if !violations.is_empty() {
        return Decision::Quarantine { sha256, violations };
    }
    let new_versions =
        lines.into_iter().filter(|l| !published.cksums.contains_key(&l.vers)).map(|l| (l.vers, l.cksum)).collect();
    Decision::Accept { sha256, new_versions }
}

/// Whether a crate that upstream first answered 404 for at `first_gone` and still does at `now`
/// (Unix seconds) has been gone for `grace`, so that its removal may be published. A clock that
/// went backwards counts as no time passed.
pub fn removal_due(first_gone: i64, now: i64, grace: std::time::Duration) -> bool {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    now.saturating_sub(first_gone).max(0) >= grace
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn line(vers: &str, c: char) -> String {
        format!(
            r#"{{"name": "foo", "vers": "{vers}", "deps": [], "cksum": "{}", "features": {{}}, "yanked": false}}"#,
            c.to_string().repeat(64)
        ) + "\n"
    }

    fn foo() -> CrateName {
        CrateName::new("foo").expect("name")
    }

    #[test]
    fn a_removal_waits_for_its_grace() {
        let hour = std::time::Duration::from_secs(3600);
        assert!(!removal_due(1000, 1000, hour), "the first 404");
        assert!(!removal_due(1000, 1000 + 3599, hour));
        assert!(removal_due(1000, 1000 + 3600, hour), "404s spanning the grace");
        assert!(!removal_due(1000, 900, hour), "a clock that went back");
        assert!(removal_due(1000, 1000, std::time::Duration::ZERO), "0s: today's behaviour");
        assert!(!removal_due(1, i64::MAX, std::time::Duration::MAX), "a grace beyond i64 seconds never ends");
    }

    #[test]
    fn the_decisions() {
        let v1 = line("1.0.0", 'a');
        let published = BTreeMap::from([("1.0.0".to_owned(), "a".repeat(64))]);
        let h1 = Sha256Hash::of(v1.as_bytes());
        let p = History { cksums: &published, file: Some(v1.as_bytes()) };
        let rule = HistoryRule::default();
        assert_eq!(decide(&foo(), Some(&h1), p, &rule, Upstream::Bytes(v1.as_bytes())), Decision::Unchanged);
        assert_eq!(decide(&foo(), Some(&h1), p, &rule, Upstream::NotModified), Decision::Unchanged);
        assert_eq!(decide(&foo(), Some(&h1), p, &rule, Upstream::NotFound), Decision::Gone);

        let v2 = format!("{v1}{}", line("1.1.0", 'b'));
        assert_eq!(
            decide(&foo(), Some(&h1), p, &rule, Upstream::Bytes(v2.as_bytes())),
            Decision::Accept {
                sha256: Sha256Hash::of(v2.as_bytes()),
                new_versions: vec![("1.1.0".into(), "b".repeat(64))]
            }
        );

        let rewritten = line("1.0.0", 'c');
        assert!(matches!(
            decide(&foo(), Some(&h1), p, &rule, Upstream::Bytes(rewritten.as_bytes())),
            Decision::Quarantine { violations, .. } if matches!(violations[..], [HistoryViolation::ChecksumChanged { .. }])
        ));

        let new_dependency = line("1.0.0", 'a').replace(
            "\"deps\": []",
            r#""deps": [{"name": "evil", "req": "*", "features": [], "optional": false, "default_features": true}]"#,
        );
        assert!(matches!(
            decide(&foo(), Some(&h1), p, &rule, Upstream::Bytes(new_dependency.as_bytes())),
            Decision::Quarantine { violations, .. }
                if violations == [HistoryViolation::FieldChanged { vers: "1.0.0".into(), field: "deps".into() }]
        ));

        let truncated = &v2.as_bytes()[..v2.len() - 20];
        assert!(matches!(decide(&foo(), Some(&h1), p, &rule, Upstream::Bytes(truncated)), Decision::Invalid(_)));
        assert!(matches!(
            decide(&foo(), None, History { cksums: &BTreeMap::new(), file: None }, &rule, Upstream::Bytes(b"")),
            Decision::Invalid(IndexFileError::Empty)
        ));
    }
}
