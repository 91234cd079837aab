//! Unit tests of the map store's private invariants: the dot index, and joins that touch only
//! the keys a delta names.

use alloc::vec::Vec;

use crate::causal::{CheckInvariants, DotStore};
use crate::{CausalCounter, Lattice, MvRegister};
use crate::{OrMap, ReplicaId};

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

#[test]
fn write_then_clear_in_one_update_leaves_no_index_entry() {
    let mut m: OrMap<u8, MvRegister<u8>> = OrMap::new();
    let d = m.update(r(1), 0, |h| {
        h.write(1);
        h.clear();
    });
    assert!(m.is_empty());
    assert_eq!(m.inner.store.dots, 0);
    assert_eq!(d.inner.store.dots, 0);
    assert_eq!(d.inner.context.dot_count(), 1);
    assert_eq!(m.check_invariants(), Ok(()));
}

#[test]
fn remove_delta_touches_only_its_key() {
    let mut m: OrMap<u32, CausalCounter> = OrMap::new();
    for k in 0..1000 {
        let _ = m.update(r(1), k, |c| c.increment(1));
    }
    let mut other = m.clone();
    let d = other.remove(r(2), &500);
    // The remove delta's context names one dot: the join looks at one key.
    let keys = m.inner.store.keys_removed_by(&d.inner.store, &d.inner.context);
    let dot = *d.inner.context.dots().collect::<Vec<_>>().first().unwrap();
    assert_eq!(m.inner.store.key_of(&dot), Some(&500));
    assert_eq!(keys, [m.inner.store.index[&dot]]);
    m.join_ref(&d);
    assert_eq!(m.len(), 999);
    assert_eq!(m, other);
    assert_eq!(m.check_invariants(), Ok(()));
}

#[test]
fn full_state_join_walks_the_smaller_side() {
    // A small map joined with a state whose context is large: the index is walked.
    let mut big: OrMap<u32, CausalCounter> = OrMap::new();
    for k in 0..100 {
        let _ = big.update(r(1), k, |c| c.increment(1));
    }
    let mut small = OrMap::<u32, CausalCounter>::new();
    let d = small.update(r(2), 7, |c| c.increment(1));
    let _ = d;
    let _ = big.clear(r(1));
    let keys = small.inner.store.keys_removed_by(&big.inner.store, &big.inner.context);
    assert!(keys.is_empty());
    small.join_ref(&big);
    assert_eq!(small.len(), 1);
}

#[test]
fn nested_index_is_per_level() {
    let mut m: OrMap<u8, OrMap<u8, MvRegister<u8>>> = OrMap::new();
    let _ = m.mutate(r(1), |h| {
        h.update(0, |i| {
            i.update(1, |x| x.write(1));
            i.update(2, |x| x.write(2));
        });
        h.update(1, |i| i.update(1, |x| x.write(3)));
    });
    assert_eq!(m.inner.store.dots, 3);
    let inner = m.get(&0).unwrap();
    assert_eq!(inner.dots, 2);
    let mut dots = Vec::new();
    inner.for_each_dot(&mut |d| dots.push(d));
    for d in dots {
        assert_eq!(m.inner.store.key_of(&d), Some(&0));
    }
    assert_eq!(m.check_invariants(), Ok(()));
}

#[test]
fn delta_index_follows_removes_within_a_transaction() {
    let mut m: OrMap<u8, MvRegister<u8>> = OrMap::new();
    let (d, _) = m.mutate(r(1), |h| {
        h.update(0, |x| x.write(1));
        h.update(1, |x| x.write(1));
        h.remove(&0);
        h.update(1, |x| x.write(2));
    });
    assert_eq!(d.check_invariants(), Ok(()));
    assert_eq!(d.inner.store.dots, 1);
    assert_eq!(d.len(), 1);
    assert_eq!(d.inner.context.dot_count(), 3);
}
