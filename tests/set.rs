//! OR-Set tests through the public API: a single replica against `HashSet`, concurrent histories
//! against the add-wins specification, order invariance of delta delivery, delta shapes, and
//! the wire form.

use std::collections::HashSet;

use convergent::causal::{Causal, DotStore};
use convergent::set::SetStore;
use convergent::{Decompose, Lattice, OrSet, ReplicaId};
use quickcheck::QuickCheck;
#[cfg(feature = "quickcheck")]
use quickcheck::{Arbitrary, Gen};
use testkit::subjects::SetOp;
use testkit::{check, laws};

fn rid(n: usize) -> ReplicaId {
    ReplicaId::from_u128(n as u128 + 1)
}

/// Every invariant of the set (the test kit's checker).
fn check_public_invariants<T: std::hash::Hash + Eq + Clone + std::fmt::Debug>(s: &OrSet<T>) {
    if let Err(e) = testkit::subjects::check_or_set(s) {
        panic!("{e}: {s:?}");
    }
}

#[test]
fn one_replica_behaves_like_a_hash_set() {
    fn prop(ops: Vec<SetOp>) -> bool {
        let r = rid(0);
        let mut s = OrSet::new();
        let mut model = HashSet::new();
        for op in ops {
            let before = s.clone();
            let delta = match &op {
                SetOp::Insert(e) => {
                    let d = s.insert(r, *e);
                    assert_eq!((d.len(), d.store().dot_count()), (1, 1), "one element, one dot");
                    model.insert(*e);
                    d
                }
                SetOp::Remove(e) => {
                    let d = s.remove(r, e);
                    assert!(d.is_empty(), "a remove delta carries no element");
                    if model.remove(e) {
                        assert_eq!(d.context().dot_count(), 1, "the one observed dot");
                    } else {
                        assert!(d.is_bottom(), "removing an absent element: empty delta");
                    }
                    d
                }
                SetOp::InsertAll(v) => {
                    let d = s.insert_all(r, v.iter().copied());
                    model.extend(v.iter().copied());
                    assert_eq!(d.len(), v.iter().collect::<HashSet<_>>().len());
                    d
                }
                SetOp::RemoveAll(v) => {
                    let d = s.remove_all(r, v);
                    for e in v {
                        model.remove(e);
                    }
                    assert!(d.is_empty());
                    d
                }
                SetOp::Clear => {
                    let d = s.clear(r);
                    assert!(d.is_empty());
                    assert_eq!(d.context().dot_count(), model.len() as u64);
                    model.clear();
                    d
                }
            };
            check_public_invariants(&s);
            check_public_invariants(&delta);
            assert_eq!(before.joined(delta), s, "m(X) == X ⊔ m_delta(X) after {op:?}");
            assert_eq!(s.iter().copied().collect::<HashSet<_>>(), model, "after {op:?}");
            assert_eq!(s.len(), model.len());
            for e in 0..8 {
                assert_eq!(s.contains(&e), model.contains(&e));
            }
        }
        true
    }
    QuickCheck::new().tests(1000).quickcheck(prop as fn(Vec<SetOp>) -> bool);
}

/// Concurrent histories (the test kit's) against the add-wins specification at the level of
/// dots, after every step and through deliveries out of causal order: an element is present iff
/// some insert dot of it received is removed by no operation received. (The element-level add-wins
/// specification on causal views, the lattice laws, delivery orders and the wire round trip of
/// `OrSet<u8>` on the same histories are `or_set::*` in `tests/laws.rs` and
/// `tests/convergence.rs`.)
#[test]
fn concurrent_histories_match_the_add_wins_specification() {
    check(laws::observed_remove::<OrSet<u8>>);
}

#[test]
fn add_wins_and_observed_remove() {
    let (a, b) = (rid(0), rid(1));
    let mut x = OrSet::new();
    let d = x.insert(a, "k");
    let mut y = OrSet::new();
    y.join_ref(&d);

    // A remove removes what it saw; a concurrent insert survives it.
    let rm = x.remove(a, "k");
    let add = y.insert(b, "k");
    x.join_ref(&add);
    y.join_ref(&rm);
    assert_eq!(x, y);
    assert!(x.contains("k"));
    assert_eq!(x.store().dot_count(), 1, "only b's insert is left");

    // A remove that saw everything wins.
    let rm = y.remove(b, "k");
    x.join_ref(&rm);
    assert!(!x.contains("k") && x.is_empty());
    // No tombstone: nothing left in the store, the context holds the removed dots as a range.
    assert_eq!(x.store().dot_count(), 0);
    assert_eq!(x.context().range_count(), 2);

    // Concurrent inserts of the same element by two replicas: one element, two dots; a
    // re-insert replaces both.
    let i1 = x.insert(a, "z");
    let i2 = y.insert(b, "z");
    x.join_ref(&i2);
    y.join_ref(&i1);
    assert_eq!((x.len(), x.store().dot_count()), (1, 2));
    let re = x.insert(a, "z");
    assert_eq!(re.context().dot_count(), 3, "the new dot and the two it replaces");
    y.join_ref(&re);
    assert_eq!((y.len(), y.store().dot_count()), (1, 1));
    assert_eq!(x, y);
}

#[test]
fn a_bulk_mutation_is_one_delta() {
    let r = rid(0);
    let mut s = OrSet::new();
    let before = s.clone();
    let d = s.insert_all(r, 0..1000u32);
    assert_eq!((d.len(), d.context().dot_count(), d.context().range_count()), (1000, 1000, 1));
    assert_eq!(before.joined(d.clone()), s);
    let d2 = s.remove_all(r, (0..1000u32).filter(|x| x % 2 == 0));
    assert_eq!((s.len(), d2.len(), d2.context().dot_count()), (500, 0, 500));
    // Mutations through one handle: one delta; an insert later removed is not in it.
    let (d3, ()) = s.mutate(r, |h| {
        h.insert(5000);
        h.insert(5001);
        h.remove(&5000);
        h.remove(&1);
    });
    assert_eq!(d3.iter().copied().collect::<Vec<_>>(), [5001]);
    assert_eq!(d3.context().dot_count(), 3, "5000's dot, 5001's dot, 1's dot");
    check_public_invariants(&s);
}

#[test]
fn the_store_reads_like_a_set_inside_a_causal_pair() {
    // What an OrMap of sets hands out: the store itself.
    let mut c = Causal::<SetStore<String>>::default();
    let (_, ()) = c.mutate(rid(0), |h| {
        h.insert("b".into());
        h.insert("a".into());
    });
    let store: &SetStore<String> = c.store();
    assert!(store.contains("a") && !store.contains("c"));
    assert_eq!(store.len(), 2);
    let mut v: Vec<&String> = store.into_iter().collect();
    v.sort();
    assert_eq!(v, ["a", "b"]);
    assert_eq!(store.iter().rev().count(), 2);
    let dbg = format!("{store:?}");
    assert!(dbg == r#"{"a", "b"}"# || dbg == r#"{"b", "a"}"#, "{dbg}");
}

#[test]
fn decompositions_cover_live_and_removed_dots() {
    let r = rid(0);
    let mut s = OrSet::new();
    let _ = s.insert_all(r, [1, 2, 3]);
    let _ = s.remove(r, &2);
    assert_eq!(s.irreducible_count(), 3);
    let parts = s.decompose();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts.iter().filter(|p| p.is_empty()).count(), 1, "one removed-dot irreducible");
    assert_eq!(parts.into_iter().fold(OrSet::new(), |a, p| a.joined(p)), s);
}

#[cfg(feature = "serde")]
mod wire {
    use convergent::{Lattice, OrSet, wire};

    use super::rid;

    #[test]
    fn ten_thousand_elements_from_three_replicas_take_at_most_6_bytes_each() {
        let mut reps: Vec<OrSet<u64>> = (0..3).map(|_| OrSet::new()).collect();
        for i in 0..10_000u64 {
            let r = (i % 3) as usize;
            let _ = reps[r].insert(rid(r), i);
        }
        let all = reps.into_iter().fold(OrSet::new(), |a, r| a.joined(r));
        let len = wire::encoded_len(&all);
        // Target: at most 6 bytes per element. Each is a one-byte counter gap plus the element's
        // varint (1 or 2 bytes here); the context and headers add about 70 bytes in all.
        assert!(len <= 60_000, "{len} bytes");
        assert!(len <= 30_000, "{len} bytes: about 3 per element expected");
    }

    #[test]
    fn deltas_do_not_grow_with_the_set() {
        let r = rid(0);
        // Same event counters, 100 elements against 10 000.
        let mut small = OrSet::new();
        let _ = small.insert_all(r, 0..10_000u64);
        let _ = small.remove_all(r, 100..10_000u64);
        let mut big = OrSet::new();
        let _ = big.insert_all(r, 0..10_000u64);
        assert_eq!((small.len(), big.len()), (100, 10_000));
        let ins = [small.insert(r, 50_000), big.insert(r, 50_000)].map(|d| wire::encoded_len(&d));
        let rem = [small.remove(r, &5), big.remove(r, &5)].map(|d| wire::encoded_len(&d));
        assert_eq!(ins[0], ins[1]);
        assert_eq!(rem[0], rem[1]);
        // A remove carries no element bytes; both are a few bytes beyond the 16-byte replica id
        // (the dot's counter is written in the context and, as a gap, in the store).
        assert!(rem[0] + 3 <= ins[0], "{rem:?} < {ins:?}");
        assert!(ins[0] <= 16 + 16, "{ins:?}");
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = OrSet::new();
        let _ = s.insert_all(rid(0), [1u16, 2, 3]);
        let _ = s.insert(rid(1), 2);
        let bytes = wire::to_bytes(&s);
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                if let Ok(x) = wire::from_bytes::<OrSet<u16>>(&b) {
                    assert!(x.as_causal().store_within_context());
                }
                let _ = wire::from_bytes::<OrSet<u16>>(&b[..i]);
            }
        }
    }
}

#[cfg(feature = "quickcheck")]
#[test]
fn arbitrary_sets_come_from_real_histories() {
    let mut g = Gen::new(30);
    let mut nonempty = 0;
    for _ in 0..300 {
        let s = OrSet::<u8>::arbitrary(&mut g);
        check_public_invariants(&s);
        nonempty += usize::from(!s.is_empty());
        let t = OrSet::<u8>::arbitrary(&mut g);
        assert_eq!(s.clone().joined(t.clone()), t.joined(s));
    }
    assert!(nonempty > 30, "{nonempty}");
}
