//! Deterministic, synthetic crates.io-shaped sparse indexes for tests and benchmarks.
//!
//! [`synthetic_index`] produces `files` index files whose shape follows the real crates.io index:
//! crate names of realistic lengths (so that `1/`, `2/` and `3/x/` are populated), a heavy-tailed
//! number of versions per crate (median 4, mean 7.5, a few crates with hundreds), and lines
//! written exactly like upstream's (`{"name": "x", "vers": "1.0.0", "deps": [...], ...}`, with a
//! space after `:` and `,`). The bytes depend only on `files` and `seed`, never on the machine or
//! the number of threads used to generate them.
//!
//! No dependencies by default: the random numbers come from [`Rng`] (splitmix64), the JSON is written
//! by hand. The `tls` feature adds [`tls`], a throw-away CA and HTTPS server for client tests; the
//! `upstream` feature adds [`registry`] (real, buildable synthetic `.crate` files) and [`upstream`]
//! (a fake upstream sparse index on loopback, with fault injection). Always there: [`process`]
//! (run a helper with a timeout), [`python`] (the venv with python-tuf) and [`softhsm`] (real
//! PKCS#11 tokens).

pub mod process;
pub mod python;
#[cfg(feature = "upstream")]
pub mod registry;
pub mod softhsm;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "upstream")]
pub mod upstream;

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::Path;

mod words;

use words::{DEP_FEATURES, FEATURE_NAMES, POPULAR, TARGETS, WORDS};

/// A small seeded PRNG (splitmix64): fast, good enough statistically, and stable forever, which
/// is the point: the same seed must give the same index on every machine and every release.
#[derive(Debug, Clone)]
pub struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// An independent stream for item `index` of the stream family `seed`.
    pub fn for_item(seed: u64, index: u64) -> Self {
        Rng(mix64(seed ^ mix64(index.wrapping_add(GOLDEN))))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below((hi - lo + 1) as usize) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with mean 1.
    pub fn exp1(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Index into a list of `n` items, biased towards the front (a rough Zipf).
    pub fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powi(3)) * n as f64) as usize
    }
}

/// The sparse-index path of a crate name (cargo's rules, docs/POUF.md 1.7): `1/a`, `2/ab`,
/// `3/a/abc`, `ab/cd/abcd…`, always lowercase.
///
/// # Panics
/// If `name` is empty or not ASCII (it is then no crate name).
pub fn sparse_path(name: &str) -> String {
    assert!(!name.is_empty() && name.is_ascii(), "not a crate name: {name:?}");
    let n = name.to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// `files` synthetic index files as `(sparse path, file bytes)`, sorted by path (bytewise),
/// deterministic for `seed`.
pub fn synthetic_index(files: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let names = crate_names(files, seed);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let chunk = names.len().div_ceil(threads).max(1);
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(files);
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let names = &names;
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, name)| {
                            let index = c * chunk + i;
                            let mut rng = Rng::for_item(seed, index as u64);
                            // Dependencies are on crates drawn before this one, so that the
                            // first k files of a larger index are those of a smaller one.
                            (sparse_path(name), crate_file(name, &names[..index], &mut rng))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out
}

/// Lays `files` out under `dir` (`dir/<sparse path>`), creating folders as needed.
pub fn write_index(dir: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    let mut made: HashSet<&str> = HashSet::new();
    for (path, bytes) in files {
        if let Some((parent, _)) = path.rsplit_once('/')
            && made.insert(parent)
        {
            std::fs::create_dir_all(dir.join(parent))?;
        }
        std::fs::write(dir.join(path), bytes)?;
    }
    Ok(())
}

/// `count` distinct sparse paths of valid crate names that are not in `files` (which must be
/// sorted by path), for non-inclusion proofs. Deterministic for `seed`.
pub fn absent_paths(files: &[(String, Vec<u8>)], count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(mix64(seed ^ 0xAB5E_47AB_5E47));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let name = if rng.chance(0.1) {
            let len = 3 + rng.below(2);
            short_name(&mut rng, len)
        } else {
            composed_name(&mut rng)
        };
        let path = sparse_path(&name);
        let present = files.binary_search_by(|(p, _)| p.as_bytes().cmp(path.as_bytes())).is_ok();
        if !present && seen.insert(path.clone()) {
            out.push(path);
        }
    }
    out
}

/// Shape statistics of an index, to check and to print next to benchmark results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexStats {
    pub files: usize,
    pub lines: usize,
    pub bytes: u64,
    pub mean_line_bytes: f64,
    pub median_line_bytes: usize,
    pub median_versions: usize,
    pub mean_versions: f64,
    pub p99_versions: usize,
    pub max_versions: usize,
    pub median_file_bytes: usize,
    pub max_file_bytes: usize,
    /// Files in `1/`, `2/` and `3/`.
    pub short_dirs: [usize; 3],
}

/// Counts lines, sizes and versions of `files`.
pub fn stats(files: &[(String, Vec<u8>)]) -> IndexStats {
    let mut versions = Vec::with_capacity(files.len());
    let mut sizes = Vec::with_capacity(files.len());
    let mut line_lengths: Vec<u32> = Vec::new();
    let mut short_dirs = [0; 3];
    for (path, bytes) in files {
        let mut n = 0;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            n += 1;
            line_lengths.push(line.len() as u32 + 1);
        }
        versions.push(n);
        sizes.push(bytes.len());
        for (i, prefix) in ["1/", "2/", "3/"].iter().enumerate() {
            if path.starts_with(prefix) {
                short_dirs[i] += 1;
            }
        }
    }
    let lines = line_lengths.len();
    let bytes: u64 = sizes.iter().map(|&s| s as u64).sum();
    versions.sort_unstable();
    sizes.sort_unstable();
    line_lengths.sort_unstable();
    let q = |v: &[usize], f: f64| {
        v.get(((v.len() as f64 * f) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(0)
    };
    IndexStats {
        files: files.len(),
        lines,
        bytes,
        mean_line_bytes: if lines == 0 { 0.0 } else { bytes as f64 / lines as f64 },
        median_line_bytes: line_lengths.get(lines / 2).map_or(0, |&l| l as usize),
        median_versions: q(&versions, 0.5),
        mean_versions: if files.is_empty() { 0.0 } else { lines as f64 / files.len() as f64 },
        p99_versions: q(&versions, 0.99),
        max_versions: versions.last().copied().unwrap_or(0),
        median_file_bytes: q(&sizes, 0.5),
        max_file_bytes: sizes.last().copied().unwrap_or(0),
        short_dirs,
    }
}

// ---------------------------------------------------------------------------------------------
// Names

/// `count` unique crate names. crates.io treats `-` and `_` as the same for uniqueness, so do we.
fn crate_names(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(mix64(seed));
    let mut taken: HashSet<String> = HashSet::with_capacity(count);
    let mut names = Vec::with_capacity(count);
    while names.len() < count {
        let mut name = candidate_name(&mut rng);
        let mut tries = 0;
        while taken.contains(&name.replace('_', "-")) {
            tries += 1;
            name = if tries < 16 {
                candidate_name(&mut rng)
            } else {
                // Crowded (short names run out): make it longer, as people on crates.io do.
                let sep = if rng.chance(0.5) { '-' } else { '_' };
                format!("{name}{sep}{}", syllable_word(&mut rng))
            };
            if name.len() > 64 {
                name = composed_name(&mut rng);
            }
        }
        taken.insert(name.replace('_', "-"));
        names.push(name);
    }
    names
}

fn candidate_name(rng: &mut Rng) -> String {
    // crates.io: a few dozen one-letter names, several hundred two-letter names, several
    // thousand three-letter ones; most names are one to three words.
    let u = rng.unit();
    let short = if u < 0.0002 {
        1
    } else if u < 0.0032 {
        2
    } else if u < 0.021 {
        3
    } else if u < 0.041 {
        4
    } else if u < 0.061 {
        5
    } else {
        0
    };
    if short > 0 { short_name(rng, short) } else { composed_name(rng) }
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn short_name(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    s.push(*rng.pick(LETTERS) as char);
    for _ in 1..len {
        // Mostly letters, some digits.
        let set = if rng.chance(0.85) { LETTERS } else { ALNUM };
        s.push(*rng.pick(set) as char);
    }
    s
}

fn syllable_word(rng: &mut Rng) -> String {
    const ONSETS: &[&str] = &[
        "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "cr",
        "dr", "fl", "gr", "kr", "pl", "pr", "sh", "sk", "sl", "sp", "st", "str", "th", "tr", "qu", "x", "y",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "a", "e", "o", "ia", "ea", "ou", "y"];
    const CODAS: &[&str] = &["", "", "", "n", "r", "s", "t", "x", "k", "l", "m", "ng", "st", "rs", "d"];
    let syllables = 1 + rng.below(3);
    let mut s = String::new();
    for i in 0..syllables {
        if i > 0 || rng.chance(0.85) {
            s.push_str(rng.pick::<&str>(ONSETS));
        }
        s.push_str(rng.pick::<&str>(VOWELS));
    }
    s.push_str(rng.pick::<&str>(CODAS));
    s
}

fn composed_name(rng: &mut Rng) -> String {
    let words = match rng.unit() {
        u if u < 0.36 => 1,
        u if u < 0.80 => 2,
        u if u < 0.96 => 3,
        _ => 4,
    };
    let sep = if rng.chance(0.55) { '-' } else { '_' };
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(sep);
        }
        if rng.chance(0.62) {
            s.push_str(WORDS[rng.skewed(WORDS.len())]);
        } else {
            s.push_str(&syllable_word(rng));
        }
    }
    if rng.chance(0.03) {
        s.push(char::from(b'0' + rng.range(2, 9) as u8));
    }
    s.truncate(64);
    while s.ends_with(['-', '_']) {
        s.pop();
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Index files

/// Versions per crate: `ceil` of a log-normal with median 3 and σ = 1.3 (so median 4, mean 7.5),
/// capped at 2000. About one crate in 3000 gets 300 or more.
fn version_count(rng: &mut Rng) -> usize {
    let x = (3f64.ln() + 1.3 * rng.normal()).exp();
    (x.ceil() as usize).clamp(1, 2000)
}

#[derive(Debug, Clone)]
struct Dep {
    name: String,
    package: Option<String>,
    /// Base version of the dependency, drifting upwards as the crate releases.
    ver: (u64, u64, u64),
    req_style: u8,
    features: Vec<&'static str>,
    optional: bool,
    default_features: bool,
    target: Option<&'static str>,
    kind: &'static str,
}

fn dep_name(rng: &mut Rng, names: &[String]) -> String {
    if rng.chance(0.55) || names.is_empty() {
        POPULAR[rng.skewed(POPULAR.len())].to_owned()
    } else {
        names[rng.below(names.len())].clone()
    }
}

fn make_dep(rng: &mut Rng, names: &[String]) -> Dep {
    let name = dep_name(rng, names);
    let kind = match rng.unit() {
        u if u < 0.63 => "normal",
        u if u < 0.95 => "dev",
        _ => "build",
    };
    let (name, package) = if rng.chance(0.01) {
        (format!("{}_{}", name.replace('-', "_"), rng.pick(&["crate", "dep", "rs"])), Some(name))
    } else {
        (name, None)
    };
    let major = if rng.chance(0.45) { 0 } else { rng.range(1, 4) };
    let features = if rng.chance(0.22) {
        (0..1 + rng.below(3))
            .map(|_| *rng.pick(DEP_FEATURES))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    Dep {
        name,
        package,
        ver: (major, rng.range(0, 30), rng.range(0, 20)),
        req_style: rng.below(100) as u8,
        features,
        optional: kind == "normal" && rng.chance(0.17),
        default_features: rng.chance(0.86),
        target: if rng.chance(0.07) { Some(*rng.pick(TARGETS)) } else { None },
        kind,
    }
}

/// The requirement string of a dependency at its current base version.
fn push_req(out: &mut Vec<u8>, dep: &Dep) {
    let (a, b, c) = dep.ver;
    match dep.req_style {
        0..=44 => {
            out.push(b'^');
            push_u64(out, a);
            out.push(b'.');
            push_u64(out, b);
        }
        45..=79 => {
            out.push(b'^');
            push_ver(out, a, b, c);
        }
        80..=87 => {
            out.push(b'^');
            push_u64(out, a);
        }
        88..=90 => out.push(b'*'),
        91..=94 => {
            out.push(b'=');
            push_ver(out, a, b, c);
        }
        95..=96 => {
            out.extend_from_slice(b">=");
            push_ver(out, a, b, c);
            out.extend_from_slice(b", <");
            push_u64(out, a + 1);
        }
        _ => {
            out.push(b'~');
            push_u64(out, a);
            out.push(b'.');
            push_u64(out, b);
        }
    }
}

fn push_ver(out: &mut Vec<u8>, a: u64, b: u64, c: u64) {
    push_u64(out, a);
    out.push(b'.');
    push_u64(out, b);
    out.push(b'.');
    push_u64(out, c);
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A JSON string, escaped as canonical JSON escapes it (the generator's strings hold no control
/// characters, so this is also valid ordinary JSON).
fn push_str(out: &mut Vec<u8>, s: &str) {
    tufmirror_core::cjson::write_string(s, out);
}

fn push_str_list(out: &mut Vec<u8>, items: &[impl AsRef<str>]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        push_str(out, item.as_ref());
    }
    out.push(b']');
}

fn push_features(out: &mut Vec<u8>, features: &BTreeMap<String, Vec<String>>) {
    out.push(b'{');
    for (i, (k, v)) in features.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        push_str(out, k);
        out.extend_from_slice(b": ");
        push_str_list(out, v);
    }
    out.push(b'}');
}

fn push_hex(out: &mut Vec<u8>, rng: &mut Rng, bytes: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for _ in 0..bytes / 8 {
        let mut x = rng.next_u64();
        for _ in 0..16 {
            out.push(HEX[(x & 0xf) as usize]);
            x >>= 4;
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time (proleptic Gregorian, H. Hinnant's `civil_from_days`).
fn push_time(out: &mut Vec<u8>, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let two = |out: &mut Vec<u8>, n: i64| {
        out.push(b'0' + (n / 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    };
    push_u64(out, y as u64);
    out.push(b'-');
    two(out, m);
    out.push(b'-');
    two(out, d);
    out.push(b'T');
    two(out, secs / 3600);
    out.push(b':');
    two(out, secs / 60 % 60);
    out.push(b':');
    two(out, secs % 60);
    out.push(b'Z');
}

/// 2015-01-01T00:00:00Z, 2022-01-01, 2026-06-30: the range of publication times.
const T_START: i64 = 1_420_070_400;
const T_V2: i64 = 1_640_995_200;
const T_END: i64 = 1_782_777_600;

/// One crate's index file: its versions as lines, in publication order.
fn crate_file(name: &str, names: &[String], rng: &mut Rng) -> Vec<u8> {
    let versions = version_count(rng);
    let vf = (versions as f64).ln();

    // Dependencies: a per-crate pool, of which later versions use more.
    let dep_cap = if rng.chance(0.01) { 40 } else { 15 };
    let dep_base = ((0.9f64.ln() + 0.9 * rng.normal()).exp() + 0.35 * vf).round().clamp(0.0, dep_cap as f64) as usize;
    let pool_len = (dep_base + dep_base / 2 + usize::from(rng.chance(0.4))).min(dep_cap);
    let mut pool: Vec<Dep> = (0..pool_len).map(|_| make_dep(rng, names)).collect();

    // Features: roughly half of the crates have none.
    let mut features: Vec<(String, Vec<String>)> = Vec::new();
    if rng.chance(0.4) {
        let n = (1 + (rng.exp1() * 2.0) as usize + (vf * 0.6) as usize).min(30);
        let optional: Vec<&str> = pool.iter().filter(|d| d.optional).map(|d| d.name.as_str()).collect();
        let mut keys: HashSet<String> = HashSet::new();
        for i in 0..n {
            let key = if i == 0 { "default".to_owned() } else { (*rng.pick(FEATURE_NAMES)).to_owned() };
            if !keys.insert(key.clone()) {
                continue;
            }
            let mut value: Vec<String> = Vec::new();
            for _ in 0..rng.below(3) {
                match rng.below(3) {
                    0 if !optional.is_empty() => value.push((*rng.pick(&optional)).to_owned()),
                    1 if !optional.is_empty() => {
                        value.push(format!("{}/{}", rng.pick(&optional), rng.pick(DEP_FEATURES)))
                    }
                    _ => value.push((*rng.pick(FEATURE_NAMES)).to_owned()),
                }
            }
            value.dedup();
            features.push((key, value));
        }
    }
    let uses_v2 = rng.chance(0.3) && pool.iter().any(|d| d.optional);
    let rust_version_from =
        if rng.chance(0.4) { rng.range((T_V2 - 180 * 86_400) as u64, T_END as u64) as i64 } else { i64::MAX };
    let mut rust_minor = 46 + rng.below(20) as u64;
    let links = if name.ends_with("-sys") || name.ends_with("_sys") || rng.chance(0.004) {
        Some(name.trim_end_matches("-sys").trim_end_matches("_sys").replace('-', "_"))
    } else {
        None
    };

    // Publication times: a start and a mean gap, squeezed to end before T_END.
    let start = rng.range(T_START as u64, (T_END - 30 * 86_400) as u64) as i64;
    let mut gap = (25f64.ln() + rng.normal()).exp() * 86_400.0;
    gap = gap.min((T_END - start) as f64 / versions as f64 / 1.5);
    let mut t = start as f64;

    let (mut major, mut minor, mut patch) = match rng.below(20) {
        0..=13 => (0, 1, 0),
        14..=16 => (0, 0, 1),
        _ => (1, 0, 0),
    };
    let mut pre: Option<(&str, u64)> = None;
    let yank_rate = if rng.chance(0.1) { 0.3 } else { 0.02 };

    let mut out = Vec::with_capacity(versions * (200 + 150 * dep_base));
    let mut line_deps: Vec<usize> = Vec::with_capacity(pool.len());
    for v in 0..versions {
        if v > 0 {
            if let Some((tag, n)) = pre {
                pre = if rng.chance(0.5) { Some((tag, n + 1)) } else { None };
            } else {
                // 65% patch, 30% minor, 2% major (0.x crates: mostly minor), 3% a prerelease
                // of the next minor or major version.
                let (bump_major, prerelease) = match rng.below(100) {
                    0..=64 => {
                        patch += 1;
                        (None, false)
                    }
                    65..=94 => (Some(false), false),
                    95..=96 => (Some(major > 0 || rng.chance(0.3)), false),
                    _ => (Some(major > 0 && rng.chance(0.3)), true),
                };
                match bump_major {
                    Some(true) => {
                        major += 1;
                        minor = 0;
                        patch = 0;
                    }
                    Some(false) => {
                        minor += 1;
                        patch = 0;
                    }
                    None => {}
                }
                if prerelease {
                    pre = Some((*rng.pick(&["alpha", "beta", "rc"]), 1));
                }
            }
            for d in &mut pool {
                if rng.chance(0.03) {
                    d.ver.1 += 1;
                    d.ver.2 = 0;
                } else if rng.chance(0.1) {
                    d.ver.2 += 1;
                }
            }
            t += gap * rng.exp1();
        }
        let time = (t as i64).min(T_END);
        let progress = if versions == 1 { 1.0 } else { v as f64 / (versions - 1) as f64 };

        out.extend_from_slice(b"{\"name\": ");
        push_str(&mut out, name);
        out.extend_from_slice(b", \"vers\": \"");
        push_ver(&mut out, major, minor, patch);
        if let Some((tag, n)) = pre {
            out.push(b'-');
            out.extend_from_slice(tag.as_bytes());
            out.push(b'.');
            push_u64(&mut out, n);
        }
        out.extend_from_slice(b"\", \"deps\": [");
        // Early versions have about half of the dependencies, the last ones all of them.
        let used = ((pool.len() as f64) * (0.5 + 0.5 * progress)).round() as usize;
        line_deps.clear();
        line_deps.extend(0..used.min(pool.len()));
        line_deps.sort_by(|&a, &b| (pool[a].name.as_str(), pool[a].kind).cmp(&(pool[b].name.as_str(), pool[b].kind)));
        for (i, &di) in line_deps.iter().enumerate() {
            let d = &pool[di];
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"{\"name\": ");
            push_str(&mut out, &d.name);
            out.extend_from_slice(b", \"req\": \"");
            push_req(&mut out, d);
            out.extend_from_slice(b"\", \"features\": ");
            push_str_list(&mut out, &d.features);
            out.extend_from_slice(if d.optional { b", \"optional\": true" } else { b", \"optional\": false" });
            out.extend_from_slice(if d.default_features {
                b", \"default_features\": true"
            } else {
                b", \"default_features\": false"
            });
            out.extend_from_slice(b", \"target\": ");
            match d.target {
                Some(target) => push_str(&mut out, target),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b", \"kind\": \"");
            out.extend_from_slice(d.kind.as_bytes());
            out.push(b'"');
            if let Some(package) = &d.package {
                out.extend_from_slice(b", \"package\": ");
                push_str(&mut out, package);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"], \"cksum\": \"");
        push_hex(&mut out, rng, 32);
        out.extend_from_slice(b"\", \"features\": ");
        let shown = ((features.len() as f64) * (0.4 + 0.6 * progress)).ceil() as usize;
        let v2 = uses_v2 && time >= T_V2;
        let mut plain: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut second: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, vals) in features.iter().take(shown) {
            if v2 && !vals.is_empty() && k != "default" {
                // New-style features: `dep:` and `?/` syntax, which needs the `features2` map.
                let vals = vals
                    .iter()
                    .map(|x| match x.split_once('/') {
                        Some((dep, f)) => format!("{dep}?/{f}"),
                        None if pool.iter().any(|d| d.name == *x) => format!("dep:{x}"),
                        None => x.clone(),
                    })
                    .collect();
                second.insert(k.clone(), vals);
            } else {
                plain.insert(k.clone(), vals.clone());
            }
        }
        push_features(&mut out, &plain);
        if v2 && !second.is_empty() {
            out.extend_from_slice(b", \"features2\": ");
            push_features(&mut out, &second);
        }
        out.extend_from_slice(if rng.chance(yank_rate) { b", \"yanked\": true" } else { b", \"yanked\": false" });
        if let Some(links) = &links {
            out.extend_from_slice(b", \"links\": ");
            push_str(&mut out, links);
        }
        if time >= rust_version_from {
            if rng.chance(0.05) {
                rust_minor += 1;
            }
            out.extend_from_slice(b", \"rust_version\": \"1.");
            push_u64(&mut out, rust_minor);
            if rust_minor.is_multiple_of(3) {
                out.extend_from_slice(b".0");
            }
            out.push(b'"');
        }
        out.extend_from_slice(b", \"pubtime\": \"");
        push_time(&mut out, time);
        out.push(b'"');
        if v2 && !second.is_empty() {
            out.extend_from_slice(b", \"v\": 2");
        }
        out.extend_from_slice(b"}\n");
    }
    // Exact sizes, as files read from disk would have: memory figures should not include slack.
    out.shrink_to_fit();
    out
}

#[cfg(test)]
mod tests;
