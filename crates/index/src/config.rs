//! `config.json`, the first file cargo reads from a sparse registry.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The registry configuration. Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryConfig {
    /// Download URL template: `{crate}`, `{version}`, `{prefix}`, `{lowerprefix}`,
    /// `{sha256-checksum}`; without any marker cargo appends `/{crate}/{version}/download`.
    pub dl: String,
    /// `api`: the registry's web API URL (publishing, owners); `None` for a download-only registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// `auth-required`: whether cargo must send a token for every request (false when absent).
    #[serde(default, rename = "auth-required", skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    /// Other members, passed through unchanged.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// A `config.json` that cargo could not use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryConfigError {
    /// The file is not JSON of this shape: the parser's error.
    #[error("config.json is not valid: {0}")]
    Invalid(#[source] serde_json::Error),
    /// `dl` is the empty string.
    #[error("config.json has an empty \"dl\"")]
    EmptyDl,
}

impl RegistryConfig {
    /// crates.io's own configuration, used when the input has none.
    pub fn crates_io() -> Self {
        RegistryConfig {
            dl: "https://static.crates.io/crates".to_owned(),
            api: Some("https://crates.io".to_owned()),
            auth_required: false,
            unknown: BTreeMap::new(),
        }
    }

    /// Parses and checks `config.json` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, RegistryConfigError> {
        let config: RegistryConfig = serde_json::from_slice(bytes).map_err(RegistryConfigError::Invalid)?;
        if config.dl.trim().is_empty() {
            return Err(RegistryConfigError::EmptyDl);
        }
        Ok(config)
    }

    /// The bytes that tufmirror serves for a configuration it writes itself.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing a struct of strings and JSON values cannot fail.
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The download URL of one `.crate`, expanding the template as cargo does.
    pub fn download_url(&self, name: &str, version: &str, cksum: &str) -> String {
        const MARKERS: [&str; 5] = ["{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"];
        if !MARKERS.iter().any(|m| self.dl.contains(m)) {
            return format!("{}/{name}/{version}/download", self.dl.trim_end_matches('/'));
        }
        let lower = name.to_ascii_lowercase();
        let prefix = |n: &str| {
            let p = crate::index_path(n);
            p.rsplit_once('/').map(|(dir, _)| dir.to_owned()).unwrap_or_default()
        };
        self.dl
            .replace("{crate}", name)
            .replace("{version}", version)
            .replace("{prefix}", &prefix(name))
            .replace("{lowerprefix}", &prefix(&lower))
            .replace("{sha256-checksum}", cksum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls_follow_cargo() {
        let mut c = RegistryConfig::crates_io();
        assert_eq!(c.download_url("Foo", "1.0.0", "ab"), "https://static.crates.io/crates/Foo/1.0.0/download");
        c.dl = "https://m/{prefix}/{lowerprefix}/{crate}/{version}/{sha256-checksum}".into();
        assert_eq!(c.download_url("Abcd", "0.1.0", "ff"), "https://m/Ab/cd/ab/cd/Abcd/0.1.0/ff");
        c.dl = "https://m/{prefix}/{crate}".into();
        assert_eq!(c.download_url("abc", "1.0.0", "ff"), "https://m/3/a/abc");
    }

    #[test]
    fn parse_refuses_garbage_and_keeps_unknown_fields() {
        assert!(matches!(RegistryConfig::parse(b"{"), Err(RegistryConfigError::Invalid(_))));
        assert!(matches!(RegistryConfig::parse(br#"{"dl": ""}"#), Err(RegistryConfigError::EmptyDl)));
        let c = RegistryConfig::parse(br#"{"dl": "https://x", "future": 1}"#).expect("valid");
        assert_eq!(c.unknown.get("future"), Some(&serde_json::json!(1)));
    }
}
