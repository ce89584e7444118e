//! OLPC canonical JSON, byte-identical to securesystemslib's `encode_canonical`.
//!
//! Written by hand rather than taken from the `olpc-cjson` crate because that crate differs from
//! securesystemslib (and so from python-tuf and every other TUF implementation that signs with it)
//! in two corners: it applies Unicode NFC normalisation to strings, and it sorts object keys by
//! their *escaped* bytes, so a key holding `"` or `\` lands elsewhere. Either difference changes
//! the signed bytes. The rules (docs/POUF.md 1.1) are short:
//! - keys sorted by code point (= by UTF-8 bytes), no white space;
//! - strings escape only `"` and `\`; everything else, control characters included, is raw UTF-8;
//! - integers only: floats are refused.

use serde::Serialize;
use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalJsonError {
    /// A floating-point number (as written), which canonical JSON forbids.
    #[error("canonical JSON has no floating point numbers (found {0})")]
    Float(String),
    /// The value does not serialize to JSON: the serializer's error.
    #[error("value cannot be represented as JSON: {0}")]
    NotJson(#[source] serde_json::Error),
}

/// The canonical bytes of any serializable value.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalJsonError> {
    let value = serde_json::to_value(value).map_err(CanonicalJsonError::NotJson)?;
    to_vec_value(&value)
}

/// The canonical bytes of a JSON value.
pub fn to_vec_value(value: &Value) -> Result<Vec<u8>, CanonicalJsonError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalJsonError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(CanonicalJsonError::Float(n.to_string()));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map is a BTreeMap (no `preserve_order`), but sort explicitly so that
            // the bytes never depend on a feature some other crate turns on.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Appends `s` as a canonical JSON string: only `"` and `\` are escaped.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_vec_value(&v).expect("canonical")).expect("utf-8")
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(canon(json!({"b": 1, "a": [true, null, "x"]})), r#"{"a":[true,null,"x"],"b":1}"#);
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v = json!({"k": "a\"b\\c\nd\u{1}é\u{2028}"});
        assert_eq!(canon(v), "{\"k\":\"a\\\"b\\\\c\nd\u{1}é\u{2028}\"}");
    }

    #[test]
    fn sorts_by_code_point_not_by_escaped_bytes() {
        // '"' (0x22) sorts before '#' (0x23); escaped it would start with '\' (0x5c) and sort after.
        assert_eq!(canon(json!({"a#": 1, "a\"": 2})), "{\"a\\\"\":2,\"a#\":1}");
        // Code point order, not UTF-16 order: U+FF61 < U+1F600.
        assert_eq!(canon(json!({"\u{1F600}": 1, "\u{FF61}": 2})), "{\"\u{FF61}\":2,\"\u{1F600}\":1}");
    }

    #[test]
    fn keeps_decomposed_unicode_as_is() {
        // No NFC normalisation: "e" + COMBINING ACUTE stays two code points.
        assert_eq!(canon(json!("e\u{301}")).as_bytes(), b"\"e\xcc\x81\"");
    }

    #[test]
    fn integers_yes_floats_no() {
        assert_eq!(canon(json!([-5, 0, u64::MAX])), "[-5,0,18446744073709551615]");
        assert!(matches!(to_vec_value(&json!(1.5)), Err(CanonicalJsonError::Float(n)) if n == "1.5"));
    }
}
