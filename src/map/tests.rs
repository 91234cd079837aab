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
    let (d, ()) = m.update(r(1), 0, |h| {
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

/// The two ways a join learns what changed under each key (the few-keys path compares the key's
/// dots before and after; the general path records them in a log) on the same multi-replica
/// histories: every delivery of a delta, in any order and repeated, and every state merge, done
/// both ways gives equal replicas with exact indexes. Nested maps (whose own joins pick their
/// path) and values above the on-stack snapshot's size (an OR-Set of up to 24 elements under a
/// key) included.
mod few_keys_join_matches_the_general_join {
    use super::*;
    use crate::causal::{CausalContext, DotLog, Nested};
    use crate::{OrSet, map::MapStore};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Joins `d` into `x` by the chosen path.
    fn join_by<K: core::hash::Hash + Eq + Clone, V: Nested>(x: &mut OrMap<K, V>, d: &OrMap<K, V>, few: bool) {
        let (store, ctx): (&mut MapStore<K, V::Store>, &mut CausalContext) =
            (&mut x.inner.store, &mut x.inner.context);
        let mut log = DotLog::disabled();
        let _ = if few {
            store.join_keys::<true>(ctx, &d.inner.store, &d.inner.context, &mut log)
        } else {
            store.join_keys::<false>(ctx, &d.inner.store, &d.inner.context, &mut log)
        };
        let _ = ctx.join_ref(&d.inner.context);
    }

    /// `steps` random operations by 3 replicas; each delta is delivered to a random replica
    /// (or kept for later, delivered out of order and more than once), and now and then a
    /// replica merges another's state. Each replica is kept twice, joined by each path.
    /// Returns the most dots seen under one key.
    fn run<V: Nested>(
        seed: u64,
        steps: usize,
        mut op: impl FnMut(&mut SmallRng, &mut OrMap<u8, V>, ReplicaId) -> OrMap<u8, V>,
    ) -> usize
    where
        OrMap<u8, V>: Clone + PartialEq + core::fmt::Debug + CheckInvariants,
    {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut fast: Vec<OrMap<u8, V>> = (0..3).map(|_| OrMap::new()).collect();
        let mut general = fast.clone();
        let mut sent: Vec<OrMap<u8, V>> = Vec::new();
        let (mut diffs, mut most) = (0, 0);
        for _ in 0..steps {
            let i = rng.gen_range(0..3);
            match rng.gen_range(0..4) {
                0 | 1 => {
                    let d = op(&mut rng, &mut fast[i], r(i as u128 + 1));
                    join_by(&mut general[i], &d, false);
                    sent.push(d);
                }
                2 if !sent.is_empty() => {
                    let d = sent[rng.gen_range(0..sent.len())].clone();
                    join_by(&mut fast[i], &d, true);
                    join_by(&mut general[i], &d, false);
                }
                _ => {
                    let j = rng.gen_range(0..3);
                    let (sf, sg) = (fast[j].clone(), general[j].clone());
                    assert_eq!(sf, sg);
                    join_by(&mut fast[i], &sf, true);
                    join_by(&mut general[i], &sg, false);
                }
            }
            assert_eq!(fast[i], general[i], "seed {seed}");
            assert_eq!(fast[i].as_causal().context(), general[i].as_causal().context());
            assert_eq!(fast[i].check_invariants(), Ok(()), "seed {seed}");
            assert_eq!(general[i].check_invariants(), Ok(()), "seed {seed}");
            diffs += usize::from(fast[i].len() != fast[(i + 1) % 3].len());
            most = fast[i].values().map(DotStore::dot_count).max().unwrap_or(0).max(most);
        }
        // The histories diverge (concurrent updates and removes meet).
        assert!(diffs > 0);
        most
    }

    #[test]
    fn maps_of_mv_registers() {
        for seed in 0..40 {
            run::<MvRegister<u8>>(seed, 300, |g, m, me| match g.gen_range(0..5) {
                0 => m.remove(me, &g.gen_range(0..6)),
                1 if g.gen_range(0..10) == 0 => m.clear(me),
                _ => {
                    let (k, v) = (g.gen_range(0..6), g.r#gen());
                    m.update(me, k, |x| x.write(v)).0
                }
            });
        }
    }

    #[test]
    fn maps_of_sets_with_large_values() {
        let mut most = 0;
        for seed in 0..30 {
            most = most.max(run::<OrSet<u8>>(seed, 300, |g, m, me| {
                let (k, x) = (g.gen_range(0..3), g.gen_range(0..24));
                match g.gen_range(0..6) {
                    0 => m.remove(me, &k),
                    1 => m.update(me, k, |s| s.remove(&x)).0,
                    2 => {
                        m.mutate(me, |h| {
                            (0..3).for_each(|k| {
                                h.update(k, |s| s.insert(x));
                            })
                        })
                        .0
                    }
                    _ => m.update(me, k, |s| s.insert(x)).0,
                }
            }));
        }
        // Some key held more dots than the join compares on the stack (its log path ran).
        assert!(most > 16, "{most}");
    }

    #[test]
    fn nested_maps() {
        for seed in 0..30 {
            run::<OrMap<u8, MvRegister<u8>>>(seed, 300, |g, m, me| {
                let (k, j, v) = (g.gen_range(0..3), g.gen_range(0..4), g.r#gen());
                match g.gen_range(0..5) {
                    0 => m.remove(me, &k),
                    1 => m.update(me, k, |inner| inner.remove(&j)).0,
                    _ => m.update(me, k, |inner| inner.update(j, |x| x.write(v))).0,
                }
            });
        }
    }
}

/// A state merge of maps of many keys (the join looks the other side's keys up in batches, see
/// `MapStore::join_keys`; every batch size and remainder occurs here) equals the delivery, one
/// by one, of every delta the other replica has seen (each a join of one key, or of the keys a
/// clear removed). Keys live on the heap; three replicas update, remove and clear
/// concurrently, deliver deltas late and merge states now and then.
#[test]
fn many_key_state_merges_match_the_delivery_of_every_delta() {
    use alloc::collections::BTreeSet;
    use alloc::string::String;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    type M = OrMap<String, MvRegister<u8>>;
    let key = |k: u32| alloc::format!("key-{k:04}");
    let mut merged_keys = 0;
    for seed in 0..10 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut maps: Vec<M> = (0..3).map(|_| M::new()).collect();
        // Every delta minted, and which of them each replica has joined (its own and those
        // delivered to it, directly or through a state): its state is the join of these.
        let mut deltas: Vec<M> = Vec::new();
        let mut seen: Vec<BTreeSet<usize>> = alloc::vec![BTreeSet::new(); 3];
        for _ in 0..500 {
            let i = rng.gen_range(0..3);
            let me = r(i as u128 + 1);
            let d = match rng.gen_range(0..20) {
                0..=11 => {
                    let (k, v) = (key(rng.gen_range(0..150)), rng.r#gen());
                    maps[i].update(me, k, |x| x.write(v)).0
                }
                12..=14 => maps[i].remove(me, &key(rng.gen_range(0..150))),
                15 if rng.gen_range(0..8) == 0 => maps[i].clear(me),
                15..=17 => {
                    // A late delta, minted anywhere.
                    if !deltas.is_empty() {
                        let n = rng.gen_range(0..deltas.len());
                        let _ = maps[i].join_ref(&deltas[n]);
                        seen[i].insert(n);
                    }
                    continue;
                }
                _ => {
                    let j = rng.gen_range(0..3);
                    let mut by_deltas = maps[i].clone();
                    for &n in &seen[j] {
                        let _ = by_deltas.join_ref(&deltas[n]);
                    }
                    let state = maps[j].clone();
                    merged_keys = merged_keys.max(state.len());
                    let _ = maps[i].join_ref(&state);
                    assert_eq!(maps[i], by_deltas, "seed {seed}");
                    assert_eq!(maps[i].as_causal().context(), by_deltas.as_causal().context(), "seed {seed}");
                    assert_eq!(maps[i].check_invariants(), Ok(()), "seed {seed}");
                    let theirs = seen[j].clone();
                    seen[i].extend(theirs);
                    continue;
                }
            };
            seen[i].insert(deltas.len());
            deltas.push(d);
        }
    }
    // States of many batches were merged.
    assert!(merged_keys > 60, "{merged_keys}");
}
