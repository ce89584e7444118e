//! Reading a response body into memory without trusting upstream about its size: a declared
//! length over the limit is refused before reading, a stream is cut off at the limit, and a body
//! that ends before its declared length is an error, never a short file.

use crate::error::UpstreamError;

/// Preallocation is capped: a Content-Length is only a claim until the bytes arrive.
const MAX_PREALLOCATION: u64 = 1 << 20;

pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, UpstreamError> {
    let declared = response.content_length();
    let too_large = || UpstreamError::TooLarge { url: url.to_owned(), limit, declared };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let capacity = declared.unwrap_or(0).min(MAX_PREALLOCATION);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (bytes.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // The per-attempt timeout covers the body too.
            Err(e) if e.is_timeout() => return Err(UpstreamError::from_reqwest(url, e)),
            // hyper reports a connection closed before Content-Length bytes, or before the last
            // chunk of a chunked body, as an error here.
            Err(e) => {
                let received = bytes.len() as u64;
                return Err(UpstreamError::Truncated {
                    url: url.to_owned(),
                    received,
                    expected: declared,
                    source: Some(e.without_url()),
                });
            }
        }
    }
    // Defensive: should a transport ever end a body early without an error, it is still refused.
    if let Some(expected) = declared
        && bytes.len() as u64 != expected
    {
        return Err(UpstreamError::Truncated {
            url: url.to_owned(),
            received: bytes.len() as u64,
            expected: declared,
            source: None,
        });
    }
    Ok(bytes)
}
