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

    /// Inserts `(d, v)` unless `d` is already present (payloads are immutable per dot).
    pub(crate) fn insert(&mut self, d: Dot, v: V) -> bool {
        match self.find(&d) {
            Ok(_) => false,
            Err(i) => {
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
    /// The causal join (see the module docs). `O(self + other)`.
    pub(crate) fn join_fun(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let mut changed = false;
        // Mine that the other side has seen and dropped: removed there.
        self.entries.retain(|(d, _)| {
            let keep = !other_ctx.contains(d) || other.contains(d);
            if !keep {
                log.removed(*d);
                changed = true;
            }
            keep
        });
        // Theirs that I have never seen: new. (A shared dot carries the same payload on both
        // sides: payloads are immutable per dot.)
        for (d, v) in &other.entries {
            if !ctx.contains(d) && self.insert(*d, v.clone()) {
                log.added(*d);
                changed = true;
            }
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

/// Implements `DotStore` for a newtype over a `DotFun` (field `fun`).
macro_rules! fun_dot_store {
    ([$($gen:tt)*] $name:ty) => {
        impl<$($gen)*> $crate::causal::DotStore for $name {
            fn is_empty(&self) -> bool {
                self.fun.is_empty()
            }
            fn dot_count(&self) -> usize {
                self.fun.len()
            }
            fn for_each_dot(&self, f: &mut dyn FnMut($crate::Dot)) {
                self.fun.iter().for_each(|(d, _)| f(*d));
            }
            fn contains_dot(&self, dot: &$crate::Dot) -> bool {
                self.fun.contains(dot)
            }
            fn join_store(
                &mut self,
                ctx: &$crate::CausalContext,
                other: &Self,
                other_ctx: &$crate::CausalContext,
                log: &mut $crate::DotLog,
            ) -> bool {
                self.fun.join_fun(ctx, &other.fun, other_ctx, log)
            }
            fn retain_dots(&mut self, keep: &mut dyn FnMut(&$crate::Dot) -> bool) {
                self.fun.retain(|d, _| keep(d));
            }
        }

        impl<$($gen)*> $crate::causal::FunStore for $name {
            type V = <Self as $crate::causal::FunPayload>::P;
            fn fun_mut(&mut self) -> &mut $crate::causal::DotFun<Self::V> {
                &mut self.fun
            }
        }

        impl<$($gen)*> $crate::causal::CheckInvariants for $name {
            fn check_invariants(&self) -> Result<(), &'static str> {
                if self.fun.is_sorted() { Ok(()) } else { Err("dot function: dots not strictly sorted") }
            }
        }
    };
}
pub(crate) use fun_dot_store;

/// The payload type of a `DotFun` newtype (lets `fun_dot_store!` name it).
pub(crate) trait FunPayload {
    type P: Clone + PartialEq;
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
    /// The wire form: `(dot, payload)` in dot order (the table is in replica order, so dot
    /// order is wire order).
    pub(crate) fn to_wire_with<W>(&self, table: &ReplicaTable, f: impl Fn(&V) -> W) -> Vec<(WireDot, W)> {
        self.iter().map(|(d, v)| (table.dot(d), f(v))).collect()
    }
}

#[cfg(feature = "serde")]
/// Decodes a dot function, reporting a repeated dot as [`Error::DuplicateDot`].
pub(crate) fn decode_fun<V: Clone, W>(
    wire: Vec<(WireDot, W)>,
    table: &ReplicaTable,
    cx: &mut DecodeCx,
    field: &'static str,
    mut f: impl FnMut(W, &DecodeCx) -> Result<V, Error>,
) -> Result<DotFun<V>, Error> {
    cx.check_len(field, wire.len(), cx.limits.max_dots)?;
    let mut entries = Vec::with_capacity(wire.len());
    for (w, p) in wire {
        entries.push((table.resolve(w, cx)?, f(p, cx)?));
    }
    DotFun::from_sorted(entries)
        .map_err(|(a, b)| if a == b { Error::DuplicateDot { dot: a } } else { Error::NotCanonical { field } })
}
