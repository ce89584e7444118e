//! The timestamp is re-signed before it expires even when nothing changed, and a re-signed
//! timestamp survives a restart: a new timestamp version for the same snapshot and root.

use std::time::Duration;
use tufmirror_core::metadata::Timestamp;
use tufmirror_core::verify::parse_unverified;
use tufmirror_mirror::{Config, Mirror};

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
        let before = mirror.publisher.current();
        // Nothing is due right after signing: the timestamp lives a day.
        mirror.resign_if_due().await;
        assert_eq!(mirror.publisher.current().record.timestamp_version, before.record.timestamp_version);
        let after = mirror.publisher.resign_timestamp().await.expect("re-sign");
        mirror.shutdown.cancel();
        (before, after)
    };
    assert_eq!(after.version(), before.version(), "same snapshot");
    assert_eq!(after.record.timestamp_version, before.record.timestamp_version + 1);
    let (old, new) = (timestamp(&before.timestamp_json), timestamp(&after.timestamp_json));
    assert_eq!(new.merkle_root, old.merkle_root);
    assert_eq!(new.meta, old.meta, "pins the same snapshot.json");
    assert!(new.expires >= old.expires);

    tokio::time::sleep(Duration::from_millis(50)).await;
    let reopened = Mirror::open(config(dir.path()), Default::default()).await.expect("reopen");
    let current = reopened.publisher.current();
    assert_eq!(current.record.timestamp_version, after.record.timestamp_version);
    assert_eq!(current.timestamp_json, after.timestamp_json);
    let history = dir.path().join(format!("data/history/{}.timestamp.json", after.record.timestamp_version));
    assert_eq!(std::fs::read(history).expect("history"), after.timestamp_json);
}
