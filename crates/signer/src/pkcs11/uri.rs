//! RFC 7512 `pkcs11:` URIs, parsed into what the signer needs (grammar: the parent module).

use crate::SignerError;
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A token PIN. Zeroized when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Pin(Zeroizing::new(bytes))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Where the user PIN comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// No PIN: the token needs no login, or has a protected authentication path (a PIN pad).
    None,
    /// `pin-value=`: the PIN is in the URI itself (discouraged).
    Value(Pin),
    /// `pin-source=`: the first line of this file (absolute; relative paths were resolved against
    /// the configuration's directory).
    File(PathBuf),
    /// `pin-env=` (a tufmirror extension): this environment variable.
    Env(String),
}

/// A parsed `pkcs11:` URI naming one private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The URI as written, with any `pin-value` redacted, for messages.
    pub uri: String,
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `manufacturer=`, `model=`, `serial=`: further token attributes that must match.
    pub manufacturer: Option<String>,
    /// `model=`: the token's model.
    pub model: Option<String>,
    /// `serial=`: the token's serial number.
    pub serial: Option<String>,
    /// `slot-id=`: the slot number.
    pub slot_id: Option<u64>,
    /// `object=`: the key's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id=`: the key's id (CKA_ID), as bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path=`: the PKCS#11 library; `None` means `TUFMIRROR_PKCS11_MODULE`.
    pub module_path: Option<PathBuf>,
    /// Where the user PIN comes from (`pin-value=`, `pin-source=`, `pin-env=`).
    pub pin: PinSource,
}

impl Pkcs11Uri {
    /// Parses `uri` (which starts with `pkcs11:`); a relative `pin-source` path is resolved
    /// against `base`.
    pub fn parse(uri: &str, base: &Path) -> Result<Self, SignerError> {
        let bad = |problem: UriProblem| SignerError::BadUri { uri: redact(uri), reason: problem.to_string() };
        let rest = uri.strip_prefix("pkcs11:").ok_or_else(|| bad(UriProblem::NoScheme))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut parsed = Pkcs11Uri {
            uri: redact(uri),
            token: None,
            manufacturer: None,
            model: None,
            serial: None,
            slot_id: None,
            object: None,
            id: None,
            module_path: None,
            pin: PinSource::None,
        };
        let mut seen = Vec::new();
        for (name, raw) in attributes(path, ';', is_path_char).map_err(&bad)? {
            if seen.contains(&name) {
                return Err(bad(UriProblem::Twice(name.to_owned())));
            }
            seen.push(name);
            parsed.set_path_attribute(name, raw).map_err(&bad)?;
        }
        let mut pin_attrs = 0;
        for (name, raw) in attributes(query, '&', is_query_char).map_err(&bad)? {
            if seen.contains(&name) {
                return Err(bad(UriProblem::Twice(name.to_owned())));
            }
            seen.push(name);
            match name {
                "module-path" => {
                    let path = PathBuf::from(decode_text(name, raw).map_err(&bad)?);
                    if !path.is_absolute() {
                        return Err(bad(UriProblem::RelativeModulePath(path)));
                    }
                    parsed.module_path = Some(path);
                }
                "pin-value" => {
                    pin_attrs += 1;
                    parsed.pin = PinSource::Value(Pin::new(decode(name, raw).map_err(bad)?));
                }
                "pin-source" => {
                    pin_attrs += 1;
                    parsed.pin = PinSource::File(pin_file(&decode_text(name, raw).map_err(&bad)?, base).map_err(&bad)?);
                }
                "pin-env" => {
                    pin_attrs += 1;
                    let var = decode_text(name, raw).map_err(&bad)?;
                    if var.is_empty() || var.contains(['=', '\0']) {
                        return Err(bad(UriProblem::PinEnv(var)));
                    }
                    parsed.pin = PinSource::Env(var);
                }
                _ => {} // module-name and vendor attributes: not used by tufmirror
            }
        }
        if pin_attrs > 1 {
            return Err(bad(UriProblem::SeveralPins));
        }
        if parsed.token.is_none() && parsed.serial.is_none() && parsed.slot_id.is_none() {
            return Err(bad(UriProblem::NoToken));
        }
        if parsed.object.is_none() && parsed.id.is_none() {
            return Err(bad(UriProblem::NoKey));
        }
        Ok(parsed)
    }

    fn set_path_attribute(&mut self, name: &str, raw: &str) -> Result<(), UriProblem> {
        let text = || decode_text(name, raw);
        match name {
            "token" => self.token = Some(non_empty(name, text()?)?),
            "manufacturer" => self.manufacturer = Some(text()?),
            "model" => self.model = Some(text()?),
            "serial" => self.serial = Some(text()?),
            "object" => self.object = Some(non_empty(name, text()?)?),
            "id" => {
                let id = decode(name, raw)?;
                self.id = Some(if id.is_empty() { return Err(UriProblem::Empty(name.to_owned())) } else { id });
            }
            "slot-id" => self.slot_id = Some(text()?.parse().map_err(|_| UriProblem::SlotId(raw.to_owned()))?),
            "type" if text()? != "private" => return Err(UriProblem::NotPrivate(raw.to_owned())),
            // type=private, and attributes that do not select a key here (RFC 7512 2.3: ignored).
            _ => {}
        }
        Ok(())
    }

    /// How the key is named, for messages: `object "x" id %01`.
    pub(crate) fn describe_key(&self) -> String {
        let mut parts = Vec::new();
        if let Some(object) = &self.object {
            parts.push(format!("object {object:?}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id {}", encode(id)));
        }
        parts.join(" and ")
    }

    /// How the token is named, for messages: `token "x"`.
    pub(crate) fn describe_token(&self) -> String {
        let fields = [
            ("token", self.token.clone()),
            ("serial", self.serial.clone()),
            ("manufacturer", self.manufacturer.clone()),
            ("model", self.model.clone()),
            ("slot-id", self.slot_id.map(|s| s.to_string())),
        ];
        let parts: Vec<String> = fields.into_iter().filter_map(|(k, v)| Some(format!("{k} {:?}", v?))).collect();
        parts.join(" and ")
    }
}

/// A rule of the `pkcs11:` grammar (the parent module) that a URI breaks: the reason of
/// [`SignerError::BadUri`]. Attribute names and values are as written in the URI (never the
/// value of `pin-value`).
#[derive(Debug, thiserror::Error)]
enum UriProblem {
    #[error("does not start with pkcs11:")]
    NoScheme,
    #[error("attribute {0:?} appears twice")]
    Twice(String),
    #[error("attribute {0:?} has no '='")]
    NoEquals(String),
    #[error("{0:?} is not an attribute name")]
    AttributeName(String),
    #[error("{name}: character {character:?} must be percent-encoded (RFC 7512)")]
    NotEncoded { name: String, character: String },
    #[error("{0}: '%' must be followed by two hex digits")]
    Percent(String),
    #[error("{0}: not UTF-8 after percent-decoding")]
    NotUtf8(String),
    #[error("{0} is empty")]
    Empty(String),
    #[error("slot-id {0:?} is not a decimal number")]
    SlotId(String),
    #[error("type={0}: a signing key is type=private")]
    NotPrivate(String),
    #[error("module-path {} is not an absolute path", .0.display())]
    RelativeModulePath(PathBuf),
    #[error("pin-source {0:?}: only file: paths are supported")]
    PinSourceScheme(String),
    #[error("pin-env {0:?} is not an environment variable name")]
    PinEnv(String),
    #[error("give at most one of pin-value, pin-source and pin-env")]
    SeveralPins,
    #[error("no token: add token=<label> (or serial= or slot-id=)")]
    NoToken,
    #[error("no key: add object=<label> and/or id=<%-encoded bytes>")]
    NoKey,
}

/// The URI with the value of `pin-value` replaced, for error messages.
pub(crate) fn redact(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let query: Vec<&str> =
        query.split('&').map(|a| if a.starts_with("pin-value=") { "pin-value=<redacted>" } else { a }).collect();
    format!("{path}?{}", query.join("&"))
}

/// Splits `component` into `(name, raw value)` pairs, checking names and characters.
fn attributes(component: &str, sep: char, allowed: fn(u8) -> bool) -> Result<Vec<(&str, &str)>, UriProblem> {
    if component.is_empty() {
        return Ok(Vec::new());
    }
    component
        .split(sep)
        .map(|attr| {
            let (name, value) = attr.split_once('=').ok_or_else(|| UriProblem::NoEquals(attr.to_owned()))?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(UriProblem::AttributeName(name.to_owned()));
            }
            if let Some(c) = value.bytes().find(|&b| !allowed(b)) {
                return Err(UriProblem::NotEncoded {
                    name: name.to_owned(),
                    character: char::from(c).escape_default().to_string(),
                });
            }
            Ok((name, value))
        })
        .collect()
}

fn is_unreserved_or_common(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%:[]@!$'()*+,=".contains(&b)
}

fn is_path_char(b: u8) -> bool {
    is_unreserved_or_common(b) || b == b'&'
}

fn is_query_char(b: u8) -> bool {
    is_unreserved_or_common(b) || b"/?|".contains(&b)
}

/// Percent-decodes the value of attribute `name`, whose characters were already checked.
fn decode(name: &str, raw: &str) -> Result<Vec<u8>, UriProblem> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte =
                hex.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(byte.ok_or_else(|| UriProblem::Percent(name.to_owned()))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(name: &str, raw: &str) -> Result<String, UriProblem> {
    String::from_utf8(decode(name, raw)?).map_err(|_| UriProblem::NotUtf8(name.to_owned()))
}

fn non_empty(name: &str, value: String) -> Result<String, UriProblem> {
    if value.is_empty() { Err(UriProblem::Empty(name.to_owned())) } else { Ok(value) }
}

/// Percent-encodes every byte, as RFC 7512 recommends for `id`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

fn pin_file(value: &str, base: &Path) -> Result<PathBuf, UriProblem> {
    let path = match value.strip_prefix("file:") {
        Some(rest) => rest.strip_prefix("//").filter(|r| r.starts_with('/')).unwrap_or(rest),
        None if value.starts_with('|') || value.split_once(':').is_some_and(|(s, _)| !s.contains('/')) => {
            return Err(UriProblem::PinSourceScheme(value.to_owned()));
        }
        None => value,
    };
    if path.is_empty() {
        return Err(UriProblem::Empty("pin-source".to_owned()));
    }
    Ok(base.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str) -> Result<Pkcs11Uri, SignerError> {
        Pkcs11Uri::parse(uri, Path::new("/etc/tufmirror"))
    }

    #[test]
    fn parses_a_full_uri() {
        let uri = parse(
            "pkcs11:token=TUF%20root;object=targets%3bkey;id=%01%A0b;type=private\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin",
        )
        .expect("parse");
        assert_eq!(uri.token.as_deref(), Some("TUF root"));
        assert_eq!(uri.object.as_deref(), Some("targets;key"));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xa0, b'b'][..]));
        assert_eq!(uri.module_path, Some(PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")));
        assert_eq!(uri.pin, PinSource::File("/run/secrets/pin".into()));
        assert_eq!(uri.describe_key(), "object \"targets;key\" and id %01%a0%62");
    }

    #[test]
    fn pin_sources() {
        let pin = |q: &str| parse(&format!("pkcs11:token=t;object=k?{q}")).map(|u| u.pin).map_err(|e| e.to_string());
        assert_eq!(pin("pin-source=pin.txt"), Ok(PinSource::File("/etc/tufmirror/pin.txt".into())));
        assert_eq!(pin("pin-source=file:///p"), Ok(PinSource::File("/p".into())));
        assert_eq!(pin("pin-source=/p%20q"), Ok(PinSource::File("/p q".into())));
        assert_eq!(pin("pin-env=HSM_PIN"), Ok(PinSource::Env("HSM_PIN".into())));
        assert_eq!(pin("pin-value=12%2634"), Ok(PinSource::Value(Pin::new(b"12&34".to_vec()))));
        assert_eq!(pin(""), Ok(PinSource::None));
        assert!(pin("pin-source=|cat%20/p").is_err());
        assert!(pin("pin-source=https://x/pin").is_err());
        assert!(pin("pin-env=").is_err());
        assert!(pin("pin-env=HSM_PIN&pin-source=/p").is_err());
        assert!(pin("pin-value=1&pin-value=2").is_err());
    }

    #[test]
    fn the_pin_never_shows() {
        let uri = "pkcs11:token=t;object=k;type=public?pin-value=s3cret";
        let err = parse(uri).expect_err("type=public").to_string();
        assert!(err.contains("type=public") && !err.contains("s3cret"), "{err}");
        let parsed = parse("pkcs11:token=t;object=k?pin-value=s3cret").expect("parse");
        assert!(!format!("{parsed:?}").contains("s3cret"));
        assert_eq!(redact("pkcs11:x?a=b&pin-value=s3cret"), "pkcs11:x?a=b&pin-value=<redacted>");
    }

    #[test]
    fn object_and_id_together_and_token_alternatives() {
        let uri = parse("pkcs11:serial=ab12;slot-id=3;id=%ff").expect("parse");
        assert_eq!(
            (uri.serial.as_deref(), uri.slot_id, &uri.object, &uri.id),
            (Some("ab12"), Some(3), &None, &Some(vec![0xff]))
        );
        assert_eq!(uri.describe_token(), "serial \"ab12\" and slot-id \"3\"");
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        let uri = parse("pkcs11:token=t;x-vendor=%41;library-version=1;object=k?module-name=softhsm2&x-q=/a?b|c")
            .expect("parse");
        assert_eq!((uri.token.as_deref(), uri.object.as_deref()), (Some("t"), Some("k")));
    }

    #[test]
    fn refuses_bad_uris() {
        for (uri, why) in [
            ("pkcs11:object=k", "no token"),
            ("pkcs11:", "no token"),
            ("pkcs11:token=t", "no key"),
            ("pkcs11:token=t;id=", "id is empty"),
            ("pkcs11:token=;object=k", "token is empty"),
            ("pkcs11:token=t;object=k;token=u", "appears twice"),
            ("pkcs11:token=t;object=a b", "percent-encoded"),
            ("pkcs11:token=t;object=a/b", "percent-encoded"),
            ("pkcs11:token=t;object=k#frag", "percent-encoded"),
            ("pkcs11:token=t;object=%4", "two hex digits"),
            ("pkcs11:token=t;object=%zz", "two hex digits"),
            ("pkcs11:token=t;id=%0g", "two hex digits"),
            ("pkcs11:token=t;object=%ff", "not UTF-8"),
            ("pkcs11:token=t;object=k;", "has no '='"),
            ("pkcs11:token=t;obj ect=k", "not an attribute name"),
            ("pkcs11:token=t;object=k;slot-id=x", "decimal"),
            ("pkcs11:token=t;object=k;type=cert", "type=private"),
            ("pkcs11:token=t;object=k?module-path=lib.so", "absolute"),
            ("pkcs11:token=t;object=k?module-path=/a&b", "has no '='"),
        ] {
            let err = parse(uri).expect_err(uri);
            assert!(matches!(&err, SignerError::BadUri { reason, .. } if reason.contains(why)), "{uri}: {err}");
        }
    }
}
