//! The lattice laws, applied to every type of the crate on realistic multi-replica histories.
//!
//! Each `laws!` line gives a type one test per law (`cargo test --test laws <type>::`), each law
//! checked on 1 000 generated histories (`CONVERGENT_CASES` raises it for soak runs). The laws
//! themselves are written once, in the test kit (`testkit::laws`); the instances in
//! `testkit::subjects`. Counterexamples found are kept below as `regression_*` tests.

#[allow(unused_imports)]
use convergent::{
    CausalContext, CausalCounter, EwFlag, GCounter, LwwRegister, MvRegister, OrMap, OrSet, PnCounter,
    causal::VersionVector,
};
use testkit::{check, laws};

/// `laws!(module, Type)` checks the lattice laws (and, under the `serde` feature, the encoding);
/// `laws!(module, Type, decompose)` also the join-decomposition and optimal-delta laws.
macro_rules! laws {
    ($m:ident, $t:ty $(, $extra:ident)*) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn commutative() { check(laws::commutative::<$t>) }
            #[test]
            fn associative() { check(laws::associative::<$t>) }
            #[test]
            fn idempotent() { check(laws::idempotent::<$t>) }
            #[test]
            fn bottom_identity() { check(laws::bottom_identity::<$t>) }
            #[test]
            fn order() { check(laws::order::<$t>) }
            #[test]
            fn join_reports_change() { check(laws::join_reports_change::<$t>) }
            #[test]
            fn mutator_delta() { check(laws::mutator_delta::<$t>) }
            #[test]
            fn delta_groups() { check(laws::delta_groups::<$t>) }
            #[test]
            fn specification() { check(laws::specification::<$t>) }
            #[cfg(feature = "serde")]
            #[test]
            fn serde_round_trip() { check(laws::serde_round_trip::<$t>) }
            $( laws!(@$extra $t); )*
        }
    };
    (@decompose $t:ty) => {
        #[test]
        fn decomposition() { check(laws::decomposition::<$t>) }
        #[test]
        fn optimal_delta() { check(laws::optimal_delta::<$t>) }
    };
}

laws!(causal_context, CausalContext);
laws!(version_vector, VersionVector);
laws!(g_counter, GCounter, decompose);
laws!(pn_counter, PnCounter, decompose);
laws!(lww_register, LwwRegister<u8>, decompose);
laws!(ew_flag, EwFlag, decompose);
laws!(or_set, OrSet<u8>, decompose);
laws!(mv_register, MvRegister<u8>, decompose);
laws!(causal_counter, CausalCounter, decompose);
laws!(map_of_flags, OrMap<u8, EwFlag>, decompose);
laws!(map_of_sets, OrMap<u8, OrSet<u8>>, decompose);
laws!(map_of_mv_registers, OrMap<u8, MvRegister<u8>>, decompose);
laws!(map_of_causal_counters, OrMap<u8, CausalCounter>, decompose);
laws!(map_of_g_counters, OrMap<u8, GCounter>, decompose);
laws!(map_of_pn_counters, OrMap<u8, PnCounter>, decompose);
laws!(map_of_lww_registers, OrMap<u8, LwwRegister<u8>>, decompose);
laws!(map_of_maps_of_sets, OrMap<u8, OrMap<u8, OrSet<u8>>>, decompose);
laws!(map_of_maps_of_mv_registers, OrMap<u8, OrMap<u8, MvRegister<u8>>>, decompose);
laws!(map_of_maps_of_counters, OrMap<u8, OrMap<u8, PnCounter>>, decompose);
laws!(map3_of_flags, OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>, decompose);
// Composites: a tuple, and a `#[derive(Lattice)]` struct (two causal fields, one a map).
laws!(tuple_of_set_and_counter, (OrSet<u8>, PnCounter), decompose);
laws!(tuple_of_flag_and_map, (EwFlag, OrMap<u8, MvRegister<u8>>), decompose);
#[cfg(feature = "derive")]
laws!(derived_struct, derived::Doc, decompose);

/// A struct with `#[derive(Lattice)]`, as a subject: each operation is one of a field's, made
/// through the field's generated mutator; the specification is each field's on its projection.
#[cfg(feature = "derive")]
mod derived {
    use convergent::{Lattice, OrMap, OrSet, PnCounter, ReplicaId};
    use testkit::composite::{Part2, project};
    use testkit::{Event, OpCx, Ops, Rng, Subject};

    #[derive(Clone, Debug, PartialEq, Lattice)]
    pub(crate) struct Doc {
        tags: OrSet<u8>,
        items: OrMap<u8, PnCounter>,
    }

    type Parts = (OrSet<u8>, OrMap<u8, PnCounter>);

    impl Subject for Doc {
        type Op = <Parts as Subject>::Op;
        type Read = <Parts as Subject>::Read;

        fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, s: &Self) -> Self::Op {
            if rng.chance(50) {
                Part2::First(OrSet::gen_op(rng, cx, &s.tags))
            } else {
                Part2::Second(OrMap::gen_op(rng, cx, &s.items))
            }
        }

        fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self {
            match op {
                Part2::First(o) => self.update_tags(|t| t.apply(replica, o)),
                Part2::Second(o) => self.update_items(|m| m.apply(replica, o)),
            }
        }

        fn read(&self) -> Self::Read {
            (self.tags.read(), self.items.read())
        }

        fn check(&self) -> Result<(), String> {
            self.tags.check()?;
            self.items.check()?;
            convergent::causal::CheckInvariants::check_invariants(self).map_err(String::from)
        }

        fn spec(events: &[Event<Self>], visible: Ops) -> Option<Self::Read> {
            let (et, vt) = project::<Self, OrSet<u8>>(events, visible, |op| match op {
                Part2::First(o) => Some(o.clone()),
                Part2::Second(_) => None,
            });
            let (ei, vi) = project::<Self, OrMap<u8, PnCounter>>(events, visible, |op| match op {
                Part2::First(_) => None,
                Part2::Second(o) => Some(o.clone()),
            });
            Some((OrSet::spec(&et, vt)?, OrMap::spec(&ei, vi)?))
        }
    }
}

/// The harness itself: its histories are realistic (concurrency, conflicts, gaps, removes,
/// out-of-order delivery happen often), and its laws fail on broken lattices.
mod harness {
    use std::collections::BTreeSet;

    use convergent::{Dot, Lattice, ReplicaId};
    use quickcheck::{Arbitrary, Gen};

    use testkit::{OpCx, Rng, Script, Subject, laws};

    fn scripts(n: usize) -> Vec<Script> {
        let mut g = Gen::new(testkit::MAX_STEPS);
        (0..n).map(|_| Script::arbitrary(&mut g)).collect()
    }

    #[test]
    fn histories_are_realistic() {
        let n = 1000;
        let (mut concurrent, mut conflicts, mut gaps, mut removes, mut long, mut replicas5) =
            (0, 0, 0, 0, 0, 0);
        let (mut views, mut causal_views) = (0, 0);
        for s in scripts(n) {
            let h = testkit::run_checked::<convergent::EwFlag>(&s).expect("EwFlag history");
            let rs = &h.replicas;
            if rs.iter().any(|a| rs.iter().any(|b| !a.leq(b) && !b.leq(a))) {
                concurrent += 1;
            }
            if rs.iter().chain(&h.snapshots).any(|x| x.as_causal().store().dot_count() >= 2) {
                conflicts += 1;
            }
            if rs
                .iter()
                .chain(&h.snapshots)
                .chain(&h.groups)
                .any(|x| x.context().range_count() > x.context().replica_count())
            {
                gaps += 1;
            }
            if h.ops.iter().any(|o| o.delta.as_causal().store().is_empty() && !o.delta.is_bottom()) {
                removes += 1;
            }
            if s.steps.len() >= 20 {
                long += 1;
            }
            if s.n() == 5 {
                replicas5 += 1;
            }
            views += h.trace.len();
            causal_views += h.trace.iter().filter(|t| testkit::causally_consistent(&h.events, t.1)).count();
        }
        let report = format!(
            "of {n} histories: {concurrent} end with concurrent replicas, {conflicts} hold concurrent enables, \
             {gaps} have contexts with gaps, {removes} have removes, {long} have 20+ steps, {replicas5} have 5 replicas; \
             {causal_views} of {views} replica views are causally consistent (checked against the spec)"
        );
        eprintln!("{report}");
        assert!(concurrent > n / 3, "{report}");
        assert!(conflicts > n / 5, "{report}");
        assert!(gaps > n / 20, "{report}");
        assert!(removes > n / 3, "{report}");
        assert!(long > n / 3, "{report}");
        assert!(replicas5 > n / 8, "{report}");
        assert!(causal_views > views / 3, "{report}");
    }

    /// A replica's count, merged by max per replica, whose delta is the WRONG "+1" (not the new
    /// absolute value): the mutator law must catch it.
    #[derive(Clone, Debug, PartialEq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    struct RelativeDelta(Vec<(u8, u64)>);

    #[cfg(feature = "serde")]
    impl convergent::wire::Decode for RelativeDelta {}

    impl Lattice for RelativeDelta {
        fn bottom() -> Self {
            Self::default()
        }
        fn is_bottom(&self) -> bool {
            self.0.is_empty()
        }
        fn join_ref(&mut self, other: &Self) -> bool {
            let mut changed = false;
            for &(r, n) in &other.0 {
                match self.0.iter_mut().find(|(x, _)| *x == r) {
                    Some(e) if e.1 >= n => {}
                    Some(e) => {
                        e.1 = n;
                        changed = true;
                    }
                    None => {
                        self.0.push((r, n));
                        self.0.sort();
                        changed = true;
                    }
                }
            }
            changed
        }
    }

    impl Subject for RelativeDelta {
        type Op = ();
        type Read = u64;
        fn gen_op(_: &mut Rng, _: &OpCx<'_>, _: &Self) {}
        fn apply(&mut self, replica: ReplicaId, _: &()) -> Self {
            let r = replica.to_bytes()[15];
            let d = RelativeDelta(vec![(r, 1)]);
            let cur = self.0.iter().find(|(x, _)| *x == r).map_or(0, |e| e.1);
            self.join_ref(&RelativeDelta(vec![(r, cur + 1)]));
            d
        }
        fn read(&self) -> u64 {
            self.0.iter().map(|e| e.1).sum()
        }
    }

    #[test]
    #[should_panic(expected = "m(X) == X ⊔ mδ(X)")]
    fn mutator_law_catches_relative_deltas() {
        testkit::check(laws::mutator_delta::<RelativeDelta>);
    }

    /// "Last received wins": not commutative.
    #[derive(Clone, Debug, PartialEq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    struct LastReceived(Option<u8>);

    #[cfg(feature = "serde")]
    impl convergent::wire::Decode for LastReceived {}

    impl Lattice for LastReceived {
        fn bottom() -> Self {
            Self::default()
        }
        fn is_bottom(&self) -> bool {
            self.0.is_none()
        }
        fn join_ref(&mut self, other: &Self) -> bool {
            if other.0.is_some() && other.0 != self.0 {
                self.0 = other.0;
                return true;
            }
            false
        }
    }

    impl Subject for LastReceived {
        type Op = u8;
        type Read = Option<u8>;
        fn gen_op(rng: &mut Rng, _: &OpCx<'_>, _: &Self) -> u8 {
            rng.range(0, 2) as u8
        }
        fn apply(&mut self, _: ReplicaId, op: &u8) -> Self {
            self.0 = Some(*op);
            self.clone()
        }
        fn read(&self) -> Option<u8> {
            self.0
        }
    }

    #[test]
    #[should_panic(expected = "a ⊔ b == b ⊔ a")]
    fn commutativity_law_catches_last_received_wins() {
        testkit::check(laws::commutative::<LastReceived>);
    }

    /// An enable-wins flag whose disable forgets to ship what it removed (its delta is ⊥): the
    /// dot-level observed-remove law must catch it.
    #[derive(Clone, Debug, PartialEq, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    struct LostRemove(convergent::EwFlag);

    #[cfg(feature = "serde")]
    impl convergent::wire::Decode for LostRemove {}

    impl Lattice for LostRemove {
        fn bottom() -> Self {
            Self::default()
        }
        fn is_bottom(&self) -> bool {
            self.0.is_bottom()
        }
        fn join_ref(&mut self, other: &Self) -> bool {
            self.0.join_ref(&other.0)
        }
    }

    impl Subject for LostRemove {
        type Op = bool;
        type Read = bool;
        fn gen_op(rng: &mut Rng, _: &OpCx<'_>, _: &Self) -> bool {
            rng.chance(60)
        }
        fn apply(&mut self, replica: ReplicaId, enable: &bool) -> Self {
            if *enable {
                LostRemove(self.0.enable(replica))
            } else {
                let _ = self.0.disable(replica);
                LostRemove::default()
            }
        }
        fn read(&self) -> bool {
            self.0.is_enabled()
        }
        fn dots(&self) -> Option<(BTreeSet<Dot>, BTreeSet<Dot>)> {
            self.0.dots()
        }
    }

    #[test]
    #[should_panic(expected = "the observed-remove specification says")]
    fn observed_remove_law_catches_a_lost_remove() {
        testkit::check(laws::observed_remove::<LostRemove>);
    }
}

/// Strict observed reset for counters (issue 3: "a concurrent update to that key survives,
/// holding only the concurrent part; nothing the remover saw ever comes back, not a counter's old
/// count"). FAILS: `CausalCounter` documents one limitation (src/ccounter.rs): an increment
/// concurrent with a reset, by a replica whose count the reset saw, brings that replica's observed
/// count back. Minimal history: `r1 +3; r0 <- r1; r0 reset; r1 +3 (concurrently); merge` reads 6,
/// strict says 3. The `specification` tests check the documented semantics instead.
#[test]
#[ignore = "documented limitation of CausalCounter: concurrent increment by an observed replica restores its count"]
fn counter_strict_observed_reset() {
    testkit::subjects::STRICT_COUNTER_SPEC.with(|s| s.set(true));
    check(laws::specification::<CausalCounter>);
}

/// The minimal history of `counter_strict_observed_reset`, spelled out with the API.
#[test]
#[ignore = "documented limitation of CausalCounter: concurrent increment by an observed replica restores its count"]
fn counter_strict_reset_concurrent_increment_by_observed_replica() {
    use convergent::{Lattice, ReplicaId};
    let (r0, r1) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut a = CausalCounter::new();
    let _ = a.increment(r1, 3);
    let mut b = a.clone();
    let _ = b.reset(r0);
    let _ = a.increment(r1, 3);
    let merged = a.joined(b);
    assert_eq!(merged.value(), 3, "the reset saw r1's first 3; only the concurrent 3 may remain");
}

// ---------------------------------------------------------------------------------------------
// Regressions: every counterexample the laws found, kept by name.
// ---------------------------------------------------------------------------------------------

/// Found by `serde_round_trip` (trailing-byte check): `wire::from_bytes` decoded a value and
/// ignored any bytes after it, so many byte strings decoded to one value. Fixed in `src/wire.rs`
/// (`take_from_bytes` + reject the rest).
#[cfg(feature = "serde")]
#[test]
fn regression_wire_rejects_trailing_bytes() {
    use convergent::{Error, ReplicaId, wire};
    let mut f = EwFlag::new();
    let _ = f.enable(ReplicaId::from_u128(3));
    let mut bytes = wire::to_bytes(&f);
    assert_eq!(wire::from_bytes::<EwFlag>(&bytes), Ok(f));
    bytes.push(0);
    assert_eq!(wire::from_bytes::<EwFlag>(&bytes), Err(Error::Malformed { field: "bytes.trailing" }));
}

/// Found by the fuzzer on main (now also checked by `serde_round_trip`: accepted bytes re-encode to
/// themselves): an over-long varint (`0x81 0x00` for 1) was accepted, giving one value several encodings.
#[cfg(feature = "serde")]
#[test]
fn regression_wire_rejects_overlong_varint() {
    use convergent::{ReplicaId, wire};
    let v: VersionVector = std::iter::once((ReplicaId::from_u128(3), 1u64)).collect();
    let bytes = wire::to_bytes(&v);
    assert_eq!(bytes.last(), Some(&1));
    let mut overlong = bytes[..bytes.len() - 1].to_vec();
    overlong.extend([0x81, 0x00]);
    assert!(wire::from_bytes::<VersionVector>(&overlong).is_err(), "overlong varint accepted");
}

/// Found by `g_counter::serde_round_trip` (minimal history: one increment by `u64::MAX / 3`):
/// a G-Counter whose count exceeded `Limits::max_counter` (2^53) encoded but did not decode, so a
/// replica holding it could never be synced again. Fixed by saturating counts at `MAX_COUNT`
/// (= the default `max_counter`): every state a replica can produce is one its peers accept,
/// while entries above it from a hostile peer are still refused.
#[cfg(feature = "serde")]
#[test]
fn regression_g_counter_large_count_round_trips() {
    use convergent::{ReplicaId, counter::MAX_COUNT, wire};
    let r = ReplicaId::from_u128(1);
    for n in [(1u64 << 53) + 1, u64::MAX / 3, u64::MAX] {
        let mut c = GCounter::new();
        let d = c.increment(r, n);
        assert_eq!(c.value(), MAX_COUNT.min(n));
        assert_eq!(wire::from_bytes::<GCounter>(&wire::to_bytes(&d)), Ok(d), "delta of +{n}");
        assert_eq!(wire::from_bytes::<GCounter>(&wire::to_bytes(&c)), Ok(c), "state of {n}");
    }
}

/// As `regression_g_counter_large_count_round_trips`, for a PN-Counter (found by
/// `pn_counter::serde_round_trip`).
#[cfg(feature = "serde")]
#[test]
fn regression_pn_counter_large_count_round_trips() {
    use convergent::{ReplicaId, counter::MAX_COUNT, wire};
    let r = ReplicaId::from_u128(1);
    let mut c = PnCounter::new();
    let _ = c.decrement(r, u64::MAX);
    assert_eq!(c.value(), -(MAX_COUNT as i64));
    assert_eq!(wire::from_bytes::<PnCounter>(&wire::to_bytes(&c)), Ok(c.clone()));
    let d = c.increment(r, u64::MAX / 3);
    assert_eq!(wire::from_bytes::<PnCounter>(&wire::to_bytes(&d)), Ok(d));
}
