//! Index file contents: what the auditor keeps of a file (its versions and their `cksum`s) and the
//! rule that history only moves forward (docs/audit.md): a version once published never
//! disappears and never changes its `cksum`. Yank flips and new fields on old lines are allowed;
//! they change the file, not the versions.
//!
//! These are rules 1 and 2 of what the mirror applies when it takes a file from upstream
//! (`tufmirror_index::HistoryRule`, POUF 1.8); this copy compares what is kept in the state
//! (versions and checksums only, not whole lines) and says which snapshots were compared. The
//! rest of that rule (other fields unchanged, no new version of equal precedence, no foreign
//! registry) needs the previous lines, which the auditor's state does not keep.

use crate::state_folder::FileRecord;
use std::collections::BTreeMap;
use tufmirror_core::Sha256Hash;
use tufmirror_core::audit_rules::{Finding, crate_of};
use tufmirror_index::{crate_of_path, validate_index_file};

/// What the auditor learned of one index file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The versions and their checksums.
    Versions(BTreeMap<String, Sha256Hash>),
    /// The bytes are not a valid index file of the crate its path names.
    Invalid(String),
    /// The mirror did not serve these bytes (no longer retained, or other bytes came back).
    Unavailable,
}

/// Reads fetched bytes that should be the leaf (`path`, `sha256`).
pub fn read(path: &str, sha256: &Sha256Hash, fetched: Option<Vec<u8>>) -> Content {
    let Some(bytes) = fetched.filter(|b| Sha256Hash::of(b) == *sha256) else {
        return Content::Unavailable;
    };
    let name = match crate_of_path(path) {
        Ok(name) => name,
        Err(e) => return Content::Invalid(e.to_string()),
    };
    match validate_index_file(&bytes, &name) {
        Ok(lines) => Content::Versions(
            lines.into_iter().filter_map(|l| Sha256Hash::from_hex(&l.cksum).ok().map(|c| (l.vers, c))).collect(),
        ),
        Err(e) => Content::Invalid(e.to_string()),
    }
}

/// Compares what was last verified of the file at `path` with its versions in `snapshot`.
pub fn compare(path: &str, before: &FileRecord, after: &BTreeMap<String, Sha256Hash>, snapshot: u64) -> Vec<Finding> {
    let krate = crate_of(path);
    let mut findings = Vec::new();
    for (version, cksum) in &before.versions {
        match after.get(version) {
            None => findings.push(Finding::VersionRemoved {
                krate: krate.clone(),
                version: version.clone(),
                cksum: cksum.to_hex(),
                path: path.to_owned(),
                previous_snapshot: before.snapshot,
                snapshot,
            }),
            Some(new) if new != cksum => findings.push(Finding::ChecksumChanged {
                krate: krate.clone(),
                version: version.clone(),
                previous_cksum: cksum.to_hex(),
                cksum: new.to_hex(),
                path: path.to_owned(),
                previous_snapshot: before.snapshot,
                snapshot,
            }),
            Some(_) => {}
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(vers: &str, cksum: char, yanked: bool) -> String {
        format!(
            r#"{{"name":"foo","vers":"{vers}","deps":[],"cksum":"{}","features":{{}},"yanked":{yanked}}}"#,
            cksum.to_string().repeat(64)
        )
    }

    fn versions(file: &str) -> BTreeMap<String, Sha256Hash> {
        match read("3/f/foo", &Sha256Hash::of(file.as_bytes()), Some(file.as_bytes().to_vec())) {
            Content::Versions(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn yank_flips_and_new_versions_pass_removals_and_rewrites_do_not() {
        let before = FileRecord { snapshot: 4, versions: versions(&format!("{}\n", line("1.0.0", 'a', false))) };
        let yanked = versions(&format!("{}\n{}\n", line("1.0.0", 'a', true), line("1.1.0", 'b', false)));
        assert!(compare("3/f/foo", &before, &yanked, 5).is_empty());
        let rewritten = versions(&format!("{}\n", line("1.0.0", 'c', false)));
        assert!(matches!(
            &compare("3/f/foo", &before, &rewritten, 5)[..],
            [Finding::ChecksumChanged { krate, version, previous_snapshot: 4, snapshot: 5, .. }]
                if krate == "foo" && version == "1.0.0"
        ));
        let dropped = versions(&format!("{}\n", line("2.0.0", 'd', false)));
        assert!(matches!(&compare("3/f/foo", &before, &dropped, 6)[..], [Finding::VersionRemoved { .. }]));
    }

    #[test]
    fn other_bytes_are_unavailable_and_bad_files_invalid() {
        let good = format!("{}\n", line("1.0.0", 'a', false));
        let sha = Sha256Hash::of(good.as_bytes());
        assert_eq!(read("3/f/foo", &sha, Some(b"other".to_vec())), Content::Unavailable);
        assert_eq!(read("3/f/foo", &sha, None), Content::Unavailable);
        let twice = format!("{good}{good}");
        assert!(matches!(read("3/f/foo", &Sha256Hash::of(twice.as_bytes()), Some(twice.into())), Content::Invalid(_)));
        assert!(matches!(read("3/b/foo", &sha, Some(good.into())), Content::Invalid(_)), "wrong path for the crate");
    }
}
