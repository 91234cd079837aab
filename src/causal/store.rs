//! Dot stores and the causal pair `(store, context)` they live in.
//!
//! A causal CRDT state is a pair of a *dot store* (which events are live, and what they carry) and a
//! [`CausalContext`] (every event seen, live or removed). Almeida et al., JPDC 2018, section 6:
//! joining `(s, c)` with `(s', c')` keeps a dot when both stores have it, or when one store has it
//! and the other context has never seen it. A dot the other side has seen but no longer holds was
//! removed there, and stays removed. This is what makes removes exact without tombstones.
//!
//! Nested values (the values of an [`OrMap`](crate::OrMap)) are bare dot stores sharing the one
//! context at the top, so every dot in the whole structure is unique and a remove of a key removes
//! exactly the dots its remover saw under that key.

use alloc::vec::Vec;
use core::fmt;

use super::{CausalContext, Dot, ReplicaId};
use crate::lattice::{Decompose, Lattice};

/// Records the dots a join or mutation added to or removed from a store, so that containers can
/// keep a dot index (dot -> key) up to date in time proportional to the change. Disabled logs
/// record nothing.
/// Plumbing: public only because it appears in public bounds; hidden from the docs and
/// not covered by semver.
#[doc(hidden)]
#[derive(Debug, Default, Clone)]
pub struct DotLog {
    enabled: bool,
    added: LoggedDots,
    removed: LoggedDots,
}

/// The dots one side of a [`DotLog`] holds. A heap vector (allocated at the first dot): a
/// two-dot inline buffer spared a one-key map join its 2 allocations but made the merge of
/// 10^5-key String maps 60% slower (10.4 ms -> 16.0 ms, `cargo bench --bench compare --
/// ormap_merge_equal_string`), so it was taken back. The map's join of a delta of few keys
/// records nothing here: it compares each key's dots before and after, on the stack.
pub(crate) type LoggedDots = alloc::vec::Vec<Dot>;

impl DotLog {
    /// A log that records nothing.
    ///
    /// ```
    /// # use convergent::causal::DotLog;
    /// let log = DotLog::disabled();
    /// assert!(!log.is_enabled());
    /// ```
    #[must_use]
    pub fn disabled() -> Self {
        DotLog::default()
    }

    /// A log that records every added and removed dot.
    ///
    /// ```
    /// # use convergent::causal::DotLog;
    /// assert!(DotLog::recording().is_enabled());
    /// ```
    #[must_use]
    pub fn recording() -> Self {
        DotLog { enabled: true, ..DotLog::default() }
    }

    /// Whether this log records.
    ///
    /// ```
    /// # use convergent::causal::DotLog;
    /// assert!(!DotLog::default().is_enabled());
    /// ```
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Notes that `dot` became live in the store.
    #[inline]
    pub(crate) fn added(&mut self, dot: Dot) {
        if self.enabled {
            self.added.push(dot);
        }
    }

    /// Notes that `dot` stopped being live in the store.
    #[inline]
    pub(crate) fn removed(&mut self, dot: Dot) {
        if self.enabled {
            self.removed.push(dot);
        }
    }

    /// Whether the log holds no recorded dot.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Takes the recorded `(added, removed)` dots, leaving the log empty (and still enabled).
    pub(crate) fn take(&mut self) -> (LoggedDots, LoggedDots) {
        (core::mem::take(&mut self.added), core::mem::take(&mut self.removed))
    }
}

/// A store of dots with payloads: the `s` of a causal pair `(s, c)`.
///
/// Implemented by the stores of every causal type of this crate; the join of causal pairs, their
/// decomposition into irreducibles and their validation are written once, over this trait.
///
/// Invariants every implementation keeps: each dot occurs at most once in the whole store; an
/// empty nested value is never stored (an [`OrMap`](crate::OrMap) drops a key whose value became
/// empty).
/// Plumbing: public only because it appears in public bounds; hidden from the docs, not
/// covered by semver, and sealed (implemented by this crate's stores only).
#[doc(hidden)]
pub trait DotStore: Clone + PartialEq + Default + super::sealed::Sealed {
    /// Whether the store holds no dot.
    fn is_empty(&self) -> bool;

    /// The number of live dots.
    fn dot_count(&self) -> usize;

    /// Calls `f` on every live dot.
    fn for_each_dot(&self, f: &mut dyn FnMut(Dot));

    /// Whether `dot` is live in the store.
    fn contains_dot(&self, dot: &Dot) -> bool;

    /// The live dot, when the store holds exactly one (a register of one value, a flag enabled
    /// once): what a map's join of a small delta compares before and after under a key. The
    /// default asks [`dot_count`](Self::dot_count) and [`for_each_dot`](Self::for_each_dot).
    fn only_dot(&self) -> Option<Dot> {
        if self.dot_count() != 1 {
            return None;
        }
        let mut one = None;
        self.for_each_dot(&mut |d| one = Some(d));
        one
    }

    /// The causal join of `(self, ctx)` with `(other, other_ctx)`, into `self` (contexts are not
    /// touched: the caller joins them afterwards). Returns whether `self` changed, and reports
    /// every dot that became live or stopped being live to `log`.
    ///
    /// `ctx` is asked only about dots of `other` (whether this side has seen them), as the
    /// join's definition asks: so any context that agrees with `ctx` on the dots of `other_ctx`
    /// gives the same result ([`Causal`]'s join of a small delta passes only those of its dots
    /// that `ctx` holds).
    ///
    /// Cost: proportional to `other` plus the dots of `self` that `other_ctx` can remove, not to
    /// the size of `self`, for every store of this crate.
    fn join_store(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool;

    /// [`join_store`](Self::join_store) of a store the caller is about to drop (the join of a
    /// received delta by value): a store may move what it adds out of `other` rather than clone
    /// it, leaving `other` unspecified (fit only to be dropped). The same result. `other` is
    /// borrowed, not moved in, so that the store struct itself is not copied.
    fn join_store_moving(
        &mut self,
        ctx: &CausalContext,
        other: &mut Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        self.join_store(ctx, other, other_ctx, log)
    }

    /// Keeps only the live dots for which `keep` returns true (with their payloads), dropping
    /// nested values that become empty. Used for decompositions and optimal deltas.
    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool);

    /// A new store of the live dots among `dots` (in any order; dots not live here, and
    /// repeats, are skipped), with their payloads: what [`retain_dots`](Self::retain_dots)
    /// would keep of a clone, without cloning the rest. Used to answer a digest with what a
    /// peer lacks.
    ///
    /// Cost: the default clones the store (`O(store)`); the stores of this crate look each dot
    /// up instead, `O(dots)` time and allocation proportional to what they select (a map
    /// asks each selected key's value for its dots).
    fn select_dots(&self, dots: &mut dyn Iterator<Item = Dot>) -> Self {
        let mut wanted: Vec<Dot> = dots.filter(|d| self.contains_dot(d)).collect();
        wanted.sort_unstable();
        let mut s = self.clone();
        s.retain_dots(&mut |d| wanted.binary_search(d).is_ok());
        s
    }
}

/// A causal CRDT state: a dot store `S` and the [`CausalContext`] of every event it has seen.
///
/// This is the lattice the causal types of this crate are built on ([`OrSet`](crate::OrSet),
/// [`OrMap`](crate::OrMap), [`MvRegister`](crate::MvRegister), [`EwFlag`](crate::EwFlag),
/// [`CausalCounter`](crate::CausalCounter)); each of them wraps a `Causal<its store>`.
///
/// # Example
///
/// ```
/// use convergent::{EwFlag, Lattice, ReplicaId, causal::Causal};
///
/// let mut flag = EwFlag::new();
/// let delta = flag.enable(ReplicaId::from_u128(1));
/// let causal: &Causal<_> = delta.as_causal();
/// assert_eq!(causal.store().dot_count(), 1);
/// assert_eq!(causal.context().dot_count(), 1);
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Causal<S> {
    pub(crate) store: S,
    pub(crate) context: CausalContext,
}

impl<S> Causal<S> {
    /// The dot store.
    ///
    /// ```
    /// # use convergent::causal::{Causal, DotSet};
    /// assert!(Causal::<DotSet>::default().store().is_empty());
    /// ```
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The causal context.
    ///
    /// ```
    /// # use convergent::causal::{Causal, DotSet};
    /// assert!(Causal::<DotSet>::default().context().is_empty());
    /// ```
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// Builds a pair from parts without checking them. Crate-internal: callers guarantee every
    /// live dot of `store` is in `context`.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn from_parts(store: S, context: CausalContext) -> Self {
        Causal { store, context }
    }
}

impl<S: DotStore> Causal<S> {
    /// Whether every live dot of the store lies inside the context (the invariant of a causal
    /// pair). Validation checks this on everything received.
    ///
    /// ```
    /// # use convergent::{EwFlag, ReplicaId};
    /// let mut f = EwFlag::new();
    /// let _ = f.enable(ReplicaId::from_u128(1));
    /// assert!(f.as_causal().store_within_context());
    /// ```
    pub fn store_within_context(&self) -> bool {
        let mut ok = true;
        self.store.for_each_dot(&mut |d| ok &= self.context.contains(&d));
        ok
    }

    /// Runs `f` on a [`Handle`] over this state and returns the delta of everything `f` did,
    /// joined into ONE delta, together with `f`'s result. Every causal type's mutators are built
    /// on this.
    ///
    /// ```
    /// # use convergent::{Lattice, ReplicaId, causal::{Causal, DotSet}};
    /// let mut s = Causal::<DotSet>::default();
    /// let before = s.clone();
    /// let (delta, ()) = s.mutate(ReplicaId::from_u128(1), |h| h.enable());
    /// assert_eq!(before.joined(delta), s);
    /// ```
    pub fn mutate<R>(&mut self, replica: ReplicaId, f: impl FnOnce(&mut Handle<'_, S>) -> R) -> (Self, R) {
        let mut delta = Causal::<S>::default();
        let mut log = DotLog::disabled();
        let r = {
            let mut h = Handle {
                store: &mut self.store,
                dstore: &mut delta.store,
                ctx: &mut self.context,
                dctx: &mut delta.context,
                replica,
                log: &mut log,
            };
            f(&mut h)
        };
        (delta, r)
    }
}

/// The empty context, for [`Causal::one_live_dot`]'s joins.
static NOTHING_SEEN: CausalContext = CausalContext::new();

impl<S: DotStore> Causal<S> {
    /// The dot `d`, when this pair is `({d}, {d})`: its context is one dot and its store holds
    /// one dot (which, the store lying within its context, is that one). The delta of an insert
    /// and of every mutation that mints one dot and removes nothing has this shape.
    ///
    /// Joining such a pair into `(s, c)` needs one search of `c`, by inserting `d` into it: if
    /// `d` was in `c` already, nothing changes (by the join's definition, `s` keeps its dots:
    /// the only dot the other side saw is live there, and `d` is live here or was removed here);
    /// otherwise the join adds `d` and removes nothing, which is the store join against an EMPTY
    /// context (`c` only decides which of the other store's dots were seen here, and `d` was not).
    /// So the store's join does not search `c` for `d`'s replica a second time.
    #[inline]
    fn one_live_dot(&self) -> Option<Dot> {
        if self.store.dot_count() != 1 || self.context.replica_count() != 1 {
            return None;
        }
        let Some((r, &[(lo, hi)])) = self.context.replica_at(0) else { return None };
        if lo != hi {
            return None;
        }
        Dot::new(r, lo)
    }
}

impl<S: DotStore> Lattice for Causal<S> {
    fn bottom() -> Self {
        Causal::default()
    }

    fn is_bottom(&self) -> bool {
        self.store.is_empty() && self.context.is_empty()
    }

    /// `(s, c) ⊔ (s', c') = (s ⊔_{c,c'} s', c ∪ c')`. Cost follows `other`.
    ///
    /// When `c'` holds at most 4 dots (the delta of a write
    /// over one or two values, or of a small remove), `c'` is joined into `c` FIRST, dot by dot,
    /// noting which of its dots `c` held already; the store join is then given those dots as
    /// `c` (the only ones it asks about, see [`DotStore::join_store`]). So `c`, which a state
    /// holds for every replica it has met, is searched once per replica of `c'`, not once by
    /// the store join and again by the context join (nor merged range list by range list). For
    /// a one-key overwrite joined into a 10^3-key map of registers, the context's share of the
    /// join (its union and the store join's lookups) went from 492 to 404 instructions
    /// (callgrind).
    fn join_ref(&mut self, other: &Self) -> bool {
        let mut log = DotLog::disabled();
        if let Some(d) = other.one_live_dot() {
            if !self.context.insert(d) {
                return false;
            }
            let _ = self.store.join_store(&NOTHING_SEEN, &other.store, &other.context, &mut log);
            return true;
        }
        let mut seen = CausalContext::new();
        if let Some(b) = self.context.join_few(&other.context, &mut seen) {
            return self.store.join_store(&seen, &other.store, &other.context, &mut log) | b;
        }
        let a = self.store.join_store(&self.context, &other.store, &other.context, &mut log);
        let b = self.context.join_ref(&other.context);
        a | b
    }

    /// By value: what the store adds may be moved out of `other`
    /// ([`DotStore::join_store_moving`]).
    fn join(&mut self, mut other: Self) -> bool {
        let mut log = DotLog::disabled();
        if let Some(d) = other.one_live_dot() {
            if !self.context.insert(d) {
                return false;
            }
            let _ = self.store.join_store_moving(&NOTHING_SEEN, &mut other.store, &other.context, &mut log);
            return true;
        }
        let mut seen = CausalContext::new();
        if let Some(b) = self.context.join_few(&other.context, &mut seen) {
            return self.store.join_store_moving(&seen, &mut other.store, &other.context, &mut log) | b;
        }
        let a = self.store.join_store_moving(&self.context, &mut other.store, &other.context, &mut log);
        let b = self.context.join_ref(&other.context);
        a | b
    }

    fn leq(&self, other: &Self) -> bool {
        if !self.context.leq(&other.context) {
            return false;
        }
        // With self.c ⊆ other.c, self ≤ other iff every dot live in other that self has seen is
        // live in self (otherwise self removed it) and every live dot of self is live in other
        // (otherwise other removed it) with a payload other already covers.
        let mut o = other.clone();
        let mut log = DotLog::disabled();
        !o.store.join_store(&other.context, &self.store, &self.context, &mut log)
    }
}

/// A mutable view of a dot store inside a causal state, used to mutate it and record the delta.
///
/// Delta mutators of the causal types are methods on `Handle<'_, TheirStore>`: on the top-level
/// types they are reached through their own methods (`OrSet::insert` and so on); inside an
/// [`OrMap`](crate::OrMap) through [`OrMap::update`](crate::OrMap::update), whose closure
/// receives a handle on the key's value. Every change goes to the state AND to the delta, so the
/// delta returned at the end is exactly what the mutations did.
pub struct Handle<'a, S> {
    pub(crate) store: &'a mut S,
    pub(crate) dstore: &'a mut S,
    pub(crate) ctx: &'a mut CausalContext,
    pub(crate) dctx: &'a mut CausalContext,
    pub(crate) replica: ReplicaId,
    pub(crate) log: &'a mut DotLog,
}

impl<'a, S> Handle<'a, S> {
    /// The replica on whose behalf the mutations are made.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The current value (read access while mutating).
    pub fn get(&self) -> &S {
        self.store
    }

    /// Mints a new dot for this replica, recording it in the state's and the delta's contexts.
    pub(crate) fn mint(&mut self) -> Dot {
        let d = self.ctx.next_dot(self.replica);
        self.dctx.insert(d);
        self.log.added(d);
        d
    }

    /// Records that `dot` was removed from the state's store by this mutation: the delta's
    /// context carries it, so receivers remove it too.
    pub(crate) fn forget(&mut self, dot: Dot) {
        self.dctx.insert(dot);
        self.log.removed(dot);
    }
}

impl<S: fmt::Debug> fmt::Debug for Handle<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("replica", &self.replica).field("value", &self.store).finish()
    }
}

/// `Causal { store, context }`, both shaped like their domain.
impl<S: fmt::Debug> fmt::Debug for Causal<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Causal").field("store", &self.store).field("context", &self.context).finish()
    }
}

/// A CRDT that can be the value type of an [`OrMap`](crate::OrMap).
///
/// Inside a map a value lives as a bare dot store sharing the map's causal context, so that a
/// remove of its key is an exact observed reset. `Store` is that causal form: for causal types it
/// is their own store; for the plain counters and the LWW register it is a causal counterpart
/// (a [`CausalCounter`](crate::CausalCounter) store, an LWW value under a dot), because a plain
/// counter has no dots and would resurrect a removed key's old count on the next merge.
///
/// # Example
///
/// ```
/// use convergent::{EwFlag, causal::{DotStore, Nested}};
///
/// fn empty_store<V: Nested>() -> V::Store { V::Store::default() }
/// assert!(empty_store::<EwFlag>().is_empty());
/// ```
/// Plumbing: public only because it appears in public bounds; hidden from the docs and
/// not covered by semver.
#[doc(hidden)]
pub trait Nested {
    /// The causal form of the value inside a map.
    type Store: DotStore;
}

impl<S: DotStore> Decompose for Causal<S> {
    fn decompose(&self) -> Vec<Self> {
        let mut out = Vec::new();
        let mut live = Vec::new();
        self.store.for_each_dot(&mut |d| live.push(d));
        for d in &live {
            // One dot selected by lookup (`O(1)` for the crate's stores); a clone of the whole
            // store per dot made decomposing a state, and so chunking a snapshot, quadratic.
            let s = self.store.select_dots(&mut core::iter::once(*d));
            out.push(Causal { store: s, context: core::iter::once(*d).collect() });
        }
        for d in self.context.dots() {
            if !self.store.contains_dot(&d) {
                out.push(Causal { store: S::default(), context: core::iter::once(d).collect() });
            }
        }
        out
    }

    fn irreducible_count(&self) -> usize {
        // Live dots count once each; every other dot of the context is a removed-dot irreducible.
        usize::try_from(self.context.dot_count()).unwrap_or(usize::MAX)
    }

    fn delta(&self, other: &Self) -> Self {
        // Live irreducibles of self not below other: dots other has never seen.
        let mut store = self.store.clone();
        store.retain_dots(&mut |d| !other.context.contains(d));
        // Removed irreducibles of self not below other: dots other has not seen, or still holds.
        let mut context = self.context.difference(&other.context);
        // Dots self removed that other still holds: these are in both contexts. Walk the smaller
        // of the two contexts' common dots and other's store, so that the delta of a small group
        // against a large state costs the group, and a group claiming a huge range of events
        // costs only the events of those replicas that other has seen (never the claimed range).
        // The dots found are collected and sorted into ranges once (inserting them one at a time
        // in the store's order, a hash order for sets, would shift the ranges once per dot).
        let mut extra: Vec<Dot> = Vec::new();
        let common = self.context.intersection(&other.context);
        if common.dot_count() <= other.store.dot_count() as u64 {
            for d in common.dots() {
                super::work::add(1);
                if !self.store.contains_dot(&d) && other.store.contains_dot(&d) {
                    extra.push(d);
                }
            }
        } else {
            other.store.for_each_dot(&mut |d| {
                super::work::add(1);
                if self.context.contains(&d) && !self.store.contains_dot(&d) {
                    extra.push(d);
                }
            });
        }
        store.for_each_dot(&mut |d| extra.push(d));
        context.extend(extra);
        Causal { store, context }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::causal::CheckInvariants;
    use crate::{MvRegister, OrMap, OrSet};

    /// The general join: the store join against the whole receiving context, then the
    /// contexts' union (no path for small or one-dot deltas).
    fn general<S: DotStore>(x: &mut Causal<S>, d: &Causal<S>) -> bool {
        let mut log = DotLog::disabled();
        let a = x.store.join_store(&x.context, &d.store, &d.context, &mut log);
        a | x.context.join_ref(&d.context)
    }

    /// Random histories of three replicas whose deltas are delivered late, twice, or after a
    /// full state; each delivery is joined by value, by reference and by the general join,
    /// all three giving the same state and changed flag. Returns how many deliveries took the
    /// small-context path (a context of 2 to `FEW_DOTS` dots).
    fn history<T, S: DotStore>(
        seed: u64,
        steps: usize,
        inner: impl Fn(&T) -> &Causal<S>,
        mut op: impl FnMut(&mut SmallRng, ReplicaId, &mut T) -> T,
    ) -> usize
    where
        T: Lattice + Clone + PartialEq + core::fmt::Debug + CheckInvariants,
    {
        let mut g = SmallRng::seed_from_u64(seed);
        let ids = [ReplicaId::from_u128(3), ReplicaId::from_u128(1 << 70), ReplicaId::from_u128(7)];
        let mut states: Vec<T> = (0..3).map(|_| T::bottom()).collect();
        let mut inbox: Vec<(usize, T)> = Vec::new();
        let mut small = 0;
        for step in 0..steps {
            let r = g.gen_range(0..3);
            match g.gen_range(0..10) {
                0..5 => {
                    let d = op(&mut g, ids[r], &mut states[r]);
                    for to in 0..3 {
                        if to != r || g.gen_range(0..4) == 0 {
                            inbox.push((to, d.clone()));
                        }
                    }
                }
                5..8 if !inbox.is_empty() => {
                    let k = g.gen_range(0..inbox.len());
                    let (to, d) =
                        if g.gen_range(0..3) == 0 { inbox[k].clone() } else { inbox.swap_remove(k) };
                    let n = inner(&d).context.dot_count();
                    small += usize::from(n > 1 && n <= super::super::context::FEW_DOTS);
                    let mut want = inner(&states[to]).clone();
                    let changed = general(&mut want, inner(&d));
                    let mut by_ref = states[to].clone();
                    let changed_ref = by_ref.join_ref(&d);
                    let changed_val = states[to].join(d);
                    assert!(*inner(&states[to]) == want, "seed {seed} step {step}: {:?}", states[to]);
                    assert_eq!(by_ref, states[to], "seed {seed} step {step}");
                    assert_eq!((changed_ref, changed_val), (changed, changed), "seed {seed} step {step}");
                    assert_eq!(states[to].check_invariants(), Ok(()), "seed {seed} step {step}");
                }
                _ => {
                    let from = states[g.gen_range(0..3)].clone();
                    states[r].join(from);
                }
            }
        }
        small
    }

    /// Small deltas (a write over one or two values, a remove of a key or element, a clear)
    /// join as the general join does, whether their dots are new or seen here already.
    #[test]
    fn small_deltas_join_as_the_general_join() {
        let mut small = 0;
        for seed in 0..30 {
            small += history::<MvRegister<u8>, _>(seed, 300, MvRegister::as_causal, |g, me, x| {
                match g.gen_range(0..5) {
                    0 => x.clear(me),
                    _ => x.write(me, g.gen_range(0..4)),
                }
            });
            small += history::<OrMap<u8, MvRegister<u8>>, _>(seed, 300, OrMap::as_causal, |g, me, m| {
                let k = g.gen_range(0..4);
                match g.gen_range(0..6) {
                    0 => m.remove(me, &k),
                    1 => {
                        m.mutate(me, |h| {
                            h.update(k, |x| x.write(1));
                            h.update((k + 1) % 4, |x| x.write(2));
                        })
                        .0
                    }
                    _ => m.update(me, k, |x| x.write(g.gen_range(0..4))).0,
                }
            });
            small += history::<OrSet<u8>, _>(seed, 300, OrSet::as_causal, |g, me, s| {
                let e = g.gen_range(0..6);
                match g.gen_range(0..4) {
                    0 => s.remove(me, &e),
                    1 => s.clear(me),
                    _ => s.insert(me, e),
                }
            });
        }
        assert!(small > 2000, "{small}");
    }
}
