//! The binary values of the state database: compact, because an auditor of crates.io keeps one
//! leaf and one version record per index file (254,000 of each) and rewrites a few per snapshot.

use std::collections::BTreeMap;
use tufmirror_core::Sha256Hash;

/// What the auditor last verified of one index file: the snapshot whose bytes of the file it
/// checked, and every version in them with its `cksum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// The snapshot whose bytes of the file were checked.
    pub snapshot: u64,
    /// Every version in the file (`vers`), with its `cksum`.
    pub versions: BTreeMap<String, Sha256Hash>,
}

/// What the auditor keeps of every snapshot it checked, for timestamps that name it later (a
/// re-signed timestamp, or a rollback to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The `merkle_root` recomputed for the snapshot.
    pub merkle_root: Sha256Hash,
    /// The number of leaves in that tree.
    pub tree_size: u64,
    /// SHA-256 and length of `N.snapshot.json` as served: what timestamps pin.
    pub metadata_sha256: Sha256Hash,
    /// The length in bytes of `N.snapshot.json` as served.
    pub metadata_length: u64,
}

/// A value that did not decode: the database was written by something else or damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} record is damaged")]
pub struct Damaged {
    /// Which kind of record (`leaf`, `version`, `snapshot`).
    pub what: &'static str,
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Damaged> {
        if self.bytes.len() < n {
            return Err(Damaged { what: self.what });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u64(&mut self) -> Result<u64, Damaged> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }
    fn u16(&mut self) -> Result<u16, Damaged> {
        let mut b = [0; 2];
        b.copy_from_slice(self.take(2)?);
        Ok(u16::from_be_bytes(b))
    }
    fn hash(&mut self) -> Result<Sha256Hash, Damaged> {
        let mut b = [0; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(Sha256Hash(b))
    }
    fn end(self) -> Result<(), Damaged> {
        if self.bytes.is_empty() { Ok(()) } else { Err(Damaged { what: self.what }) }
    }
}

/// A leaf without its path (the key): length, then SHA-256.
pub(super) fn encode_leaf(length: u64, sha256: &Sha256Hash) -> [u8; 40] {
    let mut out = [0; 40];
    out[..8].copy_from_slice(&length.to_be_bytes());
    out[8..].copy_from_slice(&sha256.0);
    out
}

pub(super) fn decode_leaf(bytes: &[u8]) -> Result<(u64, Sha256Hash), Damaged> {
    let mut r = Reader { bytes, what: "leaf" };
    let leaf = (r.u64()?, r.hash()?);
    r.end()?;
    Ok(leaf)
}

impl FileRecord {
    /// `snapshot`, then per version: its length (2 bytes), its bytes, its cksum (32 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.versions.len() * 44);
        out.extend_from_slice(&self.snapshot.to_be_bytes());
        for (vers, cksum) in &self.versions {
            // Index lines are validated semantic versions, far below 64 KiB.
            let len = u16::try_from(vers.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&vers.as_bytes()[..usize::from(len)]);
            out.extend_from_slice(&cksum.0);
        }
        out
    }

    /// Reads back what `encode` wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, Damaged> {
        let mut r = Reader { bytes, what: "version" };
        let snapshot = r.u64()?;
        let mut versions = BTreeMap::new();
        while !r.bytes.is_empty() {
            let len = usize::from(r.u16()?);
            let vers = std::str::from_utf8(r.take(len)?).map_err(|_| Damaged { what: "version" })?.to_owned();
            versions.insert(vers, r.hash()?);
        }
        Ok(FileRecord { snapshot, versions })
    }
}

impl SnapshotInfo {
    /// The compact form: `merkle_root`, tree size, metadata SHA-256, metadata length (80 bytes).
    pub fn encode(&self) -> [u8; 80] {
        let mut out = [0; 80];
        out[..32].copy_from_slice(&self.merkle_root.0);
        out[32..40].copy_from_slice(&self.tree_size.to_be_bytes());
        out[40..72].copy_from_slice(&self.metadata_sha256.0);
        out[72..].copy_from_slice(&self.metadata_length.to_be_bytes());
        out
    }

    /// Reads back what `encode` wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, Damaged> {
        let mut r = Reader { bytes, what: "snapshot" };
        let info = SnapshotInfo {
            merkle_root: r.hash()?,
            tree_size: r.u64()?,
            metadata_sha256: r.hash()?,
            metadata_length: r.u64()?,
        };
        r.end()?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_truncation_is_detected() {
        let record = FileRecord {
            snapshot: 42,
            versions: BTreeMap::from([
                ("1.0.0".to_owned(), Sha256Hash([1; 32])),
                ("2.0.0-rc.1+build".to_owned(), Sha256Hash([2; 32])),
            ]),
        };
        let bytes = record.encode();
        assert_eq!(FileRecord::decode(&bytes), Ok(record));
        assert!(FileRecord::decode(&bytes[..bytes.len() - 1]).is_err());
        let info = SnapshotInfo {
            merkle_root: Sha256Hash([3; 32]),
            tree_size: 7,
            metadata_sha256: Sha256Hash([4; 32]),
            metadata_length: 900,
        };
        assert_eq!(SnapshotInfo::decode(&info.encode()), Ok(info));
        assert_eq!(decode_leaf(&encode_leaf(12, &Sha256Hash([5; 32]))), Ok((12, Sha256Hash([5; 32]))));
        assert!(decode_leaf(&[0; 39]).is_err());
    }
}
