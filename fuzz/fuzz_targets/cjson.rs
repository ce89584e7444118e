//! OLPC canonical JSON (`crates/core/src/cjson.rs`) on any JSON document.
//!
//! Properties: canonical form is a fixed point (parse -> canonical -> parse -> canonical gives the
//! same bytes and the same value); it is refused exactly when the document holds a float; and
//! where no string holds a control character it equals serde_json's compact output (serde_json
//! sorts keys by bytes too and escapes only `"`, `\` and control characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tufmirror_core::cjson::{CanonicalJsonError, to_vec_value};

fn any(v: &Value, f: &impl Fn(&Value) -> bool) -> bool {
    f(v) || match v {
        Value::Array(items) => items.iter().any(|i| any(i, f)),
        Value::Object(map) => map.iter().any(|(k, i)| f(&Value::String(k.clone())) || any(i, f)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let has_float = any(&value, &|v| matches!(v, Value::Number(n) if n.is_f64()));
    let canonical = match to_vec_value(&value) {
        Ok(bytes) => bytes,
        Err(CanonicalJsonError::Float(_)) => {
            assert!(has_float, "float error without a float");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(!has_float, "a float was encoded");
    let has_control = any(&value, &|v| matches!(v, Value::String(s) if s.bytes().any(|b| b < 0x20)));
    if has_control {
        // Raw control characters are canonical but not JSON that serde_json reads back.
        return;
    }
    let compact = serde_json::to_vec(&value).expect("serializable");
    assert_eq!(canonical, compact, "canonical JSON differs from serde_json's compact form");
    let again: Value = serde_json::from_slice(&canonical).expect("canonical JSON parses");
    assert_eq!(again, value, "canonical JSON changed the value");
    assert_eq!(to_vec_value(&again).expect("canonical"), canonical, "not a fixed point");
});
