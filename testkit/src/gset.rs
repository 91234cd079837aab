//! A grow-only set of `u64`: the smallest lattice of one's own, as a user would write it, for
//! driving the sync engine and the simulator with a type the crate does not know.

use std::collections::BTreeSet;

use convergent::{Decompose, Lattice};
use serde::{Deserialize, Serialize};

/// A grow-only set of `u64`: join is union, the irreducibles are the singletons.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GSet(pub BTreeSet<u64>);

/// Decoded with serde (a lattice of one's own: no typed validation).
impl convergent::wire::Decode for GSet {}

/// Nothing to check against the receiver: the default accepts what decodes.
impl convergent::Receive for GSet {}

impl GSet {
    /// Inserts `x` and returns the delta: the singleton `{x}`.
    pub fn add(&mut self, x: u64) -> GSet {
        self.0.insert(x);
        GSet(BTreeSet::from([x]))
    }
}

impl Lattice for GSet {
    fn bottom() -> Self {
        GSet::default()
    }
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }
    fn join_ref(&mut self, other: &Self) -> bool {
        let n = self.0.len();
        self.0.extend(other.0.iter().copied());
        self.0.len() != n
    }
    fn leq(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl Decompose for GSet {
    fn decompose(&self) -> Vec<Self> {
        self.0.iter().map(|&x| GSet(BTreeSet::from([x]))).collect()
    }
    fn irreducible_count(&self) -> usize {
        self.0.len()
    }
    fn delta(&self, other: &Self) -> Self {
        GSet(self.0.difference(&other.0).copied().collect())
    }
}
