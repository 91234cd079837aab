//! Pruning support for the map's store (see [`Prune`](crate::Prune)): the keys holding live
//! dots of a retired replica, found through the dot index, folded one by one.

use alloc::vec::Vec;
use core::hash::Hash;

use super::MapStore;
use crate::causal::{Handle, ReplicaId};
use crate::prune::FoldStore;

/// Folds `retired` out of every key whose value holds one of its live dots, as a mutation of
/// the heir (`h.replica()`). `O(dots of the map)` to find the keys, plus each key's fold.
pub(crate) fn fold_map<K: Hash + Eq + Clone, S: FoldStore>(
    h: &mut Handle<'_, MapStore<K, S>>,
    retired: ReplicaId,
) {
    // In the table's order: the same state (or a clone of it) folds the same way.
    let mut keys: Vec<K> = Vec::new();
    for e in h.store.entries.iter() {
        let mut holds = false;
        e.value.for_each_dot(&mut |d| holds |= d.replica() == retired);
        if holds {
            keys.push(e.key.clone());
        }
    }
    for k in keys {
        h.update(k, |nested| S::fold_store(nested, retired));
    }
}
