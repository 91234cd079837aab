//! Unit tests of the set's private invariants, run after every operation of random histories.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::causal::{Causal, CausalContext, DotLog, DotStore};
use crate::{Decompose, Dot, Lattice};
use crate::{OrSet, ReplicaId};

fn rid(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// Checks a mutation: invariants of state and delta, and `before ⊔ delta == after`.
fn check_delta(before: &OrSet<u8>, after: &OrSet<u8>, delta: &OrSet<u8>) {
    after.check_invariants();
    delta.check_invariants();
    assert_eq!(&before.clone().joined(delta.clone()), after, "m(X) == X ⊔ m_delta(X)");
}

/// Joins `from` into `into`, checking the changed flag, the invariants and the join by value.
fn check_join(into: &mut OrSet<u8>, from: &OrSet<u8>) {
    let before = into.clone();
    let changed = into.join_ref(from);
    into.check_invariants();
    assert_eq!(changed, &before != into, "changed flag is exact");
    assert_eq!(before.joined(from.clone()), *into, "join by value == join by reference");
}

fn contents(s: &OrSet<u8>) -> BTreeSet<u8> {
    s.iter().copied().collect()
}

/// A random history on `n` replicas over elements `0..domain`: local operations interleaved with
/// full-state merges and delta deliveries. Returns the final states and every delta made.
fn history(seed: u64, n: usize, steps: usize, domain: u8) -> (Vec<OrSet<u8>>, Vec<OrSet<u8>>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut reps: Vec<OrSet<u8>> = vec![OrSet::new(); n];
    let mut deltas: Vec<OrSet<u8>> = Vec::new();
    for _ in 0..steps {
        let r = rng.gen_range(0..n);
        let id = rid(r as u128 + 1);
        let e = rng.gen_range(0..domain);
        let before = reps[r].clone();
        let delta = match rng.gen_range(0..12) {
            0..=3 => Some(reps[r].insert(id, e)),
            4 | 5 => Some(reps[r].remove(id, &e)),
            6 => Some(reps[r].clear(id)),
            7 => Some(reps[r].insert_all(id, [e, (e + 1) % domain])),
            8 => Some(reps[r].remove_all(id, [e, (e + 1) % domain])),
            9 => {
                let (d, _) = reps[r].mutate(id, |h| {
                    h.insert(e);
                    h.remove(&((e + 1) % domain));
                    h.insert(e);
                    h.insert((e + 1) % domain)
                });
                Some(d)
            }
            10 => {
                let from = reps[rng.gen_range(0..n)].clone();
                check_join(&mut reps[r], &from);
                None
            }
            _ => {
                if !deltas.is_empty() {
                    let d = deltas[rng.gen_range(0..deltas.len())].clone();
                    check_join(&mut reps[r], &d);
                }
                None
            }
        };
        if let Some(d) = delta {
            check_delta(&before, &reps[r], &d);
            deltas.push(d);
        }
    }
    (reps, deltas)
}

#[test]
fn single_replica_matches_a_model_set() {
    for seed in 0..200u64 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let r = rid(1);
        let mut s = OrSet::<u8>::new();
        let mut model = BTreeSet::new();
        for _ in 0..60 {
            let e = rng.gen_range(0..6u8);
            let before = s.clone();
            let d = match rng.gen_range(0..10) {
                0..=4 => {
                    let d = s.insert(r, e);
                    // One element, one new dot, plus the element's old dots in the context.
                    assert_eq!((d.len(), d.store().dot_count()), (1, 1));
                    assert_eq!(d.context().dot_count() as usize, 1 + before.store().dot_count_of(&e));
                    model.insert(e);
                    d
                }
                5..=7 => {
                    let d = s.remove(r, &e);
                    assert!(d.is_empty(), "a remove delta holds no element");
                    if model.remove(&e) {
                        assert_eq!(d.context().dot_count() as usize, before.store().dot_count_of(&e));
                    } else {
                        assert!(d.is_bottom(), "removing an absent element: empty delta");
                    }
                    d
                }
                8 => {
                    let d = s.clear(r);
                    assert!(d.is_empty());
                    assert_eq!(d.context().dot_count() as usize, before.store().dot_count());
                    model.clear();
                    d
                }
                _ => {
                    let d = s.insert_all(r, [e, e / 2]);
                    model.insert(e);
                    model.insert(e / 2);
                    d
                }
            };
            check_delta(&before, &s, &d);
            assert_eq!(contents(&s), model);
            assert_eq!(s.len(), model.len());
            for x in 0..6u8 {
                assert_eq!(s.contains(&x), model.contains(&x));
            }
            // One replica never has an element with two dots.
            assert_eq!(s.store().dot_count(), s.len());
        }
    }
}

#[test]
fn random_histories_keep_invariants_and_laws() {
    for seed in 0..300u64 {
        let n = 2 + (seed % 4) as usize;
        let (reps, deltas) = history(seed, n, 80, 3);
        // Lattice laws on states from the same history.
        let (a, b, c) = (&reps[0], &reps[1], &reps[n - 1]);
        assert_eq!(a.clone().joined(b.clone()), b.clone().joined(a.clone()), "commutative");
        assert_eq!(
            a.clone().joined(b.clone()).joined(c.clone()),
            a.clone().joined(b.clone().joined(c.clone())),
            "associative"
        );
        assert_eq!(a.clone().joined(a.clone()), *a, "idempotent");
        assert_eq!(OrSet::bottom().joined(a.clone()), *a, "bottom is the identity");
        let ab = a.clone().joined(b.clone());
        assert!(a.leq(&ab) && b.leq(&ab));
        assert_eq!(a.leq(b), a.clone().joined(b.clone()) == *b, "order consistent with join");
        // Order invariance: all deltas in any order, duplicated, pre-joined == all states.
        let mut all = OrSet::new();
        for r in &reps {
            check_join(&mut all, r);
        }
        let mut rng = SmallRng::seed_from_u64(seed ^ 0xdead);
        let mut shuffled = deltas.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.gen_range(0..=i));
        }
        let mut x = OrSet::new();
        for d in shuffled.iter().chain(shuffled.iter().take(shuffled.len() / 2)) {
            check_join(&mut x, d);
        }
        assert_eq!(x, all, "shuffled and duplicated deltas == full-state merge");
        let mut y = OrSet::new();
        for chunk in shuffled.chunks(5) {
            let group = crate::Lattice::join_all(chunk.iter().cloned());
            group.check_invariants();
            check_join(&mut y, &group);
        }
        assert_eq!(y, all, "pre-joined delta groups == full-state merge");
    }
}

#[test]
fn concurrent_inserts_make_multi_dot_elements_that_stay_consistent() {
    // Three replicas insert the same elements concurrently: each element gets three dots.
    let mut reps: Vec<OrSet<u8>> = (1..=3)
        .map(|r| {
            let mut s = OrSet::new();
            let _ = s.insert_all(rid(r), 0..10);
            s
        })
        .collect();
    let mut all = OrSet::new();
    for r in &reps {
        all.join_ref(r);
        all.check_invariants();
    }
    assert_eq!((all.len(), all.store().dot_count()), (10, 30));
    // Removing dots one replica at a time exercises promotion of extra dots and slot moves.
    for (i, r) in reps.iter_mut().enumerate() {
        let d = r.remove_all(rid(i as u128 + 1), [0, 3, 9]);
        assert!(all.join_ref(&d));
        all.check_invariants();
        let gone = i == 2;
        assert_eq!(!all.contains(&0), gone);
    }
    assert_eq!((all.len(), all.store().dot_count()), (7, 21));
    // A re-insert replaces all three dots with one.
    let d = all.insert(rid(9), 5);
    all.check_invariants();
    assert_eq!(d.context().dot_count(), 4);
    assert_eq!(all.store().dot_count(), 19);
    // retain_dots (decompositions, optimal deltas) keeps the structure sane.
    let parts = all.decompose();
    assert_eq!(parts.len() as u64, all.context().dot_count());
    for p in &parts {
        p.check_invariants();
    }
    assert_eq!(crate::Lattice::join_all(parts), all);
    let delta = all.delta(&reps[0]);
    delta.check_invariants();
    assert_eq!(reps[0].clone().joined(delta), reps[0].clone().joined(all.clone()));
}

/// An element carrying `k` dots of one replica (`X`, 1..=k) in a set of `k` other elements, and
/// a remove delta whose context names `X`'s events `1..=k` (`keep_odd`: only the even ones).
fn many_dots_of_one_element(k: u64, keep_odd: bool) -> (OrSet<u32>, OrSet<u32>) {
    let x = rid(77);
    let store = many_dots_store(k);
    let mut ctx: CausalContext = store_dots(&store).into_iter().collect();
    ctx.insert(Dot::new(x, k).unwrap());
    let local = OrSet { inner: Causal::from_parts(store, ctx) };
    local.check_invariants();
    let seen: CausalContext =
        (1..=k).filter(|n| !keep_odd || n % 2 == 0).map(|n| Dot::new(x, n).unwrap()).collect();
    (local, OrSet { inner: Causal::from_parts(SetStore::default(), seen) })
}

fn many_dots_store(k: u64) -> SetStore<u32> {
    let mut store = SetStore::default();
    for n in 1..=k {
        store.add_dot(7u32, Dot::new(rid(77), n).unwrap());
        store.add_dot(1_000 + n as u32, Dot::new(rid(78), n).unwrap());
    }
    store
}

fn store_dots(s: &SetStore<u32>) -> Vec<Dot> {
    let mut v = Vec::new();
    s.for_each_dot(&mut |d| v.push(d));
    v
}

/// Issue 10, class 1: removing an element that carries many dots touched its list of extra dots
/// once per removed dot (`O(k^2)`: a 24-byte remove took 7.1 s). Now the work (doomed dots plus
/// list entries filtered, counted by `causal::work`) is linear: at most `3k` at `k` and `2k`.
/// The old per-dot `retain` counted the list once per dot: `k^2 / 2`, 2 000 000 at `k = 2000`.
#[test]
#[cfg(feature = "std")]
fn removing_an_element_with_many_dots_is_linear_in_its_dots() {
    for keep_odd in [false, true] {
        let mut work = Vec::new();
        for k in [2_000u64, 4_000] {
            let (mut local, remove) = many_dots_of_one_element(k, keep_odd);
            let _ = crate::causal::work::take();
            assert!(local.join_ref(&remove));
            work.push(crate::causal::work::take());
            local.check_invariants();
            assert_eq!(local.contains(&7), keep_odd);
            assert_eq!(local.store().dot_count_of(&7), if keep_odd { k as usize / 2 } else { 0 });
            assert_eq!(local.len(), k as usize + usize::from(keep_odd));
            // The same removal through `retain_dots` (decompositions, optimal deltas).
            let mut store = many_dots_store(k);
            let x = rid(77);
            let _ = crate::causal::work::take();
            store.retain_dots(&mut |d| d.replica() != x || (keep_odd && d.counter() % 2 == 1));
            work.push(crate::causal::work::take());
            store.check_invariants();
            assert_eq!(store.dot_count_of(&7), if keep_odd { k as usize / 2 } else { 0 });
        }
        let [j1, r1, j2, r2] = work[..] else { unreachable!() };
        assert!(j1 <= 3 * 2_000 && r1 <= 3 * 2_000, "work at k = 2000: join {j1}, retain {r1}");
        assert!(j2 <= 2 * j1 + 8 && r2 <= 2 * r1 + 8, "doubling k: join {j1} -> {j2}, retain {r1} -> {r2}");
    }
}

#[test]
fn equality_is_semantic() {
    let (a, b) = (rid(1), rid(2));
    let mut x = OrSet::new();
    let mut y = OrSet::new();
    let da = x.insert_all(a, [1u8, 2, 3]);
    let db = y.insert_all(b, [3u8, 4]);
    // Opposite orders: different replica tables and slot orders, same contents.
    let mut p = OrSet::new();
    p.join_ref(&da);
    p.join_ref(&db);
    let mut q = OrSet::new();
    q.join_ref(&db);
    q.join_ref(&da);
    assert_eq!(p, q);
    assert_eq!(p.store().replica_table_len(), 2);
    // Same elements, different dots: not equal.
    let mut z = OrSet::new();
    let _ = z.insert_all(a, [3u8, 1, 2]);
    assert_ne!(z.store(), x.store());
    // Removing and re-adding moves slots around but keeps equality semantic.
    let mut w = p.clone();
    let d1 = w.remove(a, &1);
    let mut v = q.clone();
    v.join_ref(&d1);
    assert_eq!(w, v);
    w.check_invariants();
}

#[test]
fn debug_prints_a_set() {
    let mut s = OrSet::new();
    let _ = s.insert(rid(1), 7u8);
    assert_eq!(format!("{s:?}"), "{7}");
    assert_eq!(format!("{:?}", s.store()), "{7}");
    assert_eq!(format!("{:?}", OrSet::<u8>::new()), "{}");
}

#[test]
fn join_reports_exact_dot_changes() {
    // A remove delta names only a dot: the join finds the element through the dot index.
    let (a, b) = (rid(1), rid(2));
    let mut big = OrSet::new();
    let _ = big.insert_all(a, 0..200u8);
    let mut small = OrSet::new();
    small.join_ref(&big.remove(a, &0)); // learn nothing but one removed dot
    let ins = small.insert(b, 250);
    assert!(big.join_ref(&ins));
    let rem = {
        let mut other = big.clone();
        other.remove(a, &17)
    };
    let mut log = DotLog::recording();
    let mut store = big.store().clone();
    let ctx: &CausalContext = big.context();
    assert!(store.join_store(ctx, rem.store(), rem.context(), &mut log));
    let (added, removed) = log.take();
    assert!(added.is_empty());
    assert_eq!(removed.len(), 1);
    assert!(!store.contains(&17));
    store.check_invariants();
}

#[test]
#[cfg(feature = "std")] // catch_unwind
fn the_invariant_checker_can_fail() {
    let mut s = SetStore::<u8>::default();
    s.add_dot(1, Dot::test(1, 1));
    s.add_dot(2, Dot::test(1, 2));
    s.check_invariants();

    let mut bad = s.clone();
    bad.narrow_mut().replicas.entries[0].1 += 1;
    assert!(std::panic::catch_unwind(move || bad.check_invariants()).is_err(), "live count");

    let mut bad = s.clone();
    let n = bad.narrow_mut();
    n.slots[0].dot = n.slots[1].dot;
    assert!(std::panic::catch_unwind(move || bad.check_invariants()).is_err(), "dot twice");

    // A store past `LINEAR` elements has its index.
    let indexed = || {
        let mut s = SetStore::<u8>::default();
        for e in 0..=store::LINEAR as u8 {
            s.add_dot(e, Dot::test(1, u64::from(e) + 1));
        }
        s
    };
    // Swapped slots leave both indexes stale, unless the two entries' hash tags collide in both
    // tables, when every lookup still resolves right (each store has its own random hasher, so
    // this happened about once in 20 runs): tried on three fresh stores, one must be caught.
    let stale_caught = (0..3)
        .filter(|_| {
            let mut bad = indexed();
            bad.narrow_mut().slots.swap(0, 1);
            std::panic::catch_unwind(move || bad.check_invariants()).is_err()
        })
        .count();
    assert!(stale_caught >= 1, "stale index");

    let mut bad = indexed();
    bad.narrow_mut().index.as_mut().expect("indexed").extras = Some(alloc::boxed::Box::default());
    assert!(std::panic::catch_unwind(move || bad.check_invariants()).is_err(), "empty extras");

    // A store past `LINEAR` elements without its index.
    let mut bad = indexed();
    bad.narrow_mut().index = None;
    assert!(std::panic::catch_unwind(move || bad.check_invariants()).is_err(), "missing index");

    // A store dot outside the context is caught by the pair's checker.
    let pair = OrSet { inner: Causal::from_parts(s, CausalContext::new()) };
    assert!(std::panic::catch_unwind(move || pair.check_invariants()).is_err(), "outside context");
}

/// The number of replicas a narrow store packs.
const NARROW: usize = 65_536;

/// A set holding element `i` under the dot `(replica first + i, 1)` for `i` in `0..n`, built
/// by one insert per replica into one state (ids ascending: the replica table grows at its end).
fn one_per_replica(first: u128, n: usize) -> OrSet<u32> {
    let mut s = OrSet::new();
    for i in 0..n {
        let _ = s.insert(rid(first + i as u128), i as u32);
    }
    s
}

#[test]
fn replica_indices_are_reused_when_the_table_is_full() {
    let mut s = SetStore::<u32>::default();
    for r in 0..NARROW {
        s.add_dot(r as u32, Dot::new(rid(r as u128 + 1), 1).unwrap());
    }
    assert_eq!(s.replica_table_len(), NARROW);
    // Element 7 (replica 8) goes: its index is free for a new replica.
    assert!(s.take(&7).is_some());
    s.add_dot(u32::MAX, Dot::new(rid(1 << 40), 3).unwrap());
    assert_eq!(s.replica_table_len(), NARROW);
    assert!(!s.is_wide());
    assert!(s.contains(&u32::MAX));
    assert!(s.contains_dot(&Dot::new(rid(1 << 40), 3).unwrap()));
    assert!(!s.contains_dot(&Dot::new(rid(8), 1).unwrap()));
    s.check_invariants();
    // Now every index has a live dot: one more replica widens the packing (it used to panic).
    let before = s.clone();
    s.add_dot(u32::MAX - 1, Dot::new(rid(1 << 41), 1).unwrap());
    assert!(s.is_wide());
    s.check_invariants();
    assert_eq!(s.len(), NARROW + 1);
    assert!(s.contains_dot(&Dot::new(rid(1 << 41), 1).unwrap()) && s.contains(&(u32::MAX - 1)));
    assert!(before.iter().all(|e| s.contains(e)));
    // Equality is semantic across packings.
    assert!(s != before);
    assert!(s.take(&(u32::MAX - 1)).is_some());
    assert_eq!(s, before, "wide == narrow");
    assert_eq!(before, s, "narrow == wide");
}

/// Issue 10, class 4 (issue 14): a plain `join` of OR-Sets that together hold live elements of
/// 65 537 replicas, and an insert by a 65 537th replica, panicked ("an OR-Set holds live
/// elements of at most 65 536 replicas"). The store now widens its packing; the join is still a
/// join (same result in both directions, with the narrow side and by value).
#[test]
fn joins_and_inserts_beyond_65_536_replicas_widen_the_packing() {
    let full = one_per_replica(10, NARROW);
    assert!(!full.store().is_wide());
    let one_more = OrSet::new().insert(rid(1_000_000), 7_000_000u32);
    // A plain join, both ways.
    let mut a = full.clone();
    assert!(a.join_ref(&one_more));
    assert!(a.store().is_wide());
    a.check_invariants();
    assert_eq!(a.len(), NARROW + 1);
    assert!(a.contains(&7_000_000) && a.contains(&0) && a.contains(&(NARROW as u32 - 1)));
    let mut b = one_more.clone();
    assert!(b.join_ref(&full));
    assert!(b.store().is_wide());
    assert_eq!(a, b);
    // An insert by a 65 537th replica.
    let mut c = full.clone();
    let d = c.insert(rid(1_000_000), 7_000_000u32);
    assert!(c.store().is_wide());
    c.check_invariants();
    assert_eq!(c, a);
    // Wide and narrow stores join both ways: a remove delta (narrow) into the wide state, and
    // the wide state into a narrow replica that saw part of it.
    let mut gone = full.clone();
    let rm = gone.remove(rid(5), &3);
    assert!(!rm.store().is_wide());
    assert!(c.join_ref(&rm));
    c.check_invariants();
    assert!(!c.contains(&3) && c.len() == NARROW);
    let mut narrow = one_per_replica(10, 4);
    assert!(narrow.join_ref(&c));
    narrow.check_invariants();
    assert_eq!(narrow, c);
    assert!(d.joined(gone).joined(full) == c);
}

#[cfg(feature = "serde")]
#[test]
fn a_wide_store_round_trips_through_the_wire() {
    let mut s = one_per_replica(10, NARROW);
    let _ = s.insert(rid(1_000_000), 7_000_000u32);
    assert!(s.store().is_wide());
    let roomy = crate::Limits { max_replicas: 1 << 20, ..crate::Limits::default() };
    let bytes = crate::wire::to_bytes(&s);
    let back: OrSet<u32> = crate::wire::from_bytes_with(&bytes, &roomy).unwrap();
    back.check_invariants();
    assert!(back.store().is_wide());
    assert_eq!(back, s);
}

#[cfg(feature = "serde")]
mod wire {
    use super::*;
    use crate::Error;
    use crate::wire::{from_bytes, to_bytes};

    type CtxWire = Vec<(ReplicaId, Vec<(u64, u64)>)>;
    type StoreWire = Vec<(u32, Vec<(u64, u8)>)>;

    /// Decodes a hand-made wire form, checking that the byte decoder gives the same result,
    /// typed error included (it used to report every validation error as `Malformed`).
    fn craft(ctx: CtxWire, store: StoreWire) -> Result<OrSet<u8>, Error> {
        let bytes = crate::wire::serde_bytes(&(ctx.clone(), store.clone()));
        let r = Causal::<SetStore<u8>>::from_wire_checked(
            ctx,
            store,
            &mut crate::wire::DecodeCx::new(crate::Limits::default()),
        )
        .map(OrSet::from);
        assert_eq!(r, from_bytes::<OrSet<u8>>(&bytes));
        r
    }

    #[test]
    fn round_trips_and_is_canonical() {
        for seed in 0..100 {
            let (reps, deltas) = history(seed, 3, 60, 4);
            for s in reps.iter().chain(&deltas) {
                let bytes = to_bytes(s);
                let back: OrSet<u8> = from_bytes(&bytes).unwrap();
                back.check_invariants();
                assert_eq!(&back, s);
                assert_eq!(to_bytes(&back), bytes, "same bytes after a round trip");
            }
            // Equal states built by different histories encode to the same bytes.
            let mut x = OrSet::new();
            let mut y = OrSet::new();
            for r in &reps {
                x.join_ref(r);
            }
            for r in reps.iter().rev() {
                y.join_ref(r);
            }
            assert_eq!(to_bytes(&x), to_bytes(&y));
        }
    }

    #[test]
    fn decoding_validates() {
        let (a, b) = (rid(1), rid(2));
        let ctx = vec![(a, vec![(0, 4)]), (b, vec![(0, 1)])];
        let ok = craft(ctx.clone(), vec![(0, vec![(0, 10), (1, 11)]), (1, vec![(1, 12)])]).unwrap();
        ok.check_invariants();
        assert_eq!(contents(&ok), [10, 11, 12].into());
        // An element may carry several dots (concurrent inserts).
        let multi = craft(ctx.clone(), vec![(0, vec![(0, 10)]), (1, vec![(0, 10)])]).unwrap();
        assert_eq!((multi.len(), multi.store().dot_count()), (1, 2));
        multi.check_invariants();

        let e = |r: Result<OrSet<u8>, Error>| r.unwrap_err();
        assert_eq!(
            e(craft(ctx.clone(), vec![(1, vec![(0, 1)]), (0, vec![(0, 1)])])),
            Error::NotCanonical { field: "set" }
        );
        assert_eq!(
            e(craft(ctx.clone(), vec![(0, vec![(0, 1)]), (0, vec![(2, 1)])])),
            Error::NotCanonical { field: "set" }
        );
        assert_eq!(e(craft(ctx.clone(), vec![(0, vec![])])), Error::NotCanonical { field: "set" });
        assert_eq!(e(craft(ctx.clone(), vec![(2, vec![(0, 1)])])), Error::UnknownReplicaIndex { index: 2 });
        let outside = Dot::new(b, 3).unwrap();
        assert_eq!(e(craft(ctx.clone(), vec![(1, vec![(2, 1)])])), Error::DotOutsideContext { dot: outside });
        assert!(matches!(
            e(craft(ctx.clone(), vec![(0, vec![(u64::MAX, 1)])])),
            Error::CounterOutOfRange { .. }
        ));
        assert!(matches!(
            e(craft(ctx.clone(), vec![(0, vec![(1 << 50, 1)])])),
            Error::CounterOutOfRange { .. }
        ));
        // Beyond the packed range but within the default max_counter.
        let big = vec![(a, vec![(0, (1 << 49) - 1)])];
        assert!(matches!(
            e(craft(big, vec![(0, vec![((1 << 48) + 5, 1)])])),
            Error::CounterOutOfRange { field: "set", .. }
        ));
    }

    #[test]
    fn limits_are_enforced() {
        use crate::Limits;
        use crate::wire::DecodeCx;
        let a = rid(1);
        let mut s = OrSet::new();
        let _ = s.insert_all(a, 0..10u8);
        let table = crate::wire::ReplicaTable::of(s.context());
        let w = s.store().to_wire(&table);
        let mut cx = DecodeCx::new(Limits { max_dots: 9, ..Limits::default() });
        assert!(matches!(SetStore::<u8>::from_wire(w.clone(), &table, &mut cx), Err(Error::TooLarge { .. })));
        let mut cx = DecodeCx::new(Limits { max_elements: 9, ..Limits::default() });
        assert!(matches!(SetStore::<u8>::from_wire(w.clone(), &table, &mut cx), Err(Error::TooLarge { .. })));
        let mut cx = DecodeCx::new(Limits::default());
        assert_eq!(&SetStore::<u8>::from_wire(w, &table, &mut cx).unwrap(), s.store());
    }

    use crate::wire::WireStore;
}

/// Every API returning a set or a delta moves the value (memcpy), and an `OrMap` of sets holds
/// one store per key: the store is its slots (one inline), its replica table (one entry inline)
/// and ONE pointer to its lookup structures (`Index`), plus the tag of the packing (8 bytes: the
/// narrow packing has no niche left, its one pointer is an `Option`).
#[test]
fn a_set_value_is_small() {
    use core::mem::size_of;
    assert_eq!(size_of::<super::store::Packing<u64, u64>>(), 64);
    assert_eq!(size_of::<SetStore<u64>>(), 72);
    assert_eq!(size_of::<OrSet<u64>>(), 120);
    assert_eq!(size_of::<OrSet<alloc::string::String>>(), 136);
}

/// Regression for the one-dot join path (`Packing::join_one`): an insert delta joined into a
/// replica equals the join the other way round (the replica into the delta, the general path),
/// for receivers that saw some, all or none of the history, and a second delivery changes
/// nothing. Inside a map of sets the path feeds the map's dot index: a later remove delta must
/// find the dot it added.
#[test]
fn an_insert_delta_joins_as_the_general_path_does() {
    let mut rng = SmallRng::seed_from_u64(13);
    let mut sets: Vec<OrSet<u8>> = (0..4).map(|_| OrSet::new()).collect();
    let mut maps: Vec<crate::OrMap<u8, OrSet<u8>>> = (0..4).map(|_| crate::OrMap::new()).collect();
    let mut general_checked = 0;
    for _ in 0..3_000 {
        let (a, b) = (rng.gen_range(0..4), rng.gen_range(0..4));
        let (e, k) = (rng.gen_range(0..12u8), rng.gen_range(0..4u8));
        let me = rid(a as u128 + 1);
        if rng.gen_bool(0.3) {
            let d = sets[a].remove(me, &e);
            sets[b].join(d);
            let (d, ()) = maps[a].update(me, k, |s| {
                let _ = s.remove(&e);
            });
            maps[b].join(d);
            continue;
        }
        let d = sets[a].insert(me, e);
        let fast = sets[b].clone().joined(d.clone());
        fast.check_invariants();
        if sets[b].iter().count() > 1 {
            general_checked += 1;
        }
        assert_eq!(fast, d.clone().joined(sets[b].clone()), "one-dot path == general path");
        assert!(!fast.clone().join_ref(&d), "a second delivery changes nothing");
        let (md, ()) = maps[a].update(me, k, |s| {
            let _ = s.insert(e);
        });
        let mfast = maps[b].clone().joined(md.clone());
        assert_eq!(mfast, md.clone().joined(maps[b].clone()), "map: one-dot path == general path");
        if rng.gen_bool(0.7) {
            sets[b] = fast;
            maps[b] = mfast;
        }
    }
    assert!(general_checked > 1_000, "the general path was compared often: {general_checked}");
    // Converge everything; then every replica removes what it sees, and all must end empty.
    let all_sets = sets.iter().cloned().fold(OrSet::new(), Lattice::joined);
    let all_maps = maps.iter().cloned().fold(crate::OrMap::new(), Lattice::joined);
    for (i, (s, m)) in sets.iter_mut().zip(&mut maps).enumerate() {
        s.join_ref(&all_sets);
        m.join_ref(&all_maps);
        let me = rid(i as u128 + 1);
        let elems: Vec<u8> = s.iter().copied().collect();
        for e in elems {
            let d = s.remove(me, &e);
            let mut o = all_sets.clone();
            o.join(d);
            o.check_invariants();
            assert!(!o.contains(&e));
        }
        let keys: Vec<u8> = m.keys().copied().collect();
        for k in keys {
            let d = m.remove(me, &k);
            let mut o = all_maps.clone();
            o.join(d);
            assert!(o.get(&k).is_none(), "the map's index found the dots of key {k}");
        }
    }
}

/// The one-dot join path with its small-table id search (`Replicas::find_small`, tables of up to
/// `SMALL_TABLE` replicas), the inline slot of a one-element store and the in-place context
/// join, against the general path, on a twelve-replica history delivered out of order: the
/// receivers' tables grow past the small size, their contexts have gaps that deltas fill, and
/// some deltas arrive twice. Each delta is joined by value, by reference, and the other way
/// round (the receiver into the delta: the general path).
#[test]
fn insert_deltas_of_twelve_replicas_out_of_order_join_as_the_general_path_does() {
    let mut rng = SmallRng::seed_from_u64(5);
    let n = 12;
    let mut reps: Vec<OrSet<u16>> = (0..n).map(|_| OrSet::new()).collect();
    // Per receiver, deltas not delivered yet.
    let mut inbox: Vec<Vec<OrSet<u16>>> = (0..3).map(|_| Vec::new()).collect();
    let mut recv: Vec<OrSet<u16>> = (0..3).map(|_| OrSet::new()).collect();
    let (mut fast_joins, mut wide_tables) = (0, 0);
    for step in 0..4_000 {
        let a = rng.gen_range(0..n);
        let e = rng.gen_range(0..40u16);
        let d = if rng.gen_bool(0.25) {
            reps[a].remove(rid(a as u128 + 1), &e)
        } else {
            reps[a].insert(rid(a as u128 + 1), e)
        };
        if step % 97 == 0 {
            let b = rng.gen_range(0..n);
            let other = reps[b].clone();
            reps[a].join(other);
        }
        for q in &mut inbox {
            q.push(d.clone());
        }
        let r = rng.gen_range(0..3);
        while !inbox[r].is_empty() && rng.gen_bool(0.6) {
            let k = rng.gen_range(0..inbox[r].len());
            let d = inbox[r].swap_remove(k);
            if d.iter().count() == 1 {
                fast_joins += 1;
            }
            let mut by_ref = recv[r].clone();
            by_ref.join_ref(&d);
            let general = d.clone().joined(recv[r].clone());
            let mut by_value = recv[r].clone();
            let changed = by_value.join(d.clone());
            assert_eq!(changed, by_value != recv[r], "change reported, step {step}");
            assert_eq!(by_value, by_ref, "by value == by reference, step {step}");
            assert_eq!(by_value, general, "one-dot path == general path, step {step}");
            assert_eq!(by_value.context(), general.context(), "contexts, step {step}");
            by_value.check_invariants();
            if rng.gen_bool(0.1) {
                assert!(!by_value.clone().join(d), "a second delivery changes nothing");
            }
            recv[r] = by_value;
            if recv[r].store().replica_table_len() > super::store::SMALL_TABLE {
                wide_tables += 1;
            }
        }
    }
    assert!(
        fast_joins > 1_000 && wide_tables > 500,
        "{fast_joins} one-element joins, {wide_tables} into big tables"
    );
    let all = reps.into_iter().fold(OrSet::new(), Lattice::joined);
    for (q, r) in inbox.into_iter().zip(recv) {
        let r = q.into_iter().fold(r, Lattice::joined);
        assert_eq!(r, all);
    }
}

/// A set that grows by 64 elements and shrinks back, again and again (as the compare bench's
/// insert-join rows do around 10^2 elements), keeps its indexes across most cycles, and far
/// below the peak they still shrink. The tables' deleted markers pile up over cycles until an
/// insert finds no room and the table doubles; the removals then leave it sparse and it shrinks:
/// when that happens depends on the hash seed (random per process). Over 40 cycles, 60 runs gave
/// 0 to 6 such rebuilds (10 runs none; the test asserted none in 5 cycles and failed about one
/// run in twenty). The bound, a quarter of the cycles, still catches a rebuild on every cycle
/// (the counting fix of `index_is_sparse`: an index of exactly twice the fresh buckets is not
/// sparse; this history does not reach that case, so this test does not fail without the fix).
#[test]
fn a_set_growing_and_shrinking_by_the_same_elements_keeps_its_indexes() {
    const CYCLES: u64 = 40;
    let (me, peer) = (rid(1), rid(9));
    // Built as the bench builds it: three replicas' inserts merged.
    let mut reps: Vec<OrSet<u64>> = (0..3).map(|_| OrSet::new()).collect();
    for e in 0..100u64 {
        let r = (e % 3) as usize;
        let _ = reps[r].insert(rid(r as u128 + 1), e);
    }
    let mut s = reps.into_iter().fold(OrSet::new(), Lattice::joined);
    // Cycles whose removals rebuilt an index (shrank it back after the inserts grew it).
    let mut rebuilt = Vec::new();
    for cycle in 0..CYCLES {
        let mut removals = Vec::new();
        for i in 0..64 {
            let e = 1_000 + cycle * 64 + i;
            let mut src = s.clone();
            s.join(src.insert(peer, e));
            removals.push(src.remove(peer, &e));
        }
        let peak = s.store().room();
        for r in removals {
            s.join(r);
        }
        assert_eq!(s.len(), 100);
        // The indexes (the slot vector may shrink to fit: one reallocation a cycle).
        let after = s.store().room();
        if (after.1, after.2) != (peak.1, peak.2) {
            rebuilt.push(cycle);
        }
        s.check_invariants();
    }
    std::eprintln!("index rebuilt in cycles {rebuilt:?} of {CYCLES}");
    assert!(rebuilt.len() * 4 <= CYCLES as usize, "index rebuilt in cycles {rebuilt:?} of {CYCLES}");
    // Far below the peak, the indexes do shrink (the policy stands).
    let before = s.store().room();
    let drop: Vec<u64> = (0..90).collect();
    for e in drop {
        let _ = s.remove(me, &e);
    }
    let after = s.store().room();
    assert!(after.1 < before.1 && after.2 < before.2, "{before:?} -> {after:?}");
}

/// A reference OR-Set with explicit dots: live `dot -> element` and the context, joined by the
/// definition (a dot stays if both sides hold it or the other side never saw it).
#[derive(Clone, Default, Debug)]
struct Model {
    live: alloc::collections::BTreeMap<Dot, u8>,
    ctx: BTreeSet<Dot>,
}

impl Model {
    fn dots_of(&self, e: u8) -> Vec<Dot> {
        self.live.iter().filter(|(_, x)| **x == e).map(|(d, _)| *d).collect()
    }

    /// Forgets `dots` (live here): the delta of a remove of them.
    fn forget(&mut self, dots: Vec<Dot>) -> Model {
        let mut delta = Model::default();
        for d in dots {
            self.live.remove(&d);
            delta.ctx.insert(d);
        }
        delta
    }

    fn insert(&mut self, r: ReplicaId, e: u8) -> Model {
        let mut delta = self.forget(self.dots_of(e));
        let n = self.ctx.iter().filter(|d| d.replica() == r).map(Dot::counter).max().unwrap_or(0);
        let d = Dot::new(r, n + 1).unwrap();
        self.live.insert(d, e);
        self.ctx.insert(d);
        delta.live.insert(d, e);
        delta.ctx.insert(d);
        delta
    }

    fn join(&mut self, o: &Model) {
        let mut live: alloc::collections::BTreeMap<Dot, u8> = self
            .live
            .iter()
            .filter(|(d, _)| o.live.contains_key(*d) || !o.ctx.contains(*d))
            .map(|(d, e)| (*d, *e))
            .collect();
        live.extend(o.live.iter().filter(|(d, _)| !self.ctx.contains(*d)).map(|(d, e)| (*d, *e)));
        self.live = live;
        self.ctx.extend(o.ctx.iter().copied());
    }

    /// Asserts that `s` holds exactly this model's live dots with their elements, found through
    /// every lookup (element, dot, dot -> element), and that its invariants hold.
    fn check(&self, s: &OrSet<u8>, what: &str) {
        s.check_invariants();
        let store = s.store();
        let mut dots = Vec::new();
        store.for_each_dot(&mut |d| dots.push(d));
        dots.sort_unstable();
        assert_eq!(dots, self.live.keys().copied().collect::<Vec<_>>(), "{what}: live dots");
        assert_eq!(store.len(), self.live.values().collect::<BTreeSet<_>>().len(), "{what}: len");
        for e in 0..=u8::MAX {
            let want = self.dots_of(e).len();
            assert_eq!(store.contains(&e), want > 0, "{what}: contains {e}");
            assert_eq!(store.dot_count_of(&e), want, "{what}: dots of {e}");
        }
        for (d, e) in &self.live {
            assert!(store.contains_dot(d), "{what}: dot {d:?}");
            let one = store.select_dots(&mut core::iter::once(*d));
            assert_eq!(one.iter().collect::<Vec<_>>(), [e], "{what}: element of {d:?}");
        }
        for d in self.ctx.iter().filter(|d| !self.live.contains_key(d)) {
            assert!(!store.contains_dot(d), "{what}: removed dot {d:?}");
        }
        assert_eq!(s.context().dot_count(), self.ctx.len() as u64, "{what}: context");
    }
}

/// The lazy index (`Index`, built past `LINEAR` elements, a replica table past `SMALL_TABLE`
/// entries or a second dot of an element; dropped when removals leave fewer than `LINEAR / 2`
/// elements; below it, lookups compare the slots in turn) against the
/// reference model on random histories of 11 replicas: stores grow across both thresholds and
/// shrink back through removes, clears and joins of remove deltas, full states and insert
/// deltas (by value: the one-dot join path; and by reference), delivered late and out of order.
/// Every lookup of every replica is compared with the model after every step.
#[test]
fn lazy_indexes_match_a_model_across_the_thresholds() {
    const R: usize = 11;
    for seed in 0..12u64 {
        let mut rng = SmallRng::seed_from_u64(seed);
        // Few elements (stores shrink to one or none, dropping their index) or a few more than
        // `LINEAR` (stores cross it both ways).
        let small = if seed % 2 == 0 { 3 } else { 2 * store::LINEAR as u8 - 1 };
        let ids: Vec<ReplicaId> = (0..R as u128).map(|i| rid(100 + i * 7919)).collect();
        let mut sets: Vec<OrSet<u8>> = vec![OrSet::new(); R];
        let mut models: Vec<Model> = vec![Model::default(); R];
        // In flight: (to, delta, its model).
        let mut pending: Vec<(usize, OrSet<u8>, Model)> = Vec::new();
        for step in 0..400 {
            let r = rng.gen_range(0..R);
            // Mostly few elements (around the thresholds), sometimes a burst of many.
            let wide = rng.gen_bool(0.15);
            let elem =
                |rng: &mut SmallRng| if wide { rng.gen_range(0..40u8) } else { rng.gen_range(0..small) };
            let what = format!("seed {seed} step {step} replica {r}");
            let made = match rng.gen_range(0..100) {
                0..35 => {
                    let e = elem(&mut rng);
                    Some((sets[r].insert(ids[r], e), models[r].insert(ids[r], e)))
                }
                35..45 => {
                    let es: Vec<u8> = (0..rng.gen_range(2..12)).map(|_| elem(&mut rng)).collect();
                    let mut dm = Model::default();
                    for &e in &es {
                        let d = models[r].insert(ids[r], e);
                        dm.join(&d);
                    }
                    Some((sets[r].insert_all(ids[r], es), dm))
                }
                45..65 => {
                    let e = elem(&mut rng);
                    let dots = models[r].dots_of(e);
                    Some((sets[r].remove(ids[r], &e), models[r].forget(dots)))
                }
                65..69 => {
                    let dots = models[r].live.keys().copied().collect();
                    Some((sets[r].clear(ids[r]), models[r].forget(dots)))
                }
                69..80 => {
                    // A full state.
                    let o = rng.gen_range(0..R);
                    let (s, m) = (sets[o].clone(), models[o].clone());
                    sets[r].join_ref(&s);
                    models[r].join(&m);
                    None
                }
                _ => {
                    // Deliver some deltas in flight, in random order, by value or by reference.
                    for _ in 0..rng.gen_range(1..6) {
                        if pending.is_empty() {
                            break;
                        }
                        let (to, d, m) = pending.swap_remove(rng.gen_range(0..pending.len()));
                        if rng.gen_bool(0.7) {
                            sets[to].join(d);
                        } else {
                            sets[to].join_ref(&d);
                        }
                        models[to].join(&m);
                        models[to].check(&sets[to], &format!("{what}: delivered to {to}"));
                    }
                    None
                }
            };
            if let Some((d, m)) = made {
                m.check(&d, &format!("{what}: delta"));
                for to in (0..R).filter(|&to| to != r) {
                    pending.push((to, d.clone(), m.clone()));
                }
            }
            models[r].check(&sets[r], &what);
        }
        // Everything delivered: all replicas converge to the model's join.
        for (to, d, m) in pending.drain(..) {
            sets[to].join(d);
            models[to].join(&m);
        }
        for r in 0..R {
            models[r].check(&sets[r], &format!("seed {seed}: final {r}"));
        }
    }
}
