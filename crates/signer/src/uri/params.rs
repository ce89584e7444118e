//! The query part of key URIs, shared by the backends that take parameters (`exec:`, `vault:`).
//!
//! `?name=value&name=value`: names and values are percent-decoded (RFC 3986: `%XX`, and a `+` is
//! a plus, not a space). A name may repeat only where the backend says so; an unknown name is an
//! error, so that a misspelt parameter is never silently ignored.

use crate::SignerError;
use std::time::Duration;

/// Decoded `(name, value)` pairs, in the URI's order.
pub(crate) type Params = Vec<(String, String)>;

/// Splits `rest` (a URI without its scheme) at the first `?` into the part before it, still
/// percent-encoded, and its decoded parameters.
pub(crate) fn split_query<'a>(uri: &str, rest: &'a str) -> Result<(&'a str, Params), SignerError> {
    let Some((path, query)) = rest.split_once('?') else {
        return Ok((rest, Vec::new()));
    };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(bad(uri, format!("parameter {pair:?} has no value (write name=value)")));
        };
        params.push((percent_decode(uri, name)?, percent_decode(uri, value)?));
    }
    Ok((path, params))
}

/// Decodes `%XX` escapes; the result must be UTF-8. A `%` not followed by two hex digits is an
/// error rather than a literal `%`, so that a half-escaped value is not silently misread.
pub(crate) fn percent_decode(uri: &str, s: &str) -> Result<String, SignerError> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next(), bytes.next()];
        let digit = |d: Option<u8>| d.and_then(|d| (d as char).to_digit(16));
        match (digit(hex[0]), digit(hex[1])) {
            // Two hex digits make at most 0xff.
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(bad(uri, format!("{s:?} has a '%' that is not followed by two hex digits"))),
        }
    }
    String::from_utf8(out).map_err(|_| bad(uri, format!("{s:?} does not decode to UTF-8")))
}

/// A timeout in seconds (`30`, `0.5`): more than zero, at most an hour.
pub(crate) fn parse_timeout(uri: &str, value: &str) -> Result<Duration, SignerError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| bad(uri, format!("timeout={value} is not a number of seconds from 0 to 3600")))
}

/// Sets `slot` once; a second value for the same parameter is an error.
pub(crate) fn once<T>(uri: &str, name: &str, slot: &mut Option<T>, value: T) -> Result<(), SignerError> {
    if slot.replace(value).is_some() {
        return Err(bad(uri, format!("parameter {name} is given twice")));
    }
    Ok(())
}

pub(crate) fn bad(uri: &str, reason: String) -> SignerError {
    SignerError::BadUri { uri: uri.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_half_escapes() {
        assert_eq!(percent_decode("u", "a%20b+c%2f%26").ok().as_deref(), Some("a b+c/&"));
        assert!(percent_decode("u", "a%2").is_err());
        assert!(percent_decode("u", "a%zz").is_err());
        assert!(percent_decode("u", "%ff").is_err(), "not UTF-8");
        let (path, params) = split_query("u", "/p%20q?arg=1&arg=x%3Dy&&t=").expect("query");
        assert_eq!(path, "/p%20q");
        assert_eq!(params, [("arg", "1"), ("arg", "x=y"), ("t", "")].map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert!(split_query("u", "/p?novalue").is_err());
        assert_eq!(parse_timeout("u", "0.25").ok(), Some(Duration::from_millis(250)));
        for bad in ["0", "-1", "x", "NaN", "inf", "3601"] {
            assert!(parse_timeout("u", bad).is_err(), "{bad}");
        }
    }
}
