//! A last-writer-wins value under a dot: the causal form of an LWW register inside an
//! [`OrMap`](crate::OrMap).
//!
//! A plain LWW register has no dots, so a removed key would come back with its old value on the
//! next merge with a replica that still had it. Here each write mints a dot holding
//! `(timestamp, value)` (the dot names the writer) and replaces the dots its writer had seen; a
//! remove of the key is the set of dots it saw, so exactly the writes it saw go away. Writes
//! concurrent with each other are all kept (as in an [`MvRegister`](crate::MvRegister)) until a
//! later write replaces them, and the read picks the greatest by `(timestamp, replica, value)`:
//! a total order, so every replica reads the same winner whatever the order of merges.

use core::fmt;

use crate::causal::{DotFun, FunPayload, fun_forget, fun_put};
use crate::causal::{Handle, ReplicaId};
use crate::clock::{HybridClock, Timestamp};
use crate::macros::fun_dot_store;
#[cfg(feature = "serde")]
use crate::wire::{DecodeCx, WireDot};

/// A last-writer-wins value under dots: the value of an [`LwwRegister`](crate::LwwRegister)
/// inside an [`OrMap`](crate::OrMap).
///
/// Holds the writes not yet replaced (one, unless writes were concurrent); reads return the
/// greatest by `(timestamp, replica, value)`.
///
/// # Example
///
/// ```
/// use convergent::{OrMap, ReplicaId, Timestamp, causal::Nested, register::LwwStore};
///
/// type Lww = convergent::LwwRegister<&'static str>;
///
/// let r = ReplicaId::from_u128(1);
/// let mut m: OrMap<&str, Lww> = OrMap::new();
/// let _ = m.update(r, "title", |v| v.write_at(Timestamp::from_parts(10, 0), "draft"));
/// let _ = m.update(r, "title", |v| v.write_at(Timestamp::from_parts(20, 0), "final"));
/// assert_eq!(m.get("title").unwrap().value(), Some(&"final"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LwwStore<T> {
    pub(super) fun: DotFun<(Timestamp, T)>,
}

impl<T> Default for LwwStore<T> {
    fn default() -> Self {
        LwwStore { fun: DotFun::default() }
    }
}

/// `(timestamp, value)` under each dot; on the wire `(dot, timestamp, value)`. Timestamps are
/// checked against the receiver's clock by validated receipt, not by decoding (a decoder has no
/// clock).
impl<T: Clone + PartialEq> FunPayload for LwwStore<T> {
    type P = (Timestamp, T);
    const PAYLOAD_FIELD: &'static str = "lww-store.value";

    fn timestamp(payload: &Self::P) -> Option<Timestamp> {
        Some(payload.0)
    }

    #[cfg(feature = "serde")]
    const WIRE_FIELD: &'static str = "lww-store.value";
    #[cfg(feature = "serde")]
    type WireEntry = (WireDot, Timestamp, T);

    #[cfg(feature = "serde")]
    fn to_entry(dot: WireDot, (ts, v): &Self::P) -> Self::WireEntry {
        (dot, *ts, v.clone())
    }

    #[cfg(feature = "serde")]
    fn from_entry((dot, ts, v): Self::WireEntry, _: &DecodeCx) -> (WireDot, Result<Self::P, crate::Error>) {
        (dot, Ok((ts, v)))
    }
}

fun_dot_store!([T: Clone + PartialEq] LwwStore<T>, wire: (crate::wire::WireDot, Timestamp, T));

/// Pruning: each write of the retired replica re-issued under a dot of the heir.
impl<T: Clone + PartialEq> crate::prune::FoldStore for LwwStore<T> {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        crate::prune::fold_values(h, retired);
    }
}

impl<T: Ord> LwwStore<T> {
    /// The winning write: the greatest by `(timestamp, replica, value)`, as
    /// `(timestamp, writer, value)`. `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::register::LwwStore;
    /// assert!(LwwStore::<u8>::default().winner().is_none());
    /// ```
    #[must_use]
    pub fn winner(&self) -> Option<(Timestamp, ReplicaId, &T)> {
        self.fun.iter().map(|(d, (ts, v))| (*ts, d.replica(), v)).max()
    }

    /// The winning value. `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::register::LwwStore;
    /// assert_eq!(LwwStore::<u8>::default().value(), None);
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.winner().map(|(_, _, v)| v)
    }

    /// The timestamp of the winning write. `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::register::LwwStore;
    /// assert_eq!(LwwStore::<u8>::default().timestamp(), None);
    /// ```
    #[must_use]
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.winner().map(|(ts, _, _)| ts)
    }

    /// The replica of the winning write, as [`LwwRegister::writer`](crate::LwwRegister::writer).
    /// `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::register::LwwStore;
    /// assert_eq!(LwwStore::<u8>::default().writer(), None);
    /// ```
    #[must_use]
    pub fn writer(&self) -> Option<ReplicaId> {
        self.winner().map(|(_, r, _)| r)
    }
}

impl<T> LwwStore<T> {
    /// Whether no write is live. `O(1)`.
    ///
    /// ```
    /// # use convergent::register::LwwStore;
    /// assert!(LwwStore::<u8>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fun.is_empty()
    }
}

/// Shaped like the domain: the winning value (`None` if no write is live).
impl<T: Ord + fmt::Debug> fmt::Debug for LwwStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value(), f)
    }
}

/// Delta mutators of an LWW value inside an [`OrMap`](crate::OrMap).
impl<T: Clone + Ord> Handle<'_, LwwStore<T>> {
    /// Writes `value` at `ts` if it beats the current winner by `(timestamp, replica, value)`:
    /// then one new dot holding `(ts, value)` replaces every write this replica has seen, and the
    /// delta is `({d: (ts, value)}, {d} ∪ replaced dots)`. Otherwise the write loses, as it would
    /// against a plain LWW register: nothing changes and `false` is returned.
    /// `O(concurrent writes)`.
    ///
    /// Timestamps should come from a [`HybridClock`](crate::HybridClock) that has observed the
    /// current winner, so that a later write wins.
    ///
    /// ```
    /// # use convergent::{OrMap, ReplicaId, Timestamp, causal::Nested, register::LwwStore};
    /// # type Lww = convergent::LwwRegister<u8>;
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<u8, Lww> = OrMap::new();
    /// let _ = m.update(r, 0, |v| assert!(v.write_at(Timestamp::from_parts(5, 0), 1)));
    /// let (d, ()) = m.update(r, 0, |v| assert!(!v.write_at(Timestamp::from_parts(4, 0), 2))); // older: loses
    /// assert_eq!(m.get(&0).unwrap().value(), Some(&1));
    /// assert!(d.is_empty() && d.context().is_empty());
    /// ```
    pub fn write_at(&mut self, ts: Timestamp, value: T) -> bool {
        let me = self.replica;
        if let Some(w) = self.store.winner() {
            if (ts, me, &value) <= w {
                return false;
            }
        }
        fun_forget(self, |_, _| true);
        fun_put(self, (ts, value));
        true
    }

    /// Writes `value` with a timestamp from `clock`, as
    /// [`LwwRegister::write_with`](crate::LwwRegister::write_with): the clock first observes the
    /// current winner, so the write wins (with `wall_ms`, the wall clock in milliseconds since
    /// the Unix epoch). Always returns `true`. `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::{HybridClock, LwwRegister, OrMap, ReplicaId, Timestamp};
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut m: OrMap<&str, LwwRegister<&str>> = OrMap::new();
    /// let _ = m.update(b, "k", |v| v.write_at(Timestamp::from_parts(5_000, 0), "remote, clock ahead"));
    /// let mut clock = HybridClock::new();
    /// let _ = m.update(a, "k", |v| v.write_with(&mut clock, 1_000, "local, clock behind"));
    /// assert_eq!(m.get("k").unwrap().value(), Some(&"local, clock behind"));
    /// ```
    pub fn write_with(&mut self, clock: &mut HybridClock, wall_ms: u64, value: T) -> bool {
        if let Some(t) = self.store.timestamp() {
            clock.observe(t);
        }
        let ts = clock.tick(wall_ms);
        self.write_at(ts, value)
    }

    /// The current winning value (read access while mutating). `O(concurrent writes)`.
    ///
    /// ```
    /// # use convergent::{OrMap, ReplicaId, Timestamp, causal::Nested, register::LwwStore};
    /// # type Lww = convergent::LwwRegister<u8>;
    /// let mut m: OrMap<u8, Lww> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 0, |v| {
    ///     v.write_at(Timestamp::from_parts(1, 0), 9);
    ///     assert_eq!(v.value(), Some(&9));
    /// });
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.store.value()
    }
}
