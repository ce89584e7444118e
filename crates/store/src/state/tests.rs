use super::*;

fn record(bytes: &[u8]) -> FileRecord {
    FileRecord {
        sha256: Sha256Hash::of(bytes),
        length: bytes.len() as u64,
        etag: None,
        last_modified: None,
        checked_at: 1,
    }
}

fn snapshot(version: u64) -> SnapshotRecord {
    SnapshotRecord {
        version,
        timestamp_version: version,
        merkle_root: Sha256Hash::of(b""),
        tree_size: 0,
        leaves: Sha256Hash::of(b"[]"),
        published_at: 0,
    }
}

#[test]
fn a_batch_commits_files_versions_and_the_current_snapshot_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = StateDb::open(&dir.path().join("state.redb")).expect("open");
    assert_eq!(db.current_snapshot().expect("read"), None);
    let batch = Batch {
        files: vec![("se/rd/serde".into(), Some(record(b"a"))), ("3/s/syn".into(), Some(record(b"b")))],
        versions: vec![("Serde".into(), "1.0.0".into(), "aa".into()), ("serde".into(), "1.0.1".into(), "bb".into())],
        snapshot: Some(snapshot(1)),
        meta: vec![("last_refresh", 42)],
        ..Batch::default()
    };
    db.apply(&batch).expect("apply");
    assert_eq!(db.file("se/rd/serde").expect("read"), Some(record(b"a")));
    assert_eq!(
        db.files().expect("files").iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["3/s/syn", "se/rd/serde"]
    );
    let versions = db.versions("serde").expect("versions");
    assert_eq!(versions.get("1.0.0").map(String::as_str), Some("aa"));
    assert_eq!(versions.len(), 2);
    assert!(db.versions("serde_json").expect("other crate").is_empty(), "prefix scans stop at the crate");
    assert_eq!(db.current_snapshot().expect("read").map(|s| s.version), Some(1));
    assert_eq!(db.cksum("SERDE", "1.0.1").expect("cksum").as_deref(), Some("bb"));
    assert_eq!(db.meta("last_refresh").expect("meta"), Some(42));
    assert_eq!(db.all_versions().expect("all").len(), 2);

    // Only an explicit replacement (an operator's accept) changes a published cksum.
    let replace = Batch { replaced_versions: vec![("serde".into(), "1.0.0".into(), "cc".into())], ..Batch::default() };
    db.apply(&replace).expect("replace");
    assert_eq!(db.cksum("serde", "1.0.0").expect("cksum").as_deref(), Some("cc"));
}

#[test]
fn a_changed_checksum_aborts_the_whole_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.redb");
    let db = StateDb::open(&path).expect("open");
    db.apply(&Batch { versions: vec![("foo".into(), "1.0.0".into(), "aa".into())], ..Batch::default() })
        .expect("first");
    let bad = Batch {
        files: vec![("3/f/foo".into(), Some(record(b"new")))],
        versions: vec![("foo".into(), "1.0.0".into(), "ff".into())],
        snapshot: Some(snapshot(2)),
        ..Batch::default()
    };
    assert!(matches!(db.apply(&bad), Err(StoreError::HistoryConflict { .. })));
    assert_eq!(db.file("3/f/foo").expect("read"), None, "nothing of the batch was committed");
    assert_eq!(db.current_snapshot().expect("read"), None);
    drop(db);
    // And the state survives reopening.
    let db = StateDb::open(&path).expect("reopen");
    assert_eq!(db.versions("foo").expect("versions").get("1.0.0").map(String::as_str), Some("aa"));
}

#[test]
fn removals_and_quarantine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = StateDb::open(&dir.path().join("state.redb")).expect("open");
    db.apply(&Batch { files: vec![("1/a".into(), Some(record(b"a")))], ..Batch::default() }).expect("add");
    let q = QuarantineRecord {
        sha256: Sha256Hash::of(b"x"),
        reason: "cksum of 1.0.0 changed".into(),
        detected_at: 5,
        rejected: false,
    };
    db.apply(&Batch {
        files: vec![("1/a".into(), None)],
        quarantine: vec![("1/b".into(), Some(q.clone()))],
        ..Batch::default()
    })
    .expect("remove");
    assert_eq!(db.file("1/a").expect("read"), None);
    assert_eq!(db.quarantined().expect("read"), vec![("1/b".to_owned(), q)]);
    db.apply(&Batch { quarantine: vec![("1/b".into(), None)], ..Batch::default() }).expect("release");
    assert!(db.quarantined().expect("read").is_empty());
}
