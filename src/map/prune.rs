//! Pruning support for the map's store (see [`Prune`](crate::Prune)): the keys holding live
//! dots of a retired replica, found through the dot index, folded one by one.

use alloc::vec::Vec;
use core::hash::Hash;

use hashbrown::HashSet;

use super::MapStore;
use crate::causal::{Handle, ReplicaId};
use crate::prune::FoldStore;

/// Folds `retired` out of every key whose value holds one of its live dots, as a mutation of
/// the heir (`h.replica()`). `O(dots of the map)` to find the keys, plus each key's fold.
pub(crate) fn fold_map<K: Hash + Eq + Clone, S: FoldStore>(
    h: &mut Handle<'_, MapStore<K, S>>,
    retired: ReplicaId,
) {
    // In the index's order: the same state (or a clone of it) folds the same way.
    let mut seen: HashSet<&K> = HashSet::new();
    let mut keys: Vec<K> = Vec::new();
    for (d, k) in &h.store.index {
        if d.replica() == retired && seen.insert(k) {
            keys.push(k.clone());
        }
    }
    drop(seen);
    for k in keys {
        h.update(k, |nested| S::fold_store(nested, retired));
    }
}
