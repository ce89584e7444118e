//! Cargo's source replacement, written into an existing `config.toml` without disturbing it:
//!
//! ```toml
//! [source.crates-io]
//! replace-with = "tufmirror"
//!
//! [source.tufmirror]
//! registry = "sparse+http://127.0.0.1:8877/index/"
//! ```
//!
//! The document is edited with `toml_edit`, so comments, order and every other setting stay as
//! they were; a key that already has the wanted value is not touched, so applying the same
//! change twice gives the same text.

use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

/// The name of the replacement source.
pub const SOURCE_NAME: &str = "tufmirror";

/// Keys that make a `[source.NAME]` table a source of another kind; cargo refuses a source with
/// two kinds, so they leave when the table becomes a registry.
const OTHER_SOURCE_KINDS: [&str; 7] = ["local-registry", "directory", "git", "branch", "tag", "rev", "replace-with"];

/// Why `config.toml` cannot be edited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CargoConfigError {
    /// The file is not TOML.
    #[error("not valid TOML")]
    Parse(#[from] toml_edit::TomlError),
    /// A key setup writes under (`source`, `source.crates-io`, ...) holds something else.
    #[error("`{0}` is not a table")]
    NotATable(String),
}

/// `existing` (the text of a cargo `config.toml`, possibly empty) with crates.io replaced by the
/// registry at `registry_url` (`sparse+http://ADDR/index/`).
pub fn replace_crates_io(existing: &str, registry_url: &str) -> Result<String, CargoConfigError> {
    let mut doc: DocumentMut = existing.parse()?;
    let root = doc.as_item_mut();
    let source = child(root, "source", "source")?;
    let crates_io = child(source, "crates-io", "source.crates-io")?;
    set_str(crates_io, "replace-with", SOURCE_NAME, "source.crates-io")?;
    let source = child(doc.as_item_mut(), "source", "source")?;
    let ours = child(source, SOURCE_NAME, &format!("source.{SOURCE_NAME}"))?;
    let table = table_like(ours, &format!("source.{SOURCE_NAME}"))?;
    for key in OTHER_SOURCE_KINDS {
        table.remove(key);
    }
    set_str(ours, "registry", registry_url, &format!("source.{SOURCE_NAME}"))?;
    Ok(doc.to_string())
}

fn table_like<'a>(item: &'a mut Item, name: &str) -> Result<&'a mut dyn TableLike, CargoConfigError> {
    item.as_table_like_mut().ok_or_else(|| CargoConfigError::NotATable(name.to_owned()))
}

/// The table `key` of `parent`, created in the parent's style if missing: a `[a.b]` header under a
/// table (the top-level `[source]` itself stays implicit), a dotted key under a dotted table, an
/// inline table inside an inline table.
fn child<'a>(parent: &'a mut Item, key: &str, name: &str) -> Result<&'a mut Item, CargoConfigError> {
    let inline = parent.is_inline_table();
    let dotted = parent.as_table().is_some_and(|t| t.is_dotted());
    let table = table_like(parent, name)?;
    let item = table.entry(key).or_insert_with(|| {
        if inline {
            Item::Value(Value::InlineTable(InlineTable::new()))
        } else {
            let mut t = Table::new();
            t.set_implicit(key == "source");
            t.set_dotted(dotted);
            Item::Table(t)
        }
    });
    if item.as_table_like().is_none() {
        return Err(CargoConfigError::NotATable(name.to_owned()));
    }
    Ok(item)
}

fn set_str(table: &mut Item, key: &str, value: &str, name: &str) -> Result<(), CargoConfigError> {
    let table = table_like(table, name)?;
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) if old.as_str() == Some(value) => {}
        // Replace only the value: the key line keeps the comments around it.
        Some(old) => {
            let decor = old.decor().clone();
            *old = Value::from(value);
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(value));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "sparse+http://127.0.0.1:7878/index/";

    fn parsed(text: &str) -> toml::Table {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn replacement(text: &str) -> (String, String) {
        let t = parsed(text);
        let source = t["source"].as_table().expect("source");
        (
            source["crates-io"]["replace-with"].as_str().expect("replace-with").to_owned(),
            source[SOURCE_NAME]["registry"].as_str().expect("registry").to_owned(),
        )
    }

    #[test]
    fn an_empty_config_gets_both_tables() {
        let out = replace_crates_io("", URL).expect("edits");
        assert_eq!(replacement(&out), (SOURCE_NAME.to_owned(), URL.to_owned()));
        assert!(out.contains("[source.crates-io]") && out.contains("[source.tufmirror]"), "{out}");
        assert!(!out.contains("[source]\n"), "no bare [source] header: {out}");
        assert_eq!(replace_crates_io(&out, URL).expect("again"), out, "idempotent");
    }

    #[test]
    fn comments_and_other_settings_stay() {
        let before = "# my settings\n[build]\njobs = 4 # fast\n\n[source.crates-io]\n# was vendored\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n\n[net]\nretry = 5\n";
        let out = replace_crates_io(before, URL).expect("edits");
        for kept in [
            "# my settings",
            "jobs = 4 # fast",
            "# was vendored",
            "[source.vendored]",
            "directory = \"vendor\"",
            "retry = 5",
        ] {
            assert!(out.contains(kept), "{kept:?} lost:\n{out}");
        }
        assert_eq!(replacement(&out), (SOURCE_NAME.to_owned(), URL.to_owned()));
        assert_eq!(replace_crates_io(&out, URL).expect("again"), out, "idempotent");
        let moved = replace_crates_io(&out, "sparse+http://127.0.0.1:9999/index/").expect("new port");
        assert_eq!(replacement(&moved).1, "sparse+http://127.0.0.1:9999/index/");
        assert_eq!(moved.matches("[source.tufmirror]").count(), 1, "not stacked:\n{moved}");
    }

    #[test]
    fn dotted_and_inline_forms_are_edited_in_place() {
        let dotted = "source.crates-io.replace-with = \"x\"\n";
        assert_eq!(replacement(&replace_crates_io(dotted, URL).expect("dotted")).1, URL);
        let inline = "source = { crates-io = { replace-with = \"x\" } }\n";
        assert_eq!(replacement(&replace_crates_io(inline, URL).expect("inline")).1, URL);
    }

    #[test]
    fn another_kind_of_source_under_our_name_becomes_a_registry() {
        let before = "[source.tufmirror]\nlocal-registry = \"/srv/reg\"\n";
        let out = replace_crates_io(before, URL).expect("edits");
        assert!(!out.contains("local-registry"), "{out}");
    }

    #[test]
    fn what_is_not_a_table_or_not_toml_is_an_error() {
        assert!(matches!(replace_crates_io("source = 5\n", URL), Err(CargoConfigError::NotATable(_))));
        assert!(matches!(replace_crates_io("[source\n", URL), Err(CargoConfigError::Parse(_))));
    }
}
