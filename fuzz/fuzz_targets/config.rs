//! The daemon's configuration (`crates/mirror/src/config.rs`): hostile TOML and environment
//! overrides through `Config::load`, which parses, resolves paths and validates.
//!
//! The module is compiled here on its own (`#[path]`): the mirror crate depends on the signer with
//! every backend, the AWS SDK included, which is too slow to build under the sanitizer in the CI
//! step. The module uses only serde, toml, humantime-serde, url, thiserror, tufmirror-core and
//! tufmirror-upstream (the download-host rules).
//!
//! Input: the TOML text, then NUL-separated values for the environment overrides, in the order
//! of `ENV_OVERRIDES`. Property: no panic, and a configuration that loads loads again the same.
#![no_main]

#[allow(dead_code, clippy::all)]
#[path = "../../crates/mirror/src/config.rs"]
mod config;

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fn file() -> PathBuf {
    std::env::temp_dir().join(format!("tufmirror-fuzz-config-{}.toml", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split('\0');
    let toml = parts.next().unwrap_or_default();
    let env: Vec<(&str, &str)> = config::ENV_OVERRIDES.iter().map(|(var, _)| *var).zip(parts).collect();
    let lookup = |var: &str| env.iter().find(|(v, _)| *v == var).map(|(_, value)| (*value).to_owned());
    let path = file();
    std::fs::write(&path, toml).expect("a temporary file");
    let first = config::Config::load(Some(&path), lookup);
    if let Ok(first) = first {
        let second = config::Config::load(Some(&path), lookup).expect("loads twice");
        assert_eq!(first, second);
    }
});
