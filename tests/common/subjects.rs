//! The [`Subject`] instances: one per type of the crate, each with a tiny domain.

use std::fmt::Debug;

use convergent::{
    Causal, CausalContext, Dot, DotSet, DotStore, EwFlag, Handle, Nested, ReplicaId, VersionVector,
};

use super::{OpCx, Ops, Rng, Subject, ops_in};

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
            count += hi - lo + 1;
        }
    }
    if count != c.dot_count() || c.dots().count() as u64 != count {
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
// Causal types: one description per value type, used at the top level and inside maps
// ---------------------------------------------------------------------------------------------

/// One operation on a value, as the value's specification sees it.
#[derive(Clone, Debug)]
pub struct NEv<O> {
    /// What the operation's replica had seen.
    pub past: Ops,
    pub id: ReplicaId,
    /// Whether the operation first reset the value (a remove of its key in an enclosing map):
    /// everything in its past is gone.
    pub reset: bool,
    /// The value's own operations, in order (empty if the operation did not touch this value).
    pub ops: Vec<O>,
}

impl<O> NEv<O> {
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

    fn gen_nop(rng: &mut Rng, cx: &OpCx<'_>) -> Self::NOp;
    fn apply_nop(h: &mut Handle<'_, Self::Store>, op: &Self::NOp);
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
    One(O),
    Batch(Vec<O>),
}

impl<O: Clone> Top<O> {
    pub fn ops(&self) -> Vec<O> {
        match self {
            Top::One(o) => vec![o.clone()],
            Top::Batch(os) => os.clone(),
        }
    }
}

/// The top-level methods of a causal type (its public API, not the handle).
pub trait TopApply: Value + Sized {
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

/// `impl Subject` for a top-level causal type described by [`Value`] and [`TopApply`].
macro_rules! causal_subject {
    ($t:ty) => {
        impl $crate::common::Subject for $t {
            type Op = $crate::common::subjects::Top<<$t as $crate::common::subjects::Value>::NOp>;
            type Read = <$t as $crate::common::subjects::Value>::NRead;

            fn gen_op(rng: &mut $crate::common::Rng, cx: &$crate::common::OpCx<'_>, _: &Self) -> Self::Op {
                use $crate::common::subjects::{Top, Value};
                if rng.chance(20) {
                    let n = 1 + rng.below(3);
                    Top::Batch((0..n).map(|_| <$t as Value>::gen_nop(rng, cx)).collect())
                } else {
                    Top::One(<$t as Value>::gen_nop(rng, cx))
                }
            }

            fn apply(&mut self, replica: convergent::ReplicaId, op: &Self::Op) -> Self {
                use $crate::common::subjects::{Top, TopApply, Value};
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
                <$t as $crate::common::subjects::Value>::read_store(self.as_causal().store())
            }

            fn check(&self) -> Result<(), String> {
                $crate::common::subjects::check_causal(self.as_causal())?;
                $crate::common::subjects::check_store_dots(self.as_causal().store())?;
                <$t as $crate::common::subjects::Value>::check_store(self.as_causal().store())
            }

            fn show(&self) -> String {
                format!("{:?}", self.as_causal())
            }

            fn spec(
                events: &[$crate::common::Event<Self>],
                visible: $crate::common::Ops,
            ) -> Option<Self::Read> {
                use $crate::common::subjects::{NEv, Value};
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
pub enum FlagOp {
    Enable,
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
        match op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(replica),
        }
    }
}

causal_subject!(EwFlag);
