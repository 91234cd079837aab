//! The invariant checker of a set store (`CheckInvariants`), for tests and fuzzing, yours and
//! ours: the non-panicking counterpart of the crate's own test checks.

use alloc::vec::Vec;
use core::hash::Hash;

use super::{Pack, Packing, Repr, SetStore};
use crate::causal::CheckInvariants;

/// The two indexes are exact (every slot once in each, found by its element and its dot), every
/// live dot names a replica of the table with an event number of at least 1, no dot is live
/// twice, and each replica's live count is its number of live dots. `O(elements + extra dots)`.
impl<T: Hash + Eq> CheckInvariants for SetStore<T> {
    fn check_invariants(&self) -> Result<(), &'static str> {
        match &self.repr {
            Repr::Narrow(s) => s.check(),
            Repr::Wide(s) => s.check(),
        }
    }
}

impl<T: Hash + Eq, P: Pack> Packing<T, P> {
    /// See [`CheckInvariants for SetStore`](SetStore).
    pub(super) fn check(&self) -> Result<(), &'static str> {
        let n = self.slots.len();
        // Unbuilt indexes (both empty) are allowed for one element (see `unindexed`).
        let unindexed = self.by_elem.is_empty() && self.by_dot.is_empty() && n == 1;
        if !unindexed && (self.by_elem.len() != n || self.by_dot.len() != n) {
            return Err("set store: an index is not one entry per element");
        }
        let table = self.replicas.entries.len();
        for (i, s) in self.slots.iter().enumerate() {
            if self.slot_of(&s.elem) != Some(i) {
                return Err("set store: the element index misses a slot");
            }
            if self.slot_of_dot(s.dot) != Some(i) {
                return Err("set store: the dot index misses a slot");
            }
        }
        let mut all: Vec<_> = self.packed_dots().map(|(_, p)| p).collect();
        if all.iter().any(|&p| p.unpack().0 >= table || p.unpack().1 == 0) {
            return Err("set store: a dot outside the replica table, or with event number 0");
        }
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return Err("set store: a dot is live twice");
        }
        let mut live = alloc::vec![0usize; table];
        for p in &all {
            live[p.unpack().0] += 1;
        }
        if self.replicas.entries.iter().zip(&live).any(|((_, l), n)| l != n) {
            return Err("set store: a replica's live count is wrong");
        }
        Ok(())
    }
}
