use super::*;
use serde_json::Value;
use std::collections::HashSet;

/// The top-level keys of an upstream index line, in the order upstream writes them.
const LINE_KEYS: &[&str] =
    &["name", "vers", "deps", "cksum", "features", "features2", "yanked", "links", "rust_version", "pubtime", "v"];
const DEP_KEYS: &[&str] =
    &["name", "req", "features", "optional", "default_features", "target", "kind", "registry", "package"];

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/crates-io-sample/index")
}

/// Positions of `keys` (top-level keys of one JSON object written in upstream style) in `line`,
/// which must be increasing if the keys come in upstream's order.
fn key_order(line: &str, keys: &[String], known: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| known.iter().position(|x| x == k).unwrap_or_else(|| panic!("unknown key {k:?} in {line}")))
        .collect()
}

/// The keys of the object that starts at `s` in document order (serde_json's `Value` sorts them).
fn object_keys_in_order(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(s);
    struct Keys<'a>(&'a mut Vec<String>);
    impl<'de> serde::de::Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                self.0.push(k);
            }
            Ok(())
        }
    }
    serde::Deserializer::deserialize_map(&mut de, Keys(&mut out)).expect("an object");
    out
}

/// Everything we claim about one line; holds for upstream's lines too (checked below).
fn check_line(line: &str, expected_name: &str) {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let name = v["name"].as_str().expect("name");
    assert_eq!(name.to_ascii_lowercase(), expected_name, "{line}");
    assert!(v["vers"].as_str().is_some_and(|s| !s.is_empty()), "{line}");
    let cksum = v["cksum"].as_str().expect("cksum");
    assert!(cksum.len() == 64 && cksum.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{line}");
    assert!(v["features"].is_object() && v["yanked"].is_boolean(), "{line}");
    if let Some(t) = v.get("pubtime") {
        let t = t.as_str().expect("pubtime");
        assert!(t.len() == 20 && t.ends_with('Z') && &t[10..11] == "T", "{line}");
    }
    if v.get("features2").is_some() {
        assert_eq!(v["v"], 2, "{line}");
    }
    let keys = object_keys_in_order(line);
    let order = key_order(line, &keys, LINE_KEYS);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "keys out of upstream order: {line}");
    for dep in v["deps"].as_array().expect("deps") {
        for key in ["name", "req", "features", "optional", "default_features", "target", "kind"] {
            assert!(dep.get(key).is_some(), "dep without {key}: {line}");
        }
        assert!(matches!(dep["kind"].as_str(), Some("normal" | "dev" | "build")), "{line}");
    }
    // Upstream style: a space after every ':' and ',' between tokens.
    assert!(line.starts_with("{\"name\": \""), "{line}");
    for bad in ["\":\"", "\":[", "\":{", "\",\"", "],\"", "},{", "\":true", "\":false", "\":null"] {
        assert!(!line.contains(bad), "{bad:?} in {line}");
    }
}

/// The dependency objects of a line, as raw text, in document order.
fn dep_key_orders(line: &str) -> Vec<Vec<String>> {
    let start = line.find("\"deps\": [").expect("deps") + "\"deps\": [".len();
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let (mut depth, mut in_str, mut esc, mut obj_start) = (0usize, false, false, 0usize);
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' => {
                if depth == 0 {
                    obj_start = i;
                }
                depth += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    out.push(object_keys_in_order(&line[obj_start..=i]));
                }
            }
            b']' if depth == 0 => break,
            _ => {}
        }
    }
    out
}

fn check_file(path: &str, bytes: &[u8]) {
    let name = path.rsplit('/').next().expect("name");
    assert_eq!(path, sparse_path(name), "path rules");
    let text = std::str::from_utf8(bytes).expect("utf-8");
    assert!(text.ends_with('\n'), "{path}");
    for line in text.lines() {
        check_line(line, name);
        for keys in dep_key_orders(line) {
            let order = key_order(line, &keys, DEP_KEYS);
            assert!(order.windows(2).all(|w| w[0] < w[1]), "dep keys out of upstream order: {line}");
        }
    }
}

#[test]
fn the_checks_accept_upstream_lines() {
    let mut checked = 0;
    let mut stack = vec![fixture_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "config.json") {
                let rel = path.strip_prefix(fixture_dir()).expect("prefix").to_string_lossy().into_owned();
                check_file(&rel, &std::fs::read(&path).expect("read"));
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "fixtures missing ({checked})");
}

#[test]
fn deterministic_for_a_seed() {
    let a = synthetic_index(3000, 7);
    assert_eq!(a, synthetic_index(3000, 7));
    assert_ne!(a, synthetic_index(3000, 8));
    assert_eq!(a.len(), 3000);
    // A larger index extends a smaller one: its first 3000 crates are the same files.
    let b = synthetic_index(3500, 7);
    let small: std::collections::HashMap<_, _> = a.iter().cloned().collect();
    let shared = b.iter().filter(|(p, bytes)| small.get(p).is_some_and(|x| x == bytes)).count();
    assert_eq!(shared, 3000);
}

#[test]
fn sparse_paths_follow_cargo() {
    assert_eq!(sparse_path("a"), "1/a");
    assert_eq!(sparse_path("ab"), "2/ab");
    assert_eq!(sparse_path("abc"), "3/a/abc");
    assert_eq!(sparse_path("abcd"), "ab/cd/abcd");
    assert_eq!(sparse_path("Serde_JSON"), "se/rd/serde_json");
    assert_eq!(sparse_path("nu-ansi-term"), "nu/-a/nu-ansi-term");
}

#[test]
fn every_file_is_well_formed() {
    let index = synthetic_index(4000, 1);
    assert!(index.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()), "sorted, unique");
    let mut canonical = HashSet::new();
    for (path, bytes) in &index {
        let name = path.rsplit('/').next().expect("name");
        assert!(name.len() <= 64 && name.as_bytes()[0].is_ascii_lowercase(), "{name}");
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'), "{name}");
        assert!(canonical.insert(name.replace('_', "-")), "{name} collides with another name");
        check_file(path, bytes);
    }
    // Some lines of every optional kind are there.
    let all: String = index.iter().map(|(_, b)| std::str::from_utf8(b).expect("utf-8")).collect();
    for needle in [
        "\"features2\": {",
        "\"v\": 2}",
        "\"rust_version\": \"1.",
        "\"links\": \"",
        "\"yanked\": true",
        "\"package\": \"",
        "\"target\": \"cfg(",
        "\"kind\": \"build\"",
        "dep:",
    ] {
        assert!(all.contains(needle), "no line has {needle}");
    }
}

#[test]
fn shape_is_like_crates_io() {
    let index = synthetic_index(20_000, 3);
    let s = stats(&index);
    assert_eq!(s.files, 20_000);
    assert!((3..=5).contains(&s.median_versions), "{s:?}");
    assert!((6.0..=10.0).contains(&s.mean_versions), "{s:?}");
    assert!(s.max_versions >= 150 && s.p99_versions >= 50, "heavy tail: {s:?}");
    assert!((250.0..=800.0).contains(&s.mean_line_bytes), "{s:?}");
    assert!(s.short_dirs.iter().all(|&n| n > 0), "1/, 2/ and 3/ populated: {s:?}");
    let lengths: Vec<usize> = index.iter().map(|(p, _)| p.rsplit('/').next().map_or(0, str::len)).collect();
    let mid = lengths.iter().filter(|&&l| (5..=20).contains(&l)).count();
    assert!(mid * 100 >= lengths.len() * 75, "most names have 5 to 20 characters");
}

#[test]
fn write_index_lays_out_files() {
    let index = synthetic_index(300, 5);
    let dir = tempfile::tempdir().expect("tempdir");
    write_index(dir.path(), &index).expect("write");
    for (path, bytes) in &index {
        assert_eq!(&std::fs::read(dir.path().join(path)).expect("read back"), bytes, "{path}");
    }
}

#[test]
fn absent_paths_are_absent() {
    let index = synthetic_index(2000, 9);
    let absent = absent_paths(&index, 500, 9);
    assert_eq!(absent.len(), 500);
    let present: HashSet<&str> = index.iter().map(|(p, _)| p.as_str()).collect();
    for p in &absent {
        assert!(!present.contains(p.as_str()), "{p}");
        assert_eq!(*p, sparse_path(p.rsplit('/').next().expect("name")));
    }
    assert_eq!(absent, absent_paths(&index, 500, 9));
}
