//! `HttpFetcher` against loopback servers that misbehave: wrong statuses, an announced length
//! over the limit, a body that never ends, a server that stalls.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;
use tufmirror_client::{FetchError, Fetcher, HttpConfig, HttpFetcher};

/// What the server does with one request.
#[derive(Clone, Copy)]
enum Reply {
    /// A status and a body with its Content-Length.
    Body(u16, &'static [u8]),
    /// 200, no length, and bytes until the client goes away.
    Endless,
    /// 200 with a Content-Length of 10 MB, then nothing.
    Announce,
    /// The head of a 200, then silence.
    Stall,
}

/// Serves one connection with `reply`; reports how many body bytes it managed to write.
fn serve_once(reply: Reply) -> (SocketAddr, mpsc::Receiver<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let _ = tx.send(answer(stream, reply));
    });
    (addr, rx)
}

fn answer(mut stream: TcpStream, reply: Reply) -> u64 {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
    let head = |status: u16, extra: &str| format!("HTTP/1.1 {status} X\r\nConnection: close\r\n{extra}\r\n");
    match reply {
        Reply::Body(status, body) => {
            let _ = stream.write_all(head(status, &format!("Content-Length: {}\r\n", body.len())).as_bytes());
            let _ = stream.write_all(body);
            body.len() as u64
        }
        Reply::Endless => {
            let _ = stream.write_all(head(200, "").as_bytes());
            let chunk = [b'x'; 16 * 1024];
            let mut written = 0u64;
            // Ends when the client closes the connection (or after 1 GiB: the test fails then).
            while written < 1 << 30 && stream.write_all(&chunk).is_ok() {
                written += chunk.len() as u64;
            }
            written
        }
        Reply::Announce => {
            let _ = stream.write_all(head(200, "Content-Length: 10000000\r\n").as_bytes());
            // Longer than the client's read timeout (300 ms).
            std::thread::sleep(Duration::from_millis(1000));
            0
        }
        Reply::Stall => {
            let _ = stream.write_all(head(200, "Content-Length: 10\r\n").as_bytes());
            std::thread::sleep(Duration::from_secs(3));
            0
        }
    }
}

fn fetcher() -> HttpFetcher {
    let config = HttpConfig {
        read_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    HttpFetcher::new(&config).expect("client")
}

async fn fetch(reply: Reply, limit: u64) -> (Result<Vec<u8>, FetchError>, mpsc::Receiver<u64>) {
    let (addr, written) = serve_once(reply);
    (fetcher().fetch(&format!("http://{addr}/file.json"), limit).await, written)
}

#[tokio::test]
async fn statuses_and_bodies() {
    assert_eq!(fetch(Reply::Body(200, b"hello"), 5).await.0.expect("fits exactly"), b"hello");
    assert!(matches!(fetch(Reply::Body(404, b"no"), 100).await.0, Err(FetchError::NotFound { status: 404 })));
    assert!(matches!(fetch(Reply::Body(403, b"no"), 100).await.0, Err(FetchError::NotFound { status: 403 })));
    assert!(matches!(fetch(Reply::Body(500, b"no"), 100).await.0, Err(FetchError::Status { status: 500 })));
    assert!(matches!(fetch(Reply::Body(200, b"hello"), 4).await.0, Err(FetchError::TooLarge { limit: 4 })));
}

/// The server announces 10 MB and sends no byte of it, then holds the connection longer than the
/// read timeout: a client that read before judging the length would end with `Timeout`, so
/// `TooLarge` is the proof that it judged the announced length first.
#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_before_reading() {
    let result = fetch(Reply::Announce, 16_384).await.0;
    assert!(matches!(result, Err(FetchError::TooLarge { limit: 16_384 })), "{result:?}");
}

// Multi-threaded: the test blocks on the server's report while the client's connection task must
// run to close the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_off_at_the_limit() {
    let (result, written) = fetch(Reply::Endless, 100_000).await;
    assert!(matches!(result, Err(FetchError::TooLarge { limit: 100_000 })), "{result:?}");
    // The client hung up: the server's writes failed long before its 1 GiB cap. What it wrote
    // beyond the limit sat in socket buffers, never in the client's memory.
    let written = written.recv_timeout(Duration::from_secs(10)).expect("the server noticed the client leave");
    assert!(written < 64 << 20, "server wrote {written} bytes");
}

/// The server sends a head announcing 10 bytes, then nothing for 3 s before it closes: only the
/// 300 ms read timeout ends the fetch with `Timeout` (waiting it out would end with the closed
/// connection's error instead).
#[tokio::test]
async fn a_stalled_response_times_out() {
    let result = fetch(Reply::Stall, 100).await.0;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
}
