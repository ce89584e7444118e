//! Upstreams that break HTTP in the ways networks do (raw TCP on loopback): silence, bodies cut
//! short, bodies longer than promised or than allowed.

mod common;

use common::{config, name, raw_server, write};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tufmirror_upstream::{IndexFetch, UpstreamClient, UpstreamError};

const BODY: &[u8] = b"{\"name\":\"serde\",\"vers\":\"1.0.0\"}\n";

fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

async fn hang(stream: TcpStream) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    drop(stream);
}

#[tokio::test]
async fn silent_servers_time_out_within_the_timeout() {
    // One server never answers; the other sends headers and part of the body, then stalls.
    let (silent, _) = raw_server(|_, _, stream| hang(stream)).await;
    let (stalling, _) = raw_server(|_, _, mut stream| async move {
        write(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"name\":").await;
        hang(stream).await;
    })
    .await;
    for base in [silent, stalling] {
        let mut config = config(&base);
        config.timeout = Duration::from_millis(300);
        config.retries = 0;
        let start = Instant::now();
        let err = UpstreamClient::new(config).expect("client").fetch_config_json(None).await.expect_err("timeout");
        let took = start.elapsed();
        assert!(matches!(err, UpstreamError::Timeout { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "took {took:?}");
    }
}

#[tokio::test]
async fn timeouts_are_retried() {
    let (base, connections) = raw_server(|n, _, mut stream| async move {
        match n {
            0 => hang(stream).await,
            _ => write(&mut stream, &ok_response(BODY)).await,
        }
    })
    .await;
    let mut config = config(&base);
    config.timeout = Duration::from_millis(200);
    let answer = UpstreamClient::new(config).expect("client").fetch_config_json(None).await.expect("second attempt");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == BODY));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn truncated_bodies_are_errors_never_short_files() {
    // Content-Length promises 100 bytes, 40 arrive, the connection closes.
    let (by_length, _) = raw_server(|_, _, mut stream| async move {
        write(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n").await;
        write(&mut stream, &[b'x'; 40]).await;
    })
    .await;
    // A chunked body that closes before its last (empty) chunk.
    let (chunked, _) = raw_server(|_, _, mut stream| async move {
        write(&mut stream, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").await;
    })
    .await;
    for (base, expected) in [(by_length, Some(100)), (chunked, None)] {
        let mut config = config(&base);
        config.retries = 0;
        let client = UpstreamClient::new(config).expect("client");
        let err = client.fetch_index_file(&name("serde"), None).await.expect_err("truncated");
        let UpstreamError::Truncated { received, expected: promised, .. } = &err else { panic!("{err:?}") };
        assert_eq!(*promised, expected, "{err}");
        assert!(*received < 100, "{err}");
        assert!(err.is_transient(), "a cut connection may work next time");
    }
}

#[tokio::test]
async fn truncated_bodies_are_retried() {
    let (base, connections) = raw_server(|n, _, mut stream| async move {
        match n {
            0 => write(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort").await,
            _ => write(&mut stream, &ok_response(BODY)).await,
        }
    })
    .await;
    let client = UpstreamClient::new(config(&base)).expect("client");
    let answer = client.fetch_index_file(&name("serde"), None).await.expect("second attempt");
    assert!(matches!(answer, IndexFetch::Fetched { bytes, .. } if bytes == BODY));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    // Declared too large: refused before the body is read (the server never sends it).
    let (declared, declared_connections) = raw_server(|_, _, mut stream| async move {
        write(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n").await;
        hang(stream).await;
    })
    .await;
    // No length given: streamed until past the limit, then cut off.
    let (streamed, _) = raw_server(|_, _, mut stream| async move {
        write(&mut stream, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
        for _ in 0..3 {
            write(&mut stream, format!("190\r\n{}\r\n", "x".repeat(400)).as_bytes()).await;
        }
        write(&mut stream, b"0\r\n\r\n").await;
    })
    .await;
    for (base, declared_length) in [(declared, Some(5_000_000)), (streamed, None)] {
        let mut config = config(&base);
        config.max_index_file_bytes = 1000;
        let client = UpstreamClient::new(config).expect("client");
        let start = Instant::now();
        let err = client.fetch_index_file(&name("serde"), None).await.expect_err("too large");
        assert!(
            matches!(&err, UpstreamError::TooLarge { limit: 1000, declared, .. } if *declared == declared_length),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(start.elapsed() < Duration::from_secs(3), "not waiting for a body it will refuse");
    }
    assert_eq!(declared_connections.load(std::sync::atomic::Ordering::SeqCst), 1, "not retried");
}
