//! How long to wait before the next attempt: what upstream asked for in `Retry-After` (capped),
//! else exponential backoff with jitter.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// The wait before attempt `failed + 1`, after `failed` attempts (1 or more) have failed:
/// `initial * 2^(failed-1)` capped at `max`, of which a random amount up to half is taken off.
pub(crate) fn backoff(failed: u32, initial: Duration, max: Duration) -> Duration {
    let exp = failed.saturating_sub(1).min(31);
    let full = initial.saturating_mul(1u32 << exp).min(max);
    full - full.mul_f64(random_unit() / 2.0)
}

/// A value in [0, 1). Jitter only has to differ between calls and processes, not be
/// unpredictable: the standard library's randomly keyed hasher is enough, without a dependency.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a `Retry-After` value asks for (RFC 9110 10.2.3): whole seconds or an HTTP-date; a
/// date in the past means now. `None` if the value is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than u64 holds is "a very long time".
        return Some(value.parse().map(Duration::from_secs).unwrap_or(Duration::MAX));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let ms = Duration::from_millis;
        for _ in 0..100 {
            let first = backoff(1, ms(100), ms(1000));
            assert!(first >= ms(50) && first <= ms(100), "{first:?}");
            let third = backoff(3, ms(100), ms(1000));
            assert!(third >= ms(200) && third <= ms(400), "{third:?}");
            let late = backoff(40, ms(100), ms(1000));
            assert!(late >= ms(500) && late <= ms(1000), "{late:?}");
        }
        let draws: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(1, ms(1000), ms(1000))).collect();
        assert!(draws.len() > 1, "jitter varies");
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("valid date");
        let secs = Duration::from_secs;
        assert_eq!(parse_retry_after("1", now), Some(secs(1)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(secs(120)));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(Duration::MAX));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(secs(30)));
        // The two obsolete HTTP-date forms that recipients must still accept.
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:07 GMT", now), Some(secs(30)));
        assert_eq!(parse_retry_after("Sun Nov  6 08:50:07 1994", now), Some(secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        for bad in ["", "-1", "1.5", "soon", "1s"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
