//! The invariant checker of a set store (`CheckInvariants`), for tests and fuzzing, yours and
//! ours: the non-panicking counterpart of the crate's own test checks.

use alloc::vec::Vec;
use core::hash::Hash;

use super::{LINEAR, Pack, Packing, Repr, SetStore};
use crate::causal::CheckInvariants;

/// A store past [`LINEAR`](super::LINEAR) elements (or with a replica table past
/// [`SMALL_TABLE`](super::SMALL_TABLE)) has its index; the two hash indexes are exact (every slot
/// once in each, found by its element and its dot), the replica lookup is the table sorted by id, every
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
        let table = self.replicas.entries.len();
        match &self.index {
            // A small store compares its slots (see `LINEAR`).
            None if n > LINEAR || !self.replicas.scanned() => {
                return Err("set store: a store past the linear size has no index");
            }
            None => {}
            Some(x) => {
                if x.by_elem.len() != n || x.by_dot.len() != n {
                    return Err("set store: an index is not one entry per element");
                }
                let want = if self.replicas.scanned() { 0 } else { table };
                if x.by_id.len() != want
                    || x.by_id.iter().any(|&i| i as usize >= table)
                    || x.by_id.windows(2).any(|w| {
                        self.replicas.entries[w[0] as usize].0 >= self.replicas.entries[w[1] as usize].0
                    })
                {
                    return Err("set store: the replica lookup is not the table sorted by id");
                }
            }
        }
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
