//! Re-signing on the engine's clock: metadata is signed again past half its life even when
//! nothing changed (the clock is set, never slept on), clients refuse what expired, and a
//! re-signed timestamp survives a restart: a new timestamp version for the same snapshot and root.

use std::time::Duration;
use tufmirror_core::metadata::Timestamp;
use tufmirror_core::trusted::{TimestampUpdate, TrustError, TrustedSet};
use tufmirror_core::verify::parse_unverified;
use tufmirror_mirror::{Clock as _, Config, ManualClock, Mirror};

const HOUR: Duration = Duration::from_secs(3600);

fn config(dir: &std::path::Path) -> Config {
    let text = format!(
        r#"[storage]
data_dir = "{data}"
[upstream]
index_url = "http://127.0.0.1:9/"
[keys]
root_dir = "{data}/keys"
targets = "file:{data}/keys/targets.pem"
snapshot = "file:{data}/keys/snapshot.pem"
timestamp = "file:{data}/keys/timestamp.pem"
"#,
        data = dir.join("data").display()
    );
    let path = dir.join("tufmirror.toml");
    std::fs::write(&path, text).expect("write config");
    Config::load(Some(&path), |_| None).expect("config")
}

fn timestamp(bytes: &[u8]) -> Timestamp {
    parse_unverified::<Timestamp>(bytes).expect("timestamp").0.signed
}

#[tokio::test]
async fn the_timestamp_is_resigned_for_the_same_snapshot_and_kept_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (before, after) = {
        let mirror = Mirror::open(config(dir.path()), Default::default()).await.expect("open");
        let before = mirror.publisher().current();
        // Nothing is due right after signing: the timestamp lives a day.
        mirror.resigner().resign_if_due().await;
        assert_eq!(mirror.publisher().current().record.timestamp_version, before.record.timestamp_version);
        let after = mirror.publisher().resign_timestamp().await.expect("re-sign");
        mirror.close().await;
        (before, after)
    };
    assert_eq!(after.version(), before.version(), "same snapshot");
    assert_eq!(after.record.timestamp_version, before.record.timestamp_version + 1);
    let (old, new) = (timestamp(&before.timestamp_json), timestamp(&after.timestamp_json));
    assert_eq!(new.merkle_root, old.merkle_root);
    assert_eq!(new.meta, old.meta, "pins the same snapshot.json");
    assert!(new.expires >= old.expires);

    let reopened = Mirror::open(config(dir.path()), Default::default()).await.expect("reopen");
    let current = reopened.publisher().current();
    assert_eq!(current.record.timestamp_version, after.record.timestamp_version);
    assert_eq!(current.timestamp_json, after.timestamp_json);
    let history = dir.path().join(format!("data/history/{}.timestamp.json", after.record.timestamp_version));
    assert_eq!(std::fs::read(history).expect("history"), after.timestamp_json);
}

/// The schedule's rule (docs/operations: a role is re-signed in the second half of its life):
/// nothing before half of the timestamp's day, a new timestamp after it, a whole new snapshot
/// after half of the snapshot's week. A client at a time past the first timestamp's expiry
/// refuses it, for that reason, and accepts the re-signed one. Fails if re-signing is broken
/// (never runs, signs with the old date, or re-signs too late).
#[tokio::test]
async fn metadata_is_resigned_past_half_its_life_and_clients_refuse_what_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::starting_now();
    let start = clock.now();
    let mirror = Mirror::open_with_clock(config(dir.path()), Default::default(), clock.clone()).await.expect("open");
    let root = std::fs::read(mirror.dir().tuf("1.root.json")).expect("root 1");
    let first = mirror.publisher().current();
    assert_eq!(first.timestamp_expires, start + time::Duration::days(1), "signed on the clock's time");

    clock.advance(11 * HOUR);
    mirror.resigner().resign_if_due().await;
    let unchanged = mirror.publisher().current();
    assert_eq!(unchanged.record.timestamp_version, first.record.timestamp_version, "not due before half its life");

    clock.advance(2 * HOUR);
    mirror.resigner().resign_if_due().await;
    let resigned = mirror.publisher().current();
    assert_eq!(resigned.version(), first.version(), "only the timestamp was due");
    assert_eq!(resigned.record.timestamp_version, first.record.timestamp_version + 1);
    assert_eq!(resigned.timestamp_expires, start + time::Duration::hours(13 + 24));
    assert_eq!(timestamp(&resigned.timestamp_json).expires, resigned.timestamp_expires);

    // A client 25 hours after the start: the first timestamp expired an hour ago.
    let later = start + time::Duration::hours(25);
    let mut client = TrustedSet::new(&root, later).expect("root 1 trusted");
    match client.update_timestamp(&first.timestamp_json) {
        Err(TrustError::Expired { role, .. }) => assert_eq!(role, "timestamp"),
        other => panic!("an expired timestamp must be refused as expired, got {other:?}"),
    }
    let mut client = TrustedSet::new(&root, later).expect("root 1 trusted");
    assert!(matches!(client.update_timestamp(&resigned.timestamp_json), Ok(TimestampUpdate::Updated)));

    // Past half of the snapshot's 7 days: targets, snapshot and timestamp are all signed again.
    clock.advance(3 * 24 * HOUR + 12 * HOUR);
    mirror.resigner().resign_if_due().await;
    let renewed = mirror.publisher().current();
    assert_eq!(renewed.version(), first.version() + 1, "a new snapshot");
    assert_eq!(renewed.snapshot_expires, clock.now() + time::Duration::days(7));
    mirror.shutdown().cancel();
}
