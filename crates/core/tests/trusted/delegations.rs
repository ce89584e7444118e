//! The delegation search: order, terminating roles, cycles, limits, succinct hash bins, and a
//! role reached through two delegators.

use crate::sim::{Sim, empty_targets, id, key, now};
use std::collections::BTreeMap;
use tufmirror_core::PublicKey;
use tufmirror_core::metadata::{Delegations, SuccinctRoles, TargetFile};
use tufmirror_core::trusted::{DelegationWalk, Origin, TrustError, TrustedSet};

/// Publishes every role of `sim` (children before their delegators) and returns a set that
/// trusts its top-level metadata.
fn publish_all(sim: &mut Sim) -> TrustedSet {
    let delegated: Vec<String> = sim.targets.keys().filter(|r| *r != "targets").cloned().collect();
    for role in delegated.iter().map(String::as_str).chain(["targets", "snapshot", "timestamp"]) {
        sim.publish(role);
    }
    let mut set = TrustedSet::new(&sim.bytes("root"), now()).expect("root");
    set.update_timestamp(&sim.bytes("timestamp")).expect("timestamp");
    set.update_snapshot(&sim.bytes("snapshot"), Origin::Repository).expect("snapshot");
    set.update_targets(&sim.bytes("targets")).expect("targets");
    set
}

/// Searches `target` as a client would, loading each delegated role from `sim` the first time;
/// returns what was found and the delegated roles loaded, in order.
fn search(
    set: &mut TrustedSet,
    sim: &Sim,
    target: &str,
    max: usize,
) -> (Result<Option<TargetFile>, TrustError>, Vec<String>) {
    let mut walk = DelegationWalk::new(target, max);
    let mut loaded = Vec::new();
    while let Some((role, delegator)) = walk.next_role() {
        let targets = match set.delegated_targets(&role, &delegator) {
            Ok(Some(t)) => t.clone(),
            Ok(None) => {
                loaded.push(role.clone());
                match set.update_delegated_targets(&sim.bytes(&role), &role, &delegator) {
                    Ok(t) => t.clone(),
                    Err(e) => return (Err(e), loaded),
                }
            }
            Err(e) => return (Err(e), loaded),
        };
        if let Some(found) = walk.visit(&role, &targets) {
            return (Ok(Some(found)), loaded);
        }
    }
    (Ok(None), loaded)
}

/// A delegation: delegator, role, paths, terminating.
type Edge<'a> = (&'a str, &'a str, &'a [&'a str], bool);

fn graph(edges: &[Edge<'_>]) -> Sim {
    let mut sim = Sim::new();
    for (seed, (delegator, role, paths, terminating)) in (100..).zip(edges) {
        sim.delegate(delegator, role, paths, *terminating, key(seed));
    }
    sim
}

#[test]
fn roles_are_searched_depth_first_in_listed_order() {
    let all: &[&str] = &["*"];
    let cases: Vec<(Vec<Edge<'_>>, Vec<&str>)> = vec![
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("A", "C", all, false),
                ("A", "D", all, false),
            ],
            vec!["A", "C", "D", "B"],
        ),
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("A", "C", all, false),
                ("C", "D", all, false),
            ],
            vec!["A", "C", "D", "B"],
        ),
        // A terminating match leaves only its own subtree.
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("A", "C", all, true),
                ("A", "D", all, false),
            ],
            vec!["A", "C"],
        ),
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("A", "C", all, true),
                ("C", "D", all, false),
            ],
            vec!["A", "C", "D"],
        ),
        // Paths that do not match prune the branch.
        (vec![("targets", "A", &["*.py"], false), ("targets", "B", all, false), ("A", "C", all, false)], vec!["B"]),
        // A cycle ends at the role already searched.
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("B", "C", all, false),
                ("C", "D", all, false),
                ("D", "B", all, false),
            ],
            vec!["A", "B", "C", "D"],
        ),
        // A role delegated twice is searched once, where it is first reached.
        (
            vec![
                ("targets", "A", all, false),
                ("targets", "B", all, false),
                ("B", "C", all, false),
                ("A", "C", all, false),
            ],
            vec!["A", "C", "B"],
        ),
    ];
    for (edges, expected) in cases {
        let mut sim = graph(&edges);
        let mut set = publish_all(&mut sim);
        let (found, loaded) = search(&mut set, &sim, "missingpath", 32);
        assert_eq!(found, Ok(None), "{edges:?}");
        assert_eq!(loaded, expected, "{edges:?}");
    }
}

#[test]
fn a_target_is_found_where_the_paths_lead() {
    let mut sim = graph(&[
        ("targets", "A", &["*.doc", "*.md", "foo-?.tgz"], false),
        ("targets", "B", &["releases/*/*"], false),
        ("B", "C", &["releases/x/*"], false),
        ("B", "D", &["releases/y/*.zip"], false),
    ]);
    sim.add_target("targets", "targetfile", b"t");
    sim.add_target("A", "README.md", b"a");
    sim.add_target("A", "releases/README.md", b"nested");
    sim.add_target("C", "releases/x/x_v1", b"x");
    sim.add_target("D", "releases/z/z_v1.zip", b"z");
    let mut set = publish_all(&mut sim);
    for (target, found, loaded) in [
        ("targetfile", true, vec![]),
        ("README.md", true, vec!["A"]),
        ("releases/x/x_v1", true, vec!["B", "C"]),
        ("releases/z/z_v1.zip", false, vec![]),
        ("releases/README.md", false, vec![]),
        ("README.MD", false, vec![]),
    ] {
        let (result, newly) = search(&mut set, &sim, target, 32);
        assert_eq!(result.expect("no error").is_some(), found, "{target}");
        // Roles loaded by an earlier search are reused (and not loaded again).
        assert!(newly.iter().all(|r| loaded.contains(&r.as_str())), "{target}: {newly:?}");
    }
    assert_eq!(set.any_targets("C").map(|t| t.version), Some(1));
}

#[test]
fn the_search_stops_after_max_delegations() {
    let names: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
    let mut sim = Sim::new();
    let mut parent = "targets".to_owned();
    for (seed, name) in (100..).zip(&names) {
        sim.delegate(&parent, name, &["*"], false, key(seed));
        parent = name.clone();
    }
    sim.add_target("r39", "deep", b"deep");
    let mut set = publish_all(&mut sim);
    let (found, loaded) = search(&mut set, &sim, "deep", 32);
    assert_eq!(found, Ok(None));
    assert_eq!(loaded.len(), 32, "targets plus 32 delegated roles are searched");
    let (found, _) = search(&mut set, &sim, "deep", 64);
    assert!(found.expect("no error").is_some());
}

#[test]
fn succinct_hash_bins_route_each_target_to_one_bin() {
    let mut sim = Sim::new();
    let signer = key(90);
    let bins = SuccinctRoles {
        keyids: vec![id(&signer)],
        threshold: 1,
        bit_length: 3,
        name_prefix: "bin".into(),
        unknown: BTreeMap::new(),
    };
    let names: Vec<String> = bins.bins().collect();
    assert_eq!(names.first().map(String::as_str), Some("bin-0"));
    let target_bin = bins.bin_for_target("pkg/a.tgz");
    sim.targets.get_mut("targets").expect("targets").delegations = Some(Delegations {
        keys: BTreeMap::from([(id(&signer), PublicKey::Ed25519(signer.verifying_key()).to_key_object())]),
        roles: None,
        succinct_roles: Some(bins),
        unknown: BTreeMap::new(),
    });
    for name in &names {
        sim.targets.insert(name.clone(), empty_targets(0));
        sim.signers.insert(name.clone(), vec![signer.clone()]);
    }
    sim.add_target(&target_bin, "pkg/a.tgz", b"a");
    let mut set = publish_all(&mut sim);
    let (found, loaded) = search(&mut set, &sim, "pkg/a.tgz", 32);
    assert!(found.expect("no error").is_some());
    assert_eq!(loaded, vec![target_bin.clone()], "only the target's bin is loaded");
    // A bin name outside the range is not delegated.
    assert!(matches!(
        set.update_delegated_targets(&sim.bytes("bin-0"), "bin-8", "targets"),
        Err(TrustError::NotInSnapshot { .. }) | Err(TrustError::NotDelegated { .. })
    ));
}

#[test]
fn a_role_reached_through_another_delegator_is_verified_again() {
    let mut sim = Sim::new();
    sim.delegate("targets", "parent-a", &["team-a/*"], false, key(101));
    sim.delegate("targets", "parent-b", &["team-b/*"], false, key(102));
    sim.delegate("parent-a", "release", &["team-a/*"], false, key(103));
    sim.delegate("parent-b", "release", &["team-b/*"], false, key(104));
    // Only parent-a's key for "release" signs it.
    sim.signers.insert("release".into(), vec![key(103)]);
    sim.add_target("release", "team-a/root.json", b"trusted A");
    sim.add_target("release", "team-b/root.json", b"malicious B");
    let mut set = publish_all(&mut sim);
    let (found, _) = search(&mut set, &sim, "team-a/root.json", 32);
    assert!(found.expect("valid through parent-a").is_some());
    let (found, _) = search(&mut set, &sim, "team-b/root.json", 32);
    assert!(matches!(found, Err(TrustError::Threshold { ref delegator, .. }) if delegator == "parent-b"));
}

#[test]
fn delegated_roles_must_be_listed_in_the_snapshot_and_signed_by_their_delegation() {
    // The snapshot vouches for A's bytes, but A is signed by another key than the delegation names.
    let mut sim = graph(&[("targets", "A", &["*"], false)]);
    sim.signers.insert("A".into(), vec![key(7)]);
    let mut set = publish_all(&mut sim);
    let (found, _) = search(&mut set, &sim, "x", 32);
    assert!(
        matches!(found, Err(TrustError::Threshold { ref role, ref delegator, .. }) if role == "A" && delegator == "targets")
    );
    // Root delegates only `targets`; a role the snapshot does not list is refused.
    assert!(matches!(set.update_delegated_targets(&sim.bytes("A"), "A", "root"), Err(TrustError::NotDelegated { .. })));
    assert!(matches!(
        set.update_delegated_targets(&sim.bytes("A"), "Z", "targets"),
        Err(TrustError::NotInSnapshot { .. })
    ));

    let mut gone = graph(&[("targets", "A", &["*"], false)]);
    gone.publish("A");
    gone.publish("targets");
    gone.snapshot.meta.remove("A.json");
    gone.publish("snapshot");
    gone.publish("timestamp");
    let mut set = TrustedSet::new(&gone.bytes("root"), now()).expect("root");
    set.update_timestamp(&gone.bytes("timestamp")).expect("timestamp");
    set.update_snapshot(&gone.bytes("snapshot"), Origin::Repository).expect("snapshot");
    set.update_targets(&gone.bytes("targets")).expect("targets");
    let (found, loaded) = search(&mut set, &gone, "x", 32);
    assert!(matches!(found, Err(TrustError::NotInSnapshot { ref role }) if role == "A"));
    assert_eq!(loaded, vec!["A"]);
}
