//! The multi-value register, and the dot-function store it and the causal counters are built on.
//!
//! Almeida, Shoker and Baquero, *Delta State Replicated Data Types* (JPDC 2018), section 6: a
//! *dot function* maps each live dot to a payload; its causal join keeps a dot that both sides
//! hold, or that one side holds and the other has never seen. In this crate a dot's payload never
//! changes once minted (a new value always gets a new dot), so the join of two payloads of one dot
//! is never needed: both sides hold the same payload.

use core::fmt;

use smallvec::SmallVec;

use crate::causal::{Causal, CausalContext, Dot, DotLog, Handle, Nested, ReplicaId};
use crate::macros::causal_newtype;

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

        impl<$($gen)*> $crate::mvreg::FunStore for $name {
            type V = <Self as $crate::mvreg::FunPayload>::P;
            fn fun_mut(&mut self) -> &mut $crate::mvreg::DotFun<Self::V> {
                &mut self.fun
            }
        }

        impl<$($gen)*> $crate::map::CheckInvariants for $name {
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

/// The store of an [`MvRegister`]: the concurrent values written and not yet overwritten, each
/// under the dot of its write. Also the value of a register inside an [`OrMap`](crate::OrMap):
/// `map.get(&k)` returns it, and [`values`](Self::values) reads it.
///
/// # Example
///
/// ```
/// use convergent::{MvRegister, OrMap, ReplicaId};
///
/// let mut m: OrMap<&str, MvRegister<u32>> = OrMap::new();
/// let _ = m.update(ReplicaId::from_u128(1), "x", |reg| reg.write(7));
/// let store = m.get("x").unwrap();
/// assert_eq!(store.values().collect::<Vec<_>>(), [&7]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MvStore<T> {
    fun: DotFun<T>,
}

impl<T> Default for MvStore<T> {
    fn default() -> Self {
        MvStore { fun: DotFun::default() }
    }
}

impl<T: Clone + PartialEq> FunPayload for MvStore<T> {
    type P = T;
}

fun_dot_store!([T: Clone + PartialEq] MvStore<T>);

impl<T> MvStore<T> {
    /// The concurrent values, in the order of their writes' dots (deterministic across
    /// replicas). `O(1)` to create, `O(values)` to run.
    ///
    /// ```
    /// # use convergent::{MvRegister, ReplicaId};
    /// let mut r = MvRegister::new();
    /// let _ = r.write(ReplicaId::from_u128(1), "a");
    /// assert_eq!(r.as_causal().store().values().collect::<Vec<_>>(), [&"a"]);
    /// ```
    pub fn values(&self) -> MvValues<'_, T> {
        MvValues { inner: self.fun.iter() }
    }

    /// The number of concurrent values. `O(1)`.
    ///
    /// ```
    /// # use convergent::MvStore;
    /// assert_eq!(MvStore::<u8>::default().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.fun.len()
    }

    /// Whether the register holds no value (never written, or cleared). `O(1)`.
    ///
    /// ```
    /// # use convergent::MvStore;
    /// assert!(MvStore::<u8>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fun.is_empty()
    }
}

/// Shaped like the domain: the set of concurrent values, `{1, 2}`.
impl<T: fmt::Debug> fmt::Debug for MvStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values()).finish()
    }
}

/// The values of a multi-value register, in dot order. Returned by [`MvStore::values`] and
/// [`MvRegister::values`].
///
/// ```
/// # use convergent::{MvRegister, ReplicaId};
/// let mut r = MvRegister::new();
/// let _ = r.write(ReplicaId::from_u128(1), 3);
/// let it: convergent::MvValues<'_, i32> = r.values();
/// assert_eq!(it.len(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct MvValues<'a, T> {
    inner: core::slice::Iter<'a, (Dot, T)>,
}

impl<'a, T> Iterator for MvValues<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        self.inner.next().map(|(_, v)| v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> ExactSizeIterator for MvValues<'_, T> {}
impl<'a, T> DoubleEndedIterator for MvValues<'a, T> {
    fn next_back(&mut self) -> Option<&'a T> {
        self.inner.next_back().map(|(_, v)| v)
    }
}
impl<T> core::iter::FusedIterator for MvValues<'_, T> {}

/// Delta mutators of a multi-value register, at the top level ([`MvRegister`]) and inside an
/// [`OrMap`](crate::OrMap).
impl<T: Clone + PartialEq> Handle<'_, MvStore<T>> {
    /// Writes `value`, overwriting every value this replica has seen.
    /// Delta: `({d: value}, {d} ∪ overwritten dots)`. `O(concurrent values)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, MvRegister<&str>> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 0, |reg| {
    ///     reg.write("first");
    ///     reg.write("second"); // overwrites "first", also within one delta
    /// });
    /// assert_eq!(m.get(&0).unwrap().values().collect::<Vec<_>>(), [&"second"]);
    /// ```
    pub fn write(&mut self, value: T) {
        fun_forget(self, |_, _| true);
        fun_put(self, value);
    }

    /// Clears the register: removes exactly the values this replica has seen.
    /// Delta: `(∅, cleared dots)`; empty if the register was empty. `O(concurrent values)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<u8, MvRegister<u8>> = OrMap::new();
    /// let _ = m.update(r, 0, |reg| reg.write(1));
    /// let _ = m.update(r, 0, |reg| reg.clear());
    /// assert!(!m.contains_key(&0)); // an empty value leaves no key behind
    /// ```
    pub fn clear(&mut self) {
        fun_forget(self, |_, _| true);
    }

    /// The current concurrent values (read access while mutating). `O(1)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, MvRegister<u8>> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 0, |reg| {
    ///     reg.write(4);
    ///     assert_eq!(reg.values().collect::<Vec<_>>(), [&4]);
    /// });
    /// ```
    pub fn values(&self) -> MvValues<'_, T> {
        self.store.values()
    }
}

/// A multi-value register: a write overwrites every value it has seen; concurrent writes are all
/// kept, until a later write (that has seen them) overwrites them.
///
/// State `O(concurrent writes)`: one dot and one value per write not yet overwritten. A write's
/// delta is its value and one dot, plus the dots it overwrites (no values).
///
/// # Example
///
/// ```
/// use convergent::{Lattice, MvRegister, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = MvRegister::new();
/// let mut y = MvRegister::new();
/// let _ = x.write(a, "apple");
/// let _ = y.write(b, "banana"); // concurrent
/// x.join_ref(&y);
/// assert_eq!(x.values().collect::<Vec<_>>(), [&"apple", &"banana"]);
///
/// let _ = x.write(a, "cherry"); // has seen both: overwrites both
/// y.join_ref(&x);
/// assert_eq!(y.values().collect::<Vec<_>>(), [&"cherry"]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MvRegister<T> {
    inner: Causal<MvStore<T>>,
}

causal_newtype!([T: Clone + PartialEq] MvRegister<T> => MvStore<T>);

impl<T: Clone + PartialEq> Nested for MvRegister<T> {
    type Store = MvStore<T>;
}

impl<T: Clone + PartialEq> MvRegister<T> {
    /// An empty register that has seen nothing.
    ///
    /// ```
    /// # use convergent::MvRegister;
    /// assert!(MvRegister::<u8>::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value`, overwriting every value this replica has seen; returns the delta
    /// `({d: value}, {d} ∪ overwritten dots)`. `O(concurrent values)`.
    ///
    /// ```
    /// # use convergent::{Lattice, MvRegister, ReplicaId};
    /// let mut r = MvRegister::new();
    /// let before = r.clone();
    /// let d = r.write(ReplicaId::from_u128(1), 5);
    /// assert_eq!(before.joined(d), r);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn write(&mut self, replica: ReplicaId, value: T) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.write(value)).0 }
    }

    /// Clears the register, removing exactly the values it has seen; returns the delta
    /// (context only; empty if the register was empty). `O(concurrent values)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut reg = MvRegister::new();
    /// let _ = reg.write(r, 1);
    /// let d = reg.clear(r);
    /// assert!(reg.is_empty());
    /// assert!(d.as_causal().store().is_empty());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn clear(&mut self, replica: ReplicaId) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.clear()).0 }
    }
}

impl<T> MvRegister<T> {
    /// The concurrent values, in a deterministic order (that of their writes' dots). `O(1)` to
    /// create.
    ///
    /// ```
    /// # use convergent::{MvRegister, ReplicaId};
    /// let mut r = MvRegister::new();
    /// let _ = r.write(ReplicaId::from_u128(1), 'x');
    /// assert_eq!(r.values().copied().collect::<String>(), "x");
    /// ```
    pub fn values(&self) -> MvValues<'_, T> {
        self.inner.store.values()
    }

    /// The number of concurrent values. `O(1)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, ReplicaId};
    /// let mut r = MvRegister::new();
    /// let _ = r.write(ReplicaId::from_u128(1), 0u8);
    /// assert_eq!(r.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.store.len()
    }

    /// Whether the register holds no value. `O(1)`.
    ///
    /// ```
    /// # use convergent::MvRegister;
    /// assert!(MvRegister::<u8>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.store.is_empty()
    }
}

/// Shaped like the domain: `MvRegister{1, 2}`.
impl<T: fmt::Debug> fmt::Debug for MvRegister<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MvRegister")?;
        fmt::Debug::fmt(&self.inner.store, f)
    }
}

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{DotFun, MvRegister, MvStore};
    use crate::wire::{Decode, DecodeCx, ReplicaTable, WireDot, WireStore};
    use crate::{Causal, Error};

    impl<V> DotFun<V> {
        /// The wire form: `(dot, payload)` in dot order (the table is in replica order, so dot
        /// order is wire order).
        pub(crate) fn to_wire_with<W>(&self, table: &ReplicaTable, f: impl Fn(&V) -> W) -> Vec<(WireDot, W)> {
            self.iter().map(|(d, v)| (table.dot(d), f(v))).collect()
        }
    }

    impl<T: Clone + PartialEq + Serialize + DeserializeOwned> WireStore for MvStore<T> {
        type Wire = Vec<(WireDot, T)>;

        fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
            self.fun.to_wire_with(table, T::clone)
        }

        fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
            let fun = decode_fun(wire, table, cx, "mv register", |v, _| Ok(v))?;
            Ok(MvStore { fun })
        }
    }

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
        DotFun::from_sorted(entries).map_err(|(a, b)| {
            if a == b { Error::DuplicateDot { dot: a } } else { Error::NotCanonical { field } }
        })
    }

    impl<T: Clone + PartialEq + Serialize + DeserializeOwned> Serialize for MvRegister<T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.inner.serialize(s)
        }
    }

    impl<'de, T: Clone + PartialEq + Serialize + DeserializeOwned> Deserialize<'de> for MvRegister<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Causal::deserialize(d).map(|inner| MvRegister { inner })
        }
    }

    /// A causal pair: context, then `[(dot, value)]` in dot order.
    impl<T: Clone + PartialEq + Serialize + DeserializeOwned> Decode for MvRegister<T> {
        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            Causal::decode_body(body, cx).map(|inner| MvRegister { inner })
        }
    }
}

#[cfg(feature = "serde")]
pub(crate) use wire_impls::decode_fun;

/// `quickcheck::Arbitrary`: registers from small real histories (3 replicas with fresh random
/// ids writing and clearing concurrently, merging at random points), so concurrent values occur.
#[cfg(feature = "quickcheck")]
impl<T: quickcheck::Arbitrary + PartialEq> quickcheck::Arbitrary for MvRegister<T> {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        use crate::Lattice;
        // Fresh random replica ids: values generated independently are histories of distinct
        // replicas, so any two of them can be joined meaningfully.
        let ids = [ReplicaId::random(), ReplicaId::random(), ReplicaId::random()];
        let mut reps = [Self::new(), Self::new(), Self::new()];
        let steps = usize::arbitrary(g) % (g.size() + 1);
        for _ in 0..steps {
            let i = usize::from(u8::arbitrary(g) % 3);
            let id = ids[i];
            match u8::arbitrary(g) % 8 {
                0 => {
                    let _ = reps[i].clear(id);
                }
                1 | 2 => {
                    let other = reps[usize::from(u8::arbitrary(g) % 3)].clone();
                    reps[i].join(other);
                }
                _ => {
                    let _ = reps[i].write(id, T::arbitrary(g));
                }
            }
        }
        reps.into_iter().nth(usize::from(u8::arbitrary(g) % 3)).unwrap_or_default()
    }
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

/// A value under each dot: the one the receiver holds for the same dot, or none.
impl<T: Clone + PartialEq> crate::receive::ReceiveStore for MvStore<T> {
    fn check_clock(&self, _: &crate::ReceivePolicy) -> Result<(), crate::Error> {
        Ok(())
    }

    fn check_payloads(&self, local: &Self) -> Result<(), crate::Error> {
        match self.fun.first_conflict(&local.fun) {
            Some(_) => Err(crate::Error::ConflictingPayload { field: "mv register value" }),
            None => Ok(()),
        }
    }
}
