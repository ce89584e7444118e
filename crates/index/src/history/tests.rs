use super::*;
use crate::{CrateName, validate_index_file};
use serde_json::json;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A published-looking line of `foo` as a JSON object, for tests to edit.
fn base(vers: &str, cksum: &str) -> Value {
    json!({
        "name": "foo",
        "vers": vers,
        "deps": [
            {"name": "bar", "req": "^1", "features": ["std"], "optional": false, "default_features": true,
             "target": null, "kind": "normal"},
            {"name": "baz", "req": "^0.3", "features": [], "optional": true, "default_features": true,
             "target": "cfg(unix)", "kind": "normal"}
        ],
        "cksum": cksum,
        "features": {"default": ["std"], "std": []},
        "features2": {"extra": ["dep:baz"]},
        "v": 2,
        "links": "foo-sys",
        "rust_version": "1.60",
        "yanked": false
    })
}

fn file(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Checks `offered` against `published` (its versions were all published) with `rule`.
fn check_with(rule: &HistoryRule, published: &str, offered: &str) -> Vec<HistoryViolation> {
    let name = CrateName::new("foo").expect("name");
    let before = validate_index_file(published.as_bytes(), &name).expect("published file is valid");
    let cksums: BTreeMap<String, String> = before.into_iter().map(|l| (l.vers, l.cksum)).collect();
    let lines = validate_index_file(offered.as_bytes(), &name).expect("offered file is valid");
    rule.check(History { cksums: &cksums, file: Some(published.as_bytes()) }, offered.as_bytes(), &lines)
}

fn check(published: &str, offered: &str) -> Vec<HistoryViolation> {
    check_with(&HistoryRule::default(), published, offered)
}

fn changed(field: &str) -> Vec<HistoryViolation> {
    vec![HistoryViolation::FieldChanged { vers: "1.0.0".into(), field: field.into() }]
}

/// The published 1.0.0 with `edit` applied, as a one-line file.
fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut line = base("1.0.0", A);
    edit(&mut line);
    file(&[line])
}

#[test]
fn the_same_line_in_another_spelling_is_unchanged() {
    let published = file(&[base("1.0.0", A)]);
    // Key order and white space differ; `\u0062ar` is "bar"; the result is the same JSON.
    let respelled = concat!(
        r#"{ "yanked" : false, "rust_version": "1.60", "links": "foo-sys", "v": 2, "features2": {"extra": ["dep:baz"]},"#,
        r#" "features": {"std": [], "default": ["std"]}, "cksum": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","#,
        r#" "deps": [{"kind": "normal", "target": null, "default_features": true, "optional": false, "features": ["std"],"#,
        r#" "req": "^1", "name": "\u0062ar"}, {"name": "baz", "req": "^0.3", "features": [], "optional": true,"#,
        r#" "default_features": true, "target": "cfg(unix)", "kind": "normal"}], "vers": "1.0.0", "name": "foo"}"#,
        "\n"
    );
    assert_eq!(check(&published, respelled), vec![]);
}

#[test]
fn a_changed_dependency_is_a_violation() {
    let published = file(&[base("1.0.0", A)]);
    assert_eq!(check(&published, &edited(|l| l["deps"][0]["req"] = json!("^2"))), changed("deps"));
    assert_eq!(check(&published, &edited(|l| l["deps"][1]["optional"] = json!(false))), changed("deps"));
    assert_eq!(
        check(
            &published,
            &edited(|l| l["deps"].as_array_mut().expect("deps").push(json!({
                "name": "evil", "req": "*", "features": [], "optional": false, "default_features": true
            })))
        ),
        changed("deps")
    );
    // Array order is significant: the same dependencies in another order are a change.
    assert_eq!(check(&published, &edited(|l| l["deps"].as_array_mut().expect("deps").reverse())), changed("deps"));
}

#[test]
fn changed_features_links_features2_rust_version_and_unknown_fields_are_violations() {
    let published = file(&[base("1.0.0", A)]);
    assert_eq!(check(&published, &edited(|l| l["features"]["std"] = json!(["bar/evil"]))), changed("features"));
    assert_eq!(check(&published, &edited(|l| l["features"]["default"] = json!([]))), changed("features"));
    assert_eq!(check(&published, &edited(|l| l["links"] = json!("z"))), changed("links"));
    assert_eq!(check(&published, &edited(|l| l["features2"]["extra"] = json!(["dep:bar"]))), changed("features2"));
    assert_eq!(check(&published, &edited(|l| l["rust_version"] = json!("1.50"))), changed("rust_version"));
    assert_eq!(check(&published, &edited(|l| l["v"] = json!(3))), changed("v"));
    assert_eq!(check(&published, &edited(|l| l["name"] = json!("FOO"))), changed("name"));
    let with_unknown = edited(|l| l["future"] = json!([1, 2]));
    assert_eq!(check(&with_unknown, &edited(|l| l["future"] = json!([2, 1]))), changed("future"));
}

#[test]
fn a_removed_field_is_a_violation() {
    let published = file(&[base("1.0.0", A)]);
    assert_eq!(
        check(&published, &edited(|l| drop(l.as_object_mut().expect("object").remove("links")))),
        changed("links")
    );
    // A field that may appear may not disappear again.
    assert_eq!(
        check(&published, &edited(|l| drop(l.as_object_mut().expect("object").remove("rust_version")))),
        changed("rust_version")
    );
}

#[test]
fn only_listed_fields_may_appear() {
    let bare = edited(|l| {
        let o = l.as_object_mut().expect("object");
        for k in ["links", "rust_version", "features2", "v"] {
            o.remove(k);
        }
    });
    let plus = |edit: &dyn Fn(&mut Value)| {
        let mut line: Value = serde_json::from_str(bare.trim()).expect("json");
        edit(&mut line);
        file(&[line])
    };
    assert_eq!(check(&bare, &plus(&|l| l["pubtime"] = json!("2020-01-01T00:00:00Z"))), vec![]);
    assert_eq!(check(&bare, &plus(&|l| l["rust_version"] = json!("1.60"))), vec![]);
    assert_eq!(check(&bare, &plus(&|l| l["links"] = json!("z"))), changed("links"));
    assert_eq!(check(&bare, &plus(&|l| l["features2"] = json!({"x": ["dep:baz"]}))), changed("features2"));
    assert_eq!(check(&bare, &plus(&|l| l["v"] = json!(2))), changed("v"));
    assert_eq!(check(&bare, &plus(&|l| l["future"] = json!(1))), changed("future"));
    // `null` is absent: writing it out, or dropping it, changes nothing.
    assert_eq!(check(&bare, &plus(&|l| l["links"] = Value::Null)), vec![]);
    let published = file(&[base("1.0.0", A)]);
    assert_eq!(
        check(&published, &edited(|l| drop(l["deps"][0].as_object_mut().expect("dep").remove("target")))),
        vec![]
    );
}

#[test]
fn yanked_flips_both_ways() {
    let published = file(&[base("1.0.0", A)]);
    let yanked = edited(|l| l["yanked"] = json!(true));
    assert_eq!(check(&published, &yanked), vec![]);
    assert_eq!(check(&yanked, &published), vec![]);
}

#[test]
fn a_changed_cksum_and_a_removed_version_are_violations() {
    let published = file(&[base("1.0.0", A), base("1.1.0", B)]);
    let offered = file(&[base("1.0.0", B)]);
    assert_eq!(
        check(&published, &offered),
        vec![
            HistoryViolation::ChecksumChanged { vers: "1.0.0".into(), published: A.into(), offered: B.into() },
            HistoryViolation::VersionRemoved { vers: "1.1.0".into(), published: B.into() },
        ]
    );
}

#[test]
fn a_new_version_equal_in_precedence_is_a_violation_unless_the_file_is_new() {
    let published = file(&[base("1.0.0", A)]);
    let offered = file(&[base("1.0.0", A), base("1.0.0+evil", B), base("1.0.1", B)]);
    assert_eq!(
        check(&published, &offered),
        vec![HistoryViolation::EqualPrecedence { vers: "1.0.0+evil".into(), other: "1.0.0".into() }]
    );
    // Two new versions of equal precedence at once: both are named.
    let pair = file(&[base("1.0.0", A), base("2.0.0-rc.1+a", B), base("2.0.0-rc.1+b", B)]);
    assert_eq!(
        check(&published, &pair),
        vec![
            HistoryViolation::EqualPrecedence { vers: "2.0.0-rc.1+a".into(), other: "2.0.0-rc.1+b".into() },
            HistoryViolation::EqualPrecedence { vers: "2.0.0-rc.1+b".into(), other: "2.0.0-rc.1+a".into() },
        ]
    );
    // Pre-releases are not equal in precedence to the release.
    assert_eq!(check(&published, &file(&[base("1.0.0", A), base("1.0.0-rc.1+x", B)])), vec![]);

    // Legacy pairs in a file mirrored for the first time are accepted, and stay accepted.
    let legacy = file(&[base("1.0.0", A), base("1.0.0+old", B)]);
    let name = CrateName::new("foo").expect("name");
    let lines = validate_index_file(legacy.as_bytes(), &name).expect("valid");
    let first = History { cksums: &BTreeMap::new(), file: None };
    assert_eq!(HistoryRule::default().check(first, legacy.as_bytes(), &lines), vec![]);
    let next = format!("{legacy}{}", file(&[base("1.1.0", A)]));
    assert_eq!(check(&legacy, &next), vec![]);
}

#[test]
fn a_foreign_registry_is_a_violation_unless_allow_listed() {
    const OTHER: &str = "https://evil.example/index/";
    let published = file(&[base("1.0.0", A)]);
    let mut new = base("1.1.0", B);
    new["deps"][0]["registry"] = json!(OTHER);
    let offered = file(&[base("1.0.0", A), new]);
    let foreign = vec![HistoryViolation::ForeignRegistry {
        vers: "1.1.0".into(),
        dependency: "bar".into(),
        registry: OTHER.into(),
    }];
    assert_eq!(check(&published, &offered), foreign);
    assert_eq!(check_with(&HistoryRule::new([OTHER.to_owned()]), &published, &offered), vec![]);
    assert_eq!(check_with(&HistoryRule::new(["https://evil.example/index".to_owned()]), &published, &offered), foreign);
    // On every line: in a file mirrored for the first time, and on a published line unchanged.
    assert_eq!(check(&offered, &offered), foreign);
    // `null` is the registry of the file itself.
    let mut own = base("1.1.0", B);
    own["deps"][0]["registry"] = Value::Null;
    assert_eq!(check(&published, &file(&[base("1.0.0", A), own])), vec![]);
}

#[test]
fn a_published_version_missing_from_the_served_file_is_held_to_its_cksum() {
    let name = CrateName::new("foo").expect("name");
    let cksums = BTreeMap::from([("1.0.0".to_owned(), A.to_owned())]);
    let offered = edited(|l| l["deps"][0]["req"] = json!("^2"));
    let lines = validate_index_file(offered.as_bytes(), &name).expect("valid");
    let published = History { cksums: &cksums, file: None };
    assert_eq!(HistoryRule::default().check(published, offered.as_bytes(), &lines), vec![]);
}

#[test]
fn a_changed_line_that_cannot_be_read_as_json_values_is_a_change() {
    // Deeper than serde_json builds values (128 levels), yet a valid line: cargo and the
    // validator skip unknown fields without building them.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let published = edited(|l| l["future"] = json!("DEEP")).replace("\"DEEP\"", &deep);
    let name = CrateName::new("foo").expect("name");
    validate_index_file(published.as_bytes(), &name).expect("a deep unknown field is valid");
    assert!(serde_json::from_str::<Value>(published.trim()).is_err(), "too deep for a Value");
    // The same bytes are unchanged; other bytes, even only a yank, cannot be shown unchanged.
    let next = format!("{published}{}", file(&[base("1.1.0", B)]));
    assert_eq!(check(&published, &next), vec![]);
    let yanked = published.replace("\"yanked\":false", "\"yanked\":true");
    assert_ne!(yanked, published);
    assert_eq!(check(&published, &yanked), vec![HistoryViolation::Incomparable { vers: "1.0.0".into() }]);
    let rewritten = published.replace("\"req\":\"^1\"", "\"req\":\"^2\"");
    assert_eq!(check(&published, &rewritten), vec![HistoryViolation::Incomparable { vers: "1.0.0".into() }]);
    // And a published line that parses, rewritten into one that does not.
    let plain = file(&[base("1.0.0", A)]);
    let offered = edited(|l| {
        l["deps"][0]["req"] = json!("^2");
        l["future"] = json!("DEEP");
    })
    .replace("\"DEEP\"", &deep);
    assert_eq!(check(&plain, &offered), vec![HistoryViolation::Incomparable { vers: "1.0.0".into() }]);
}
