//! Making a running daemon look at upstream again without waiting for its clock: the test asks
//! for a refresh (`POST /admin/sync`, [`Daemon::refresh_now`]) and waits, with a deadline, until
//! the refresh has published.

use super::daemon::Daemon;
use std::time::{Duration, Instant};
use tufmirror_core::metadata::Timestamp;
use tufmirror_core::verify::parse_unverified;

/// The snapshot version the daemon's current timestamp names.
pub(crate) fn served_snapshot(daemon: &Daemon) -> u64 {
    let response = daemon.get("/tuf/timestamp.json");
    assert_eq!(response.status, 200, "timestamp.json");
    let (timestamp, _) = parse_unverified::<Timestamp>(&response.body).expect("timestamp.json");
    timestamp.signed.snapshot_version().expect("names a snapshot")
}

/// Asks the daemon for a full refresh and waits until it serves a snapshot newer than `after`
/// (at most 30 s; then it fails). Returns that snapshot's version.
pub(crate) fn refresh_past(daemon: &Daemon, after: u64) -> u64 {
    daemon.refresh_now();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let served = served_snapshot(daemon);
        if served > after {
            return served;
        }
        assert!(Instant::now() < deadline, "no snapshot after {after} within 30 s of asking for a refresh");
        std::thread::sleep(Duration::from_millis(50));
    }
}
