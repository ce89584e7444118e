//! What a fetch returns. "Not found" is an answer, not an error: a crate that upstream no longer
//! has is something the mirror must act on (publish a removal, or keep serving it).

use tufmirror_core::Sha256Hash;

/// A validator from an earlier fetch, sent back so upstream can answer 304 Not Modified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validator {
    /// An `ETag`, exactly as received (quotes and `W/` included); sent as `If-None-Match`.
    ETag(String),
    /// A `Last-Modified` date, exactly as received; sent as `If-Modified-Since`.
    LastModified(String),
}

/// The answer for an index file or `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexFetch {
    /// The file, byte for byte as upstream sent it (index files are opaque: never re-encoded).
    Fetched {
        /// The file's bytes.
        bytes: Vec<u8>,
        /// Upstream's `ETag`, when it sent one.
        etag: Option<String>,
        /// Upstream's `Last-Modified`, when it sent one.
        last_modified: Option<String>,
    },
    /// Upstream says the file has not changed since the validator that was sent.
    NotModified,
    /// Upstream does not have the file: 404, or 410/451 (the crate was removed). The status is
    /// kept for logs.
    NotFound {
        /// The HTTP status: 404, 410 or 451.
        status: u16,
    },
}

impl IndexFetch {
    /// The validator to send next time: the `ETag` if upstream sent one (it is exact), else
    /// `Last-Modified` (one-second resolution), else none.
    pub fn validator(&self) -> Option<Validator> {
        match self {
            IndexFetch::Fetched { etag: Some(etag), .. } => Some(Validator::ETag(etag.clone())),
            IndexFetch::Fetched { last_modified: Some(date), .. } => Some(Validator::LastModified(date.clone())),
            _ => None,
        }
    }

    /// Whether the file is still the one whose SHA-256 is `known`: true for `NotModified` and for
    /// fetched bytes with that digest, false otherwise (including `NotFound`).
    ///
    /// This is how change detection works against an upstream that sends no validators, as the
    /// one reachable in production does: every fetch is a full download, compared by hash.
    pub fn is_unchanged(&self, known: &Sha256Hash) -> bool {
        match self {
            IndexFetch::Fetched { bytes, .. } => same_content(bytes, known),
            IndexFetch::NotModified => true,
            IndexFetch::NotFound { .. } => false,
        }
    }
}

/// Whether `bytes` are the file whose SHA-256 is `known`.
pub fn same_content(bytes: &[u8], known: &Sha256Hash) -> bool {
    Sha256Hash::of(bytes) == *known
}

/// The answer for a `.crate` file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrateFetch {
    /// The file as upstream sent it; the caller checks it against the index entry's `cksum`.
    Fetched {
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// 404, 410 or 451, kept for logs.
    NotFound {
        /// The HTTP status: 404, 410 or 451.
        status: u16,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_preferred_and_hashes_decide_change() {
        let fetched = |etag: Option<&str>, date: Option<&str>| IndexFetch::Fetched {
            bytes: b"{\"name\": \"a\"}\n".to_vec(),
            etag: etag.map(str::to_owned),
            last_modified: date.map(str::to_owned),
        };
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(fetched(Some("\"x\""), Some(date)).validator(), Some(Validator::ETag("\"x\"".into())));
        assert_eq!(fetched(None, Some(date)).validator(), Some(Validator::LastModified(date.into())));
        assert_eq!(fetched(None, None).validator(), None);

        let known = Sha256Hash::of(b"{\"name\": \"a\"}\n");
        assert!(fetched(None, None).is_unchanged(&known));
        assert!(!fetched(None, None).is_unchanged(&Sha256Hash::of(b"{\"name\":\"a\"}\n")));
        assert!(IndexFetch::NotModified.is_unchanged(&known));
        assert!(!IndexFetch::NotFound { status: 404 }.is_unchanged(&known));
    }
}
