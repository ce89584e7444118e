//! What gets mirrored: allow/deny patterns, seeds from `Cargo.lock` files, and the walk over every
//! dependency of every version until the set is closed. Pure logic: the sync drives the walk with
//! the files it fetches.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::collections::{BTreeSet, VecDeque};
use tufmirror_index::{CrateName, IndexLine};

/// Allow and deny patterns over crate names (case-insensitive, as crate names are).
#[derive(Debug, Clone)]
pub struct Filter {
    allow: Option<GlobSet>,
    deny: GlobSet,
}

/// A pattern that is not a glob.
#[derive(Debug, thiserror::Error)]
#[error("pattern {pattern:?} is not a valid glob")]
pub struct PatternError {
    /// The pattern as configured.
    pub pattern: String,
    /// Why `globset` refused it.
    #[source]
    pub source: globset::Error,
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, PatternError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(&p.to_ascii_lowercase())
            .literal_separator(false)
            .build()
            .map_err(|source| PatternError { pattern: p.clone(), source })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| PatternError { pattern: patterns.join(", "), source })
}

impl Filter {
    /// An empty `allow` allows every name.
    pub fn new(allow: &[String], deny: &[String]) -> Result<Self, PatternError> {
        Ok(Filter { allow: (!allow.is_empty()).then(|| glob_set(allow)).transpose()?, deny: glob_set(deny)? })
    }

    /// Whether crate `name` matches one of `allow` (case-insensitively) and none of `deny`.
    pub fn allows(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.allow.as_ref().is_none_or(|a| a.is_match(&name)) && !self.deny.is_match(&name)
    }
}

/// The crates a file's versions depend on (renamed dependencies by their real name), lowercase.
/// Dependencies on other registries are not this mirror's to follow.
pub fn dependencies(lines: &[IndexLine], dev: bool) -> BTreeSet<String> {
    lines
        .iter()
        .flat_map(|l| &l.deps)
        .filter(|d| d.registry.is_none() && (dev || d.kind.as_deref() != Some("dev")))
        .map(|d| d.crate_name().to_ascii_lowercase())
        .collect()
}

/// A `Cargo.lock` that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a Cargo.lock: {0}")]
pub struct LockfileError(String);

/// The registry packages of a `Cargo.lock` (path and git packages are not in any index).
pub fn lockfile_crates(text: &str) -> Result<BTreeSet<String>, LockfileError> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
        source: Option<String>,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| LockfileError(e.to_string()))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| p.source.as_deref().is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+")))
        .map(|p| p.name.to_ascii_lowercase())
        .collect())
}

/// The walk to a closed set: feed it seeds, take names to fetch, report what each file depends on.
#[derive(Debug, Clone, Default)]
pub struct Closure {
    queue: VecDeque<String>,
    seen: BTreeSet<String>,
    refused: BTreeSet<String>,
}

impl Closure {
    /// Adds names to visit (invalid and denied names are set aside, see [`Self::refused`]).
    pub fn add(&mut self, names: impl IntoIterator<Item = String>, filter: &Filter) {
        for name in names {
            let name = name.to_ascii_lowercase();
            if self.seen.contains(&name) || self.refused.contains(&name) {
                continue;
            }
            if CrateName::new(&name).is_err() || !filter.allows(&name) {
                self.refused.insert(name);
                continue;
            }
            self.seen.insert(name.clone());
            self.queue.push_back(name);
        }
    }

    /// The next crate to fetch.
    pub fn next_to_fetch(&mut self) -> Option<String> {
        self.queue.pop_front()
    }

    /// Every allowed name met so far (fetched or still queued).
    pub fn names(&self) -> &BTreeSet<String> {
        &self.seen
    }

    /// Names that were met but denied or invalid.
    pub fn refused(&self) -> &BTreeSet<String> {
        &self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn allow_and_deny_globs_are_case_insensitive() {
        let f = Filter::new(&["serde*".into(), "tokio".into()], &["serde_yaml".into()]).expect("filter");
        assert!(f.allows("serde") && f.allows("Serde_JSON") && f.allows("tokio"));
        assert!(!f.allows("serde_yaml") && !f.allows("rand"));
        let all = Filter::new(&[], &["evil-*".into()]).expect("filter");
        assert!(all.allows("anything") && !all.allows("evil-crate"));
        assert!(Filter::new(&["a[".into()], &[]).is_err());
    }

    fn line(name: &str, deps: &[(&str, &str, Option<&str>)]) -> IndexLine {
        let deps: Vec<String> = deps
            .iter()
            .map(|(n, kind, package)| {
                let package = package.map(|p| format!(", \"package\": \"{p}\"")).unwrap_or_default();
                format!(r#"{{"name": "{n}", "req": "^1", "features": [], "optional": false, "default_features": true, "target": null, "kind": "{kind}"{package}}}"#)
            })
            .collect();
        let text = format!(
            r#"{{"name": "{name}", "vers": "1.0.0", "deps": [{}], "cksum": "{}", "features": {{}}, "yanked": false}}"#,
            deps.join(", "),
            "a".repeat(64)
        );
        IndexLine::parse(&text, &CrateName::new(name).expect("name")).expect("line")
    }

    #[test]
    fn the_walk_follows_every_dependency_once_and_skips_denied_ones() {
        let index: BTreeMap<&str, Vec<IndexLine>> = BTreeMap::from([
            (
                "app",
                vec![line(
                    "app",
                    &[("serde", "normal", None), ("json", "normal", Some("Serde_Json")), ("tester", "dev", None)],
                )],
            ),
            ("serde", vec![line("serde", &[("serde_derive", "build", None)])]),
            ("serde_json", vec![line("serde_json", &[("serde", "normal", None), ("evil", "normal", None)])]),
            ("serde_derive", vec![line("serde_derive", &[])]),
        ]);
        let filter = Filter::new(&[], &["evil".into()]).expect("filter");
        let mut closure = Closure::default();
        closure.add(["App".to_owned()], &filter);
        let mut fetched = Vec::new();
        while let Some(name) = closure.next_to_fetch() {
            let lines = index.get(name.as_str()).cloned().unwrap_or_default();
            closure.add(dependencies(&lines, false), &filter);
            fetched.push(name);
        }
        assert_eq!(fetched, ["app", "serde", "serde_json", "serde_derive"]);
        assert_eq!(closure.refused().iter().collect::<Vec<_>>(), ["evil"]);
        assert!(!closure.names().contains("tester"), "dev-dependencies only with the switch");
    }

    #[test]
    fn lockfiles_give_registry_packages_only() {
        let lock = r#"
version = 4
[[package]]
name = "proj"
version = "0.1.0"
[[package]]
name = "Serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "tokio"
version = "1.0.0"
source = "sparse+https://index.crates.io/"
[[package]]
name = "gitdep"
version = "0.1.0"
source = "git+https://example.org/x#abc"
"#;
        assert_eq!(lockfile_crates(lock).expect("lock").into_iter().collect::<Vec<_>>(), ["serde", "tokio"]);
        assert!(lockfile_crates("[[package]]\nname = 1").is_err());
    }

    #[test]
    fn the_fixture_lockfile_seeds_every_registry_package() {
        let text = include_str!("../../../tests/fixtures/crates-io-sample/project/Cargo.lock");
        let crates = lockfile_crates(text).expect("fixture lock");
        let registry_packages =
            text.matches("source = \"registry+").count() + text.matches("source = \"sparse+").count();
        assert!(crates.len() <= registry_packages && crates.len() > 150, "{} crates", crates.len());
        assert!(crates.contains("axum") && crates.contains("ed25519-dalek") && !crates.contains("proj"));
    }
}
