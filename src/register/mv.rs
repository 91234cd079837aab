//! The multi-value register and its store.
//!
//! Almeida, Shoker and Baquero, *Delta State Replicated Data Types* (JPDC 2018), section 6: a
//! *dot function* maps each live dot to a payload; its causal join keeps a dot that both sides
//! hold, or that one side holds and the other has never seen. In this crate a dot's payload never
//! changes once minted (a new value always gets a new dot), so the join of two payloads of one dot
//! is never needed: both sides hold the same payload.

use core::fmt;

use crate::causal::{Causal, Dot, DotFun, FunPayload, Handle, Nested, ReplicaId, fun_forget, fun_put};
use crate::macros::{causal_newtype, fun_dot_store};
#[cfg(feature = "serde")]
use crate::wire::{DecodeCx, WireDot};

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
    pub(super) fun: DotFun<T>,
}

impl<T> Default for MvStore<T> {
    fn default() -> Self {
        MvStore { fun: DotFun::default() }
    }
}

/// A value under each dot, no clock; on the wire `(dot, value)`.
impl<T: Clone + PartialEq> FunPayload for MvStore<T> {
    type P = T;
    const PAYLOAD_FIELD: &'static str = "mv-register.value";

    #[cfg(feature = "serde")]
    const WIRE_FIELD: &'static str = "mv-register";
    #[cfg(feature = "serde")]
    type WireEntry = (WireDot, T);

    #[cfg(feature = "serde")]
    fn to_entry(dot: WireDot, v: &T) -> Self::WireEntry {
        (dot, v.clone())
    }

    #[cfg(feature = "serde")]
    fn from_entry((dot, v): Self::WireEntry, _: &DecodeCx) -> (WireDot, Result<T, crate::Error>) {
        (dot, Ok(v))
    }
}

fun_dot_store!([T: Clone + PartialEq] MvStore<T>, wire: (crate::wire::WireDot, T));

/// Pruning: each value of the retired replica re-issued under a dot of the heir.
impl<T: Clone + PartialEq> crate::prune::FoldStore for MvStore<T> {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        crate::prune::fold_values(h, retired);
    }
}

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
    /// # use convergent::register::MvStore;
    /// assert_eq!(MvStore::<u8>::default().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.fun.len()
    }

    /// Whether the register holds no value (never written, or cleared). `O(1)`.
    ///
    /// ```
    /// # use convergent::register::MvStore;
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
/// let it: convergent::register::MvValues<'_, i32> = r.values();
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

/// `quickcheck::Arbitrary`: registers from small real histories (3 replicas with fresh ids from
/// the generator writing and clearing concurrently, merging at random points), so concurrent values occur.
#[cfg(feature = "quickcheck")]
impl<T: quickcheck::Arbitrary + PartialEq> quickcheck::Arbitrary for MvRegister<T> {
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
