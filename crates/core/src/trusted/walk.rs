//! The search for a target through the delegation graph (specification 5.6.7): preorder,
//! depth-first, in the order delegations are listed, stopping at terminating roles.
//!
//! The walk is pure: it says which role to load next and, given that role's trusted metadata,
//! whether the target is there and which roles to try after it. Loading (fetching, verifying
//! with [`super::TrustedSet::update_delegated_targets`]) is the caller's job, so the same walk
//! serves a network client and a test.

use crate::metadata::{TargetFile, Targets};
use std::collections::BTreeSet;

/// One search for one target path. See the module documentation.
#[derive(Debug, Clone)]
pub struct DelegationWalk {
    target: String,
    /// Roles still to visit, each with its delegator; the next one is at the end.
    stack: Vec<(String, String)>,
    visited: BTreeSet<String>,
    max_delegations: usize,
}

impl DelegationWalk {
    /// A search for `target` that starts at the top-level targets role and visits at most
    /// `max_delegations` roles beyond it (python-tuf's default, and the specification's, is 32).
    pub fn new(target: &str, max_delegations: usize) -> Self {
        DelegationWalk {
            target: target.to_owned(),
            stack: vec![("targets".to_owned(), "root".to_owned())],
            visited: BTreeSet::new(),
            max_delegations,
        }
    }

    /// The target path being searched for.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The next role to load and search, with the role that delegates it, or `None` when the
    /// search is over (every candidate tried, or the limit reached). A role already searched is
    /// skipped, which also ends cycles.
    pub fn next_role(&mut self) -> Option<(String, String)> {
        while self.visited.len() <= self.max_delegations {
            let (role, delegator) = self.stack.pop()?;
            if !self.visited.contains(&role) {
                return Some((role, delegator));
            }
        }
        None
    }

    /// Searches `role`'s trusted metadata: the target's description if `role` lists it;
    /// otherwise records `role` as searched and queues the roles it delegates the target to. A
    /// terminating delegation that matches drops every role not yet searched, so only its own
    /// subtree remains.
    pub fn visit(&mut self, role: &str, targets: &Targets) -> Option<TargetFile> {
        if let Some(found) = targets.targets.get(&self.target) {
            return Some(found.clone());
        }
        self.visited.insert(role.to_owned());
        let Some(delegations) = &targets.delegations else {
            return None;
        };
        let mut children = Vec::new();
        for (child, terminating) in delegations.roles_for_target(&self.target) {
            children.push((child, role.to_owned()));
            if terminating {
                self.stack.clear();
                break;
            }
        }
        self.stack.extend(children.into_iter().rev());
        None
    }
}
