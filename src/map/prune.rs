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
    let old = core::mem::take(m);
    for (k, mut s) in old.entries {
        s.reissue_dots(next);
        s.for_each_dot(&mut |d| {
            m.index.insert(d, k.clone());
        });
        m.entries.insert(k, s);
    }
}
