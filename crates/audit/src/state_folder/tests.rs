use super::*;

fn finding(snapshot: u64) -> StoredFinding {
    StoredFinding {
        finding: Finding::InvalidDiff { snapshot, previous_snapshot: snapshot - 1, reason: "test".into() },
        found_at: 1,
        acknowledged: false,
    }
}

#[test]
fn a_commit_survives_reopening_and_nothing_else_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let state = State::open(dir.path()).expect("open");
        assert_eq!(state.progress().expect("progress"), None);
        assert!(matches!(State::open(dir.path()), Err(StateError::Locked { .. })), "one auditor per folder");
        let mut progress = Progress::new("http://mirror/");
        progress.snapshot_version = 3;
        let mut batch = Batch { progress: Some(progress.clone()), ..Default::default() };
        batch.roots.push((1, b"root".to_vec()));
        batch.leaves.insert("3/a/abc".into(), Some((5, Sha256Hash([1; 32]))));
        batch.leaves.insert("1/a".into(), Some((6, Sha256Hash([2; 32]))));
        let record = FileRecord { snapshot: 3, versions: BTreeMap::from([("1.0.0".into(), Sha256Hash([9; 32]))]) };
        batch.records.insert("3/a/abc".into(), Some(record.clone()));
        batch.pending.insert("1/a".into(), Some(2));
        batch.findings.push(finding(2));
        state.commit(&batch).expect("commit");
        // A batch that is dropped without a commit changes nothing.
        let mut lost = Batch { progress: Some(Progress { snapshot_version: 9, ..progress }), ..Default::default() };
        lost.leaves.insert("1/a".into(), None);
        drop(lost);
    }
    let state = State::open(dir.path()).expect("reopen");
    assert_eq!(state.progress().expect("progress").map(|p| p.snapshot_version), Some(3));
    assert_eq!(state.roots().expect("roots"), vec![b"root".to_vec()]);
    let paths: Vec<String> = state.leaves().expect("leaves").into_iter().map(|l| l.path).collect();
    assert_eq!(paths, ["1/a", "3/a/abc"], "sorted by path");
    assert_eq!(state.record("3/a/abc").expect("record").map(|r| r.snapshot), Some(3));
    assert_eq!(state.pending().expect("pending"), BTreeMap::from([("1/a".to_owned(), 2)]));

    let mut batch = Batch::default();
    batch.leaves.insert("1/a".into(), None);
    batch.records.insert("3/a/abc".into(), None);
    batch.pending.insert("1/a".into(), None);
    batch.findings.push(finding(5));
    state.commit(&batch).expect("commit");
    assert_eq!(state.leaves().expect("leaves").len(), 1);
    assert_eq!(state.record("3/a/abc").expect("record"), None);
    assert!(state.pending().expect("pending").is_empty());
    let findings = state.findings().expect("findings");
    assert_eq!(findings.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [0, 1], "appended in order");
    assert_eq!(state.acknowledge_all().expect("ack").len(), 2);
    assert!(state.findings().expect("findings").iter().all(|(_, f)| f.acknowledged));
}
