//! The [`Subject`] instances: one per type of the crate, each with a tiny domain.

use convergent::{Causal, CausalContext, Dot, DotStore, EwFlag, ReplicaId, VersionVector};

use super::{Event, OpCx, Ops, Rng, Subject, covered, ops_in};

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

#[derive(Clone, Debug)]
pub enum FlagOp {
    Enable,
    Disable,
}

impl Subject for EwFlag {
    type Op = FlagOp;
    type Read = bool;

    fn gen_op(rng: &mut Rng, _: &OpCx<'_>, _: &Self) -> FlagOp {
        if rng.chance(60) { FlagOp::Enable } else { FlagOp::Disable }
    }

    fn apply(&mut self, replica: ReplicaId, op: &FlagOp) -> Self {
        match op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(replica),
        }
    }

    fn read(&self) -> bool {
        self.is_enabled()
    }

    fn check(&self) -> Result<(), String> {
        check_causal(self.as_causal())
    }

    fn show(&self) -> String {
        format!("{:?}", self.as_causal())
    }

    /// Enable-wins: on iff some visible enable is not in the past of a visible disable.
    fn spec(events: &[Event<Self>], visible: Ops) -> Option<bool> {
        Some(ops_in(visible).any(|k| {
            matches!(events[k].op, FlagOp::Enable)
                && !covered(events, visible, k, |e| matches!(e.op, FlagOp::Disable))
        }))
    }
}
