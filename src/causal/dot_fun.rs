//! The dot function: `dot -> payload`, the store the multi-value register, the LWW store and the
//! causal counter stores are built on.
//!
//! Almeida, Shoker and Baquero, *Delta State Replicated Data Types* (JPDC 2018), section 6: a
//! *dot function* maps each live dot to a payload; its causal join keeps a dot that both sides
//! hold, or that one side holds and the other has never seen. In this crate a dot's payload never
//! changes once minted (a new value always gets a new dot), so the join of two payloads of one dot
//! is never needed: both sides hold the same payload.

use smallvec::SmallVec;

use super::{CausalContext, Dot, DotLog, Handle};
#[cfg(feature = "serde")]
use crate::error::Error;
#[cfg(feature = "serde")]
use crate::wire::{DecodeCx, ReplicaTable, WireDot};
#[cfg(feature = "serde")]
use alloc::vec::Vec;

/// `dot -> payload`, sorted by dot, each payload immutable once minted: the building block of
/// [`MvStore`], the causal counter stores and [`LwwStore`](crate::LwwStore).
///
/// One entry inline: registers and per-replica counters usually hold one or two dots.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct DotFun<V> {
    /// Sorted by dot, no dot twice.
    entries: SmallVec<[(Dot, V); 1]>,
}

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        DotFun { entries: SmallVec::new() }
    }
}

impl<V> DotFun<V> {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in dot order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, (Dot, V)> {
        self.entries.iter()
    }

    fn find(&self, d: &Dot) -> Result<usize, usize> {
        self.entries.binary_search_by(|(x, _)| x.cmp(d))
    }

    pub(crate) fn contains(&self, d: &Dot) -> bool {
        self.find(d).is_ok()
    }

    /// The dot, when there is exactly one.
    #[inline]
    pub(crate) fn only_dot(&self) -> Option<Dot> {
        match &self.entries[..] {
            [(d, _)] => Some(*d),
            _ => None,
        }
    }

    /// Inserts `(d, v)` unless `d` is already present (payloads are immutable per dot).
    pub(crate) fn insert(&mut self, d: Dot, v: V) -> bool {
        match self.find(&d) {
            Ok(_) => false,
            Err(i) => {
                super::work::add(self.entries.len() - i + 1);
                self.entries.insert(i, (d, v));
                true
            }
        }
    }

    pub(crate) fn remove(&mut self, d: &Dot) -> Option<V> {
        self.find(d).ok().map(|i| self.entries.remove(i).1)
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Dot, &V) -> bool) {
        self.entries.retain(|(d, v)| keep(d, v));
    }

    /// Builds from entries strictly sorted by dot; otherwise returns the first pair of dots out
    /// of order (equal if a dot is repeated).
    #[cfg(feature = "serde")]
    pub(crate) fn from_sorted(entries: alloc::vec::Vec<(Dot, V)>) -> Result<Self, (Dot, Dot)> {
        match entries.windows(2).find(|w| w[0].0 >= w[1].0) {
            Some(w) => Err((w[0].0, w[1].0)),
            None => Ok(DotFun { entries: SmallVec::from_vec(entries) }),
        }
    }

    /// Whether the entries are strictly sorted by dot (the invariant).
    pub(crate) fn is_sorted(&self) -> bool {
        self.entries.windows(2).all(|w| w[0].0 < w[1].0)
    }
}

impl<V: Clone + PartialEq> DotFun<V> {
    /// The causal join (see the module docs). `O(self + other)` in any order of arrival: one
    /// merge of the two sorted runs; an `other` of one entry (the delta of one write) is joined
    /// in place instead ([`join_one`](Self::join_one)), which builds no new list: for the join of
    /// a one-key write into a map of registers, 316 -> 154 instructions in this join (callgrind).
    pub(crate) fn join_fun(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        if let [(e, w)] = &other.entries[..] {
            return self.join_one(ctx, *e, w, other_ctx, log);
        }
        self.join_merge(ctx, other, other_ctx, log)
    }

    /// [`join_fun`](Self::join_fun) in general: one merge of the two sorted runs.
    fn join_merge(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let mut changed = false;
        let mine = core::mem::take(&mut self.entries);
        super::work::add(mine.len() + other.entries.len());
        let mut out: SmallVec<[(Dot, V); 1]> = SmallVec::with_capacity(mine.len().max(other.entries.len()));
        let mut theirs = other.entries.iter().peekable();
        for (d, v) in mine {
            // Theirs before this one of mine: new unless I have seen them.
            while let Some((e, w)) = theirs.next_if(|(e, _)| *e < d) {
                if !ctx.contains(e) {
                    log.added(*e);
                    out.push((*e, w.clone()));
                    changed = true;
                }
            }
            if theirs.next_if(|(e, _)| *e == d).is_some() {
                // Both hold it (with the same payload: payloads are immutable per dot).
                out.push((d, v));
            } else if other_ctx.contains(&d) {
                // Mine that the other side has seen and dropped: removed there.
                log.removed(d);
                changed = true;
            } else {
                out.push((d, v));
            }
        }
        for (e, w) in theirs {
            if !ctx.contains(e) {
                log.added(*e);
                out.push((*e, w.clone()));
                changed = true;
            }
        }
        self.entries = out;
        changed
    }

    /// [`join_fun`](Self::join_fun) of an `other` holding the one entry `(e, w)` (the delta of
    /// one write, or a map value of one): in place, no new list. Mine that `other_ctx` saw are
    /// dropped (except `e`, which both hold); then `e` is added unless it is held or `ctx` saw
    /// it. `O(self)` context lookups, and the shift of one insert.
    fn join_one(
        &mut self,
        ctx: &CausalContext,
        e: Dot,
        w: &V,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        super::work::add(self.entries.len() + 1);
        let mut changed = false;
        let mut held = false;
        if let [(d, v)] = &mut self.entries[..] {
            // Both sides hold the one same dot (a key of two equal states): nothing to do
            // (payloads are immutable per dot).
            if *d == e {
                return false;
            }
            // The common overwrite: one value of mine, seen there (so removed there), replaced.
            if other_ctx.contains(d) {
                log.removed(*d);
                if !ctx.contains(&e) {
                    log.added(e);
                    *d = e;
                    *v = w.clone();
                } else {
                    self.entries.clear();
                }
                return true;
            }
        }
        self.entries.retain(|(d, _)| {
            if *d == e {
                held = true;
            } else if other_ctx.contains(d) {
                log.removed(*d);
                changed = true;
                return false;
            }
            true
        });
        if !held && !ctx.contains(&e) {
            log.added(e);
            let i = self.entries.partition_point(|(d, _)| *d < e);
            self.entries.insert(i, (e, w.clone()));
            changed = true;
        }
        changed
    }
}

/// Stores that are a [`DotFun`] with a particular payload: gives them the shared join and the
/// shared delta-mutator helpers on their [`Handle`].
pub(crate) trait FunStore {
    type V: Clone + PartialEq;
    fn fun_mut(&mut self) -> &mut DotFun<Self::V>;
}

/// Removes from the state every live dot for which `pred` holds, and records each in the delta's
/// context (and drops it from the delta's store, if this same mutation minted it).
pub(crate) fn fun_forget<S: FunStore>(h: &mut Handle<'_, S>, mut pred: impl FnMut(&Dot, &S::V) -> bool) {
    let mut gone: SmallVec<[Dot; 2]> = SmallVec::new();
    h.store.fun_mut().retain(|d, v| {
        let drop = pred(d, v);
        if drop {
            gone.push(*d);
        }
        !drop
    });
    for d in gone {
        h.dstore.fun_mut().remove(&d);
        h.forget(d);
    }
}

/// Mints a dot holding `v`, in the state and in the delta.
pub(crate) fn fun_put<S: FunStore>(h: &mut Handle<'_, S>, v: S::V) -> Dot {
    let d = h.mint();
    h.store.fun_mut().insert(d, v.clone());
    h.dstore.fun_mut().insert(d, v);
    d
}

/// The payload of a dot-function store (a newtype over a [`DotFun`], field `fun`): everything
/// [`fun_dot_store!`](crate::macros::fun_dot_store) needs to generate the store's plumbing
/// (`DotStore`, `CheckInvariants`, receipt, wire form). A dot-function store implements this
/// trait in its own file, next to its one `fun_dot_store!` line, and nothing else.
pub(crate) trait FunPayload: Sized {
    /// The payload under each dot.
    type P: Clone + PartialEq;

    /// The field an [`Error::ConflictingPayload`](crate::Error::ConflictingPayload) names: a
    /// dot the receiver already holds with a different payload.
    const PAYLOAD_FIELD: &'static str;

    /// The timestamp of a payload that carries one (checked against the receiver's clock by
    /// validated receipt); `None`, the default, for payloads without a clock.
    fn timestamp(payload: &Self::P) -> Option<crate::clock::Timestamp> {
        let _ = payload;
        None
    }

    /// The field the wire form's length and canonical-order errors name.
    #[cfg(feature = "serde")]
    const WIRE_FIELD: &'static str;

    /// One `(dot, payload)` entry of the wire form (a flat tuple, dot first).
    #[cfg(feature = "serde")]
    type WireEntry;

    /// The wire entry of `(dot, payload)`.
    #[cfg(feature = "serde")]
    fn to_entry(dot: WireDot, payload: &Self::P) -> Self::WireEntry;

    /// The dot of a wire entry, and its payload checked against the limits of `cx`.
    #[cfg(feature = "serde")]
    fn from_entry(entry: Self::WireEntry, cx: &DecodeCx) -> (WireDot, Result<Self::P, Error>);
}

impl<V: PartialEq> DotFun<V> {
    /// The first dot of `self` that `local` holds with a different payload. `O(self log local)`.
    pub(crate) fn first_conflict(&self, local: &Self) -> Option<Dot> {
        if local.is_empty() {
            return None;
        }
        self.iter().find(|(d, v)| local.find(d).is_ok_and(|i| local.entries[i].1 != *v)).map(|(d, _)| *d)
    }
}

#[cfg(feature = "serde")]
impl<V> DotFun<V> {
    /// The wire form of a dot-function store: its entries in dot order (the table is in replica
    /// order, so dot order is wire order).
    pub(crate) fn to_wire<S: FunPayload<P = V>>(&self, table: &ReplicaTable) -> Vec<S::WireEntry> {
        self.iter().map(|(d, v)| S::to_entry(table.dot(d), v)).collect()
    }
}

#[cfg(feature = "serde")]
/// Decodes the dot function of store `S`, reporting a repeated dot as [`Error::DuplicateDot`]:
/// at most [`Limits::max_dots`](crate::Limits::max_dots) entries (before allocating for them),
/// each dot resolved, then its payload checked.
pub(crate) fn decode_fun<S: FunPayload>(
    wire: Vec<S::WireEntry>,
    table: &ReplicaTable,
    cx: &mut DecodeCx,
) -> Result<DotFun<S::P>, Error> {
    let field = S::WIRE_FIELD;
    cx.check_len(field, wire.len(), cx.limits.max_dots)?;
    let mut entries = Vec::with_capacity(wire.len());
    for e in wire {
        let (w, p) = S::from_entry(e, cx);
        entries.push((table.resolve(w, cx)?, p?));
    }
    DotFun::from_sorted(entries)
        .map_err(|(a, b)| if a == b { Error::DuplicateDot { dot: a } } else { Error::NotCanonical { field } })
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// A random dot of three replicas, counters 1..=5.
    fn dot(g: &mut SmallRng) -> (Dot, u64) {
        let (r, n) = (g.gen_range(1..=3), g.gen_range(1..=5));
        (Dot::test(r, n), n * 10 + r as u64)
    }

    /// A random dot function (payload: a function of the dot, as payloads are immutable per
    /// dot) and a context holding its dots and a few more.
    fn side(g: &mut SmallRng, most: usize) -> (DotFun<u64>, CausalContext) {
        let mut f = DotFun::default();
        let mut c = CausalContext::new();
        for _ in 0..g.gen_range(0..=most) {
            let (d, v) = dot(g);
            f.insert(d, v);
            c.insert(d);
        }
        for _ in 0..g.gen_range(0..4) {
            c.insert(dot(g).0);
        }
        (f, c)
    }

    /// The in-place join of a one-entry dot function (and its overwrite shortcut) against the
    /// merge, with the same changed flag and the same dots logged, on random pairs of sides
    /// (held on both sides, seen and dropped, new, seen here and dropped here).
    #[test]
    fn one_entry_join_matches_the_merge() {
        let mut g = SmallRng::seed_from_u64(7);
        let (mut shortcut, mut general) = (0, 0);
        for _ in 0..50_000 {
            let (mine, ctx) = side(&mut g, 3);
            let (theirs, other_ctx) = side(&mut g, 1);
            if theirs.len() != 1 {
                continue;
            }
            let (e, w) = theirs.entries[0];
            let (mut a, mut b) = (mine.clone(), mine.clone());
            let (mut la, mut lb) = (DotLog::recording(), DotLog::recording());
            let ca = a.join_one(&ctx, e, &w, &other_ctx, &mut la);
            let cb = b.join_merge(&ctx, &theirs, &other_ctx, &mut lb);
            assert!(a == b, "{:?} {ctx:?} <- {:?} {other_ctx:?}", mine.entries, theirs.entries);
            assert!(a.is_sorted());
            assert_eq!(ca, cb);
            let (mut xa, mut ra) = la.take();
            let (mut xb, mut rb) = lb.take();
            for v in [&mut xa, &mut ra, &mut xb, &mut rb] {
                v.sort_unstable();
            }
            assert_eq!((xa, ra), (xb, rb));
            if mine.len() == 1 && mine.entries[0].0 != e && other_ctx.contains(&mine.entries[0].0) {
                shortcut += 1;
            } else {
                general += 1;
            }
        }
        assert!(shortcut > 300 && general > 1000, "{shortcut} {general}");
    }
}
