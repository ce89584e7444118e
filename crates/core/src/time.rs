//! TUF's `expires` format, `YYYY-MM-DDTHH:MM:SSZ`: UTC, whole seconds, a literal `Z`.
//!
//! The crate has no clock: callers pass `now` in, which is what makes expiry rules testable.

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

pub use time::{Duration, OffsetDateTime as DateTime};

const FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// An `expires` string that is not `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a TUF date-time (YYYY-MM-DDTHH:MM:SSZ): {0:?}")]
pub struct InvalidDateTime(pub String);

/// Formats a time as TUF writes it, dropping sub-second precision.
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(FORMAT).unwrap_or_else(|_| "9999-12-31T23:59:59Z".to_owned())
}

/// Parses the strict TUF form.
pub fn parse(s: &str) -> Result<OffsetDateTime, InvalidDateTime> {
    PrimitiveDateTime::parse(s, FORMAT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| InvalidDateTime(s.chars().take(64).collect()))
}

/// `now + days`, truncated to whole seconds: the usual way to compute an expiry.
pub fn in_days(now: OffsetDateTime, days: i64) -> OffsetDateTime {
    (now + Duration::days(days)).replace_nanosecond(0).unwrap_or(now)
}

/// serde adapter for `expires` fields.
pub mod serde_expires {
    use super::*;

    /// Writes `t` as TUF's `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    /// Reads a TUF `expires` string (UTC, `Z`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_strict() {
        let t = parse("2030-01-02T03:04:05Z").expect("valid");
        assert_eq!(format(t), "2030-01-02T03:04:05Z");
        for bad in
            ["2030-01-02T03:04:05", "2030-01-02T03:04:05.1Z", "2030-01-02 03:04:05Z", "2030-01-02T03:04:05+00:00"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
