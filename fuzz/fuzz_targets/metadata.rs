//! TUF metadata (`crates/core/src/metadata.rs`) and the client's trusted set
//! (`crates/core/src/trusted`) on hostile bytes.
//!
//! Properties: a document that parses as a role's `Signed<T>` re-serializes without loss (unknown
//! fields are part of the signed bytes); and no fuzzed file is ever trusted, because the fuzzer
//! cannot sign: starting from `keys-example/1.root.json`, every fuzzed root update and timestamp
//! is refused, and a fuzzed initial root is trusted only if its signed content is one of the
//! signed roots that seed the corpus (the example's and python-tuf's test roots).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tufmirror_core::cjson;
use tufmirror_core::metadata::{Metadata, REMOVALS_FIELD, Role, Root, Signed, Snapshot, Targets, Timestamp};
use tufmirror_core::time::DateTime;
use tufmirror_core::trusted::TrustedSet;

const EXAMPLE_ROOT: &[u8] = include_bytes!("../../keys-example/1.root.json");
/// Every signed root the seeds hold.
const KNOWN_ROOTS: [&[u8]; 3] = [
    EXAMPLE_ROOT,
    include_bytes!("../../crates/core/tests/data/python-tuf/1.root.json"),
    include_bytes!("../../crates/core/tests/data/python-tuf/2.root.json"),
];

fn now() -> DateTime {
    tufmirror_core::time::parse("2030-01-01T00:00:00Z").expect("a date")
}

fn signed_bytes(file: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(file).ok()?;
    cjson::to_vec_value(value.get("signed")?).ok()
}

fn known_signed_bytes() -> &'static [Vec<u8>] {
    static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| KNOWN_ROOTS.iter().map(|r| signed_bytes(r).expect("a known root")).collect())
}

fn round_trip<T: Metadata + PartialEq>(data: &[u8]) {
    let Ok(parsed) = serde_json::from_slice::<Signed<T>>(data) else { return };
    // Canonical bytes may be refused (a float among the unknown fields); serde_json's are not.
    let bytes = serde_json::to_vec(&parsed).expect("serializable");
    let again: Signed<T> = serde_json::from_slice(&bytes).expect("re-serialized metadata parses");
    assert_eq!(again, parsed, "a parse -> serialize -> parse round trip lost something");
    if let Ok(canonical) = parsed.signed_bytes() {
        let mut value: serde_json::Value = serde_json::from_slice(data).expect("parsed once");
        // The one field parsing adds: targets from other implementations have no removal list,
        // and serializing writes an empty one. Harmless: signatures are always checked over the
        // bytes received (trusted/envelope.rs, verify.rs), never over re-serialized ones.
        if T::ROLE == Role::Targets
            && let Some(signed) = value["signed"].as_object_mut()
        {
            signed.entry(REMOVALS_FIELD).or_insert_with(|| serde_json::Value::Array(Vec::new()));
        }
        assert_eq!(
            Some(canonical.as_slice()),
            cjson::to_vec_value(&value["signed"]).ok().as_deref(),
            "the signed bytes (left) differ from the canonical form of what was received (right)"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else { return };
    match selector % 4 {
        0 => round_trip::<Root>(data),
        1 => round_trip::<Timestamp>(data),
        2 => round_trip::<Snapshot>(data),
        _ => round_trip::<Targets>(data),
    }
    if let Ok(set) = TrustedSet::new(data, now()) {
        let signed = signed_bytes(data).expect("a trusted root parses");
        assert!(known_signed_bytes().contains(&signed), "a forged root was trusted: {:?}", set.root());
    }
    static EXAMPLE: OnceLock<TrustedSet> = OnceLock::new();
    let mut set =
        EXAMPLE.get_or_init(|| TrustedSet::new(EXAMPLE_ROOT, now()).expect("the example root is trusted")).clone();
    if selector & 0x80 == 0 {
        let result = set.update_root(data);
        assert!(result.is_err(), "a fuzzed root update was trusted: {result:?}");
    } else {
        let result = set.update_timestamp(data);
        assert!(result.is_err(), "a fuzzed timestamp was trusted: {result:?}");
    }
});
