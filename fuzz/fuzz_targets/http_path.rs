//! The paths the servers accept under `/index/` (`crates/index/src/path.rs`: `crate_of_path`,
//! which both the daemon and `serve-static` call before touching the disk or the tree).
//!
//! Properties: an accepted path is exactly where cargo looks for its crate (so it round-trips
//! through `index_path`), is lowercase, relative, and stays inside the folder it is joined to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path};
use tufmirror_index::{CrateName, crate_of_path, index_path};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else { return };
    if let Ok(name) = crate_of_path(path) {
        assert_eq!(name.index_path(), path);
        assert_eq!(index_path(name.as_str()), path);
        assert_eq!(name.as_str(), name.lowercase());
        assert!(CrateName::new(name.as_str()).is_ok());
        assert!(Path::new(path).components().all(|c| matches!(c, Component::Normal(_))), "{path:?} leaves the folder");
        assert!(path.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_/".contains(&b)), "{path:?}");
    }
    // Any name that is a crate name has a path that maps back to it.
    if let Ok(name) = CrateName::new(path) {
        let back = crate_of_path(&name.index_path()).expect("a crate's own path is accepted");
        assert_eq!(back.as_str(), name.lowercase());
    }
});
