//! Key URIs (`crates/signer/src/uri.rs`, and the RFC 7512 parser of `pkcs11:` URIs) from a
//! hostile configuration. Built without the `vault` and `awskms` backends (see Cargo.toml).
//!
//! Property: a PIN given as `pin-value` in the query never shows in an error message or in the
//! parsed URI's `Debug` form (which is what logs print). Checked by difference: the same URI with
//! another PIN of the same length (differing in every character) must show the first PIN as
//! often as the URI with it does. Fixed text can spell a PIN (`serial`, or the redacted form
//! `…?pin-value=<redacted>` itself); only what the PIN brings in counts. The long runs found
//! both of those false alarms of a plainer check (docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tufmirror_signer::SignerUri;

/// The raw value of the query's `pin-value`, when it is long enough to look for.
fn pin_value(uri: &str) -> Option<&str> {
    let (_, query) = uri.split_once('?')?;
    let value = query.split('&').find_map(|a| a.strip_prefix("pin-value="))?;
    (value.len() >= 6).then_some(value)
}

/// What a parse of `uri` shows: the `Debug` form of the result, or the error's message and form.
fn shown(uri: &str) -> String {
    match SignerUri::parse(uri, Path::new("/etc/tufmirror")) {
        Ok(parsed) => format!("{parsed:?}"),
        Err(e) => format!("{e} {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = std::str::from_utf8(data) else { return };
    if let Some(pin) = uri.starts_with("pkcs11:").then(|| pin_value(uri)).flatten() {
        let with_pin = shown(uri).matches(pin).count();
        if with_pin > 0 {
            // Another PIN, differing from this one in every character.
            let other: String = pin.chars().map(|c| if c == 'z' { 'y' } else { 'z' }).collect();
            let with_other = uri.replacen(&format!("pin-value={pin}"), &format!("pin-value={other}"), 1);
            let baseline = shown(&with_other).matches(pin).count();
            assert!(with_pin <= baseline, "the PIN {pin:?} shows in {:?}", shown(uri));
        }
    }
    if let Ok(SignerUri::File(path)) = &SignerUri::parse(uri, Path::new("/etc/tufmirror")) {
        assert!(path.is_absolute(), "{path:?}");
    }
});
