//! Key URIs (`crates/signer/src/uri.rs`, and the RFC 7512 parser of `pkcs11:` URIs) from a
//! hostile configuration. Built without the `vault` and `awskms` backends (see Cargo.toml).
//!
//! Property: a PIN given as `pin-value` in the query never shows in an error message or in the
//! parsed URI's `Debug` form (which is what logs print). Fixed text can spell a PIN (`serial` in
//! a message, or the redacted URI `pkcs11:serial==;id=f?pin-value=<redacted>` spelling
//! `1:serial==;id=f?pin-value=`), so the check is by difference: with the redacted URI taken out
//! of what is shown, the PIN must not show more often than it does for the same URI with another
//! PIN of the same length (differing in every character). The long runs found four false
//! alarms of plainer checks (docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tufmirror_signer::SignerUri;

/// The raw value of the query's `pin-value`, when it is long enough to look for and occurs
/// nowhere else in the URI (the same text in the path is path text, shown as it is: the fourth
/// false alarm of the long runs).
fn pin_value(uri: &str) -> Option<&str> {
    let (_, query) = uri.split_once('?')?;
    let value = query.split('&').find_map(|a| a.strip_prefix("pin-value="))?;
    (value.len() >= 6 && uri.matches(value).count() == 1).then_some(value)
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
        // The URI as errors show it; what it spells around `<redacted>` is not the PIN's doing.
        let redacted = uri.replacen(&format!("pin-value={pin}"), "pin-value=<redacted>", 1);
        let count = |uri: &str| shown(uri).replace(&redacted, "").matches(pin).count();
        let with_pin = count(uri);
        if with_pin > 0 {
            // Another PIN, differing from this one in every character.
            let other: String = pin.chars().map(|c| if c == 'z' { 'y' } else { 'z' }).collect();
            let with_other = uri.replacen(&format!("pin-value={pin}"), &format!("pin-value={other}"), 1);
            assert!(with_pin <= count(&with_other), "the PIN {pin:?} shows in {:?}", shown(uri));
        }
    }
    if let Ok(SignerUri::File(path)) = &SignerUri::parse(uri, Path::new("/etc/tufmirror")) {
        assert!(path.is_absolute(), "{path:?}");
    }
});
