//! Random operations for simulated workloads, shared by the sync tests (`tests/sync.rs`) and
//! the measurement programs (`experiments/src/bin/icde.rs`): each mutates a replica's state with
//! the simulator's seeded generator and returns the delta.

use convergent::sim::SimRng;
use convergent::{MvRegister, OrMap, OrSet, ReplicaId};

/// A map of sets over 4 keys and 4 elements, so that operations conflict: a nested insert, a
/// nested remove or a key remove (an observed reset), one in three each.
///
/// ```
/// use convergent::sim::SimRng;
/// use convergent::{OrMap, OrSet, ReplicaId};
///
/// let mut w = SimRng::new(7);
/// let mut m: OrMap<u8, OrSet<u8>> = OrMap::new();
/// let _delta = testkit::workload::map_of_sets(&mut w, &mut m, ReplicaId::from_u128(1));
/// ```
pub fn map_of_sets(w: &mut SimRng, m: &mut OrMap<u8, OrSet<u8>>, me: ReplicaId) -> OrMap<u8, OrSet<u8>> {
    let (k, x) = (w.below(4) as u8, w.below(4) as u8);
    match w.below(3) {
        0 => {
            m.update(me, k, |s| {
                s.insert(x);
            })
            .0
        }
        1 => {
            m.update(me, k, |s| {
                s.remove(&x);
            })
            .0
        }
        _ => m.remove(me, &k),
    }
}

/// A write of a value below 100 to a multi-value register.
///
/// ```
/// use convergent::sim::SimRng;
/// use convergent::{MvRegister, ReplicaId};
///
/// let mut r = MvRegister::new();
/// let delta = testkit::workload::mv_register(&mut SimRng::new(1), &mut r, ReplicaId::from_u128(1));
/// assert_eq!(delta.values().count(), 1);
/// ```
pub fn mv_register(w: &mut SimRng, r: &mut MvRegister<u64>, me: ReplicaId) -> MvRegister<u64> {
    r.write(me, w.below(100))
}
