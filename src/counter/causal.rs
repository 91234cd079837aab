//! Causal counters: counters that can be reset, and so can live inside an [`OrMap`](crate::OrMap).
//!
//! A plain G-Counter or PN-Counter has no dots, so an [`OrMap`](crate::OrMap) could not remove
//! exactly what a remover saw under a key: the old count would come back on the next merge
//! (riak_dt issues 92 and 98, Akka's documented ORMap resurrection). The causal form is a dot
//! function with (normally) one dot per replica, holding that replica's running totals; every
//! increment re-mints the replica's dot (Almeida, Shoker and Baquero, *Delta State Replicated Data
//! Types*, JPDC 2018, section 7.2, "causal counter"). A remove of the key, which is a causal
//! context of the dots it saw, then takes exactly those replicas' contributions away.
//!
//! # Exact reads
//!
//! Each live dot carries the running totals of one *chain* of its replica: the replica re-mints
//! its dot on every change, the new dot carrying the old totals plus the change, and the delta
//! removes the replica's previous dot in its context. A chain ends when a reset removes the
//! replica's dot; the replica's next change starts a new chain from 0. A state built by joining
//! whole deltas and states, in ANY order (causal or not), holds at most one live dot per chain: a
//! chain's new dot arrives together with the removal of its predecessor. So two live dots of
//! one replica are two chains whose counts both stand (the newer chain started after a reset
//! this state has not received yet), and the exact read is the sum over all live dots. Versions
//! before issue 14 read the largest dot per replica, which under-reads such a state (`a` adds 5,
//! `b` resets, `a` sees the reset and adds 1; `c`, holding both of `a`'s dots but not the reset,
//! read 5 where it has seen +5 and +1: 6). `tests/counter_reads.rs` compares every intermediate
//! read of realistic histories with out-of-order delivery against a model of the operations.
//!
//! A store that received a chain's new dot WITHOUT the removal of its predecessor (a join of
//! only some irreducibles of a delta, as an optimal delta `Decompose::delta` computes against a
//! replica that already saw the predecessor removed by a reset) would over-read; such a split
//! arises only in the limitation below, when a forwarder has seen the reset.
//!
//! # Observed reset, and its one limitation
//!
//! A reset (a remove of the key, or [`CausalCounter::reset`]) removes the dots it saw.
//!
//! * An increment by a replica whose dot the reset did **not** see survives, holding exactly
//!   that replica's running total, which the reset never counted. In particular an increment
//!   concurrent with the reset, by a replica that had no count under the key when the reset was
//!   made, survives as exactly the concurrent increment.
//! * **Limitation.** An increment concurrent with the reset, by a replica `R` whose dot the reset
//!   DID see, brings `R`'s observed count back: `R`'s new dot carries `R`'s whole running total,
//!   the observed part included. Say `R`'s dot held 5 when the reset saw it and `R` concurrently
//!   added 1: after both merge, `R` contributes 6, not 1. Counts of the other replicas the reset
//!   saw stay removed.
//!
//! No counter whose state stays bounded (one entry per replica) and whose reset leaves nothing
//! behind can do better: the state "`R`'s dot `R:p` was reset, and concurrently `R` replaced it by
//! `R:m`" is *the same lattice element* as `R`'s own state "`R` replaced `R:p` by `R:m`"
//! (`({R:m: total}, c ∪ {R:p, R:m})` in both cases), so both must read the same value, and at `R`
//! it is `R`'s whole total. Weidner and Almeida (*An Oblivious Observed-Reset Embeddable Replicated
//! Counter*, PaPoC 2022) reach exact observed reset with an operation-based design that requires
//! FIFO delivery; state-based designs pay with unbounded state or a reset that leaves a record
//! behind. Use an [`MvRegister`](crate::MvRegister) or [`LwwRegister`](crate::LwwRegister) of a
//! number when a key's value must restart from exactly zero whatever the concurrency.

use core::fmt;

use crate::causal::{Causal, Handle, Nested, ReplicaId};
use crate::causal::{DotFun, FunPayload, fun_forget, fun_put};
use crate::macros::{causal_newtype, fun_dot_store};
#[cfg(feature = "serde")]
use crate::wire::{DecodeCx, WireDot};

/// The largest total per replica: where increments saturate.
const MAX: u64 = crate::counter::MAX_COUNT;

/// `replica`'s own running totals under the store: the sum of its live dots' payloads (see
/// "Exact reads" in the module docs; at the replica itself there is at most one).
fn own_sum<V: Copy + Default>(fun: &DotFun<V>, replica: ReplicaId, mut add: impl FnMut(V, V) -> V) -> V {
    fun.iter().filter(|(d, _)| d.replica() == replica).fold(V::default(), |acc, (_, v)| add(acc, *v))
}

/// Sum of two totals, saturating at [`MAX`].
fn add_total(a: u64, b: u64) -> u64 {
    a.saturating_add(b).min(MAX)
}

/// The causal store of a grow-only counter: one dot per replica holding its running total.
///
/// This is the value of a [`GCounter`](crate::GCounter) inside an [`OrMap`](crate::OrMap): there
/// it can only be incremented (`increment` on its [`Handle`]), and removing the
/// key resets it (see the [module docs](crate::counter) for the exact reset semantics).
///
/// # Example
///
/// ```
/// use convergent::{causal::Nested, counter::GCounterStore};
///
/// let s = GCounterStore::default();
/// assert_eq!(s.value(), 0);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct GCounterStore {
    pub(super) fun: DotFun<u64>,
}

/// A running total under each dot, no clock; on the wire `(dot, total)`, the total within
/// [`Limits::max_counter`](crate::Limits::max_counter).
impl FunPayload for GCounterStore {
    type P = u64;
    const PAYLOAD_FIELD: &'static str = "counter-store.total";

    #[cfg(feature = "serde")]
    const WIRE_FIELD: &'static str = "counter-store";
    #[cfg(feature = "serde")]
    type WireEntry = (WireDot, u64);

    #[cfg(feature = "serde")]
    fn to_entry(dot: WireDot, total: &u64) -> Self::WireEntry {
        (dot, *total)
    }

    #[cfg(feature = "serde")]
    fn from_entry((dot, total): Self::WireEntry, cx: &DecodeCx) -> (WireDot, Result<u64, crate::Error>) {
        (dot, super::wire::check_total(total, cx))
    }
}

fun_dot_store!([] GCounterStore, wire: (crate::wire::WireDot, u64));

/// Pruning: the retired totals are added to the heir's running total, so the heir's chain goes
/// on with one dot, however many replicas it inherited from.
impl crate::prune::FoldStore for GCounterStore {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        let total = h.get().get(retired);
        if crate::prune::forget_retired(h, retired) > 0 {
            h.increment(total);
        }
    }
}

impl GCounterStore {
    /// The sum of the live dots' totals (exact on every state, see the module docs), saturating
    /// at `u64::MAX`. `O(dots)`.
    ///
    /// ```
    /// # use convergent::counter::GCounterStore;
    /// assert_eq!(GCounterStore::default().value(), 0);
    /// ```
    #[must_use]
    pub fn value(&self) -> u64 {
        self.fun.iter().fold(0u64, |sum, (_, v)| sum.saturating_add(*v))
    }

    /// The running total of `replica` (0 if it never incremented), as [`GCounter::get`].
    /// `O(dots)`.
    ///
    /// [`GCounter::get`]: crate::GCounter::get
    ///
    /// ```
    /// # use convergent::{GCounter, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, GCounter> = OrMap::new();
    /// let _ = m.update(r, "hits", |c| c.increment(3));
    /// assert_eq!(m.get("hits").unwrap().get(r), 3);
    /// ```
    #[must_use]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        own_sum(&self.fun, replica, add_total)
    }
}

/// Shaped like the domain: the count.
impl fmt::Debug for GCounterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value(), f)
    }
}

/// Delta mutators of a grow-only causal counter (the value of an `OrMap<K, GCounter>`).
impl Handle<'_, GCounterStore> {
    /// Adds `n` (this replica's total saturates at [`MAX_COUNT`](crate::counter::MAX_COUNT), 2^53): re-mints this replica's dot with its new running
    /// total. Delta: `({d: total}, {d} ∪ this replica's old dot)`. `n == 0` does nothing.
    /// `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{OrMap, ReplicaId, causal::{Handle, Nested}, counter::GCounterStore};
    /// use convergent::GCounter as G;
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, G> = OrMap::new();
    /// let _ = m.update(r, "hits", |c| c.increment(2));
    /// let _ = m.update(r, "hits", |c| c.increment(3));
    /// assert_eq!(m.get("hits").unwrap().value(), 5);
    /// ```
    pub fn increment(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        let me = self.replica;
        let old = own_sum(&self.store.fun, me, add_total);
        if old == MAX && self.store.fun.iter().any(|(d, _)| d.replica() == me) {
            return;
        }
        fun_forget(self, |d, _| d.replica() == me);
        fun_put(self, old.saturating_add(n).min(MAX));
    }

    /// The current value (read access while mutating). `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{OrMap, ReplicaId, causal::{Handle, Nested}, counter::GCounterStore};
    /// # use convergent::GCounter as G;
    /// let mut m: OrMap<u8, G> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 0, |c| {
    ///     c.increment(1);
    ///     assert_eq!(c.value(), 1);
    /// });
    /// ```
    #[must_use]
    pub fn value(&self) -> u64 {
        self.store.value()
    }
}

/// Running totals of one replica in a PN causal counter: `(increments, decrements)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub(crate) struct Pn {
    pub(crate) p: u64,
    pub(crate) n: u64,
}

fn pn_sum(a: Pn, b: Pn) -> Pn {
    Pn { p: add_total(a.p, b.p), n: add_total(a.n, b.n) }
}

/// The causal store of a counter that goes up and down: one dot per replica holding its running
/// totals of increments and decrements.
///
/// This is the store of [`CausalCounter`], and the value of a [`PnCounter`](crate::PnCounter)
/// inside an [`OrMap`](crate::OrMap), where its [`Handle`] offers `increment`, `decrement` and
/// `reset`. Removing
/// the key resets it (see the [module docs](crate::counter)).
///
/// # Example
///
/// ```
/// use convergent::{CausalCounter, ReplicaId};
///
/// let mut c = CausalCounter::new();
/// let _ = c.decrement(ReplicaId::from_u128(1), 4);
/// assert_eq!(c.as_causal().store().value(), -4);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PnCounterStore {
    pub(super) fun: DotFun<Pn>,
}

/// Running increments and decrements under each dot, no clock; on the wire
/// `(dot, increments, decrements)`, each within [`Limits::max_counter`](crate::Limits::max_counter).
impl FunPayload for PnCounterStore {
    type P = Pn;
    const PAYLOAD_FIELD: &'static str = "counter-store.total";

    #[cfg(feature = "serde")]
    const WIRE_FIELD: &'static str = "counter-store";
    #[cfg(feature = "serde")]
    type WireEntry = (WireDot, u64, u64);

    #[cfg(feature = "serde")]
    fn to_entry(dot: WireDot, v: &Pn) -> Self::WireEntry {
        (dot, v.p, v.n)
    }

    #[cfg(feature = "serde")]
    fn from_entry((dot, p, n): Self::WireEntry, cx: &DecodeCx) -> (WireDot, Result<Pn, crate::Error>) {
        let check = super::wire::check_total;
        (dot, check(p, cx).and_then(|p| Ok(Pn { p, n: check(n, cx)? })))
    }
}

fun_dot_store!([] PnCounterStore, wire: (crate::wire::WireDot, u64, u64));

/// Pruning: as the [`GCounterStore`]'s, for increments and decrements.
impl crate::prune::FoldStore for PnCounterStore {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        let (p, n) = (h.get().increments().get(retired), h.get().decrements().get(retired));
        if crate::prune::forget_retired(h, retired) > 0 {
            h.increment(p);
            h.decrement(n);
        }
    }
}

impl PnCounterStore {
    /// The sum of the live dots' increments minus the sum of their decrements (exact on every
    /// state, see the module docs), saturating to the range of `i64`. `O(dots)`.
    ///
    /// ```
    /// # use convergent::counter::PnCounterStore;
    /// assert_eq!(PnCounterStore::default().value(), 0);
    /// ```
    #[must_use]
    pub fn value(&self) -> i64 {
        let (mut p, mut n) = (0u128, 0u128);
        for (_, v) in self.fun.iter() {
            p += u128::from(v.p);
            n += u128::from(v.n);
        }
        // Fewer than 2^64 dots, each below 2^64: the u128 sums cannot overflow.
        let diff = i128::try_from(p).unwrap_or(i128::MAX) - i128::try_from(n).unwrap_or(i128::MAX);
        i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
    }

    /// The increments of each replica, as [`PnCounter::increments`]. `O(dots)`.
    ///
    /// [`PnCounter::increments`]: crate::PnCounter::increments
    ///
    /// ```
    /// # use convergent::{OrMap, PnCounter, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, PnCounter> = OrMap::new();
    /// let _ = m.update(r, "stock", |c| { c.increment(5); c.decrement(2); });
    /// let store = m.get("stock").unwrap();
    /// assert_eq!((store.increments().get(r), store.decrements().get(r)), (5, 2));
    /// ```
    #[must_use]
    pub fn increments(&self) -> crate::GCounter {
        self.totals(|v| v.p)
    }

    /// The decrements of each replica, as [`PnCounter::decrements`]. `O(dots)`.
    ///
    /// [`PnCounter::decrements`]: crate::PnCounter::decrements
    ///
    /// ```
    /// # use convergent::PnCounter;
    /// # use convergent::counter::PnCounterStore;
    /// assert_eq!(PnCounterStore::default().decrements(), convergent::GCounter::new());
    /// ```
    #[must_use]
    pub fn decrements(&self) -> crate::GCounter {
        self.totals(|v| v.n)
    }

    /// One half's running total per replica (the sum of its live dots' payloads, saturating at
    /// [`MAX_COUNT`](crate::counter::MAX_COUNT)).
    fn totals(&self, half: impl Fn(&Pn) -> u64) -> crate::GCounter {
        let mut out: alloc::vec::Vec<(ReplicaId, u64)> = alloc::vec::Vec::new();
        for (d, v) in self.fun.iter() {
            match out.last_mut() {
                Some((r, t)) if *r == d.replica() => *t = add_total(*t, half(v)),
                _ => out.push((d.replica(), half(v))),
            }
        }
        out.into_iter().filter(|&(_, n)| n > 0).collect()
    }
}

/// Shaped like the domain: the count.
impl fmt::Debug for PnCounterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value(), f)
    }
}

impl Handle<'_, PnCounterStore> {
    fn pn_add(&mut self, dp: u64, dn: u64) {
        if dp == 0 && dn == 0 {
            return;
        }
        let me = self.replica;
        let old = own_sum(&self.store.fun, me, pn_sum);
        let new = Pn { p: old.p.saturating_add(dp).min(MAX), n: old.n.saturating_add(dn).min(MAX) };
        if new == old && self.store.fun.iter().any(|(d, _)| d.replica() == me) {
            return; // saturated: nothing changes
        }
        fun_forget(self, |d, _| d.replica() == me);
        fun_put(self, new);
    }
}

/// Delta mutators of a causal PN counter, at the top level ([`CausalCounter`]) and inside an
/// [`OrMap`](crate::OrMap) (as the value of `OrMap<K, PnCounter>` or `OrMap<K, CausalCounter>`).
impl Handle<'_, PnCounterStore> {
    /// Adds `n`: re-mints this replica's dot with its new totals. Delta:
    /// `({d: totals}, {d} ∪ this replica's old dot)`. `n == 0` does nothing; a replica's total
    /// saturates at [`MAX_COUNT`](crate::counter::MAX_COUNT) (2^53). `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "stock", |c| c.increment(10));
    /// assert_eq!(m.get("stock").unwrap().value(), 10);
    /// ```
    pub fn increment(&mut self, n: u64) {
        self.pn_add(n, 0);
    }

    /// Subtracts `n`, like `increment` on the decrement total.
    /// `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "stock", |c| {
    ///     c.increment(10);
    ///     c.decrement(3);
    /// });
    /// assert_eq!(m.get("stock").unwrap().value(), 7);
    /// ```
    pub fn decrement(&mut self, n: u64) {
        self.pn_add(0, n);
    }

    /// Removes every count this replica has seen (an observed reset; see the
    /// [module docs](crate::counter)). Inside a map, removing the key does the same.
    /// Delta: `(∅, the dots seen)`. `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let _ = m.update(r, "x", |c| c.increment(2));
    /// let _ = m.update(r, "x", |c| c.reset());
    /// assert!(!m.contains_key("x"));
    /// ```
    pub fn reset(&mut self) {
        fun_forget(self, |_, _| true);
    }

    /// The current value (read access while mutating). `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 0, |c| {
    ///     c.decrement(1);
    ///     assert_eq!(c.value(), -1);
    /// });
    /// ```
    #[must_use]
    pub fn value(&self) -> i64 {
        self.store.value()
    }
}

/// A counter that goes up and down and can be reset: the causal counter of design section 3,
/// usable on its own and as a map value (`OrMap<K, CausalCounter>`).
///
/// State: one dot per replica that counted, holding its running totals. Each increment or
/// decrement delta is one dot with its totals, plus the replica's previous dot in the context.
/// [`reset`](Self::reset) removes exactly the counts it has seen; the one exception (a
/// concurrent increment by a replica whose count the reset saw) is described in the
/// [module docs](crate::counter).
///
/// Values saturate: each replica's totals at [`MAX_COUNT`](crate::counter::MAX_COUNT) (2^53, so
/// that totals survive a round trip through JSON numbers), the value at the bounds of `i64`.
///
/// # Example
///
/// ```
/// use convergent::{CausalCounter, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = CausalCounter::new();
/// let _ = x.increment(a, 5);
/// let mut y = x.clone();
/// let _ = x.reset(a); // a resets what it saw (a's 5)...
/// let _ = y.increment(b, 2); // ...while b concurrently adds 2
/// x.join_ref(&y);
/// assert_eq!(x.value(), 2); // only the concurrent increment survives
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CausalCounter {
    inner: Causal<PnCounterStore>,
}

causal_newtype!([] CausalCounter => PnCounterStore);

impl Nested for CausalCounter {
    type Store = PnCounterStore;
}

impl CausalCounter {
    /// A counter at 0 that has seen nothing.
    ///
    /// ```
    /// # use convergent::CausalCounter;
    /// assert_eq!(CausalCounter::new().value(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The value: increments minus decrements over all replicas, saturating to `i64`.
    /// `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, ReplicaId};
    /// let mut c = CausalCounter::new();
    /// let _ = c.increment(ReplicaId::from_u128(1), 3);
    /// assert_eq!(c.value(), 3);
    /// ```
    #[must_use]
    pub fn value(&self) -> i64 {
        self.inner.store.value()
    }

    /// Adds `n`; returns the delta (one dot with this replica's new totals). `n == 0` gives an
    /// empty delta. `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, Lattice, ReplicaId};
    /// let mut c = CausalCounter::new();
    /// let before = c.clone();
    /// let d = c.increment(ReplicaId::from_u128(1), 2);
    /// assert_eq!(before.joined(d), c);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.increment(n)).0 }
    }

    /// Subtracts `n`; returns the delta. `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, ReplicaId};
    /// let mut c = CausalCounter::new();
    /// let _ = c.decrement(ReplicaId::from_u128(1), 2);
    /// assert_eq!(c.value(), -2);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn decrement(&mut self, replica: ReplicaId, n: u64) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.decrement(n)).0 }
    }

    /// Resets the counter to 0 by removing exactly the counts this replica has seen; returns
    /// the delta (context only). `O(replicas)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = CausalCounter::new();
    /// let _ = c.increment(r, 9);
    /// let d = c.reset(r);
    /// assert_eq!(c.value(), 0);
    /// assert!(d.as_causal().store().value() == 0 && !d.context().is_empty());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn reset(&mut self, replica: ReplicaId) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.reset()).0 }
    }
}

/// Shaped like the domain: `CausalCounter(3)`.
impl fmt::Debug for CausalCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CausalCounter").field(&self.value()).finish()
    }
}

/// `quickcheck::Arbitrary`: counters from small real histories (3 replicas with fresh ids from the generator
/// incrementing, decrementing and resetting concurrently, merging at random points).
#[cfg(feature = "quickcheck")]
impl quickcheck::Arbitrary for CausalCounter {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        use crate::Lattice;
        // Fresh replica ids from the generator: independent values are histories of distinct
        // replicas, and a failing seed replays.
        let ids = [(); 3].map(|()| crate::arbitrary::fresh_replica(g));
        let mut reps = [Self::new(), Self::new(), Self::new()];
        let steps = usize::arbitrary(g) % (g.size() + 1);
        for _ in 0..steps {
            let i = usize::from(u8::arbitrary(g) % 3);
            let id = ids[i];
            let n = u64::from(u8::arbitrary(g) % 8);
            match u8::arbitrary(g) % 8 {
                0 => {
                    let _ = reps[i].reset(id);
                }
                1 | 2 => {
                    let other = reps[usize::from(u8::arbitrary(g) % 3)].clone();
                    reps[i].join(other);
                }
                3 | 4 => {
                    let _ = reps[i].decrement(id, n);
                }
                _ => {
                    let _ = reps[i].increment(id, n);
                }
            }
        }
        reps.into_iter().nth(usize::from(u8::arbitrary(g) % 3)).unwrap_or_default()
    }
}
