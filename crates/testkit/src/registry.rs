//! Real, buildable synthetic crates: a `.crate` archive that `cargo build` unpacks and compiles, and
//! the index line that describes it.
//!
//! End-to-end tests need a registry whose crates cargo will actually fetch, verify and build, so
//! these are not placeholders: the archive is a gzip'd tar of `NAME-VERS/Cargo.toml`,
//! `NAME-VERS/Cargo.toml.orig` and `NAME-VERS/src/lib.rs`, and the index line carries the archive's
//! real SHA-256. The bytes depend only on the inputs (fixed mtime, mode, owner and gzip header), so
//! a test can compute a checksum once and expect it forever.

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

/// A normal dependency on another crate of the same registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    /// A version requirement, as written in `Cargo.toml` and the index (`"^1.0"`, `"=0.2.3"`).
    pub req: String,
}

impl Dep {
    pub fn new(name: &str, req: &str) -> Self {
        Dep { name: name.to_owned(), req: req.to_owned() }
    }
}

/// One published version: its `.crate` bytes and what the index says about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateFile {
    pub name: String,
    pub vers: String,
    pub deps: Vec<Dep>,
    /// The `.crate` archive (gzip'd tar).
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`, as the index's `cksum`.
    pub cksum: String,
}

/// The mtime of every archive entry: tar's `DETERMINISTIC_TIMESTAMP` (2006-07-24), the value cargo
/// itself gives packaged files; some tools mishandle 0.
const MTIME: u64 = tar::DETERMINISTIC_TIMESTAMP;

/// The sparse-index path of `name` (`1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lowercase); the same
/// as [`crate::sparse_path`], under the name the fake upstream's API uses.
///
/// # Panics
/// If `name` is empty or not ASCII.
pub fn index_path(name: &str) -> String {
    crate::sparse_path(name)
}

/// A `.crate` for `name` `vers` with `deps` as normal dependencies and `lib_rs` as `src/lib.rs`.
///
/// The archive is deterministic: the same arguments give the same bytes and so the same `cksum`.
pub fn make_crate(name: &str, vers: &str, deps: &[Dep], lib_rs: &str) -> CrateFile {
    let manifest = manifest(name, vers, deps);
    let root = format!("{name}-{vers}");
    let entries: [(&str, &[u8]); 3] = [
        ("Cargo.toml", manifest.as_bytes()),
        ("Cargo.toml.orig", manifest.as_bytes()),
        ("src/lib.rs", lib_rs.as_bytes()),
    ];

    // Fixed gzip header: no file name, mtime 0, OS "unknown", whatever the build machine.
    let gz = GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(MTIME);
        header.set_uid(0);
        header.set_gid(0);
        // Writing to a Vec cannot fail; a path tar refuses (`..`, absolute) is a bug in the caller.
        tar.append_data(&mut header, format!("{root}/{path}"), data).expect("append a tar entry to memory");
    }
    let bytes = tar.into_inner().and_then(|gz| gz.finish()).expect("finish a .crate in memory");
    let cksum = hex::encode(Sha256::digest(&bytes));
    CrateFile { name: name.to_owned(), vers: vers.to_owned(), deps: deps.to_vec(), bytes, cksum }
}

/// The manifest inside the archive: just enough for cargo to build the crate as a library.
fn manifest(name: &str, vers: &str, deps: &[Dep]) -> String {
    let mut s = format!("[package]\nname = {}\nversion = {}\nedition = \"2021\"\n", toml_str(name), toml_str(vers));
    s.push_str("\n[dependencies]\n");
    for dep in deps {
        s.push_str(&format!("{} = {}\n", toml_key(&dep.name), toml_str(&dep.req)));
    }
    s
}

/// A TOML key: bare when it can be (every valid crate name), quoted otherwise so that odd test
/// names cannot break the manifest.
fn toml_key(s: &str) -> String {
    let bare = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare { s.to_owned() } else { toml_str(s) }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl CrateFile {
    /// The index line of this version, without the trailing newline.
    ///
    /// Written the way the production upstream writes it (a space after `:` and `,`, like
    /// Python's `json.dumps`), not compact, so that code which re-serializes instead of passing
    /// bytes through shows up as a changed file. Only fields cargo's index schema knows: `name`,
    /// `vers`, `deps`, `cksum`, `features`, `yanked`, `links`. `registry: null` on a dependency
    /// means "this same registry".
    pub fn index_line(&self, yanked: bool) -> String {
        let mut out = Vec::with_capacity(256 + 200 * self.deps.len());
        out.extend_from_slice(b"{\"name\": ");
        json_str(&mut out, &self.name);
        out.extend_from_slice(b", \"vers\": ");
        json_str(&mut out, &self.vers);
        out.extend_from_slice(b", \"deps\": [");
        for (i, dep) in self.deps.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"{\"name\": ");
            json_str(&mut out, &dep.name);
            out.extend_from_slice(b", \"req\": ");
            json_str(&mut out, &dep.req);
            out.extend_from_slice(
                b", \"features\": [], \"optional\": false, \"default_features\": true, \"target\": null, \
                  \"kind\": \"normal\", \"registry\": null}",
            );
        }
        out.extend_from_slice(b"], \"cksum\": ");
        json_str(&mut out, &self.cksum);
        out.extend_from_slice(b", \"features\": {}, \"yanked\": ");
        out.extend_from_slice(if yanked { b"true" } else { b"false" });
        out.extend_from_slice(b", \"links\": null}");
        String::from_utf8(out).expect("JSON built from &str is UTF-8")
    }
}

/// A JSON string. Canonical-JSON escaping (only `"` and `\`) is valid JSON as long as there are
/// no control characters, which crate names, versions and requirements never hold.
fn json_str(out: &mut Vec<u8>, s: &str) {
    tufmirror_core::cjson::write_string(s, out);
}
