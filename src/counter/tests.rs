use alloc::format;
use alloc::vec;

use alloc::vec::Vec;

use super::*;
use crate::causal::ReplicaId;
use crate::lattice::{Decompose, Lattice};

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

fn gc(entries: &[(u128, u64)]) -> GCounter {
    entries.iter().map(|&(i, n)| (r(i), n)).collect()
}

/// Applies `ops` (replica, amount) to `state` one by one, checking the delta law at every
/// step, and returns the deltas.
fn run_g(state: &mut GCounter, ops: &[(u128, u64)]) -> Vec<GCounter> {
    ops.iter()
        .map(|&(i, n)| {
            let before = state.clone();
            let d = state.increment(r(i), n);
            assert_eq!(before.clone().joined(d.clone()), *state, "m(X) == X ⊔ mδ(X)");
            assert!(d.len() <= 1, "one-entry delta");
            assert_eq!(d, state.delta(&before), "the delta is the optimal one");
            d
        })
        .collect()
}

#[test]
fn canonical_and_structurally_equal() {
    let a = gc(&[(2, 3), (1, 1), (3, 0)]);
    let mut b = GCounter::new();
    let _ = b.increment(r(2), 3);
    let _ = b.increment(r(1), 1);
    let _ = b.increment(r(3), 0);
    assert_eq!(a, b);
    assert_eq!(a.iter().collect::<Vec<_>>(), vec![(r(1), 1), (r(2), 3)]);
    assert_eq!(format!("{a:?}"), "GCounter(4) {r1: 1, r2: 3}");
}

#[test]
fn delta_is_absolute_and_idempotent() {
    let mut c = GCounter::new();
    let deltas = run_g(&mut c, &[(1, 2), (1, 3), (2, 1), (1, 0)]);
    assert_eq!(deltas[1], gc(&[(1, 5)]));
    assert!(deltas[3].is_bottom(), "increment by 0 sends nothing");
    // Duplicated, reordered delivery ends in the same place.
    let mut rx = GCounter::new();
    for d in deltas.iter().rev().chain(deltas.iter()) {
        rx.join_ref(d);
    }
    assert_eq!(rx, c);
    assert_eq!(crate::Lattice::join_all(deltas), c);
}

#[test]
fn delta_law_on_interleaved_history() {
    // Three replicas increment, exchange states and deltas at various points.
    let (mut a, mut b, mut x) = (GCounter::new(), GCounter::new(), GCounter::new());
    let da = run_g(&mut a, &[(1, 1), (1, 4)]);
    b.join(da[0].clone());
    let db = run_g(&mut b, &[(2, 7), (2, 1)]);
    x.join_ref(&b);
    let dc = run_g(&mut x, &[(3, 2), (3, 2)]);
    a.join_ref(&x);
    let da2 = run_g(&mut a, &[(1, 1)]);
    let all = [da, db, dc, da2].concat();
    let mut full = a.clone();
    full.join_ref(&b);
    full.join_ref(&x);
    assert_eq!(crate::Lattice::join_all(all), full);
    assert_eq!(full.value(), 6 + 8 + 4);
}

#[test]
fn join_reports_changes_exactly_on_both_paths() {
    let big = gc(&[(1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (6, 5)]);
    // Linear-merge path (other has more than SMALL_JOIN entries).
    let mut x = gc(&[(2, 5), (4, 9)]);
    assert!(x.join_ref(&big));
    assert!(!x.join_ref(&big));
    assert_eq!(x, gc(&[(1, 5), (2, 5), (3, 5), (4, 9), (5, 5), (6, 5)]));
    let mut y = x.clone();
    assert!(!y.join_ref(&big), "merge path: nothing new");
    assert_eq!(y, x);
    // Entry-by-entry path.
    assert!(!x.join_ref(&gc(&[(4, 9)])));
    assert!(x.join_ref(&gc(&[(4, 10)])));
    assert!(x.join_ref(&gc(&[(7, 1)])));
    assert!(!x.join(GCounter::new()));
    let mut e = GCounter::new();
    assert!(e.join(big.clone()));
    assert!(!e.join(big.clone()));
    assert!(!GCounter::new().join(GCounter::new()));
    // Both paths agree with each other on a larger case.
    let wide: GCounter = (0..40).map(|i| (r(i), i as u64 % 7)).collect();
    let other: GCounter = (20..60).map(|i| (r(i), i as u64 % 5)).collect();
    let mut m = wide.clone();
    m.join_ref(&other);
    let mut s = wide.clone();
    for e in other.iter() {
        s.join_ref(&GCounter::from_iter([e]));
    }
    assert_eq!(m, s);
}

#[test]
fn leq_matches_join() {
    let cases = [
        gc(&[]),
        gc(&[(1, 1)]),
        gc(&[(1, 2)]),
        gc(&[(2, 1)]),
        gc(&[(1, 1), (2, 1)]),
        gc(&[(1, 2), (3, 4)]),
        gc(&[(1, 2), (2, 1), (3, 4)]),
    ];
    for a in &cases {
        for b in &cases {
            let joined = a.clone().joined(b.clone());
            assert_eq!(a.leq(b), joined == *b, "{a:?} <= {b:?}");
        }
    }
}

#[test]
fn decompose_and_optimal_delta() {
    let a = gc(&[(1, 3), (2, 5), (4, 1)]);
    let b = gc(&[(1, 3), (2, 7), (3, 9)]);
    let parts = a.decompose();
    assert_eq!(parts.len(), a.irreducible_count());
    assert_eq!(crate::Lattice::join_all(parts.clone()), a);
    assert!(parts.iter().all(|p| p.len() == 1));
    let d = a.delta(&b);
    assert_eq!(d, gc(&[(4, 1)]));
    assert_eq!(d.clone().joined(b.clone()), a.clone().joined(b.clone()));
    assert!(a.delta(&a).is_bottom());
    assert_eq!(a.delta(&GCounter::new()), a);
}

#[test]
fn overflow_saturates_at_max_count_and_u64_max() {
    use crate::counter::MAX_COUNT;
    let mut c = GCounter::new();
    let d1 = c.increment(r(1), MAX_COUNT - 1);
    let d2 = c.increment(r(1), u64::MAX);
    assert_eq!(d1.get(r(1)), MAX_COUNT - 1);
    assert_eq!(d2.get(r(1)), MAX_COUNT, "saturates, does not wrap");
    assert!(c.increment(r(1), 1).is_bottom(), "saturated: nothing changes");
    assert_eq!(c.get(r(1)), MAX_COUNT);
    // The value saturates at u64::MAX: 2048 saturated entries sum to exactly 2^64.
    for i in 2..=2048 {
        let _ = c.increment(r(i), u64::MAX);
    }
    assert_eq!(c.value_u128(), 1u128 << 64);
    assert_eq!(c.value(), u64::MAX, "value saturates");
    // Joins of saturated entries stay the pointwise maximum.
    let mut other = gc(&[(1, 3), (2, MAX_COUNT)]);
    assert!(other.join_ref(&c));
    assert_eq!(other, c);
}

#[test]
fn pn_counter_basics_and_deltas() {
    let mut c = PnCounter::new();
    let before = c.clone();
    let d1 = c.increment(r(1), 5);
    let d2 = c.decrement(r(1), 2);
    let d3 = c.decrement(r(2), 10);
    for d in [&d1, &d2, &d3] {
        assert_eq!(d.irreducible_count(), 1, "one-entry delta: {d:?}");
    }
    assert!(c.increment(r(1), 0).is_bottom());
    assert_eq!(c.value(), -7);
    assert_eq!(before.joined(d1.clone().joined(d2.clone()).joined(d3.clone())), c);
    assert_eq!(format!("{c:?}"), "PnCounter(-7) { p: {r1: 5}, n: {r1: 2, r2: 10} }");
    // Delta law on each step of another history, and optimal deltas.
    let mut x = PnCounter::new();
    x.join_ref(&d3);
    for (i, inc, n) in [(3, true, 4), (3, false, 1), (2, true, 2)] {
        let old = x.clone();
        let d = if inc { x.increment(r(i), n) } else { x.decrement(r(i), n) };
        assert_eq!(old.clone().joined(d.clone()), x);
        assert_eq!(x.delta(&old), d);
    }
    let parts = c.decompose();
    assert_eq!(parts.len(), 3);
    assert_eq!(crate::Lattice::join_all(parts), c);
    assert!(c.leq(&c.clone().joined(x.clone())));
    assert!(!c.leq(&x));
}

#[test]
fn pn_counter_overflow_saturates_at_i64_bounds() {
    use crate::counter::MAX_COUNT;
    // 1024 saturated decrements are exactly -2^63 = i64::MIN; one more is below it.
    let mut c = PnCounter::new();
    for i in 1..=1024 {
        let _ = c.decrement(r(i), u64::MAX);
    }
    assert_eq!(c.value(), i64::MIN);
    assert_eq!(c.value_i128(), i128::from(i64::MIN));
    let _ = c.decrement(r(1025), 1);
    assert_eq!((c.value(), c.value_i128()), (i64::MIN, i128::from(i64::MIN) - 1));
    // And the other way: 1024 saturated increments are 2^63 = i64::MAX + 1.
    let mut f = PnCounter::new();
    for i in 1..=1024 {
        let _ = f.increment(r(i), MAX_COUNT);
    }
    assert_eq!((f.value(), f.value_i128()), (i64::MAX, i128::from(i64::MAX) + 1));
    let d = f.decrement(r(1), 1);
    assert_eq!(d.decrements().get(r(1)), 1);
    assert_eq!(f.value(), i64::MAX);
}

#[cfg(feature = "serde")]
mod wire {
    use alloc::string::ToString;
    use alloc::vec::Vec;

    use super::*;
    use crate::Error;
    use crate::wire::{encoded_len, from_bytes, to_bytes};

    /// The figures reported in the issue's closing note (postcard, format version byte
    /// included; ids are 16 raw bytes, written once).
    #[test]
    fn encoded_sizes() {
        let mut c = GCounter::new();
        let d = c.increment(r(u128::MAX / 3), 1);
        // version 1 + entry count 1 + id 16 + varint count 1.
        assert_eq!(encoded_len(&d), 19);
        let d = c.increment(r(u128::MAX / 5), 1_000);
        assert_eq!(encoded_len(&d), 20, "count 1000 takes a 2-byte varint");
        // 16 replicas, each with 100 increments: 1 + 1 + 16 * (16 + 1).
        let mut s = GCounter::new();
        for i in 0..16 {
            let _ = s.increment(r(u128::MAX / 17 * (i + 1)), 100);
        }
        assert_eq!(encoded_len(&s), 274);
        assert_eq!(to_bytes(&s).len(), 274);
        // PN-Counter: one list, the id once even with both halves.
        let mut p = PnCounter::new();
        let inc = p.increment(r(1), 1);
        assert_eq!(encoded_len(&inc), 20);
        let _ = p.decrement(r(1), 1);
        assert_eq!(encoded_len(&p), 20);
        assert_eq!(encoded_len(&GCounter::new()), 2);
    }

    #[test]
    fn round_trips() {
        let states = [
            gc(&[]),
            gc(&[(1, 1)]),
            gc(&[(1, 3), (2, 1 << 53), (9, 7)]),
            gc(&[(u128::MAX, 4), (1 << 100, 2)]),
        ];
        for s in &states {
            assert_eq!(from_bytes::<GCounter>(&to_bytes(s)).as_ref(), Ok(s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(&serde_json::from_str::<GCounter>(&json).unwrap(), s);
            let pn = PnCounter::from_parts(s.clone(), gc(&[(2, 5), (5, 1)]));
            assert_eq!(from_bytes::<PnCounter>(&to_bytes(&pn)), Ok(pn.clone()));
            let json = serde_json::to_string(&pn).unwrap();
            assert_eq!(serde_json::from_str::<PnCounter>(&json).unwrap(), pn);
        }
        assert_eq!(
            serde_json::to_string(&gc(&[(1, 2)])).unwrap(),
            r#"[["00000000-0000-0000-0000-000000000001",2]]"#
        );
    }

    fn json_err<T: serde::de::DeserializeOwned + core::fmt::Debug>(s: &str) -> alloc::string::String {
        serde_json::from_str::<T>(s).unwrap_err().to_string()
    }

    const ID1: &str = "00000000-0000-0000-0000-000000000001";
    const ID2: &str = "00000000-0000-0000-0000-000000000002";

    #[test]
    fn rejects_bad_input() {
        let canon = Error::NotCanonical { field: "g-counter" }.to_string();
        // Unsorted, duplicated, zero entries.
        assert!(json_err::<GCounter>(&format!(r#"[["{ID2}",1],["{ID1}",1]]"#)).contains(&canon));
        assert!(json_err::<GCounter>(&format!(r#"[["{ID1}",1],["{ID1}",2]]"#)).contains(&canon));
        assert!(json_err::<GCounter>(&format!(r#"[["{ID1}",0]]"#)).contains(&canon));
        // Above the counter limit.
        let too_big = Error::CounterOutOfRange { field: "g-counter", value: u64::MAX, max: 1 << 53 };
        assert!(json_err::<GCounter>(&format!(r#"[["{ID1}",{}]]"#, u64::MAX)).contains(&too_big.to_string()));
        // PN-Counter: an entry with both counts zero, order, limit.
        let canon = Error::NotCanonical { field: "pn-counter" }.to_string();
        assert!(json_err::<PnCounter>(&format!(r#"[["{ID1}",0,0]]"#)).contains(&canon));
        assert!(json_err::<PnCounter>(&format!(r#"[["{ID2}",1,0],["{ID1}",0,1]]"#)).contains(&canon));
        assert!(
            json_err::<PnCounter>(&format!(r#"[["{ID1}",0,{}]]"#, (1u64 << 53) + 1)).contains("pn-counter")
        );
        // Through the binary decoder: the same checks, and truncation.
        let bytes = to_bytes(&gc(&[(1, 1), (2, 1)]));
        let mut swapped = bytes[..2].to_vec();
        swapped.extend_from_slice(&bytes[19..36]);
        swapped.extend_from_slice(&bytes[2..19]);
        assert_eq!(
            from_bytes::<GCounter>(&[&bytes[..2], &bytes[2..19], &bytes[19..36]].concat()),
            Ok(gc(&[(1, 1), (2, 1)]))
        );
        // (A regression: this was `Malformed { field: "value" }`, the typed error lost in serde.)
        assert_eq!(from_bytes::<GCounter>(&swapped), Err(Error::NotCanonical { field: "g-counter" }));
        for cut in 0..bytes.len() {
            assert!(from_bytes::<GCounter>(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut zero = bytes.clone();
        zero[18] = 0;
        assert!(from_bytes::<GCounter>(&zero).is_err());
    }

    #[test]
    fn rejects_too_many_replicas_before_allocating() {
        // A length prefix claiming 2^32 entries, with no entries behind it.
        let bytes = [crate::wire::FORMAT_VERSION, 0x80, 0x80, 0x80, 0x80, 0x10];
        assert!(from_bytes::<GCounter>(&bytes).is_err());
        let limit = Limits::default().max_replicas;
        let ids: Vec<alloc::string::String> = (0..=limit as u128)
            .map(|i| format!(r#"["{}",1]"#, uuid::Uuid::from_u128(i + 1).hyphenated()))
            .collect();
        let msg = json_err::<GCounter>(&format!("[{}]", ids.join(",")));
        assert!(msg.contains("exceeds the limit"), "{msg}");
    }

    use crate::Limits;
}

/// The one-entry join path of a G-Counter (`join_ref` of a delta of one entry: one branchy
/// search on the narrowed slice, raised in place or inserted where the search ended) and the
/// increment that shares the search, against a reference join (both counters' entries collected:
/// the largest count per replica) and the general merge. A history of 40 replicas (ids that
/// differ in both 64-bit halves, so the search compares both) whose increment deltas reach three
/// receivers late, out of order and some twice; every replica sometimes merges another's state.
/// The same counter, the same change report, and `get` of the delta's replica, for stale, new
/// and empty receivers at every search depth.
#[test]
fn one_entry_deltas_join_as_the_general_merge_does() {
    let ids: Vec<ReplicaId> = (1..=40u128)
        .map(|i| ReplicaId::from_u128(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834)))
        .collect();
    let mut reps: Vec<GCounter> = vec![GCounter::new(); ids.len()];
    let mut recv: Vec<GCounter> = vec![GCounter::new(); 3];
    let mut inbox: Vec<Vec<GCounter>> = vec![Vec::new(); 3];
    let mut seed = 7u64;
    let mut next = |m: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % m
    };
    let (mut raised, mut stale, mut inserted) = (0, 0, 0);
    for _ in 0..6_000 {
        let a = next(ids.len());
        let before = reps[a].clone();
        let d = reps[a].increment(ids[a], 1 + next(3) as u64);
        let reference: GCounter = before.iter().chain(d.iter()).collect();
        assert_eq!(reps[a], reference, "increment == reference join of its delta");
        if next(20) == 0 {
            let b = next(ids.len());
            let other = reps[b].clone();
            reps[a].join(other);
        }
        for q in &mut inbox {
            q.push(d.clone());
        }
        let r = next(3);
        while !inbox[r].is_empty() && next(5) < 3 {
            let k = next(inbox[r].len());
            let d = inbox[r].swap_remove(k);
            let [(id, n)] = d.iter().collect::<Vec<_>>()[..] else { panic!("one-entry delta") };
            let mut fast = recv[r].clone();
            let changed = fast.join_ref(&d);
            let reference: GCounter = recv[r].iter().chain(d.iter()).collect();
            assert_eq!(fast, reference, "one-entry path == reference join");
            let mut general = recv[r].clone();
            assert_eq!(general.merge_from(&d.entries), changed, "change reported by the general merge");
            assert_eq!(general, fast, "one-entry path == general merge");
            assert_eq!(changed, fast != recv[r], "change reported");
            assert_eq!(fast.get(id), n.max(recv[r].get(id)));
            match (changed, recv[r].get(id)) {
                (true, 0) => inserted += 1,
                (true, _) => raised += 1,
                (false, _) => stale += 1,
            }
            recv[r] = fast;
        }
    }
    assert!(
        raised > 500 && stale > 500 && inserted > 100,
        "{raised} raised, {stale} stale, {inserted} inserted"
    );
    let all = reps.into_iter().fold(GCounter::new(), Lattice::joined);
    for (q, r) in inbox.into_iter().zip(recv) {
        assert_eq!(q.into_iter().fold(r, Lattice::joined), all);
    }
}
