//! Pruning support for the map's store: its dots re-issued under fresh ones (see
//! [`Prune`](crate::Prune)), the dot index rebuilt to match.

use core::hash::Hash;

use super::MapStore;
use crate::causal::Dot;
use crate::prune::ReissueDots;

/// Replaces every live dot of every value by `next()`, keeping each value's payloads, and
/// re-indexes the new dots. `O(dots)`.
pub(crate) fn reissue_map<K: Hash + Eq + Clone, S: ReissueDots>(
    m: &mut MapStore<K, S>,
    next: &mut dyn FnMut() -> Dot,
) {
    let MapStore { entries, index, .. } = m;
    index.clear();
    for e in entries.iter_mut() {
        e.value.reissue_dots(next);
        let hash = e.hash;
        e.value.for_each_dot(&mut |d| {
            index.insert(d, hash);
        });
    }
}
