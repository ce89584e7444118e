//! The shape of the tree (docs/POUF.md 1.4): node hashing, buckets, and the roots that every
//! builder and verifier shares. Everything here is a few lines a client in any language writes
//! from the POUF; none of it uses rs_merkle.

use super::proof::Direction;
use crate::Sha256Hash;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The depth of the fixed top tree: one bottom node per bucket.
pub const BUCKET_BITS: usize = 16;

/// The number of buckets, `2^BUCKET_BITS`.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Sha256Hash, right: &Sha256Hash) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Sha256Hash(h.finalize().into())
}

/// The bucket of `path`: the first two bytes of `SHA-256(path)`, big-endian.
pub fn bucket_of(path: &str) -> usize {
    let digest = Sha256::digest(path.as_bytes());
    usize::from(u16::from_be_bytes([digest[0], digest[1]]))
}

/// `EMPTY[k]` is the root of a top subtree of height `k` whose buckets are all empty:
/// `EMPTY[0] = SHA-256("")`, `EMPTY[k + 1] = node(EMPTY[k], EMPTY[k])`.
pub(crate) static EMPTY: LazyLock<[Sha256Hash; BUCKET_BITS + 1]> = LazyLock::new(|| {
    let mut out = [Sha256Hash::of(b""); BUCKET_BITS + 1];
    for k in 0..BUCKET_BITS {
        out[k + 1] = node_hash(&out[k], &out[k]);
    }
    out
});

/// The root of the tree without leaves (every bucket empty).
pub fn empty_root() -> Sha256Hash {
    EMPTY[BUCKET_BITS]
}

/// The root of one bucket: the RFC 6962 hash of its leaf hashes in path order (pairs from the
/// left, a lone last node promoted unchanged), `SHA-256("")` for an empty bucket.
pub fn bucket_root(leaf_hashes: &[Sha256Hash]) -> Sha256Hash {
    let Some(first) = leaf_hashes.first() else {
        return EMPTY[0];
    };
    if leaf_hashes.len() == 1 {
        return *first;
    }
    let mut level: Vec<Sha256Hash> = leaf_hashes.to_vec();
    while level.len() > 1 {
        let next = level.chunks(2).map(|pair| if let [l, r] = pair { node_hash(l, r) } else { pair[0] }).collect();
        level = next;
    }
    level[0]
}

/// The directions of the top path of `bucket`, from the bucket's root upwards: at height `j` the
/// sibling is on the left exactly when bit `j` of the bucket is 1.
pub fn top_directions(bucket: usize) -> [Direction; BUCKET_BITS] {
    std::array::from_fn(|j| if (bucket >> j) & 1 == 1 { Direction::L } else { Direction::R })
}

/// Folds a Merkle path onto `hash`, from the bottom up: at each step the sibling is the left
/// child (`node(sibling, h)`) or the right one (`node(h, sibling)`). This is the one place the
/// left/right rule is written; every verifier (inclusion, the top of a non-inclusion proof)
/// climbs with it.
pub fn fold<'a>(hash: Sha256Hash, steps: impl IntoIterator<Item = (Direction, &'a Sha256Hash)>) -> Sha256Hash {
    steps.into_iter().fold(hash, |h, (direction, sibling)| match direction {
        Direction::L => node_hash(sibling, &h),
        Direction::R => node_hash(&h, sibling),
    })
}

/// Folds `siblings` (from the bucket upwards) onto the root of `bucket`, as a verifier does.
pub fn fold_top(bucket: usize, hash: Sha256Hash, siblings: &[Sha256Hash; BUCKET_BITS]) -> Sha256Hash {
    fold(hash, top_directions(bucket).into_iter().zip(siblings))
}

/// The directions that leaf `index` of a bucket of `size` leaves has inside the bucket, leaf
/// upwards (a promoted level has no entry).
pub(crate) fn bucket_directions(index: usize, size: usize) -> Vec<Direction> {
    let (mut i, mut n) = (index, size);
    let mut out = Vec::new();
    while n > 1 {
        if i % 2 == 1 {
            out.push(Direction::L);
        } else if i + 1 < n {
            out.push(Direction::R);
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's recursive definition: split at the largest power of two below `n`.
    fn mth(hashes: &[Sha256Hash]) -> Sha256Hash {
        match hashes.len() {
            0 => Sha256Hash::of(b""),
            1 => hashes[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
            }
        }
    }

    #[test]
    fn bucket_root_is_rfc6962_for_every_size_up_to_70() {
        for n in 0..70u8 {
            let hashes: Vec<Sha256Hash> = (0..n).map(|i| Sha256Hash::of(&[i])).collect();
            assert_eq!(bucket_root(&hashes), mth(&hashes), "size {n}");
        }
    }

    #[test]
    fn constants_are_those_the_pouf_prints() {
        assert_eq!(empty_root().to_hex(), "03f0e06610687f70ab58d0e39ae4abb846a5ad17ec789db9d910d27f0ec52ba3");
        assert_eq!(bucket_of("se/rd/serde"), 10763);
    }

    #[test]
    fn directions_spell_the_bucket_bits() {
        let dirs = top_directions(0b1000_0000_0000_0101);
        assert_eq!(&dirs[..4], &[Direction::L, Direction::R, Direction::L, Direction::R]);
        assert_eq!(dirs[15], Direction::L);
        let empties: [Sha256Hash; BUCKET_BITS] = std::array::from_fn(|k| EMPTY[k]);
        assert_eq!(fold_top(7, EMPTY[0], &empties), empty_root());
    }
}
