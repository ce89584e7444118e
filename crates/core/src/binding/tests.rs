use super::*;
use crate::metadata::{Role, SPEC_VERSION};
use time::OffsetDateTime;

fn root(version: u64) -> Root {
    Root {
        kind: Role::Root,
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires: OffsetDateTime::UNIX_EPOCH,
        consistent_snapshot: true,
        keys: BTreeMap::new(),
        roles: BTreeMap::new(),
        unknown: BTreeMap::new(),
    }
}

fn snapshot(binding: Option<Value>) -> Snapshot {
    let mut unknown = BTreeMap::new();
    if let Some(v) = binding {
        unknown.insert(ROOT_VERSION_FIELD.to_owned(), v);
    }
    Snapshot {
        kind: Role::Snapshot,
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        expires: OffsetDateTime::UNIX_EPOCH,
        meta: BTreeMap::new(),
        unknown,
    }
}

fn chain(first: u64, last: u64) -> RootChain {
    let mut chain = RootChain::new(root(first));
    for v in first + 1..=last {
        chain.push(root(v)).expect("next");
    }
    chain
}

const NO_FLOOR: Floor = Floor { snapshot: 0, root: 1 };

#[test]
fn the_binding_is_read_and_written_inside_signed() {
    let mut s = snapshot(None);
    assert_eq!(s.root_binding("s").expect("absent"), None);
    s.bind_to_root(3);
    assert_eq!(s.root_binding("s").expect("bound"), Some(3));
    let json = crate::cjson::to_vec(&s).expect("cjson");
    assert!(String::from_utf8(json).expect("utf-8").contains("\"x-tufmirror-root-version\":3"));
    for bad in [Value::from(0), Value::from(-1), Value::from("2"), Value::from(1.5), Value::Null] {
        let e = snapshot(Some(bad.clone())).root_binding("s").expect_err("malformed");
        assert_eq!(e, BindingError::Malformed { file: "s".into() }, "{bad}");
    }
}

#[test]
fn current_metadata_names_exactly_the_trusted_root() {
    let mut s = snapshot(None);
    assert!(matches!(check_current(&s, "s", 2), Err(BindingError::Missing { trusted: 2, .. })));
    s.bind_to_root(1);
    assert!(matches!(check_current(&s, "s", 2), Err(BindingError::NotTrustedRoot { found: 1, trusted: 2, .. })));
    s.bind_to_root(3);
    assert!(matches!(check_current(&s, "s", 2), Err(BindingError::NotTrustedRoot { found: 3, trusted: 2, .. })));
    s.bind_to_root(2);
    check_current(&s, "s", 2).expect("bound to the trusted root");
}

#[test]
fn historical_metadata_is_verified_with_the_root_it_names() {
    let c = chain(1, 3);
    let mut s = snapshot(None);
    assert_eq!(c.historical(&s, "s", NO_FLOOR).expect("unbound is root 1").version, 1);
    s.bind_to_root(2);
    assert_eq!(c.historical(&s, "s", NO_FLOOR).expect("root 2").version, 2);
    s.bind_to_root(4);
    assert!(matches!(c.historical(&s, "s", NO_FLOOR), Err(BindingError::FutureRoot { found: 4, trusted: 3, .. })));
}

#[test]
fn bindings_never_decrease_below_an_accepted_snapshot() {
    let c = chain(1, 3);
    let floor = Floor { snapshot: 7, root: 2 };
    let mut s = snapshot(None);
    assert!(
        matches!(c.historical(&s, "s", floor), Err(BindingError::Decreasing { found: 1, floor: 2, accepted: 7, .. })),
        "unbound metadata counts as root 1"
    );
    s.bind_to_root(1);
    assert!(matches!(c.historical(&s, "s", floor), Err(BindingError::Decreasing { found: 1, .. })));
    s.bind_to_root(2);
    assert_eq!(c.historical(&s, "s", floor).expect("equal").version, 2);
}

#[test]
fn a_root_before_the_anchor_is_unknown() {
    let c = chain(2, 3);
    let s = snapshot(Some(Value::from(1)));
    assert!(matches!(
        c.historical(&s, "s", NO_FLOOR),
        Err(BindingError::UnknownRoot { found: 1, first: 2, last: 3, .. })
    ));
    assert_eq!(c.get(3).map(|r| r.version), Some(3));
    assert!(c.get(4).is_none() && c.get(0).is_none());
    let mut gap = chain(1, 1);
    assert_eq!(gap.push(root(3)), Err(ChainGap { last: 1, found: 3 }));
}
