//! Property tests of the OR-Map and the types nesting needs, on states and deltas built from
//! the test kit's realistic histories: 2 to 5 replicas making local operations with their real
//! contexts over 3 keys, merging each other's states or groups of deltas (out of causal order
//! included) at random points. 1 000 histories per law and type.
//!
//! Checked after EVERY step (here): the observed-remove specification at the level of dots: a
//! replica's live dots are exactly the dots minted by the operations it has received and removed
//! by none of them (so nothing a remove, clear or overwrite saw ever comes back, through any order
//! of merges). The invariants, the lattice laws, delta mutators, decomposition, optimal deltas,
//! the wire round trip and order invariance of delivery are checked for the same types in
//! `tests/laws.rs` and `tests/convergence.rs`. Below: single-replica models, and the wire form.

use std::collections::{BTreeSet, HashMap};

use convergent::causal::{CheckInvariants, DotStore};
use convergent::map::MapStore;
use convergent::{
    CausalCounter, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId,
};
use testkit::{Rng, check, laws};

const CASES: u64 = 1000;

// ------------------------------------------------------------------------------------------
// Histories (the test kit's: 2 to 5 replicas, local operations through the handles users get,
// full-state merges and delta-groups out of causal order). The invariants, `m(X) == X ⊔ mδ(X)`,
// the lattice laws, decomposition, optimal deltas, the wire round trip and convergence are
// checked for these types in `tests/laws.rs` and `tests/convergence.rs`; here the dot-level
// observed-remove specification, after every step of 1 000 histories per type.

macro_rules! observed_remove {
    ($($name:ident: $($t:ty),+;)*) => {
        $(
            #[test]
            fn $name() {
                $( check(laws::observed_remove::<$t>); )+
            }
        )*
    };
}

observed_remove! {
    histories_map_of_map_of_mv_registers: OrMap<u8, OrMap<u8, MvRegister<u8>>>;
    histories_map_of_causal_counters: OrMap<u8, CausalCounter>;
    histories_map_of_flags: OrMap<u8, EwFlag>;
    histories_map_of_gcounters: OrMap<u8, GCounter>;
    histories_map_of_lww_values: OrMap<u8, LwwRegister<u8>>;
    histories_map_of_map_of_flags: OrMap<u8, OrMap<u8, EwFlag>>;
    histories_top_level_types: MvRegister<u8>, CausalCounter, EwFlag;
    histories_nested_sets: OrMap<u8, OrSet<u8>>, OrMap<u8, OrMap<u8, OrSet<u8>>>;
    histories_other_maps: OrMap<u8, PnCounter>, OrMap<u8, OrMap<u8, PnCounter>>, OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>;
}

/// An LWW value inside a map: after any history, however the replicas' states are merged, every
/// replica reads the same winners (the test kit's full-state anti-entropy law).
#[test]
fn lww_reads_agree_whatever_the_merge_order() {
    check(laws::anti_entropy::<OrMap<u8, LwwRegister<u8>>>);
}

// ------------------------------------------------------------------------------------------
// A single replica behaves exactly like a HashMap.

#[test]
fn single_replica_map_of_counters_matches_hashmap() {
    let r = ReplicaId::from_u128(1);
    for seed in 0..CASES {
        let mut rng = Rng::new(seed);
        let mut m: OrMap<u8, CausalCounter> = OrMap::new();
        let mut model: HashMap<u8, i64> = HashMap::new();
        for _ in 0..rng.range(1, 39) {
            let k = rng.range(0, 3) as u8;
            let before = m.clone();
            let d = match rng.range(0, 9) {
                0 => {
                    model.clear();
                    m.clear(r)
                }
                1 | 2 => {
                    model.remove(&k);
                    m.remove(r, &k)
                }
                3 | 4 => {
                    let n = rng.range(1, 4);
                    *model.entry(k).or_default() -= n as i64;
                    m.update(r, k, |c| c.decrement(n)).0
                }
                _ => {
                    let n = rng.range(1, 4);
                    *model.entry(k).or_default() += n as i64;
                    m.update(r, k, |c| c.increment(n)).0
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
        let mut rng = Rng::new(seed ^ 77);
        let mut m: M = OrMap::new();
        let mut model: HashMap<u8, HashMap<u8, u8>> = HashMap::new();
        for _ in 0..rng.range(1, 39) {
            let (k, j, v) = (rng.range(0, 2) as u8, rng.range(0, 2) as u8, rng.range(0, 2) as u8);
            let before = m.clone();
            let d = match rng.range(0, 11) {
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
                    .0
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
                    m.update(r, k, |inner| inner.update(j, |reg| reg.write(v))).0
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
        let mut rng = Rng::new(seed ^ 99);
        let mut m: OrMap<u8, EwFlag> = OrMap::new();
        let mut model: BTreeSet<u8> = BTreeSet::new();
        for _ in 0..rng.range(1, 29) {
            let k = rng.range(0, 3) as u8;
            let before = m.clone();
            let d = match rng.range(0, 5) {
                0 => {
                    model.remove(&k);
                    m.update(r, k, |f| f.disable()).0
                }
                1 => {
                    model.remove(&k);
                    m.remove(r, &k)
                }
                _ => {
                    model.insert(k);
                    m.update(r, k, |f| f.enable()).0
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
    let d = m.update(r, 5, |reg| reg.write(0)).0;
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
    let mut g: OrMap<u8, GCounter> = OrMap::new();
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
    use convergent::causal::CheckInvariants;
    use convergent::{CausalCounter, Lattice, MvRegister};
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
