//! Crate names and their sparse-index paths: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.

use std::fmt;

/// Maximum length of a crate name on crates.io.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// A syntactically valid crate name, kept in its original case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrateName(String);

/// Why a string is not a crate name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The empty string.
    #[error("crate name is empty")]
    Empty,
    /// Longer than the limit (the name's first 80 characters).
    #[error("crate name {0:?} is longer than {MAX_NAME_LEN} characters")]
    TooLong(String),
    /// The first character is not an ASCII letter (the name).
    #[error("crate name {0:?} must start with an ASCII letter")]
    BadStart(String),
    /// A character other than ASCII letters, digits, `-` and `_` (the name).
    #[error("crate name {0:?} may only contain ASCII letters, digits, '-' and '_'")]
    BadChar(String),
}

impl CrateName {
    /// Checks `name` against cargo's rules for crate names (case kept).
    pub fn new(name: &str) -> Result<Self, NameError> {
        let first = name.chars().next().ok_or(NameError::Empty)?;
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(name.chars().take(80).collect()));
        }
        if !first.is_ascii_alphabetic() {
            return Err(NameError::BadStart(name.to_owned()));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(NameError::BadChar(name.to_owned()));
        }
        Ok(CrateName(name.to_owned()))
    }

    /// The name in its original case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowercase form that index paths and URLs use.
    pub fn lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The sparse-index path of this crate's file.
    pub fn index_path(&self) -> String {
        index_path(&self.lowercase())
    }
}

impl fmt::Display for CrateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The sparse-index path of an already lowercased, valid crate name.
pub fn index_path(lower: &str) -> String {
    match lower.len() {
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", &lower[..1]),
        _ => format!("{}/{}/{lower}", &lower[..2], &lower[2..4]),
    }
}

/// A path that is not where cargo looks for any crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is not where cargo looks for any crate.
    #[error("{path:?} is not a sparse-index path: {reason}")]
    NotAnIndexPath {
        /// The path.
        path: String,
        /// Why not, in words.
        reason: String,
    },
}

/// The crate name (lowercase) that a sparse-index path holds, if the path is exactly where cargo
/// looks for that name. Refuses anything else: upper case, `..`, extra or missing folders.
pub fn crate_of_path(path: &str) -> Result<CrateName, PathError> {
    let bad = |reason: &str| PathError::NotAnIndexPath { path: path.to_owned(), reason: reason.to_owned() };
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = CrateName::new(file).map_err(|e| bad(&e.to_string()))?;
    if name.as_str() != name.lowercase() {
        return Err(bad("index paths are lowercase"));
    }
    let expected = name.index_path();
    if expected != path {
        return Err(bad(&format!("crate {file} lives at {expected}")));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_cargo() {
        let p = |n: &str| CrateName::new(n).expect("valid").index_path();
        assert_eq!(p("a"), "1/a");
        assert_eq!(p("AB"), "2/ab");
        assert_eq!(p("abc"), "3/a/abc");
        assert_eq!(p("Serde_JSON"), "se/rd/serde_json");
    }

    #[test]
    fn names_are_checked() {
        assert!(CrateName::new("").is_err());
        assert!(CrateName::new("1abc").is_err());
        assert!(CrateName::new("a.b").is_err());
        assert!(CrateName::new("..").is_err());
        assert!(CrateName::new(&"a".repeat(65)).is_err());
        assert!(CrateName::new(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn only_exact_paths_map_to_crates() {
        assert_eq!(crate_of_path("se/rd/serde").expect("ok").as_str(), "serde");
        for bad in ["se/rd/Serde", "../x", "3/b/abc", "1/ab", "se/rd/../serde", "serde", "se/rd/serde/", "2/a"] {
            assert!(crate_of_path(bad).is_err(), "{bad}");
        }
    }
}
