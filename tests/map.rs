//! Property tests of the OR-Map and the types nesting needs, on states and deltas built from
//! realistic histories: 2 to 5 replicas making local operations with their real contexts over 2
//! to 4 keys, merging each other's states, optimal deltas or arbitrary subsets of deltas (out of
//! causal order included) at random points. Seeded; 1 000+ cases per type.
//!
//! Checked after EVERY operation: the invariants (`CheckInvariants`: dots inside the context,
//! context canonical, dot index exact, no empty nested value), `m(X) == X ⊔ m_delta(X)`, and the
//! observed-remove specification at the level of dots: a replica's live dots are exactly the dots
//! minted by the operations it has received and removed by none of them (so nothing a remove,
//! clear or overwrite saw ever comes back, through any order of merges). At the end of each
//! history: the lattice laws on states and deltas, order invariance of delta delivery (in order,
//! shuffled, duplicated, pre-joined == full-state merge), decomposition and optimal deltas, and
//! (with `serde`) the wire round trip.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;

use convergent::{
    CausalCounter, Decompose, Dot, EwFlag, Lattice, MvRegister, OrMap, ReplicaId, Timestamp,
    causal::{Causal, CheckInvariants, DotStore, Handle, Nested},
    counter::GCounterStore,
    map::MapStore,
    register::LwwStore,
};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const CASES: u64 = 1000;

// ------------------------------------------------------------------------------------------
// Random operations on every nested type, through the handles users get.

/// A value type with random operations on its handle.
trait GenOp: Nested {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng);
}

impl GenOp for EwFlag {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        if rng.gen_bool(0.6) { h.enable() } else { h.disable() }
    }
}

impl GenOp for MvRegister<u8> {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        match rng.gen_range(0..10) {
            0 => h.clear(),
            1 => {
                h.write(rng.gen_range(0..3));
                h.write(rng.gen_range(0..3));
            }
            _ => h.write(rng.gen_range(0..3)),
        }
    }
}

impl GenOp for CausalCounter {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        match rng.gen_range(0..10) {
            0 => h.reset(),
            1..=3 => h.decrement(rng.gen_range(0..4)),
            _ => h.increment(rng.gen_range(0..4)),
        }
    }
}

/// The grow-only causal counter (the value store of `OrMap<K, GCounter>`).
struct G;
impl Nested for G {
    type Store = GCounterStore;
}
impl GenOp for G {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        h.increment(rng.gen_range(0..4));
    }
}

/// An LWW value under dots (the value store of `OrMap<K, LwwRegister<u8>>`). Tiny timestamp
/// and value domains: ties on `(timestamp, replica)` with different values happen.
struct Lww;
impl Nested for Lww {
    type Store = LwwStore<u8>;
}
impl GenOp for Lww {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        let ts = Timestamp::from_parts(rng.gen_range(0..4), 0);
        h.write_at(ts, rng.gen_range(0..3));
    }
}

/// Maps over 2 to 4 keys (the domain is fixed per type through `KEYS`).
const KEYS: u8 = 3;

impl<V: GenOp> GenOp for OrMap<u8, V> {
    fn op(h: &mut Handle<'_, Self::Store>, rng: &mut SmallRng) {
        let n = if rng.gen_bool(0.2) { rng.gen_range(2..4) } else { 1 };
        for _ in 0..n {
            let k = rng.gen_range(0..KEYS);
            match rng.gen_range(0..20) {
                0 => h.clear(),
                1..=5 => {
                    h.remove(&k);
                }
                _ => h.update(k, |v| V::op(v, rng)),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// The specification at the level of dots.

/// What one operation did: the dots it minted (its delta's store) and those it removed (the
/// rest of its delta's context).
#[derive(Clone, Debug)]
struct OpRecord {
    minted: BTreeSet<Dot>,
    killed: BTreeSet<Dot>,
}

fn live_dots<S: DotStore>(s: &S) -> BTreeSet<Dot> {
    let mut out = BTreeSet::new();
    s.for_each_dot(&mut |d| {
        assert!(out.insert(d), "dot {d:?} occurs twice in one store");
    });
    out
}

fn record<S: DotStore>(delta: &Causal<S>) -> OpRecord {
    let minted = live_dots(delta.store());
    let killed = delta.context().dots().filter(|d| !minted.contains(d)).collect();
    OpRecord { minted, killed }
}

/// Live dots and context a state must have, given the operations it has received (any subset,
/// in any order: the causal join makes this exact).
fn spec(ops: &[OpRecord], hist: &BTreeSet<usize>) -> (BTreeSet<Dot>, BTreeSet<Dot>) {
    let mut minted = BTreeSet::new();
    let mut killed = BTreeSet::new();
    for &i in hist {
        minted.extend(ops[i].minted.iter().copied());
        killed.extend(ops[i].killed.iter().copied());
    }
    let ctx = minted.union(&killed).copied().collect();
    (minted.difference(&killed).copied().collect(), ctx)
}

fn check_spec<S: DotStore + CheckInvariants>(x: &Causal<S>, ops: &[OpRecord], hist: &BTreeSet<usize>) {
    assert_eq!(x.check_invariants(), Ok(()), "{:?}", x.context());
    let (live, ctx) = spec(ops, hist);
    assert_eq!(live_dots(x.store()), live, "live dots differ from the observed-remove specification");
    assert_eq!(x.context().dots().collect::<BTreeSet<_>>(), ctx, "context differs from the specification");
}

// ------------------------------------------------------------------------------------------
// Histories.

struct History<S> {
    states: Vec<Causal<S>>,
    deltas: Vec<Causal<S>>,
}

fn run_history<V: GenOp>(seed: u64) -> History<V::Store>
where
    V::Store: CheckInvariants + Debug,
{
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = rng.gen_range(2..=5);
    let ids: Vec<ReplicaId> = (0..n).map(|i| ReplicaId::from_u128(i as u128 + 1)).collect();
    let mut states: Vec<Causal<V::Store>> = vec![Causal::default(); n];
    let mut hist: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut ops: Vec<OpRecord> = Vec::new();
    let mut deltas: Vec<Causal<V::Store>> = Vec::new();
    let steps = rng.gen_range(5..40);
    for _ in 0..steps {
        let i = rng.gen_range(0..n);
        if rng.gen_bool(0.55) {
            // A local operation.
            let before = states[i].clone();
            let (delta, ()) = states[i].mutate(ids[i], |h| V::op(h, &mut rng));
            assert_eq!(delta.check_invariants(), Ok(()), "delta {delta:?}");
            assert_eq!(before.clone().joined(delta.clone()), states[i], "m(X) != X ⊔ m_delta(X)");
            assert!(before.leq(&states[i]), "a mutation went down");
            let rec = record(&delta);
            for d in &rec.minted {
                assert!(!before.context().contains(d), "minted dot {d:?} already seen");
                assert_eq!(d.replica(), ids[i]);
            }
            for d in &rec.killed {
                // A mutation removes only what it saw (or what it minted itself).
                assert!(before.context().contains(d) || d.replica() == ids[i]);
            }
            ops.push(rec);
            hist[i].insert(ops.len() - 1);
            deltas.push(delta);
        } else {
            let j = rng.gen_range(0..n);
            let before = states[i].clone();
            match rng.gen_range(0..4) {
                0 => {
                    // Full state.
                    let other = states[j].clone();
                    let changed = states[i].join_ref(&other);
                    assert_eq!(changed, states[i] != before, "join_ref's changed flag is wrong");
                    let h = hist[j].clone();
                    hist[i].extend(h);
                }
                1 => {
                    // Optimal delta (what i lacks of j).
                    let d = states[j].delta(&states[i]);
                    assert_eq!(d.check_invariants(), Ok(()));
                    assert_eq!(
                        states[i].clone().joined(d.clone()),
                        states[i].clone().joined(states[j].clone())
                    );
                    states[i].join(d);
                    let h = hist[j].clone();
                    hist[i].extend(h);
                }
                2 if !deltas.is_empty() => {
                    // Arbitrary deltas, one by one, in any order (causal order not respected).
                    let k = rng.gen_range(1..=deltas.len().min(6));
                    for _ in 0..k {
                        let o = rng.gen_range(0..deltas.len());
                        states[i].join_ref(&deltas[o]);
                        hist[i].insert(o);
                        assert_eq!(states[i].check_invariants(), Ok(()));
                    }
                }
                _ if !deltas.is_empty() => {
                    // A pre-joined delta group.
                    let k = rng.gen_range(1..=deltas.len().min(6));
                    let mut group = Causal::bottom();
                    for _ in 0..k {
                        let o = rng.gen_range(0..deltas.len());
                        group.join_ref(&deltas[o]);
                        hist[i].insert(o);
                    }
                    assert_eq!(group.check_invariants(), Ok(()));
                    states[i].join(group);
                }
                _ => {}
            }
            assert!(before.leq(&states[i]), "a join went down");
        }
        check_spec(&states[i], &ops, &hist[i]);
    }
    History { states, deltas }
}

// ------------------------------------------------------------------------------------------
// Laws and order invariance at the end of each history.

fn check_laws<L: Lattice + Clone + PartialEq + Debug>(a: &L, b: &L, c: &L) {
    let ab = a.clone().joined(b.clone());
    assert_eq!(ab, b.clone().joined(a.clone()), "not commutative");
    assert_eq!(
        ab.clone().joined(c.clone()),
        a.clone().joined(b.clone().joined(c.clone())),
        "not associative"
    );
    assert_eq!(a.clone().joined(a.clone()), *a, "not idempotent");
    assert_eq!(L::bottom().joined(a.clone()), *a, "bottom is not the identity");
    assert_eq!(a.clone().joined(L::bottom()), *a, "bottom is not the identity");
    assert!(a.leq(&ab) && b.leq(&ab), "join is not an upper bound");
    assert_eq!(a.leq(b), ab == *b, "leq disagrees with join");
    let mut x = a.clone();
    assert_eq!(x.join_ref(b), ab != *a, "changed flag is wrong");
}

fn check_history<V: GenOp>(seed: u64)
where
    V::Store: CheckInvariants + Debug + MaybeWire,
{
    let History { states, deltas } = run_history::<V>(seed);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);

    // Full-state merge of every replica.
    let full = states.iter().cloned().fold(Causal::bottom(), Lattice::joined);
    assert_eq!(full.check_invariants(), Ok(()));
    // Every replica converges to it after a full sync.
    for s in &states {
        assert_eq!(s.clone().joined(full.clone()), full);
    }

    // Deltas in order, shuffled, duplicated, pre-joined: all equal to the full-state merge.
    let in_order = deltas.iter().cloned().fold(Causal::bottom(), Lattice::joined);
    assert_eq!(in_order, full, "in-order deltas differ from the full-state merge");
    let mut shuffled = deltas.clone();
    shuffled.shuffle(&mut rng);
    let mut dup: Vec<_> =
        shuffled.iter().flat_map(|d| std::iter::repeat_n(d.clone(), rng.gen_range(1..=3))).collect();
    assert_eq!(shuffled.iter().cloned().fold(Causal::bottom(), Lattice::joined), full, "shuffled deltas");
    dup.shuffle(&mut rng);
    assert_eq!(dup.iter().cloned().fold(Causal::bottom(), Lattice::joined), full, "duplicated deltas");
    let mut groups = Vec::new();
    for chunk in shuffled.chunks(rng.gen_range(1..=4)) {
        groups.push(chunk.iter().cloned().fold(Causal::bottom(), Lattice::joined));
    }
    groups.shuffle(&mut rng);
    assert_eq!(groups.into_iter().rev().fold(Causal::bottom(), Lattice::joined), full, "pre-joined deltas");

    // Laws on states and deltas (and mixtures).
    let mut pool: Vec<Causal<V::Store>> = states.clone();
    pool.extend(deltas.iter().take(8).cloned());
    pool.push(full.clone());
    for _ in 0..6 {
        let a = pool.choose(&mut rng).unwrap();
        let b = pool.choose(&mut rng).unwrap();
        let c = pool.choose(&mut rng).unwrap();
        check_laws(a, b, c);
    }

    // Decomposition and optimal deltas.
    let x = pool.choose(&mut rng).unwrap();
    let y = pool.choose(&mut rng).unwrap();
    if x.context().dot_count() <= 64 {
        let parts = x.decompose();
        assert_eq!(parts.len(), x.irreducible_count());
        assert_eq!(parts.into_iter().fold(Causal::bottom(), Lattice::joined), *x);
    }
    let d = x.delta(y);
    assert_eq!(d.check_invariants(), Ok(()));
    assert_eq!(d.joined(y.clone()), x.clone().joined(y.clone()));

    V::Store::round_trip(&pool);
}

/// The wire round trip, where the `serde` feature is on.
trait MaybeWire: Sized {
    fn round_trip(pool: &[Causal<Self>]);
}

#[cfg(feature = "serde")]
impl<S: convergent::wire::WireStore + Debug> MaybeWire for S {
    fn round_trip(pool: &[Causal<S>]) {
        for x in pool {
            let bytes = convergent::wire::to_bytes(x);
            let back: Causal<S> = convergent::wire::from_bytes(&bytes).expect("round trip");
            assert_eq!(&back, x);
            assert_eq!(convergent::wire::to_bytes(&back), bytes, "encoding is not canonical");
        }
    }
}

#[cfg(not(feature = "serde"))]
impl<S> MaybeWire for S {
    fn round_trip(_: &[Causal<S>]) {}
}

fn run_cases<V: GenOp>(salt: u64)
where
    V::Store: CheckInvariants + Debug + MaybeWire,
{
    for case in 0..CASES {
        check_history::<V>(case.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt);
    }
}

#[test]
fn histories_map_of_map_of_mv_registers() {
    run_cases::<OrMap<u8, OrMap<u8, MvRegister<u8>>>>(1);
}

#[test]
fn histories_map_of_causal_counters() {
    run_cases::<OrMap<u8, CausalCounter>>(2);
}

#[test]
fn histories_map_of_flags() {
    run_cases::<OrMap<u8, EwFlag>>(3);
}

#[test]
fn histories_map_of_gcounters() {
    run_cases::<OrMap<u8, G>>(4);
}

#[test]
fn histories_map_of_lww_values() {
    run_cases::<OrMap<u8, Lww>>(5);
}

#[test]
fn histories_map_of_map_of_flags() {
    run_cases::<OrMap<u8, OrMap<u8, EwFlag>>>(6);
}

#[test]
fn histories_top_level_types() {
    run_cases::<MvRegister<u8>>(7);
    run_cases::<CausalCounter>(8);
    run_cases::<EwFlag>(9);
}

// ------------------------------------------------------------------------------------------
// Value-level concurrent semantics.

/// MV register inside a map: after any history, the values read are exactly the payloads of
/// the writes no operation the replica received has overwritten (checked through the public
/// reads against the dots).
#[test]
fn lww_reads_agree_whatever_the_merge_order() {
    for seed in 0..CASES {
        let History { states, .. } = run_history::<OrMap<u8, Lww>>(seed ^ 0xabc);
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut perm = states.clone();
        perm.shuffle(&mut rng);
        let a = states.into_iter().fold(Causal::bottom(), Lattice::joined);
        let b = perm.into_iter().rev().fold(Causal::bottom(), Lattice::joined);
        let ma = OrMap::<u8, Lww>::from(a);
        let mb = OrMap::<u8, Lww>::from(b);
        for k in 0..KEYS {
            assert_eq!(ma.get(&k).and_then(|s| s.winner()), mb.get(&k).and_then(|s| s.winner()));
        }
    }
}

// ------------------------------------------------------------------------------------------
// A single replica behaves exactly like a HashMap.

#[test]
fn single_replica_map_of_counters_matches_hashmap() {
    let r = ReplicaId::from_u128(1);
    for seed in 0..CASES {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut m: OrMap<u8, CausalCounter> = OrMap::new();
        let mut model: HashMap<u8, i64> = HashMap::new();
        for _ in 0..rng.gen_range(1..40) {
            let k = rng.gen_range(0..4u8);
            let before = m.clone();
            let d = match rng.gen_range(0..10) {
                0 => {
                    model.clear();
                    m.clear(r)
                }
                1 | 2 => {
                    model.remove(&k);
                    m.remove(r, &k)
                }
                3 | 4 => {
                    let n = rng.gen_range(1..5);
                    *model.entry(k).or_default() -= n as i64;
                    m.update(r, k, |c| c.decrement(n))
                }
                _ => {
                    let n = rng.gen_range(1..5);
                    *model.entry(k).or_default() += n as i64;
                    m.update(r, k, |c| c.increment(n))
                }
            };
            assert_eq!(before.joined(d.clone()), m);
            assert_eq!(m.check_invariants(), Ok(()));
            assert_eq!(d.check_invariants(), Ok(()));
            assert_eq!(m.len(), model.len());
            assert_eq!(m.is_empty(), model.is_empty());
            for k in 0..4 {
                assert_eq!(m.get(&k).map(|c| c.value()), model.get(&k).copied());
                assert_eq!(m.contains_key(&k), model.contains_key(&k));
            }
            let got: HashMap<u8, i64> = m.iter().map(|(k, c)| (*k, c.value())).collect();
            assert_eq!(got, model);
            let keys: BTreeSet<u8> = m.keys().copied().collect();
            assert_eq!(keys, model.keys().copied().collect());
            assert_eq!(m.values().count(), model.len());
        }
    }
}

#[test]
fn single_replica_nested_map_of_registers_matches_hashmap() {
    type M = OrMap<u8, OrMap<u8, MvRegister<u8>>>;
    let r = ReplicaId::from_u128(1);
    for seed in 0..CASES {
        let mut rng = SmallRng::seed_from_u64(seed ^ 77);
        let mut m: M = OrMap::new();
        let mut model: HashMap<u8, HashMap<u8, u8>> = HashMap::new();
        for _ in 0..rng.gen_range(1..40) {
            let (k, j, v) = (rng.gen_range(0..3u8), rng.gen_range(0..3u8), rng.gen_range(0..3u8));
            let before = m.clone();
            let d = match rng.gen_range(0..12) {
                0 => {
                    model.clear();
                    m.clear(r)
                }
                1 | 2 => {
                    model.remove(&k);
                    m.remove(r, &k)
                }
                3 | 4 => {
                    if let Some(inner) = model.get_mut(&k) {
                        inner.remove(&j);
                        if inner.is_empty() {
                            model.remove(&k);
                        }
                    }
                    m.update(r, k, |inner| {
                        inner.remove(&j);
                    })
                }
                5 => {
                    // Several mutations on several keys: ONE delta.
                    model.entry(k).or_default().insert(j, v);
                    model.entry(k.wrapping_add(1) % 3).or_default().insert(j, v);
                    if let Some(inner) = model.get_mut(&k) {
                        inner.remove(&j);
                        if inner.is_empty() {
                            model.remove(&k);
                        }
                    }
                    m.mutate(r, |h| {
                        h.update(k, |inner| inner.update(j, |reg| reg.write(v)));
                        h.update(k.wrapping_add(1) % 3, |inner| inner.update(j, |reg| reg.write(v)));
                        h.update(k, |inner| {
                            inner.remove(&j);
                        });
                    })
                    .0
                }
                _ => {
                    model.entry(k).or_default().insert(j, v);
                    m.update(r, k, |inner| inner.update(j, |reg| reg.write(v)))
                }
            };
            assert_eq!(before.joined(d.clone()), m);
            assert_eq!(m.check_invariants(), Ok(()));
            assert_eq!(d.check_invariants(), Ok(()));
            let got: HashMap<u8, HashMap<u8, u8>> = m
                .iter()
                .map(|(k, inner)| {
                    let vals = inner
                        .iter()
                        .map(|(j, reg)| {
                            let v: Vec<u8> = reg.values().copied().collect();
                            assert_eq!(v.len(), 1, "a single replica sees one value per register");
                            (*j, v[0])
                        })
                        .collect();
                    (*k, vals)
                })
                .collect();
            assert_eq!(got, model);
        }
    }
}

#[test]
fn single_replica_map_of_flags_matches_hashset() {
    let r = ReplicaId::from_u128(1);
    for seed in 0..CASES {
        let mut rng = SmallRng::seed_from_u64(seed ^ 99);
        let mut m: OrMap<u8, EwFlag> = OrMap::new();
        let mut model: BTreeSet<u8> = BTreeSet::new();
        for _ in 0..rng.gen_range(1..30) {
            let k = rng.gen_range(0..4u8);
            let before = m.clone();
            let d = match rng.gen_range(0..6) {
                0 => {
                    model.remove(&k);
                    m.update(r, k, |f| f.disable())
                }
                1 => {
                    model.remove(&k);
                    m.remove(r, &k)
                }
                _ => {
                    model.insert(k);
                    m.update(r, k, |f| f.enable())
                }
            };
            assert_eq!(before.joined(d), m);
            assert_eq!(m.keys().copied().collect::<BTreeSet<_>>(), model);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Deltas are small and follow the operation.

#[test]
fn deltas_hold_only_what_the_operation_did() {
    let r = ReplicaId::from_u128(1);
    let mut m: OrMap<u32, MvRegister<u32>> = OrMap::new();
    for k in 0..100 {
        let _ = m.update(r, k, |reg| reg.write(k));
    }
    let d = m.update(r, 5, |reg| reg.write(0));
    assert_eq!(d.len(), 1);
    assert_eq!(d.as_causal().store().dot_count(), 1);
    assert_eq!(d.context().dot_count(), 2, "the new dot and the overwritten one");
    let d = m.remove(r, &6);
    assert!(d.is_empty());
    assert_eq!(d.context().dot_count(), 1);
    let d = m.remove(r, &6);
    assert!(d.is_bottom(), "removing an absent key is a no-op");
    let d = m.clear(r);
    assert!(d.is_empty());
    assert_eq!(d.context().dot_count(), 99);
}

#[test]
fn debug_is_shaped_like_a_map() {
    let r = ReplicaId::from_u128(1);
    let mut m: OrMap<&str, MvRegister<u8>> = OrMap::new();
    let _ = m.update(r, "k", |reg| reg.write(3));
    assert_eq!(format!("{m:?}"), r#"{"k": {3}}"#);
    let mut c: OrMap<u8, CausalCounter> = OrMap::new();
    let _ = c.update(r, 1, |x| x.decrement(2));
    assert_eq!(format!("{c:?}"), "{1: -2}");
    let mut reg = MvRegister::new();
    let _ = reg.write(r, 1);
    assert_eq!(format!("{reg:?}"), "MvRegister{1}");
    assert_eq!(format!("{:?}", CausalCounter::new()), "CausalCounter(0)");
    let store: &MapStore<&str, _> = m.as_causal().store();
    assert_eq!(store.len(), 1);
}

#[test]
fn counters_saturate() {
    use convergent::counter::MAX_COUNT;
    let r = ReplicaId::from_u128(1);
    let mut c = CausalCounter::new();
    let _ = c.increment(r, u64::MAX);
    let _ = c.increment(r, 5);
    assert_eq!(c.value(), MAX_COUNT as i64, "each replica's total saturates at MAX_COUNT");
    let d = c.increment(r, 1);
    assert!(d.is_bottom(), "a saturated increment changes nothing");
    let _ = c.decrement(r, u64::MAX);
    assert_eq!(c.value(), 0);
    // 1025 replicas' saturated decrements are below i64::MIN: the value saturates there.
    for i in 2..=1026 {
        let _ = c.decrement(ReplicaId::from_u128(i), u64::MAX);
    }
    assert_eq!(c.value(), i64::MIN);
    // 2048 saturated grow-only totals are exactly 2^64: the u64 value saturates.
    let mut g: OrMap<u8, G> = OrMap::new();
    for i in 1..=2048 {
        let _ = g.update(ReplicaId::from_u128(i), 0, |h| h.increment(u64::MAX));
    }
    assert_eq!(g.get(&0).unwrap().value(), u64::MAX);
}

// ------------------------------------------------------------------------------------------
// The wire form: canonical, compact, validated on the way in.

#[cfg(feature = "serde")]
mod wire {
    use convergent::wire::{WireDot, encoded_len, from_bytes, to_bytes};

    use convergent::{CausalCounter, EwFlag, MvRegister, OrMap, ReplicaId};
    use serde::Serialize;

    /// The wire shape of a causal value, to craft hostile inputs.
    #[derive(Serialize)]
    struct Raw<S> {
        context: Vec<(ReplicaId, Vec<(u64, u64)>)>,
        store: S,
    }

    /// A crafted value in JSON (serde_json keeps the validation message, postcard drops it).
    fn raw<S: Serialize>(n_dots: u64, store: S) -> String {
        serde_json::to_string(&Raw { context: vec![(ReplicaId::from_u128(1), vec![(0, n_dots - 1)])], store })
            .unwrap()
    }

    type Flags = OrMap<u8, EwFlag>;

    #[test]
    fn valid_map_round_trips_canonically() {
        let r = ReplicaId::from_u128(1);
        let mut m: OrMap<String, OrMap<u8, MvRegister<u8>>> = OrMap::new();
        for k in ["b", "a", "c"] {
            let _ = m.update(r, k.into(), |i| i.update(1, |x| x.write(2)));
        }
        let bytes = to_bytes(&m);
        assert_eq!(from_bytes::<OrMap<String, OrMap<u8, MvRegister<u8>>>>(&bytes), Ok(m.clone()));
        // Built in one transaction, in another key order: round trips too.
        let mut m2: OrMap<String, OrMap<u8, MvRegister<u8>>> = OrMap::new();
        let _ = m2.mutate(r, |h| {
            for k in ["c", "a", "b"] {
                h.update(k.into(), |i| i.update(1, |x| x.write(9)));
            }
        });
        assert_eq!(from_bytes::<OrMap<String, OrMap<u8, MvRegister<u8>>>>(&to_bytes(&m2)), Ok(m2));
        assert_eq!(bytes, to_bytes(&from_bytes::<OrMap<String, OrMap<u8, MvRegister<u8>>>>(&bytes).unwrap()));
    }

    /// The message of the error a crafted value is refused with.
    fn refused<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        serde_json::from_str::<T>(json).expect_err("must be refused").to_string()
    }

    #[test]
    fn crafted_valid_value_is_accepted() {
        let ok = raw(2, vec![(0u8, vec![WireDot(0, 1)]), (1u8, vec![WireDot(0, 2)])]);
        let m: Flags = serde_json::from_str(&ok).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_dot_under_two_keys_is_refused() {
        let json = raw(1, vec![(0u8, vec![WireDot(0, 1)]), (1u8, vec![WireDot(0, 1)])]);
        assert!(refused::<Flags>(&json).contains("occurs more than once"));
        // Two levels deep: the same dot in two inner maps of two outer keys.
        let json =
            raw(1, vec![(0u8, vec![(0u8, vec![WireDot(0, 1)])]), (1u8, vec![(0u8, vec![WireDot(0, 1)])])]);
        assert!(refused::<OrMap<u8, Flags>>(&json).contains("occurs more than once"));
    }

    #[test]
    fn unsorted_keys_empty_values_and_bad_payloads_are_refused() {
        let unsorted = raw(2, vec![(1u8, vec![WireDot(0, 1)]), (0u8, vec![WireDot(0, 2)])]);
        assert!(refused::<Flags>(&unsorted).contains("map.keys: not in canonical form"));
        let repeated = raw(2, vec![(0u8, vec![WireDot(0, 1)]), (0u8, vec![WireDot(0, 2)])]);
        assert!(refused::<Flags>(&repeated).contains("map.keys: not in canonical form"));
        let empty = raw(1, vec![(0u8, Vec::<WireDot>::new())]);
        assert!(refused::<Flags>(&empty).contains("map.value: not in canonical form"));
        let empty_inner = raw(1, vec![(0u8, Vec::<(u8, Vec<WireDot>)>::new())]);
        assert!(refused::<OrMap<u8, Flags>>(&empty_inner).contains("map.value: not in canonical form"));
        let outside = raw(1, vec![(0u8, vec![WireDot(0, 2)])]);
        assert!(refused::<Flags>(&outside).contains("not in the causal context"));
        let unknown = raw(1, vec![(0u8, vec![WireDot(3, 1)])]);
        assert!(refused::<Flags>(&unknown).contains("outside the replica table"));
        let mv_dup = raw(2, vec![(WireDot(0, 1), 1u8), (WireDot(0, 1), 2u8)]);
        assert!(refused::<MvRegister<u8>>(&mv_dup).contains("occurs more than once"));
        let mv_unsorted = raw(2, vec![(WireDot(0, 2), 1u8), (WireDot(0, 1), 2u8)]);
        assert!(refused::<MvRegister<u8>>(&mv_unsorted).contains("not in canonical form"));
        let huge = raw(1, vec![(WireDot(0, 1), u64::MAX, 0u64)]);
        assert!(refused::<CausalCounter>(&huge).contains("counter-store.total"));
        let huge_map = raw(1, vec![(0u8, vec![(WireDot(0, 1), 0u64, 1u64 << 60)])]);
        assert!(refused::<OrMap<u8, CausalCounter>>(&huge_map).contains("counter-store.total"));
    }

    #[test]
    fn deltas_are_small_on_the_wire() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut m: OrMap<u8, CausalCounter> = OrMap::new();
        let _ = m.update(b, 1, |c| c.increment(1));
        let inc = m.update(a, 7, |c| c.increment(3));
        let rm = m.remove(a, &1);
        let mut regs: OrMap<u8, MvRegister<u8>> = OrMap::new();
        let w = regs.update(a, 0, |x| x.write(1));
        let w2 = regs.update(a, 0, |x| x.write(2));
        // Version byte, context (one replica: 16 bytes of id, one gap-encoded range), store.
        assert_eq!(encoded_len(&inc), 1 + 20 + 7, "key, one dot, two totals");
        assert_eq!(encoded_len(&rm), 1 + 20 + 1, "context only: no key, no value");
        assert_eq!(encoded_len(&w), 1 + 20 + 6, "key, one dot, the value");
        assert_eq!(encoded_len(&w2), 1 + 20 + 6, "the overwritten dot costs nothing: same range");
        assert_eq!(to_bytes(&w2).len(), encoded_len(&w2));
    }
}

// ------------------------------------------------------------------------------------------
// The exported `Arbitrary` impls produce valid values, and the laws hold on them.

#[cfg(feature = "quickcheck")]
mod arbitrary {
    use convergent::{CausalCounter, Lattice, MvRegister, causal::CheckInvariants};
    use quickcheck::{QuickCheck, TestResult};

    fn laws<L: Lattice + Clone + PartialEq + CheckInvariants>(a: L, b: L, c: L) -> TestResult {
        let ok = a.check_invariants().is_ok()
            && a.clone().joined(b.clone()) == b.clone().joined(a.clone())
            && a.clone().joined(b.clone()).joined(c.clone()) == a.clone().joined(b.joined(c))
            && a.clone().joined(a.clone()) == a;
        TestResult::from_bool(ok)
    }

    #[test]
    fn arbitrary_registers_and_counters_obey_the_laws() {
        QuickCheck::new().tests(1000).quickcheck(laws::<MvRegister<u8>> as fn(_, _, _) -> TestResult);
        QuickCheck::new().tests(1000).quickcheck(laws::<CausalCounter> as fn(_, _, _) -> TestResult);
    }
}
