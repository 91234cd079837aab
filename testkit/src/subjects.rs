//! The [`Subject`] instances: one per type of the crate, each with a tiny domain.

use std::fmt::Debug;

use std::collections::{BTreeMap, BTreeSet};

use convergent::{
    CausalContext, CausalCounter, Dot, EwFlag, GCounter, LwwRegister, MvRegister, OrMap, OrSet, PnCounter,
    ReplicaId, Timestamp,
    causal::{Causal, DotSet, DotStore, Handle, Nested, VersionVector},
    counter::{GCounterStore, PnCounterStore},
    map::MapStore,
    register::{LwwStore, MvStore},
    set::SetStore,
};

use super::{Event, OpCx, Ops, Rng, Subject, ops_in};

// ---------------------------------------------------------------------------------------------
// Invariant checkers shared by the causal types
// ---------------------------------------------------------------------------------------------

/// A causal context is canonical: replicas strictly increasing, each with non-empty ranges that
/// start at 1 or more, are non-empty, sorted, disjoint and non-adjacent.
pub fn check_context(c: &CausalContext) -> Result<(), String> {
    let mut prev_r: Option<ReplicaId> = None;
    let mut count = 0u64;
    for (r, rs) in c.ranges() {
        if prev_r.is_some_and(|p| p >= r) {
            return Err(format!("context replicas out of order: {c:?}"));
        }
        prev_r = Some(r);
        if rs.is_empty() {
            return Err(format!("context holds a replica with no range: {c:?}"));
        }
        let mut prev_hi = 0u64;
        for (i, &(lo, hi)) in rs.iter().enumerate() {
            if lo == 0 || lo > hi || (i > 0 && lo <= prev_hi.saturating_add(1)) {
                return Err(format!("context ranges not canonical: {c:?}"));
            }
            prev_hi = hi;
            count = count.saturating_add(hi - lo + 1);
        }
    }
    // Enumerating the dots is linear in them: a decoded context of a few bytes may claim 2^56
    // (regression `regression_context_claiming_2_pow_56_dots_is_checked_in_constant_time`).
    let enumerated_agrees = count > 1 << 16 || c.dots().count() as u64 == count;
    if count != c.dot_count() || !enumerated_agrees {
        return Err(format!(
            "context dot_count {} disagrees with its ranges ({count}): {c:?}",
            c.dot_count()
        ));
    }
    if c.is_empty() != (count == 0) {
        return Err(format!("context is_empty() wrong: {c:?}"));
    }
    Ok(())
}

/// A causal pair: canonical context, every live dot inside it, the dot count consistent.
pub fn check_causal<S: DotStore>(c: &Causal<S>) -> Result<(), String> {
    check_context(c.context())?;
    convergent::causal::CheckInvariants::check_invariants(c.context())
        .map_err(|e| format!("context CheckInvariants: {e}"))?;
    if !c.store_within_context() {
        return Err("a live dot of the store is outside the context".into());
    }
    let mut n = 0;
    c.store().for_each_dot(&mut |d| {
        n += 1;
        debug_assert!(c.store().contains_dot(&d));
    });
    let mut missing = None;
    c.store().for_each_dot(&mut |d| {
        if !c.store().contains_dot(&d) {
            missing = Some(d);
        }
    });
    if let Some(d) = missing {
        return Err(format!("for_each_dot yields {d:?} but contains_dot denies it"));
    }
    if n != c.store().dot_count() {
        return Err(format!("dot_count {} but for_each_dot yields {n}", c.store().dot_count()));
    }
    if c.store().is_empty() != (n == 0) {
        return Err("store is_empty() disagrees with its dots".into());
    }
    Ok(())
}

/// A dot of `replica` with number `n` (minted the only public way: through a context).
pub fn dot(replica: ReplicaId, n: u64) -> Dot {
    let mut c = CausalContext::new();
    let mut d = c.next_dot(replica);
    for _ in 1..n {
        d = c.next_dot(replica);
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Core types
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
/// An operation on a causal context.
pub enum CtxOp {
    /// `next_dot` at the acting replica.
    Mint,
    /// Insert a dot of another replica (gaps included): `(replica index, number 1..=6)`.
    Insert(usize, u64),
}

impl Subject for CausalContext {
    type Op = CtxOp;
    type Read = Vec<Dot>;

    fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, _: &Self) -> CtxOp {
        if rng.chance(50) { CtxOp::Mint } else { CtxOp::Insert(rng.below(cx.ids.len()), rng.range(1, 6)) }
    }

    fn apply(&mut self, replica: ReplicaId, op: &CtxOp) -> Self {
        let d = match *op {
            CtxOp::Mint => self.next_dot(replica),
            CtxOp::Insert(j, n) => {
                let d = dot(super::replica_ids(5)[j], n);
                self.insert(d);
                d
            }
        };
        core::iter::once(d).collect()
    }

    fn read(&self) -> Vec<Dot> {
        self.dots().collect()
    }

    fn check(&self) -> Result<(), String> {
        check_context(self)
    }
}

#[derive(Clone, Debug)]
/// An operation on a version vector.
pub enum VvOp {
    /// One more event at the acting replica.
    Bump,
    /// Raise another replica's entry: `(replica index, 1..=5)`.
    Raise(usize, u64),
}

impl Subject for VersionVector {
    type Op = VvOp;
    type Read = Vec<(ReplicaId, u64)>;

    fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, _: &Self) -> VvOp {
        if rng.chance(50) { VvOp::Bump } else { VvOp::Raise(rng.below(cx.ids.len()), rng.range(1, 5)) }
    }

    fn apply(&mut self, replica: ReplicaId, op: &VvOp) -> Self {
        let (r, n) = match *op {
            VvOp::Bump => (replica, self.get(replica) + 1),
            VvOp::Raise(j, n) => (super::replica_ids(5)[j], n),
        };
        self.raise(r, n);
        core::iter::once((r, n)).collect()
    }

    fn read(&self) -> Self::Read {
        self.iter().collect()
    }

    fn check(&self) -> Result<(), String> {
        let v: Vec<_> = self.iter().collect();
        if v.windows(2).any(|w| w[0].0 >= w[1].0) || v.iter().any(|&(_, n)| n == 0) {
            return Err(format!("version vector not canonical: {self:?}"));
        }
        if v.len() != self.len() || self.is_empty() != v.is_empty() {
            return Err("version vector len() wrong".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Plain (state-based, dot-free) types
// ---------------------------------------------------------------------------------------------

/// A huge increment, now and then, so saturation (at `MAX_COUNT` per entry) happens inside histories.
const HUGE: u64 = u64::MAX / 3;

fn gen_amount(rng: &mut Rng) -> u64 {
    if rng.chance(3) { HUGE } else { rng.range(1, 3) }
}

/// Per replica, the saturating sum of the amounts of its visible events for which `pick` gives one.
fn per_replica_sums<O>(
    events: &[Event<impl Subject<Op = O>>],
    visible: Ops,
    pick: impl Fn(&O) -> Option<u64>,
) -> u128 {
    let mut sums: BTreeMap<ReplicaId, u64> = BTreeMap::new();
    for k in ops_in(visible) {
        if let Some(n) = pick(&events[k].op) {
            let e = sums.entry(events[k].id).or_default();
            *e = e.saturating_add(n).min(convergent::counter::MAX_COUNT);
        }
    }
    sums.values().map(|&n| u128::from(n)).sum()
}

impl Subject for GCounter {
    type Op = u64;
    /// The exact value.
    type Read = u128;

    fn gen_op(rng: &mut Rng, _: &OpCx<'_>, _: &Self) -> u64 {
        gen_amount(rng)
    }

    fn apply(&mut self, replica: ReplicaId, n: &u64) -> Self {
        self.increment(replica, *n)
    }

    fn read(&self) -> u128 {
        self.value_u128()
    }

    fn check(&self) -> Result<(), String> {
        let v: Vec<(ReplicaId, u64)> = self.iter().collect();
        if v.windows(2).any(|w| w[0].0 >= w[1].0) || v.iter().any(|e| e.1 == 0) {
            return Err(format!("G-Counter entries not canonical: {self:?}"));
        }
        if v.iter().any(|e| e.1 > convergent::counter::MAX_COUNT) {
            return Err(format!("G-Counter entry above MAX_COUNT: {self:?}"));
        }
        if self.value_u128() != v.iter().map(|e| u128::from(e.1)).sum::<u128>() {
            return Err("G-Counter value_u128() is not the sum of its entries".into());
        }
        if v.len() != self.len() || self.is_empty() != v.is_empty() {
            return Err("G-Counter len() wrong".into());
        }
        if u128::from(self.value()) != self.value_u128().min(u128::from(u64::MAX)) {
            return Err("G-Counter value() is not the saturated value_u128()".into());
        }
        if v.iter().any(|&(r, n)| self.get(r) != n) {
            return Err("G-Counter get() disagrees with iter()".into());
        }
        Ok(())
    }

    /// Each replica's increments, summed (saturating per replica).
    fn spec(events: &[Event<Self>], visible: Ops) -> Option<u128> {
        Some(per_replica_sums(events, visible, |n| Some(*n)))
    }
}

#[derive(Clone, Debug)]
/// A PN-Counter operation.
pub enum PnOp {
    /// Increment by an amount.
    Inc(u64),
    /// Decrement by an amount.
    Dec(u64),
}

impl Subject for PnCounter {
    type Op = PnOp;
    /// The exact value.
    type Read = i128;

    fn gen_op(rng: &mut Rng, _: &OpCx<'_>, _: &Self) -> PnOp {
        if rng.chance(55) { PnOp::Inc(gen_amount(rng)) } else { PnOp::Dec(gen_amount(rng)) }
    }

    fn apply(&mut self, replica: ReplicaId, op: &PnOp) -> Self {
        match op {
            PnOp::Inc(n) => self.increment(replica, *n),
            PnOp::Dec(n) => self.decrement(replica, *n),
        }
    }

    fn read(&self) -> i128 {
        self.value_i128()
    }

    fn check(&self) -> Result<(), String> {
        self.increments().check()?;
        self.decrements().check()?;
        let v = self.value_i128();
        if v != self.increments().value_u128() as i128 - self.decrements().value_u128() as i128 {
            return Err("PN-Counter value_i128() is not increments - decrements".into());
        }
        let sat = i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
        if self.value() != sat {
            return Err("PN-Counter value() is not the saturated value_i128()".into());
        }
        Ok(())
    }

    fn spec(events: &[Event<Self>], visible: Ops) -> Option<i128> {
        let p = per_replica_sums(events, visible, |o| if let PnOp::Inc(n) = o { Some(*n) } else { None });
        let n = per_replica_sums(events, visible, |o| if let PnOp::Dec(n) = o { Some(*n) } else { None });
        Some(p as i128 - n as i128)
    }
}

impl Subject for LwwRegister<u8> {
    type Op = LwwWrite;
    type Read = Option<(Timestamp, ReplicaId, u8)>;

    /// Timestamps 1..=3 ms: equal timestamps (and equal (timestamp, replica) pairs) are constant.
    fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, _: &Self) -> LwwWrite {
        <LwwRegister<u8> as Value>::gen_nop(rng, cx)
    }

    fn apply(&mut self, replica: ReplicaId, op: &LwwWrite) -> Self {
        self.write(replica, Timestamp::from_parts(op.0, 0), op.1)
    }

    fn read(&self) -> Self::Read {
        Some((self.timestamp()?, self.writer()?, *self.value()?))
    }

    fn check(&self) -> Result<(), String> {
        let parts = [self.timestamp().is_some(), self.writer().is_some(), self.value().is_some()];
        if parts.iter().any(|&p| p != parts[0]) {
            return Err("LWW register: timestamp, writer and value not all set or all unset".into());
        }
        Ok(())
    }

    /// The greatest `(timestamp, writer, value)` among the visible writes.
    fn spec(events: &[Event<Self>], visible: Ops) -> Option<Self::Read> {
        Some(ops_in(visible).map(|k| events[k].op.key(events[k].id)).max())
    }
}

// ---------------------------------------------------------------------------------------------
// Causal types: one description per value type, used at the top level and inside maps
// ---------------------------------------------------------------------------------------------

/// One operation on a value, as the value's specification sees it.
#[derive(Clone, Debug)]
pub struct NEv<O> {
    /// What the operation's replica had seen.
    pub past: Ops,
    /// The operation's replica.
    pub id: ReplicaId,
    /// Whether the operation first reset the value (a remove of its key in an enclosing map):
    /// everything in its past is gone.
    pub reset: bool,
    /// The value's own operations, in order (empty if the operation did not touch this value).
    pub ops: Vec<O>,
}

impl<O> NEv<O> {
    /// Whether operation `k` happened before this one.
    pub fn saw(&self, k: usize) -> bool {
        self.past >> k & 1 == 1
    }
}

/// The operations of `visible` that no visible reset has observed.
pub fn alive<O>(evs: &[NEv<O>], visible: Ops) -> Ops {
    ops_in(visible)
        .filter(|&k| !ops_in(visible).any(|j| evs[j].reset && evs[j].saw(k)))
        .fold(0, |m, k| m | 1 << k)
}

/// Whether op `k` is overwritten inside `set`: some `j` of `set` saw it and `covers(&evs[j])`.
pub fn overwritten<O>(evs: &[NEv<O>], set: Ops, k: usize, covers: impl Fn(&NEv<O>) -> bool) -> bool {
    ops_in(set).any(|j| j != k && evs[j].saw(k) && covers(&evs[j]))
}

/// A CRDT of the crate described for the harness, at the level of its dot store, so that the same
/// description serves the type at the top level ([`causal_subject!`]) and as a map value.
pub trait Value: Nested + 'static {
    /// An operation through a [`Handle`] on the store.
    type NOp: Clone + Debug + 'static;
    /// What users read from the value.
    type NRead: PartialEq + Debug + Clone + 'static;

    /// An operation over the tiny domain.
    fn gen_nop(rng: &mut Rng, cx: &OpCx<'_>) -> Self::NOp;
    /// Applies an operation through a handle.
    fn apply_nop(h: &mut Handle<'_, Self::Store>, op: &Self::NOp);
    /// What users read from the store.
    fn read_store(s: &Self::Store) -> Self::NRead;

    /// The store's own invariants (beyond the causal ones checked for every store).
    fn check_store(s: &Self::Store) -> Result<(), String> {
        let _ = s;
        Ok(())
    }

    /// The specification: `(non-empty, read)` for a replica that has seen `visible` (resets
    /// included: start from [`alive`]). `None` if the type has none.
    fn spec_value(evs: &[NEv<Self::NOp>], visible: Ops) -> Option<(bool, Self::NRead)>;
}

/// The operation of a top-level causal type: one call of its own method, or several mutations
/// through one handle (one delta).
#[derive(Clone, Debug)]
pub enum Top<O> {
    /// One call of a public method.
    One(O),
    /// Several operations through one handle (one delta).
    Batch(Vec<O>),
}

impl<O: Clone> Top<O> {
    /// The value operations it runs, in order.
    pub fn ops(&self) -> Vec<O> {
        match self {
            Top::One(o) => vec![o.clone()],
            Top::Batch(os) => os.clone(),
        }
    }
}

/// The top-level methods of a causal type (its public API, not the handle).
pub trait TopApply: Value + Sized {
    /// Applies one operation through the type's own public method, checking its local effect.
    fn apply_one(&mut self, replica: ReplicaId, op: &Self::NOp) -> Self;
}

/// Every store's causal invariants: each dot at most once, counts consistent.
pub fn check_store_dots<S: DotStore>(s: &S) -> Result<(), String> {
    let mut dots = Vec::new();
    s.for_each_dot(&mut |d| dots.push(d));
    let n = dots.len();
    dots.sort();
    dots.dedup();
    if dots.len() != n {
        return Err("a dot occurs twice in the store".into());
    }
    if n != s.dot_count() {
        return Err(format!("dot_count {} but {n} dots", s.dot_count()));
    }
    if let Some(d) = dots.iter().find(|d| !s.contains_dot(d)) {
        return Err(format!("for_each_dot yields {d:?} but contains_dot denies it"));
    }
    Ok(())
}

/// `impl Subject` for a top-level causal type described by [`Value`] and [`TopApply`];
/// `causal_subject!(T, check_invariants)` also runs the crate's `CheckInvariants` on every state.
macro_rules! causal_subject {
    ($t:ty $(, $check:ident)?) => {
        impl $crate::Subject for $t {
            type Op = $crate::subjects::Top<<$t as $crate::subjects::Value>::NOp>;
            type Read = <$t as $crate::subjects::Value>::NRead;

            fn gen_op(rng: &mut $crate::Rng, cx: &$crate::OpCx<'_>, _: &Self) -> Self::Op {
                use $crate::subjects::{Top, Value};
                if rng.chance(20) {
                    let n = 1 + rng.below(3);
                    Top::Batch((0..n).map(|_| <$t as Value>::gen_nop(rng, cx)).collect())
                } else {
                    Top::One(<$t as Value>::gen_nop(rng, cx))
                }
            }

            fn apply(&mut self, replica: convergent::ReplicaId, op: &Self::Op) -> Self {
                use $crate::subjects::{Top, TopApply, Value};
                match op {
                    Top::One(o) => <$t as TopApply>::apply_one(self, replica, o),
                    Top::Batch(os) => {
                        let mut c = core::mem::take(self).into_causal();
                        let (d, ()) = c.mutate(replica, |h| {
                            for o in os {
                                <$t as Value>::apply_nop(h, o);
                            }
                        });
                        *self = <$t>::from(c);
                        <$t>::from(d)
                    }
                }
            }

            fn read(&self) -> Self::Read {
                <$t as $crate::subjects::Value>::read_store(self.as_causal().store())
            }

            fn check(&self) -> Result<(), String> {
                $crate::subjects::check_causal(self.as_causal())?;
                $crate::subjects::check_store_dots(self.as_causal().store())?;
                $(
                    // The crate's own checker (it sees private indexes), where the store has one.
                    let _ = stringify!($check);
                    convergent::causal::CheckInvariants::check_invariants(self.as_causal())
                        .map_err(|e| format!("CheckInvariants: {e}"))?;
                )?
                <$t as $crate::subjects::Value>::check_store(self.as_causal().store())
            }

            fn show(&self) -> String {
                format!("{:?}", self.as_causal())
            }

            fn dots(
                &self,
            ) -> Option<(std::collections::BTreeSet<convergent::Dot>, std::collections::BTreeSet<convergent::Dot>)> {
                let c = self.as_causal();
                let mut live = std::collections::BTreeSet::new();
                c.store().for_each_dot(&mut |d| {
                    live.insert(d);
                });
                Some((live, c.context().dots().collect()))
            }

            fn spec(
                events: &[$crate::Event<Self>],
                visible: $crate::Ops,
            ) -> Option<Self::Read> {
                use $crate::subjects::{NEv, Value};
                let evs: Vec<NEv<_>> = events
                    .iter()
                    .map(|e| NEv { past: e.past, id: e.id, reset: false, ops: e.op.ops() })
                    .collect();
                <$t as Value>::spec_value(&evs, visible).map(|(_, r)| r)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// EwFlag
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
/// An enable-wins flag operation.
pub enum FlagOp {
    /// Enable.
    Enable,
    /// Disable.
    Disable,
}

impl Value for EwFlag {
    type NOp = FlagOp;
    type NRead = bool;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> FlagOp {
        if rng.chance(60) { FlagOp::Enable } else { FlagOp::Disable }
    }

    fn apply_nop(h: &mut Handle<'_, DotSet>, op: &FlagOp) {
        match op {
            FlagOp::Enable => h.enable(),
            FlagOp::Disable => h.disable(),
        }
    }

    fn read_store(s: &DotSet) -> bool {
        !s.is_empty()
    }

    /// Enable-wins: on iff some visible operation's last flag operation is an enable that no
    /// visible flag operation (or reset) has observed.
    fn spec_value(evs: &[NEv<FlagOp>], visible: Ops) -> Option<(bool, bool)> {
        let live = alive(evs, visible);
        let on = ops_in(live).any(|k| {
            matches!(evs[k].ops.last(), Some(FlagOp::Enable))
                && !overwritten(evs, live, k, |e| !e.ops.is_empty())
        });
        Some((on, on))
    }
}

impl TopApply for EwFlag {
    fn apply_one(&mut self, replica: ReplicaId, op: &FlagOp) -> Self {
        let d = match op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(replica),
        };
        assert_eq!(self.is_enabled(), matches!(op, FlagOp::Enable), "{op:?} did not take effect");
        assert_eq!(
            self.is_enabled(),
            !self.as_causal().store().is_empty(),
            "is_enabled() disagrees with the store"
        );
        d
    }
}

causal_subject!(EwFlag, check_invariants);

// ---------------------------------------------------------------------------------------------
// OrSet
// ---------------------------------------------------------------------------------------------

/// Elements: 0..=3.
#[derive(Clone, Debug)]
pub enum SetOp {
    /// Insert an element.
    Insert(u8),
    /// Remove an element.
    Remove(u8),
    /// Insert several elements (one delta).
    InsertAll(Vec<u8>),
    /// Remove several elements (one delta).
    RemoveAll(Vec<u8>),
    /// Remove every element.
    Clear,
}

impl SetOp {
    /// The operation's effect on `x`: `Some(true)` adds it, `Some(false)` removes it.
    fn effect(&self, x: u8) -> Option<bool> {
        match self {
            SetOp::Insert(y) if *y == x => Some(true),
            SetOp::Remove(y) if *y == x => Some(false),
            SetOp::InsertAll(ys) if ys.contains(&x) => Some(true),
            SetOp::RemoveAll(ys) if ys.contains(&x) => Some(false),
            SetOp::Clear => Some(false),
            _ => None,
        }
    }
}

fn small_vec(rng: &mut Rng, max: u64) -> Vec<u8> {
    (0..rng.range(0, 3)).map(|_| rng.range(0, max) as u8).collect()
}

/// An OR-Set store's own invariants: `len`, `is_empty`, `iter`, `into_iter` and `contains`
/// agree, each element is yielded once and has a dot.
pub fn check_set_store<T: std::hash::Hash + Eq + Clone + Debug>(s: &SetStore<T>) -> Result<(), String> {
    let n = s.iter().count();
    if n != s.len() || s.is_empty() != (n == 0) || s.into_iter().count() != n {
        return Err(format!("set len() {} but iter() yields {n}", s.len()));
    }
    if s.iter().collect::<std::collections::HashSet<_>>().len() != n {
        return Err("set iter() yields an element twice".into());
    }
    if s.iter().any(|x| !s.contains(x)) {
        return Err("set iter() yields an element contains() denies".into());
    }
    if n > s.dot_count() {
        return Err("set has an element without a dot".into());
    }
    Ok(())
}

/// Every invariant of an OR-Set of any element type (the causal pair's and the store's): what
/// [`Subject::check`](crate::Subject::check) checks for `OrSet<u8>`.
pub fn check_or_set<T: std::hash::Hash + Eq + Clone + Debug>(s: &OrSet<T>) -> Result<(), String> {
    check_causal(s.as_causal())?;
    check_store_dots(s.as_causal().store())?;
    check_set_store(s.as_causal().store())
}

/// quickcheck generates set operations with the set's op source (for single-replica model tests).
impl quickcheck::Arbitrary for SetOp {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        let ids = crate::replica_ids(2);
        <OrSet<u8> as Value>::gen_nop(&mut Rng::new(u64::arbitrary(g)), &OpCx { ids: &ids, me: 0 })
    }
}

impl Value for OrSet<u8> {
    type NOp = SetOp;
    type NRead = BTreeSet<u8>;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> SetOp {
        match rng.below(20) {
            0..=8 => SetOp::Insert(rng.range(0, 3) as u8),
            9..=14 => SetOp::Remove(rng.range(0, 3) as u8),
            15..=16 => SetOp::InsertAll(small_vec(rng, 3)),
            17..=18 => SetOp::RemoveAll(small_vec(rng, 3)),
            _ => SetOp::Clear,
        }
    }

    fn apply_nop(h: &mut Handle<'_, SetStore<u8>>, op: &SetOp) {
        match op {
            SetOp::Insert(x) => {
                h.insert(*x);
            }
            SetOp::Remove(x) => {
                h.remove(x);
            }
            SetOp::InsertAll(xs) => h.insert_all(xs.iter().copied()),
            SetOp::RemoveAll(xs) => h.remove_all(xs.iter()),
            SetOp::Clear => h.clear(),
        }
    }

    fn read_store(s: &SetStore<u8>) -> BTreeSet<u8> {
        s.iter().copied().collect()
    }

    fn check_store(s: &SetStore<u8>) -> Result<(), String> {
        check_set_store(s)
    }

    /// Add-wins: `x` is in iff some visible operation's net effect on `x` is an insert that no
    /// visible operation touching `x` (or reset) has observed.
    fn spec_value(evs: &[NEv<SetOp>], visible: Ops) -> Option<(bool, BTreeSet<u8>)> {
        let live = alive(evs, visible);
        let net = |e: &NEv<SetOp>, x: u8| e.ops.iter().filter_map(|o| o.effect(x)).next_back();
        let set: BTreeSet<u8> = (0..=3)
            .filter(|&x| {
                ops_in(live).any(|k| {
                    net(&evs[k], x) == Some(true) && !overwritten(evs, live, k, |e| net(e, x).is_some())
                })
            })
            .collect();
        Some((!set.is_empty(), set))
    }
}

impl TopApply for OrSet<u8> {
    fn apply_one(&mut self, replica: ReplicaId, op: &SetOp) -> Self {
        let d = match op {
            SetOp::Insert(x) => self.insert(replica, *x),
            SetOp::Remove(x) => self.remove(replica, x),
            SetOp::InsertAll(xs) => self.insert_all(replica, xs.iter().copied()),
            SetOp::RemoveAll(xs) => self.remove_all(replica, xs.iter()),
            SetOp::Clear => self.clear(replica),
        };
        for x in 0..=3 {
            if let Some(present) = op.effect(x) {
                assert_eq!(self.contains(&x), present, "{op:?} did not take effect on {x}");
            }
        }
        d
    }
}

causal_subject!(OrSet<u8>);

// ---------------------------------------------------------------------------------------------
// MvRegister
// ---------------------------------------------------------------------------------------------

/// Values: 0..=2.
#[derive(Clone, Debug)]
pub enum MvOp {
    /// Write a value.
    Write(u8),
    /// Clear the register.
    Clear,
}

impl Value for MvRegister<u8> {
    type NOp = MvOp;
    /// The concurrent values, sorted (with repeats: two concurrent writes of one value are two).
    type NRead = Vec<u8>;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> MvOp {
        if rng.chance(80) { MvOp::Write(rng.range(0, 2) as u8) } else { MvOp::Clear }
    }

    fn apply_nop(h: &mut Handle<'_, MvStore<u8>>, op: &MvOp) {
        match op {
            MvOp::Write(v) => h.write(*v),
            MvOp::Clear => h.clear(),
        }
    }

    fn read_store(s: &MvStore<u8>) -> Vec<u8> {
        let mut v: Vec<u8> = s.values().copied().collect();
        v.sort_unstable();
        v
    }

    fn check_store(s: &MvStore<u8>) -> Result<(), String> {
        if s.len() != s.values().count()
            || s.len() != s.dot_count()
            || s.is_empty() != s.values().next().is_none()
        {
            return Err("register len() disagrees with its values or dots".into());
        }
        Ok(())
    }

    /// Every visible write not overwritten (or cleared) by a visible operation that saw it.
    fn spec_value(evs: &[NEv<MvOp>], visible: Ops) -> Option<(bool, Vec<u8>)> {
        let live = alive(evs, visible);
        let mut v: Vec<u8> = ops_in(live)
            .filter_map(|k| match evs[k].ops.last() {
                Some(MvOp::Write(x)) if !overwritten(evs, live, k, |e| !e.ops.is_empty()) => Some(*x),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        Some((!v.is_empty(), v))
    }
}

impl TopApply for MvRegister<u8> {
    fn apply_one(&mut self, replica: ReplicaId, op: &MvOp) -> Self {
        let d = match op {
            MvOp::Write(v) => self.write(replica, *v),
            MvOp::Clear => self.clear(replica),
        };
        let want: &[u8] = match op {
            MvOp::Write(v) => &[*v],
            MvOp::Clear => &[],
        };
        assert_eq!(self.values().copied().collect::<Vec<_>>(), want, "{op:?} did not take effect");
        d
    }
}

causal_subject!(MvRegister<u8>, check_invariants);

// ---------------------------------------------------------------------------------------------
// Causal counters
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
/// A counter operation (causal counter, and counters in maps).
pub enum CounterOp {
    /// Increment.
    Inc(u64),
    /// Decrement.
    Dec(u64),
    /// Reset to 0 (observed reset).
    Reset,
}

std::thread_local! {
    /// Whether the counter specification is the strict observed reset (see [`counter_spec`]).
    pub static STRICT_COUNTER_SPEC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The amounts of an operation's counter operations after its last reset, and whether it reset.
fn counter_ops(evs: &[NEv<CounterOp>]) -> Vec<NEv<CounterOp>> {
    let mut out: Vec<NEv<CounterOp>> = evs.to_vec();
    for e in &mut out {
        if let Some(p) = e.ops.iter().rposition(|o| matches!(o, CounterOp::Reset)) {
            e.reset = true;
            e.ops.drain(..=p);
        }
    }
    out
}

/// The counter specification, as `(non-empty, increments, decrements)` (the caller applies its
/// store's saturation to `increments - decrements`).
///
/// Strict observed reset (what issue 3 asks: "nothing the remover saw ever comes back"): the sum
/// of the visible increments and decrements that no visible reset observed.
///
/// Documented (`src/counter/causal.rs`, "Exact reads" and "Observed reset, and its one
/// limitation"): each operation that changed a replica's count mints a dot carrying the
/// replica's running totals (saturating at `MAX_COUNT`) and removes the replica's live dots it
/// saw; a reset removes every live dot it saw, and the replica's next count starts from 0. The
/// value for a replica that received the operations `visible`, in any order, is the sum over
/// the dots minted in `visible` and removed by none of `visible`. Differs from strict exactly
/// when a replica whose count a reset saw increments concurrently with the reset.
fn counter_spec(evs: &[NEv<CounterOp>], visible: Ops) -> (bool, i128, i128) {
    let evs = counter_ops(evs);
    let live = alive(&evs, visible);
    if STRICT_COUNTER_SPEC.with(|s| s.get()) {
        let (mut any, mut p, mut n) = (false, 0i128, 0i128);
        for k in ops_in(live) {
            for o in &evs[k].ops {
                any = true;
                match o {
                    CounterOp::Inc(x) => p += i128::from(*x),
                    CounterOp::Dec(x) => n += i128::from(*x),
                    CounterOp::Reset => unreachable!("resets are split off"),
                }
            }
        }
        return (any, p, n);
    }
    // `dot[k]`: the running totals `(p, n)` under the dot operation `k` minted, if it minted one;
    // `kills[k]`: the dots (by minting operation) that operation `k` removed. A replica that has
    // received exactly the operations `view` holds the join of their deltas, so its live dots are
    // those minted in `view` and removed by none of `view`: this holds for ANY delivery order,
    // causal or not (the view of the minting replica itself may be non-causal too).
    let mut dot: Vec<Option<(u64, u64)>> = Vec::with_capacity(evs.len());
    let mut kills: Vec<Ops> = Vec::with_capacity(evs.len());
    let live_in = |dot: &[Option<(u64, u64)>], kills: &[Ops], view: Ops| -> Ops {
        let killed = ops_in(view).fold(0, |m, k| m | kills[k]);
        ops_in(view).filter(|&j| dot[j].is_some() && killed >> j & 1 == 0).fold(0, |m, j| m | 1 << j)
    };
    for e in &evs {
        let seen = live_in(&dot, &kills, e.past);
        let own = ops_in(seen).filter(|&j| evs[j].id == e.id).fold(0, |m, j| m | 1 << j);
        // A reset removes every live dot it saw, and the replica's next count starts from 0.
        let (mut kill, mine) = if e.reset { (seen, 0) } else { (0, own) };
        let sum = |set: Ops| {
            ops_in(set).filter_map(|j| dot[j]).fold((0u64, 0u64), |(p, n), (dp, dn)| {
                let max = convergent::counter::MAX_COUNT;
                (p.saturating_add(dp).min(max), n.saturating_add(dn).min(max))
            })
        };
        let (mut has, mut cur) = (mine != 0, sum(mine));
        let mut minted = false;
        for o in &e.ops {
            let new = match o {
                CounterOp::Inc(x) => (cur.0.saturating_add(*x).min(convergent::counter::MAX_COUNT), cur.1),
                CounterOp::Dec(x) => (cur.0, cur.1.saturating_add(*x).min(convergent::counter::MAX_COUNT)),
                CounterOp::Reset => unreachable!("resets are split off"),
            };
            if new == cur && has {
                continue; // saturated: nothing changes, no dot
            }
            (has, cur, minted) = (true, new, true);
        }
        if minted {
            kill |= mine; // the new dot takes over the replica's running totals
        }
        dot.push(minted.then_some(cur));
        kills.push(kill);
    }
    // The value: the sum over the live dots (each the running total of one chain of its replica).
    let live = live_in(&dot, &kills, visible);
    let (mut p, mut n) = (0i128, 0i128);
    for j in ops_in(live) {
        let (dp, dn) = dot[j].expect("live dots are minted");
        p += i128::from(dp);
        n += i128::from(dn);
    }
    (live != 0, p, n)
}

/// A counter's amount: 1..=3, or now and then a third of `u64::MAX` (saturation happens).
fn gen_counter_op(rng: &mut Rng, resets: bool, decrements: bool) -> CounterOp {
    match rng.below(10) {
        0..=4 => CounterOp::Inc(gen_amount(rng)),
        5..=7 if decrements => CounterOp::Dec(gen_amount(rng)),
        _ if resets => CounterOp::Reset,
        _ => CounterOp::Inc(gen_amount(rng)),
    }
}

fn pn_spec(evs: &[NEv<CounterOp>], visible: Ops) -> (bool, i128) {
    let (any, p, n) = counter_spec(evs, visible);
    (any, (p - n).clamp(i128::from(i64::MIN), i128::from(i64::MAX)))
}

impl Value for CausalCounter {
    type NOp = CounterOp;
    type NRead = i128;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> CounterOp {
        gen_counter_op(rng, true, true)
    }

    fn apply_nop(h: &mut Handle<'_, PnCounterStore>, op: &CounterOp) {
        match op {
            CounterOp::Inc(n) => h.increment(*n),
            CounterOp::Dec(n) => h.decrement(*n),
            CounterOp::Reset => h.reset(),
        }
    }

    fn read_store(s: &PnCounterStore) -> i128 {
        i128::from(s.value())
    }

    fn spec_value(evs: &[NEv<CounterOp>], visible: Ops) -> Option<(bool, i128)> {
        Some(pn_spec(evs, visible))
    }
}

impl TopApply for CausalCounter {
    fn apply_one(&mut self, replica: ReplicaId, op: &CounterOp) -> Self {
        match op {
            CounterOp::Inc(n) => self.increment(replica, *n),
            CounterOp::Dec(n) => self.decrement(replica, *n),
            CounterOp::Reset => {
                let d = self.reset(replica);
                assert_eq!(self.value(), 0, "a reset counter is not 0");
                d
            }
        }
    }
}

causal_subject!(CausalCounter, check_invariants);

/// A `GCounter` inside an `OrMap` (its causal form, `GCounterStore`).
impl Value for GCounter {
    type NOp = CounterOp;
    type NRead = i128;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> CounterOp {
        gen_counter_op(rng, false, false)
    }

    fn apply_nop(h: &mut Handle<'_, GCounterStore>, op: &CounterOp) {
        if let CounterOp::Inc(n) = op {
            h.increment(*n);
        }
    }

    fn read_store(s: &GCounterStore) -> i128 {
        i128::from(s.value())
    }

    /// As the causal counter's, saturating the sum at `u64::MAX` as `GCounterStore::value` does.
    fn spec_value(evs: &[NEv<CounterOp>], visible: Ops) -> Option<(bool, i128)> {
        let (any, p, _) = counter_spec(evs, visible);
        Some((any, p.min(i128::from(u64::MAX))))
    }
}

/// A `PnCounter` inside an `OrMap` (its causal form, `PnCounterStore`, with reset).
impl Value for PnCounter {
    type NOp = CounterOp;
    type NRead = i128;

    fn gen_nop(rng: &mut Rng, cx: &OpCx<'_>) -> CounterOp {
        CausalCounter::gen_nop(rng, cx)
    }

    fn apply_nop(h: &mut Handle<'_, PnCounterStore>, op: &CounterOp) {
        CausalCounter::apply_nop(h, op)
    }

    fn read_store(s: &PnCounterStore) -> i128 {
        i128::from(s.value())
    }

    fn spec_value(evs: &[NEv<CounterOp>], visible: Ops) -> Option<(bool, i128)> {
        Some(pn_spec(evs, visible))
    }
}

// ---------------------------------------------------------------------------------------------
// LWW values under dots
// ---------------------------------------------------------------------------------------------

/// Timestamps 1..=3 ms (ties are constant), values 0..=2.
#[derive(Clone, Debug)]
pub struct LwwWrite(pub u64, pub u8);

impl LwwWrite {
    /// The write's `(timestamp, writer, value)`, as the register orders writes.
    pub fn key(&self, id: ReplicaId) -> (Timestamp, ReplicaId, u8) {
        (Timestamp::from_parts(self.0, 0), id, self.1)
    }
}

/// An `LwwRegister` inside an `OrMap` (its causal form, `LwwStore`).
impl Value for LwwRegister<u8> {
    type NOp = LwwWrite;
    type NRead = Option<(Timestamp, ReplicaId, u8)>;

    fn gen_nop(rng: &mut Rng, _: &OpCx<'_>) -> LwwWrite {
        LwwWrite(rng.range(1, 3), rng.range(0, 2) as u8)
    }

    fn apply_nop(h: &mut Handle<'_, LwwStore<u8>>, op: &LwwWrite) {
        h.write_at(Timestamp::from_parts(op.0, 0), op.1);
    }

    fn read_store(s: &LwwStore<u8>) -> Self::NRead {
        s.winner().map(|(t, r, v)| (t, r, *v))
    }

    /// The greatest `(timestamp, writer, value)` among the visible writes that took effect (beat
    /// the winner their writer saw) and that no reset observed.
    fn spec_value(evs: &[NEv<LwwWrite>], visible: Ops) -> Option<(bool, Self::NRead)> {
        // The write each operation made, if any, in index order (an operation's past is earlier).
        let mut made: Vec<Option<(Timestamp, ReplicaId, u8)>> = Vec::with_capacity(evs.len());
        for e in evs {
            let mut w = if e.reset { None } else { ops_in(alive(evs, e.past)).filter_map(|j| made[j]).max() };
            let mut mine = None;
            for op in &e.ops {
                let key = op.key(e.id);
                if w.is_none_or(|w| key > w) {
                    w = Some(key);
                    mine = Some(key);
                }
            }
            made.push(mine);
        }
        let w = ops_in(alive(evs, visible)).filter_map(|k| made[k]).max();
        Some((w.is_some(), w))
    }
}

// ---------------------------------------------------------------------------------------------
// OrMap, of any value above, to any depth
// ---------------------------------------------------------------------------------------------

/// Keys: 0..=2.
#[derive(Clone, Debug)]
pub enum MapOp<O> {
    /// One `update` of a key, running these operations of the value in one handle.
    Update(u8, Vec<O>),
    /// Remove a key.
    Remove(u8),
    /// Remove every key.
    Clear,
}

impl<V: Value> Value for OrMap<u8, V> {
    type NOp = MapOp<V::NOp>;
    type NRead = BTreeMap<u8, V::NRead>;

    fn gen_nop(rng: &mut Rng, cx: &OpCx<'_>) -> Self::NOp {
        match rng.below(20) {
            0..=13 => {
                let n = if rng.chance(80) { 1 } else { 2 };
                MapOp::Update(rng.range(0, 2) as u8, (0..n).map(|_| V::gen_nop(rng, cx)).collect())
            }
            14..=18 => MapOp::Remove(rng.range(0, 2) as u8),
            _ => MapOp::Clear,
        }
    }

    fn apply_nop(h: &mut Handle<'_, MapStore<u8, V::Store>>, op: &Self::NOp) {
        match op {
            MapOp::Update(k, ops) => h.update(*k, |v| {
                for o in ops {
                    V::apply_nop(v, o);
                }
            }),
            MapOp::Remove(k) => {
                h.remove(k);
            }
            MapOp::Clear => h.clear(),
        }
    }

    fn read_store(s: &MapStore<u8, V::Store>) -> Self::NRead {
        s.iter().map(|(k, v)| (*k, V::read_store(v))).collect()
    }

    fn check_store(s: &MapStore<u8, V::Store>) -> Result<(), String> {
        let n = s.iter().count();
        if n != s.len() || s.keys().count() != n || s.values().count() != n || s.is_empty() != (n == 0) {
            return Err("map len(), iter(), keys(), values() disagree".into());
        }
        for (k, v) in s.iter() {
            if v.is_empty() {
                return Err(format!("key {k} holds an empty value"));
            }
            if !s.contains_key(k) || s.get(k) != Some(v) {
                return Err(format!("get/contains_key disagree with iter on key {k}"));
            }
            check_store_dots(v).map_err(|e| format!("key {k}: {e}"))?;
            V::check_store(v).map_err(|e| format!("key {k}: {e}"))?;
        }
        Ok(())
    }

    /// Observed reset per key: a key's value is the value's specification over the visible
    /// operations on that key that no visible remove of the key (or clear, or reset of the whole
    /// map) observed; the key is present iff that value is non-empty.
    fn spec_value(evs: &[NEv<Self::NOp>], visible: Ops) -> Option<(bool, Self::NRead)> {
        let mut out = BTreeMap::new();
        for key in 0..=2u8 {
            let per_key: Vec<NEv<V::NOp>> = evs
                .iter()
                .map(|e| {
                    let last_reset = e.ops.iter().rposition(|o| {
                        matches!(o, MapOp::Remove(k) if *k == key) || matches!(o, MapOp::Clear)
                    });
                    let after = last_reset.map_or(0, |p| p + 1);
                    let ops = e.ops[after..]
                        .iter()
                        .filter_map(|o| match o {
                            MapOp::Update(k, os) if *k == key => Some(os.clone()),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    NEv { past: e.past, id: e.id, reset: e.reset || last_reset.is_some(), ops }
                })
                .collect();
            let (present, read) = V::spec_value(&per_key, visible)?;
            if present {
                out.insert(key, read);
            }
        }
        Some((!out.is_empty(), out))
    }
}

impl<V: Value> TopApply for OrMap<u8, V> {
    fn apply_one(&mut self, replica: ReplicaId, op: &Self::NOp) -> Self {
        match op {
            MapOp::Update(k, ops) => {
                self.update(replica, *k, |v| {
                    for o in ops {
                        V::apply_nop(v, o);
                    }
                })
                .0
            }
            MapOp::Remove(k) => {
                let d = self.remove(replica, k);
                assert!(!self.contains_key(k), "a removed key is still present");
                d
            }
            MapOp::Clear => {
                let d = self.clear(replica);
                assert!(self.is_empty(), "a cleared map is not empty");
                d
            }
        }
    }
}

causal_subject!(OrMap<u8, EwFlag>, check_invariants);
causal_subject!(OrMap<u8, OrSet<u8>>);
causal_subject!(OrMap<u8, MvRegister<u8>>, check_invariants);
causal_subject!(OrMap<u8, CausalCounter>, check_invariants);
causal_subject!(OrMap<u8, GCounter>, check_invariants);
causal_subject!(OrMap<u8, PnCounter>, check_invariants);
causal_subject!(OrMap<u8, LwwRegister<u8>>, check_invariants);
causal_subject!(OrMap<u8, OrMap<u8, OrSet<u8>>>);
causal_subject!(OrMap<u8, OrMap<u8, EwFlag>>, check_invariants);
causal_subject!(OrMap<u8, OrMap<u8, MvRegister<u8>>>, check_invariants);
causal_subject!(OrMap<u8, OrMap<u8, PnCounter>>, check_invariants);
causal_subject!(OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>, check_invariants);
