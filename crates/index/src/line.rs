//! The index-line schema: one JSON object per published version.
//!
//! Validation is strict where cargo and the mirror's guarantees depend on a field (`name`, `vers`,
//! `cksum`, the shape of `deps` and `features`) and lenient elsewhere: upstream adds fields over
//! time (`pubtime`, `v`, `features2`, `rust_version`), and unknown fields must pass untouched.

use crate::path::CrateName;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// One version of a crate, as much of it as tufmirror needs to read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexLine {
    /// `name`: the crate's name, in its published case.
    pub name: String,
    /// `vers`: the version, a semantic version.
    pub vers: String,
    /// `deps`: the version's dependencies.
    pub deps: Vec<IndexDependency>,
    /// `cksum`: the SHA-256 of the `.crate` file, 64 lowercase hex digits.
    pub cksum: String,
    /// `features`: the feature table, feature name to what it enables.
    pub features: BTreeMap<String, Vec<String>>,
    /// `yanked`: whether the version is yanked (cargo keeps using it in lock files, but picks it for no new
    /// resolution).
    pub yanked: bool,
    /// `links`: the native library the crate links; `None` when absent.
    #[serde(default)]
    pub links: Option<String>,
    /// `v`: the schema version of the line (1 when absent; 2 when `features2` is present).
    #[serde(default)]
    pub v: Option<u32>,
    /// `features2`: the features that use newer syntax (`dep:`, `?`), kept apart for older cargo; `None` when absent.
    #[serde(default)]
    pub features2: Option<BTreeMap<String, Vec<String>>>,
    /// `rust_version`: the crate's minimum supported Rust version; `None` when absent.
    #[serde(default)]
    pub rust_version: Option<String>,
}

/// One dependency of a version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexDependency {
    pub name: String,
    pub req: String,
    pub features: Vec<String>,
    pub optional: bool,
    pub default_features: bool,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub registry: Option<String>,
    #[serde(default)]
    pub package: Option<String>,
}

impl IndexDependency {
    /// The name of the crate depended on (`package` when the dependency is renamed).
    pub fn crate_name(&self) -> &str {
        self.package.as_deref().unwrap_or(&self.name)
    }
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line is not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// The line is not a JSON object of the index schema (the parser's message).
    #[error("not a valid index line: {0}")]
    Json(String),
    /// `name` is not the crate whose file this is (compared case-insensitively).
    #[error("\"name\" is {found:?}, but this is the file of crate {expected:?}")]
    NameMismatch {
        /// The crate of the file.
        expected: String,
        /// The line's `name`.
        found: String,
    },
    /// `vers` is not a semantic version (the value).
    #[error("\"vers\" {0:?} is not a semantic version")]
    BadVersion(String),
    /// `cksum` is not 64 lowercase hex digits (the value).
    #[error("\"cksum\" {0:?} is not 64 lowercase hex digits")]
    BadChecksum(String),
    /// Two lines have the same `vers` (the version).
    #[error("version {0} appears twice")]
    DuplicateVersion(String),
    /// A dependency's name (or `package`) is not a crate name (the value).
    #[error("dependency name {0:?} is not a crate name")]
    BadDependency(String),
    /// A dependency's `kind` is not `normal`, `dev` or `build` (the value).
    #[error("dependency kind {0:?} is not normal, dev or build")]
    BadDependencyKind(String),
}

/// An index file that failed validation, with the 1-based line it failed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexFileError {
    /// A line is not valid.
    #[error("line {line}: {error}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: LineError,
    },
    /// The file has no lines.
    #[error("the file lists no versions")]
    Empty,
}

fn is_lower_hex_64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl IndexLine {
    /// Parses and checks one line of the file of crate `expected`.
    pub fn parse(line: &str, expected: &CrateName) -> Result<Self, LineError> {
        let parsed: IndexLine = serde_json::from_str(line).map_err(|e| LineError::Json(e.to_string()))?;
        if !parsed.name.eq_ignore_ascii_case(expected.as_str()) {
            return Err(LineError::NameMismatch { expected: expected.as_str().to_owned(), found: parsed.name });
        }
        if semver::Version::parse(&parsed.vers).is_err() {
            return Err(LineError::BadVersion(parsed.vers));
        }
        if !is_lower_hex_64(&parsed.cksum) {
            return Err(LineError::BadChecksum(parsed.cksum));
        }
        for dep in &parsed.deps {
            if CrateName::new(dep.crate_name()).is_err() || CrateName::new(&dep.name).is_err() {
                return Err(LineError::BadDependency(dep.name.clone()));
            }
            if let Some(kind) = dep.kind.as_ref().filter(|k| !matches!(k.as_str(), "normal" | "dev" | "build")) {
                return Err(LineError::BadDependencyKind(kind.clone()));
            }
        }
        Ok(parsed)
    }
}

/// Validates a whole index file of crate `expected` and returns its versions in file order.
/// Empty lines are skipped, as cargo skips them.
pub fn validate_index_file(bytes: &[u8], expected: &CrateName) -> Result<Vec<IndexLine>, IndexFileError> {
    let mut lines = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let at = |error| IndexFileError::Line { line: i + 1, error };
        let text = std::str::from_utf8(raw).map_err(|_| at(LineError::NotUtf8))?;
        if text.trim().is_empty() {
            continue;
        }
        let line = IndexLine::parse(text, expected).map_err(at)?;
        if !seen.insert(line.vers.clone()) {
            return Err(at(LineError::DuplicateVersion(line.vers)));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(IndexFileError::Empty);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"name": "Foo", "vers": "1.0.0", "deps": [{"name": "bar", "req": "^1", "features": [], "optional": false, "default_features": true, "target": null, "kind": "normal"}], "cksum": "d1bb2d9926b9bd18e51fc8edd663e311ff3b1fb96c9d4689854f8686f7c6c216", "features": {}, "yanked": false, "pubtime": "2014-12-05T20:20:39Z", "future_field": [1]}"#;

    fn foo() -> CrateName {
        CrateName::new("foo").expect("valid")
    }

    #[test]
    fn accepts_real_shaped_lines_with_unknown_fields() {
        let file = format!("{GOOD}\n\n{}\n", GOOD.replace("1.0.0", "1.0.1"));
        let lines = validate_index_file(file.as_bytes(), &foo()).expect("valid");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn names_the_failing_line() {
        let cases = [
            (format!("{GOOD}\n{{not json\n"), 2),
            (format!("{GOOD}\n{}\n", GOOD.replace("\"Foo\"", "\"other\"")), 2),
            (GOOD.replace("d1bb", "D1BB"), 1),
            (GOOD.replace("1.0.0", "1.0"), 1),
            (format!("{GOOD}\n{GOOD}"), 2),
            (GOOD.replace("\"normal\"", "\"weird\""), 1),
        ];
        for (file, line) in cases {
            match validate_index_file(file.as_bytes(), &foo()) {
                Err(IndexFileError::Line { line: l, .. }) => assert_eq!(l, line, "{file}"),
                other => panic!("{file}: {other:?}"),
            }
        }
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(b"\n\xff\n");
        assert_eq!(
            validate_index_file(&bytes, &foo()),
            Err(IndexFileError::Line { line: 2, error: LineError::NotUtf8 })
        );
        assert_eq!(validate_index_file(b"\n", &foo()), Err(IndexFileError::Empty));
    }
}
