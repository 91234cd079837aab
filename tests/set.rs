//! OR-Set tests through the public API: a single replica against `HashSet`, concurrent histories
//! against the add-wins specification, order invariance of delta delivery, delta shapes, and
//! the wire form.

use std::collections::{BTreeSet, HashSet};

use convergent::{
    Decompose, Lattice, OrSet, ReplicaId,
    causal::{Causal, DotStore},
    set::SetStore,
};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

fn rid(n: usize) -> ReplicaId {
    ReplicaId::from_u128(n as u128 + 1)
}

/// What a user can check from outside: every live dot inside the context, reads consistent.
fn check_public_invariants<T: std::hash::Hash + Eq + Clone + std::fmt::Debug>(s: &OrSet<T>) {
    assert!(s.as_causal().store_within_context(), "a live dot outside the context: {s:?}");
    let elems: Vec<&T> = s.iter().collect();
    assert_eq!(elems.len(), s.len());
    assert_eq!(elems.iter().collect::<HashSet<_>>().len(), s.len(), "iter yields each element once");
    assert!(elems.iter().all(|e| s.contains(*e)));
    assert_eq!(s.is_empty(), s.iter().next().is_none());
    assert!(s.store().dot_count() >= s.len());
    assert_eq!(s.into_iter().count(), s.len());
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u8),
    Remove(u8),
    InsertAll(Vec<u8>),
    RemoveAll(Vec<u8>),
    Clear,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        let e = || u8::arbitrary(&mut Gen::new(8)) % 8;
        match u8::arbitrary(g) % 10 {
            0..=3 => Op::Insert(e()),
            4..=6 => Op::Remove(e()),
            7 => Op::InsertAll((0..u8::arbitrary(g) % 4).map(|_| e()).collect()),
            8 => Op::RemoveAll((0..u8::arbitrary(g) % 4).map(|_| e()).collect()),
            _ => Op::Clear,
        }
    }
}

#[test]
fn one_replica_behaves_like_a_hash_set() {
    fn prop(ops: Vec<Op>) -> bool {
        let r = rid(0);
        let mut s = OrSet::new();
        let mut model = HashSet::new();
        for op in ops {
            let before = s.clone();
            let delta = match &op {
                Op::Insert(e) => {
                    let d = s.insert(r, *e);
                    assert_eq!((d.len(), d.store().dot_count()), (1, 1), "one element, one dot");
                    model.insert(*e);
                    d
                }
                Op::Remove(e) => {
                    let d = s.remove(r, e);
                    assert!(d.is_empty(), "a remove delta carries no element");
                    if model.remove(e) {
                        assert_eq!(d.context().dot_count(), 1, "the one observed dot");
                    } else {
                        assert!(d.is_bottom(), "removing an absent element: empty delta");
                    }
                    d
                }
                Op::InsertAll(v) => {
                    let d = s.insert_all(r, v.iter().copied());
                    model.extend(v.iter().copied());
                    assert_eq!(d.len(), v.iter().collect::<HashSet<_>>().len());
                    d
                }
                Op::RemoveAll(v) => {
                    let d = s.remove_all(r, v);
                    for e in v {
                        model.remove(e);
                    }
                    assert!(d.is_empty());
                    d
                }
                Op::Clear => {
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
    QuickCheck::new().tests(1000).quickcheck(prop as fn(Vec<Op>) -> bool);
}

/// The add-wins specification, independent of the implementation: each operation records the
/// insert events it made and the insert events it covers (those of its elements visible to its
/// replica: a remove, a re-insert and a clear cover what they observed). A replica sees a set of
/// operations; an element is present iff some visible insert of it is covered by no visible
/// operation.
/// An operation: the insert events it made `(event, element)`, and the events it covers.
type SpecOp = (Vec<(usize, u8)>, BTreeSet<usize>);

#[derive(Default)]
struct Spec {
    ops: Vec<SpecOp>,
    events: usize,
}

impl Spec {
    fn visible_inserts(&self, visible: &BTreeSet<usize>, e: Option<u8>) -> BTreeSet<usize> {
        visible
            .iter()
            .flat_map(|&o| self.ops[o].0.iter())
            .filter(|(_, x)| e.is_none_or(|e| *x == e))
            .map(|(k, _)| *k)
            .collect()
    }

    fn covered(&self, visible: &BTreeSet<usize>) -> BTreeSet<usize> {
        visible.iter().flat_map(|&o| self.ops[o].1.iter().copied()).collect()
    }

    /// Records an operation of a replica that sees `visible`; returns its id. It covers the
    /// inserts it observed PRESENT (visible and not yet covered): an insert the replica already
    /// saw removed is not observed again (the delta of a clear carries only live dots).
    fn record(&mut self, visible: &BTreeSet<usize>, inserts: &[u8], removes: &[u8], clear: bool) -> usize {
        let mut covers = BTreeSet::new();
        if clear {
            covers = self.visible_inserts(visible, None);
        }
        for &e in inserts.iter().chain(removes) {
            covers.extend(self.visible_inserts(visible, Some(e)));
        }
        let already = self.covered(visible);
        covers.retain(|k| !already.contains(k));
        let mut made = Vec::new();
        for &e in inserts {
            if !made.iter().any(|(_, x)| *x == e) {
                made.push((self.events, e));
                self.events += 1;
            }
        }
        self.ops.push((made, covers));
        self.ops.len() - 1
    }

    fn present(&self, visible: &BTreeSet<usize>) -> BTreeSet<u8> {
        let covered = self.covered(visible);
        visible
            .iter()
            .flat_map(|&o| self.ops[o].0.iter())
            .filter(|(k, _)| !covered.contains(k))
            .map(|(_, e)| *e)
            .collect()
    }
}

struct Replica {
    state: OrSet<u8>,
    visible: BTreeSet<usize>,
}

/// A random concurrent history checked against the specification after every step. Returns the
/// final states and every delta (with the op it carries).
fn concurrent_history(seed: u64) -> (Vec<OrSet<u8>>, Vec<OrSet<u8>>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = rng.gen_range(2..=5);
    let domain = rng.gen_range(2..=4u8);
    let mut spec = Spec::default();
    let mut reps: Vec<Replica> =
        (0..n).map(|_| Replica { state: OrSet::new(), visible: BTreeSet::new() }).collect();
    let mut deltas: Vec<(OrSet<u8>, usize)> = Vec::new();
    for _ in 0..rng.gen_range(5..60) {
        let r = rng.gen_range(0..n);
        let e = rng.gen_range(0..domain);
        let f = rng.gen_range(0..domain);
        let me = &mut reps[r];
        let (delta, ins, rem, clear): (OrSet<u8>, Vec<u8>, Vec<u8>, bool) = match rng.gen_range(0..10) {
            0..=2 => (me.state.insert(rid(r), e), vec![e], vec![], false),
            3 | 4 => (me.state.remove(rid(r), &e), vec![], vec![e], false),
            5 => (me.state.clear(rid(r)), vec![], vec![], true),
            6 => (me.state.insert_all(rid(r), [e, f]), vec![e, f], vec![], false),
            7 => {
                let from = rng.gen_range(0..n);
                let (state, visible) = (reps[from].state.clone(), reps[from].visible.clone());
                reps[r].state.join(state);
                reps[r].visible.extend(visible);
                continue;
            }
            _ => {
                if !deltas.is_empty() {
                    let (d, op) = deltas[rng.gen_range(0..deltas.len())].clone();
                    me.state.join(d);
                    me.visible.insert(op);
                    check_public_invariants(&me.state);
                    assert_eq!(spec.present(&me.visible), me.state.iter().copied().collect(), "seed {seed}");
                }
                continue;
            }
        };
        let op = spec.record(&me.visible, &ins, &rem, clear);
        me.visible.insert(op);
        check_public_invariants(&me.state);
        assert_eq!(spec.present(&me.visible), me.state.iter().copied().collect(), "seed {seed}");
        deltas.push((delta, op));
    }
    // Everything merged: the specification over every operation.
    let all_ops: BTreeSet<usize> = (0..spec.ops.len()).collect();
    let mut all = OrSet::new();
    for r in &reps {
        all.join_ref(&r.state);
    }
    check_public_invariants(&all);
    assert_eq!(spec.present(&all_ops), all.iter().copied().collect(), "seed {seed}");
    (reps.into_iter().map(|r| r.state).collect(), deltas.into_iter().map(|(d, _)| d).collect())
}

#[test]
fn concurrent_histories_match_the_add_wins_specification() {
    for seed in 0..1000 {
        concurrent_history(seed);
    }
}

#[test]
fn delivery_order_does_not_matter() {
    for seed in 0..1000u64 {
        let (reps, deltas) = concurrent_history(seed);
        let full = reps.iter().fold(OrSet::new(), |acc, r| acc.joined(r.clone()));
        let mut rng = SmallRng::seed_from_u64(!seed);

        let in_order = deltas.iter().fold(OrSet::new(), |acc, d| acc.joined(d.clone()));
        assert_eq!(in_order, full, "in order, seed {seed}");

        let mut shuffled = deltas.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.gen_range(0..=i));
        }
        let mut x = OrSet::new();
        for d in &shuffled {
            x.join_ref(d);
            if rng.gen_bool(0.3) {
                assert!(!x.join_ref(d), "a duplicate changes nothing");
            }
        }
        assert_eq!(x, full, "shuffled and duplicated, seed {seed}");

        let mut y = OrSet::new();
        for chunk in shuffled.chunks(rng.gen_range(1..6)) {
            let group = chunk.iter().fold(OrSet::new(), |acc, d| acc.joined(d.clone()));
            check_public_invariants(&group);
            y.join(group);
        }
        assert_eq!(y, full, "pre-joined groups, seed {seed}");

        // Optimal deltas: what a replica lacks brings it to the full state.
        for r in &reps {
            let d = full.delta(r);
            assert_eq!(r.clone().joined(d), full, "optimal delta, seed {seed}");
        }
    }
}

#[test]
fn lattice_laws_on_states_from_real_histories() {
    for seed in 0..1000u64 {
        let (reps, deltas) = concurrent_history(seed);
        let pick = |k: u64| -> OrSet<u8> {
            let i = (seed.wrapping_mul(31).wrapping_add(k) as usize) % (reps.len() + deltas.len());
            if i < reps.len() { reps[i].clone() } else { deltas[i - reps.len()].clone() }
        };
        let (a, b, c) = (pick(1), pick(2), pick(3));
        assert_eq!(a.clone().joined(b.clone()), b.clone().joined(a.clone()));
        assert_eq!(
            a.clone().joined(b.clone()).joined(c.clone()),
            a.clone().joined(b.clone().joined(c.clone()))
        );
        assert_eq!(a.clone().joined(a.clone()), a);
        assert_eq!(OrSet::bottom().joined(a.clone()), a);
        assert_eq!(a.leq(&b), a.clone().joined(b.clone()) == b);
        let mut x = a.clone();
        assert_eq!(x.join_ref(&b), a.clone().joined(b.clone()) != a, "changed is exact");
    }
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

    use super::{concurrent_history, rid};

    #[test]
    fn round_trip_and_canonical_bytes() {
        for seed in 0..200 {
            let (reps, deltas) = concurrent_history(seed);
            for s in reps.iter().chain(&deltas) {
                let bytes = wire::to_bytes(s);
                assert_eq!(bytes.len(), wire::encoded_len(s));
                let back: OrSet<u8> = wire::from_bytes(&bytes).unwrap();
                assert_eq!(&back, s);
            }
            let fwd = reps.iter().fold(OrSet::new(), |a, r| a.joined(r.clone()));
            let rev = reps.iter().rev().fold(OrSet::new(), |a, r| a.joined(r.clone()));
            assert_eq!(wire::to_bytes(&fwd), wire::to_bytes(&rev), "same contents, same bytes");
        }
    }

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
