//! The OrMap type.

use core::borrow::Borrow;
use core::fmt;
use core::hash::Hash;

use crate::causal::{Causal, CheckInvariants, DotStore, Handle, Nested, ReplicaId};

use super::store::{Iter, Keys, MapStore, Values};
use crate::macros::causal_newtype;

/// An observed-remove map whose values are CRDTs of this crate, nested to any depth.
///
/// * [`update`](Self::update) runs mutations of one key's value and returns ONE delta holding
///   only the nested delta; [`mutate`](Self::mutate) runs any number of updates and removes,
///   on any keys, into ONE delta.
/// * [`remove`](Self::remove) is an observed reset: it removes exactly what this replica has seen
///   under the key. A concurrent update survives holding only the concurrent part. Nothing the
///   remover saw comes back (for counters, see the one documented exception in
///   [`ccounter`](crate::counter)). Re-adding a removed key starts from a clean value.
/// * A key is present exactly when its value is non-empty: a value emptied by its own mutators
///   (a cleared register, a disabled flag) drops the key too.
///
/// Costs: a mutation costs what it changes; joining a delta costs the delta's size (plus the
/// dots it removes), not the map's: the store keeps a `dot -> key` index (see [`MapStore`]).
///
/// # Example
///
/// ```
/// use convergent::{Lattice, MvRegister, OrMap, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x: OrMap<&str, MvRegister<u32>> = OrMap::new();
/// let _ = x.update(a, "color", |r| r.write(1));
/// let mut y = x.clone();
///
/// let _ = x.remove(a, "color"); // a removes what it saw...
/// let _ = y.update(b, "color", |r| r.write(2)); // ...while b concurrently writes
/// x.join_ref(&y);
/// // The key survives with only b's concurrent write; a's old value is gone for good.
/// assert_eq!(x.get("color").unwrap().values().collect::<Vec<_>>(), [&2]);
/// ```
pub struct OrMap<K, V: Nested> {
    pub(super) inner: Causal<MapStore<K, V::Store>>,
}

causal_newtype!([K, V: Nested] OrMap<K, V> => MapStore<K, V::Store>);

impl<K: Hash + Eq + Clone, V: Nested> Nested for OrMap<K, V> {
    type Store = MapStore<K, V::Store>;
}

impl<K, V: Nested> Clone for OrMap<K, V>
where
    MapStore<K, V::Store>: Clone,
{
    fn clone(&self) -> Self {
        OrMap { inner: self.inner.clone() }
    }
}

impl<K: Hash + Eq, V: Nested> PartialEq for OrMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl<K: Hash + Eq, V: Nested> Eq for OrMap<K, V> where V::Store: Eq {}

/// Shaped like the domain: `{key: value, ...}`, each value shown as its store shows it.
impl<K: fmt::Debug, V: Nested> fmt::Debug for OrMap<K, V>
where
    V::Store: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner.store, f)
    }
}

impl<K: Hash + Eq + Clone, V: Nested> OrMap<K, V> {
    /// An empty map that has seen nothing.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap};
    /// assert!(OrMap::<u8, EwFlag>::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on a handle to `key`'s value (empty if absent) and returns the delta with `f`'s
    /// result: ONE delta holding only what `f` did (the same shape as [`mutate`](Self::mutate)).
    /// Mutators of the value are methods of the handle (for example `write` for an
    /// [`MvRegister`](crate::MvRegister) value, `enable` for an [`EwFlag`](crate::EwFlag),
    /// `update` for a nested map). `O(f's work)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, EwFlag, Lattice, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, OrMap<&str, EwFlag>> = OrMap::new();
    /// let before = m.clone();
    /// let (d, ()) = m.update(r, "settings", |s| {
    ///     s.update("dark", |f| f.enable());
    ///     s.update("beta", |f| f.enable());
    /// });
    /// assert_eq!(before.joined(d), m);
    /// assert_eq!(m.get("settings").unwrap().len(), 2);
    ///
    /// // The closure's result comes back with the delta.
    /// let mut stock: OrMap<&str, CausalCounter> = OrMap::new();
    /// let (_, eggs) = stock.update(r, "eggs", |q| {
    ///     q.increment(6);
    ///     q.value()
    /// });
    /// assert_eq!(eggs, 6);
    /// ```
    ///
    /// Each handle's mutators have their own names (an LWW value has `write_at` and
    /// `write_with`, an MV register `write`), so a map whose value type is not yet annotated
    /// still type-checks (this used to fail with E0034, two handles both having `write`):
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let mut m = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "x", |r| r.write(7));
    /// let m: OrMap<&str, MvRegister<i32>> = m;
    /// assert_eq!(m.get("x").unwrap().values().collect::<Vec<_>>(), [&7]);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn update<R>(
        &mut self,
        replica: ReplicaId,
        key: K,
        f: impl FnOnce(&mut Handle<'_, V::Store>) -> R,
    ) -> (Self, R) {
        let (inner, r) = self.inner.mutate(replica, |h| h.update(key, f));
        (Self { inner }, r)
    }

    /// Runs `f` on a handle to the whole map: any number of `update`, `remove` and `clear`
    /// calls, on the same or different keys, make ONE delta, returned with `f`'s result (the
    /// same name and shape as [`OrSet::mutate`](crate::OrSet::mutate)).
    ///
    /// ```
    /// # use convergent::{CausalCounter, Lattice, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let before = m.clone();
    /// let (d, ()) = m.mutate(r, |h| {
    ///     h.update("a", |c| c.increment(1));
    ///     h.update("b", |c| c.increment(2));
    ///     h.update("a", |c| c.increment(3));
    /// });
    /// assert_eq!(m.get("a").unwrap().value(), 4);
    /// assert_eq!(before.joined(d), m);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn mutate<R>(
        &mut self,
        replica: ReplicaId,
        f: impl FnOnce(&mut Handle<'_, MapStore<K, V::Store>>) -> R,
    ) -> (Self, R) {
        let (inner, r) = self.inner.mutate(replica, f);
        (Self { inner }, r)
    }

    /// Removes `key` by observed reset (exactly the dots this replica has seen under it);
    /// returns the delta `(∅, those dots)`, empty if the key is absent. `O(dots under key)`.
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<String, MvRegister<u8>> = OrMap::new();
    /// let _ = m.update(r, "k".into(), |reg| reg.write(1));
    /// let d = m.remove(r, "k");
    /// assert!(!m.contains_key("k"));
    /// assert!(d.is_empty() && !d.context().is_empty());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn remove<Q>(&mut self, replica: ReplicaId, key: &Q) -> Self
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Self {
            inner: self
                .inner
                .mutate(replica, |h| {
                    h.remove(key);
                })
                .0,
        }
    }

    /// Removes every key by observed reset; returns the delta `(∅, every live dot)`.
    /// `O(live dots)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(r, 1, |f| f.enable());
    /// let _ = m.clear(r);
    /// assert!(m.is_empty());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn clear(&mut self, replica: ReplicaId) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.clear()).0 }
    }

    /// The value under `key`, in its causal form (see [`Nested`]). `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "n", |c| c.increment(3));
    /// assert_eq!(m.get("n").map(|c| c.value()), Some(3));
    /// assert!(m.get("zzz").is_none());
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<&V::Store>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.store.get(key)
    }

    /// Whether `key` is present. `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 7, |f| f.enable());
    /// assert!(m.contains_key(&7) && !m.contains_key(&8));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.store.contains_key(key)
    }
}

impl<K, V: Nested> OrMap<K, V> {
    /// The number of keys. `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap};
    /// assert_eq!(OrMap::<u8, EwFlag>::default().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.store.len()
    }

    /// Whether the map has no key. `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap};
    /// assert!(OrMap::<u8, EwFlag>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.store.is_empty()
    }

    /// Iterates the keys, in arbitrary order.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 2, |f| f.enable());
    /// assert_eq!(m.keys().collect::<Vec<_>>(), [&2]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, V::Store> {
        self.inner.store.keys()
    }

    /// Iterates the values (causal forms), in arbitrary order.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 2, |c| c.increment(5));
    /// assert_eq!(m.values().map(|c| c.value()).sum::<i64>(), 5);
    /// ```
    pub fn values(&self) -> Values<'_, K, V::Store> {
        self.inner.store.values()
    }

    /// Iterates `(key, value)` pairs, in arbitrary order.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, CausalCounter> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 2, |c| c.increment(5));
    /// for (k, c) in &m {
    ///     assert_eq!((*k, c.value()), (2, 5));
    /// }
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V::Store> {
        self.inner.store.iter()
    }
}

impl<'a, K, V: Nested> IntoIterator for &'a OrMap<K, V> {
    type Item = (&'a K, &'a V::Store);
    type IntoIter = Iter<'a, K, V::Store>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: Hash + Eq + Clone, S: DotStore + CheckInvariants> CheckInvariants for MapStore<K, S> {
    fn check_invariants(&self) -> Result<(), &'static str> {
        self.check_map()?;
        self.values().try_for_each(CheckInvariants::check_invariants)
    }
}

/// The one-key join skips the walk for keys only the receiver holds when every dot of the
/// delta's context is accounted for (live in the delta, or removed under a key both hold); a
/// delta that also removes a key must still remove it.
#[cfg(test)]
mod one_key_join {
    use super::*;
    use crate::{Lattice, MvRegister};

    fn rid(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    fn base(n: u8) -> OrMap<u8, MvRegister<u8>> {
        let mut m = OrMap::new();
        for k in 0..n {
            let _ = m.update(rid(u128::from(k % 3) + 1), k, |r| r.write(k));
        }
        m
    }

    /// With 20 keys the keys only the receiver holds are found by a scan of its entries; with
    /// 100, by the delta's context dot by dot (fewer than an eighth of the keys).
    #[test]
    fn an_overwrite_leaves_the_other_keys_and_an_overwrite_with_a_remove_removes() {
        for n in [20u8, 100] {
            overwrite_and_remove(n);
        }
    }

    fn overwrite_and_remove(n: u8) {
        let a = base(n);
        let mut b = a.clone();
        // An overwrite of key 1 only: the old dot is removed under key 1, nothing else.
        let (over, ()) = b.update(rid(9), 1, |r| {
            r.write(100);
        });
        // The same overwrite and the remove of key 2, in one delta.
        let mut c = a.clone();
        let (both, ()) = c.mutate(rid(8), |h| {
            h.update(1, |r| {
                r.write(101);
            });
            assert!(h.remove(&2));
        });
        for by_value in [false, true] {
            let mut x = a.clone();
            let changed = if by_value { x.join(over.clone()) } else { x.join_ref(&over) };
            assert!(changed);
            assert_eq!(x, b, "overwrite (by value: {by_value})");
            assert_eq!(x.len(), usize::from(n));
            let mut y = a.clone();
            let changed = if by_value { y.join(both.clone()) } else { y.join_ref(&both) };
            assert!(changed);
            assert_eq!(y, c, "overwrite and remove (by value: {by_value})");
            assert!(!y.contains_key(&2) && y.len() == usize::from(n) - 1);
            // Both deltas, in both orders: the concurrent overwrites of key 1 both survive.
            let z1 = a.clone().joined(over.clone()).joined(both.clone());
            let z2 = a.clone().joined(both.clone()).joined(over.clone());
            assert_eq!(z1, z2);
            assert_eq!(z1.get(&1).map(|r| r.dot_count()), Some(2));
        }
    }
}
