//! The map dot store: `key -> nested dot store`, with a `dot -> key` index so that joins and
//! removes cost what the delta names, not what the map holds.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::fmt;
use core::hash::Hash;

use hashbrown::{HashMap, HashSet, hash_map};
use smallvec::SmallVec;

use crate::causal::{CausalContext, Dot, DotLog, DotStore, Handle};

/// The store of an [`OrMap`](crate::OrMap): each key holds a nested dot store `S`, all of them
/// sharing the one causal context of the map at the top. Itself a [`DotStore`], so maps nest to
/// any depth (`MapStore<K1, MapStore<K2, S>>` is the store of `OrMap<K1, OrMap<K2, V>>`).
///
/// Invariants, kept after every join and mutation: no key holds an empty value; each dot occurs
/// under one key only; the index maps exactly the live dots to their keys.
///
/// Join (Almeida et al., JPDC 2018, section 6, the DotMap join): per key, the nested join with the
/// WHOLE contexts of both sides; a key whose value becomes empty is dropped. Keys the other side
/// does not hold are visited only if the other context names one of their dots, found through the
/// index, so a join costs `O(other + dots of self that other's context covers)`, and a remove
/// delta touches only the keys it removes from.
///
/// Memory: per key, the key and its nested store; per live dot, one index entry (the dot and a
/// clone of its key).
///
/// # Example
///
/// ```
/// use convergent::{EwFlag, OrMap, ReplicaId, causal::DotSet, map::MapStore};
///
/// let mut m: OrMap<&str, EwFlag> = OrMap::new();
/// let _ = m.update(ReplicaId::from_u128(1), "on", |f| f.enable());
/// let store: &MapStore<&str, DotSet> = m.as_causal().store();
/// assert_eq!(store.len(), 1);
/// assert!(store.contains_key("on"));
/// ```
#[derive(Clone)]
pub struct MapStore<K, S> {
    pub(super) entries: HashMap<K, S>,
    /// Every live dot of every value, to the key holding it.
    pub(super) index: HashMap<Dot, K>,
}

impl<K, S> Default for MapStore<K, S> {
    fn default() -> Self {
        MapStore { entries: HashMap::default(), index: HashMap::default() }
    }
}

/// Equal when the keys and values are (the index is derived from them).
impl<K: Hash + Eq, S: PartialEq> PartialEq for MapStore<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Hash + Eq, S: Eq> Eq for MapStore<K, S> {}

/// Shaped like the domain: `{key: value, ...}` (in the hash map's order).
impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for MapStore<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

impl<K, S> MapStore<K, S> {
    /// The number of keys. `O(1)`.
    ///
    /// ```
    /// # use convergent::{causal::DotSet, map::MapStore};
    /// assert_eq!(MapStore::<u8, DotSet>::default().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds no key. `O(1)`.
    ///
    /// ```
    /// # use convergent::{causal::DotSet, map::MapStore};
    /// assert!(MapStore::<u8, DotSet>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates `(key, value)` pairs, in arbitrary order. `O(1)` to create.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 3, |f| f.enable());
    /// assert_eq!(m.as_causal().store().iter().map(|(k, _)| *k).collect::<Vec<_>>(), [3]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, S> {
        Iter { inner: self.entries.iter() }
    }

    /// Iterates the keys, in arbitrary order. `O(1)` to create.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 3, |f| f.enable());
    /// assert_eq!(m.as_causal().store().keys().collect::<Vec<_>>(), [&3]);
    /// ```
    pub fn keys(&self) -> Keys<'_, K, S> {
        Keys { inner: self.entries.keys() }
    }

    /// Iterates the values, in arbitrary order. `O(1)` to create.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 3, |f| f.enable());
    /// assert_eq!(m.as_causal().store().values().count(), 1);
    /// ```
    pub fn values(&self) -> Values<'_, K, S> {
        Values { inner: self.entries.values() }
    }
}

impl<K: Hash + Eq, S> MapStore<K, S> {
    /// The value under `key`. `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{MvRegister, OrMap, ReplicaId};
    /// let mut m: OrMap<String, MvRegister<u8>> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "k".to_string(), |r| r.write(1));
    /// assert_eq!(m.as_causal().store().get("k").unwrap().len(), 1);
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<&S>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    /// Whether `key` is present (holds a non-empty value). `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{causal::DotSet, map::MapStore};
    /// assert!(!MapStore::<u8, DotSet>::default().contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.contains_key(key)
    }
}

/// Moves what `sub` recorded for `key` into the index and the parent log.
fn apply_log<K: Clone + Hash + Eq>(key: &K, sub: &mut DotLog, index: &mut HashMap<Dot, K>, log: &mut DotLog) {
    // NOTE: added before removed: a mutation can mint a dot and then remove it (write then
    // clear), never the other way round (dots are never re-minted).
    let (added, removed) = sub.take();
    for d in added {
        index.insert(d, key.clone());
        log.added(d);
    }
    for d in removed {
        index.remove(&d);
        log.removed(d);
    }
}

impl<K: Hash + Eq + Clone, S: DotStore> MapStore<K, S> {
    /// The keys not held by `other` that hold a dot `other_ctx` has seen: the keys whose values
    /// the other side removed from. Walks whichever is smaller: the context's dots (a remove
    /// delta's context is the removed dots) or this map's index.
    pub(super) fn keys_removed_by(&self, other: &Self, other_ctx: &CausalContext) -> Vec<K> {
        let mut seen: HashSet<&K> = HashSet::default();
        let pick = |k: &'_ K| !other.entries.contains_key(k);
        let by_context = usize::try_from(other_ctx.dot_count()).is_ok_and(|n| n <= self.index.len());
        if by_context {
            for d in other_ctx.dots() {
                if let Some(k) = self.index.get(&d) {
                    if pick(k) {
                        seen.insert(k);
                    }
                }
            }
        } else {
            for (d, k) in &self.index {
                if other_ctx.contains(d) && pick(k) {
                    seen.insert(k);
                }
            }
        }
        seen.into_iter().cloned().collect()
    }
}

impl<K: Hash + Eq + Clone, S: DotStore> DotStore for MapStore<K, S> {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn dot_count(&self) -> usize {
        self.index.len()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.index.keys().for_each(|d| f(*d));
    }

    fn contains_dot(&self, dot: &Dot) -> bool {
        self.index.contains_key(dot)
    }

    fn join_store(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let mut changed = false;
        let mut sub = DotLog::recording();
        // Keys the other side holds: nested join with the whole contexts.
        for (k, theirs) in &other.entries {
            match self.entries.get_mut(k) {
                Some(mine) => {
                    changed |= mine.join_store(ctx, theirs, other_ctx, &mut sub);
                    if mine.is_empty() {
                        self.entries.remove(k);
                    }
                }
                None => {
                    let mut mine = S::default();
                    if mine.join_store(ctx, theirs, other_ctx, &mut sub) {
                        changed = true;
                        if !mine.is_empty() {
                            self.entries.insert(k.clone(), mine);
                        }
                    }
                }
            }
            apply_log(k, &mut sub, &mut self.index, log);
        }
        // Keys only this side holds: the other side has the empty value there, which removes
        // the dots its context has seen. Only keys holding such a dot can change.
        let empty = S::default();
        for k in self.keys_removed_by(other, other_ctx) {
            if let Some(mine) = self.entries.get_mut(&k) {
                changed |= mine.join_store(ctx, &empty, other_ctx, &mut sub);
                if mine.is_empty() {
                    self.entries.remove(&k);
                }
            }
            apply_log(&k, &mut sub, &mut self.index, log);
        }
        changed
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        self.entries.retain(|_, v| {
            v.retain_dots(keep);
            !v.is_empty()
        });
        let entries = &self.entries;
        self.index.retain(|d, k| entries.get(k).is_some_and(|v| v.contains_dot(d)));
    }
}

/// Delta mutators of a map, at the top level ([`OrMap`](crate::OrMap)'s methods call these) and
/// inside an enclosing map (a map of maps). All mutations made through one handle form ONE delta.
///
/// # Example
///
/// ```
/// use convergent::{Lattice, MvRegister, OrMap, ReplicaId};
///
/// let r = ReplicaId::from_u128(1);
/// let mut m: OrMap<&str, OrMap<&str, MvRegister<u8>>> = OrMap::new();
/// let before = m.clone();
/// let (delta, _) = m.mutate(r, |h| {
///     h.update("user", |inner| {
///         inner.update("name", |reg| reg.write(1));
///         inner.update("age", |reg| reg.write(2));
///     });
///     h.update("tmp", |inner| inner.update("x", |reg| reg.write(3)));
///     h.remove("tmp");
/// });
/// assert_eq!(before.joined(delta), m);
/// assert_eq!(m.len(), 1);
/// ```
impl<K: Hash + Eq + Clone, S: DotStore> Handle<'_, MapStore<K, S>> {
    /// Runs `f` on a handle to `key`'s value (an empty value if the key is absent) and returns
    /// what `f` returns. The delta gains exactly what `f`'s mutations did to the value; a value
    /// left empty drops its key, in the state and in the delta. `O(f's work)` plus
    /// `O(dots of key's value in the delta)`.
    ///
    /// ```
    /// # use convergent::{CausalCounter, OrMap, ReplicaId};
    /// let mut m: OrMap<&str, CausalCounter> = OrMap::new();
    /// let _ = m.mutate(ReplicaId::from_u128(1), |h| {
    ///     let v = h.update("a", |c| { c.increment(2); c.value() });
    ///     assert_eq!(v, 2);
    /// });
    /// ```
    pub fn update<R>(&mut self, key: K, f: impl FnOnce(&mut Handle<'_, S>) -> R) -> R {
        let mut mine = self.store.entries.remove(&key).unwrap_or_default();
        let mut dmine = self.dstore.entries.remove(&key).unwrap_or_default();
        // The delta's index is rebuilt for this key from what the delta holds after `f`.
        let dindex = &mut self.dstore.index;
        dmine.for_each_dot(&mut |d| {
            dindex.remove(&d);
        });
        // The nested handle records its dots in its own log, so this level can index them
        // under `key` (the enclosing log may be disabled).
        let mut sub = DotLog::recording();
        let r = {
            let mut h = self.nested(&mut mine, &mut dmine);
            h.log = &mut sub;
            f(&mut h)
        };
        apply_log(&key, &mut sub, &mut self.store.index, self.log);
        if !dmine.is_empty() {
            let dindex = &mut self.dstore.index;
            dmine.for_each_dot(&mut |d| {
                dindex.insert(d, key.clone());
            });
            self.dstore.entries.insert(key.clone(), dmine);
        }
        if !mine.is_empty() {
            self.store.entries.insert(key, mine);
        }
        r
    }

    /// Removes `key`: an OBSERVED RESET that removes exactly the dots this replica has seen
    /// under it. Delta: `(∅, those dots)`; nothing if the key is absent. Returns whether the
    /// key was present. An update concurrent with the remove survives, holding only what the
    /// remover did not see. `O(dots under key)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.mutate(r, |h| {
    ///     h.update(1, |f| f.enable());
    ///     assert!(h.remove(&1));
    ///     assert!(!h.remove(&1));
    /// });
    /// assert!(m.is_empty());
    /// ```
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // Dots this same mutation put under the key leave the delta's store (its context
        // keeps them, as removed).
        if let Some(dv) = self.dstore.entries.remove(key) {
            let dindex = &mut self.dstore.index;
            dv.for_each_dot(&mut |d| {
                dindex.remove(&d);
            });
        }
        let Some(v) = self.store.entries.remove(key) else { return false };
        let mut dots: SmallVec<[Dot; 4]> = SmallVec::new();
        v.for_each_dot(&mut |d| dots.push(d));
        for d in dots {
            self.store.index.remove(&d);
            self.forget(d);
        }
        true
    }

    /// Removes every key: an observed reset of everything this replica has seen.
    /// Delta: `(∅, every live dot)`. `O(live dots)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.mutate(r, |h| {
    ///     h.update(1, |f| f.enable());
    ///     h.update(2, |f| f.enable());
    ///     h.clear();
    /// });
    /// assert!(m.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.dstore.entries.clear();
        self.dstore.index.clear();
        self.store.entries.clear();
        let dots: Vec<Dot> = self.store.index.drain().map(|(d, _)| d).collect();
        for d in dots {
            self.forget(d);
        }
    }
}

macro_rules! map_iter {
    ($(#[$m:meta])* $name:ident, $inner:ident, $item:ty, |$x:ident| $map:expr) => {
        $(#[$m])*
        pub struct $name<'a, K, S> {
            inner: hash_map::$inner<'a, K, S>,
        }

        impl<K, S> Clone for $name<'_, K, S> {
            fn clone(&self) -> Self {
                $name { inner: self.inner.clone() }
            }
        }

        impl<'a, K, S> Iterator for $name<'a, K, S> {
            type Item = $item;
            fn next(&mut self) -> Option<Self::Item> {
                self.inner.next().map(|$x| $map)
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.inner.size_hint()
            }
        }

        impl<K, S> ExactSizeIterator for $name<'_, K, S> {}
        impl<K, S> core::iter::FusedIterator for $name<'_, K, S> {}

        impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for $name<'_, K, S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.clone()).finish()
            }
        }
    };
}

map_iter!(
    /// The `(key, value)` pairs of a map, in arbitrary order. Returned by [`MapStore::iter`] and
    /// [`OrMap::iter`](crate::OrMap::iter).
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 1, |f| f.enable());
    /// let it: convergent::map::Iter<'_, u8, _> = m.iter();
    /// assert_eq!(it.len(), 1);
    /// ```
    Iter, Iter, (&'a K, &'a S), |x| x
);
map_iter!(
    /// The keys of a map, in arbitrary order. Returned by [`MapStore::keys`] and
    /// [`OrMap::keys`](crate::OrMap::keys).
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 1, |f| f.enable());
    /// assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1]);
    /// ```
    Keys, Keys, &'a K, |x| x
);
map_iter!(
    /// The values of a map, in arbitrary order. Returned by [`MapStore::values`] and
    /// [`OrMap::values`](crate::OrMap::values).
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<u8, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), 1, |f| f.enable());
    /// assert_eq!(m.values().count(), 1);
    /// ```
    Values, Values, &'a S, |x| x
);

impl<'a, K, S> IntoIterator for &'a MapStore<K, S> {
    type Item = (&'a K, &'a S);
    type IntoIter = Iter<'a, K, S>;
    fn into_iter(self) -> Iter<'a, K, S> {
        self.iter()
    }
}

/// Crate-internal access for the wire decoder, the invariant checker and tests.
impl<K: Hash + Eq + Clone, S: DotStore> MapStore<K, S> {
    /// Inserts a decoded non-empty value under a new key, indexing its dots. Returns the first
    /// dot already indexed under another key, if any (the caller refuses the input).
    #[cfg(feature = "serde")]
    pub(crate) fn insert_decoded(&mut self, key: K, value: S) -> Result<(), Dot> {
        let mut dup = None;
        let index = &mut self.index;
        value.for_each_dot(&mut |d| {
            if index.insert(d, key.clone()).is_some() && dup.is_none() {
                dup = Some(d);
            }
        });
        self.entries.insert(key, value);
        dup.map_or(Ok(()), Err)
    }

    /// Checks the map-level invariants (not the nested values'): no empty value, index exact.
    pub(crate) fn check_map(&self) -> Result<(), &'static str> {
        let mut total = 0usize;
        for (k, v) in &self.entries {
            if v.is_empty() {
                return Err("map: a key holds an empty value");
            }
            total += v.dot_count();
            let mut ok = true;
            v.for_each_dot(&mut |d| ok &= self.index.get(&d) == Some(k));
            if !ok {
                return Err("map: a live dot is missing from the index or indexed under another key");
            }
        }
        if total != self.index.len() {
            return Err("map: the index holds a dot no value holds (or a dot occurs twice)");
        }
        Ok(())
    }

    /// The sorted `(key, value)` pairs (canonical order for the wire).
    #[cfg(feature = "serde")]
    pub(crate) fn sorted_entries(&self) -> Vec<(&K, &S)>
    where
        K: Ord,
    {
        let mut v: Vec<(&K, &S)> = self.entries.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// Per key, the nested store's checks; and no dot under two different keys.
impl<K: Hash + Eq + Clone, S: crate::receive::ReceiveStore> crate::receive::ReceiveStore for MapStore<K, S> {
    fn check_clock(&self, policy: &crate::ReceivePolicy) -> Result<(), crate::Error> {
        self.entries.values().try_for_each(|v| v.check_clock(policy))
    }

    fn check_payloads(&self, local: &Self) -> Result<(), crate::Error> {
        if local.entries.is_empty() {
            return Ok(());
        }
        for (dot, key) in &self.index {
            if local.index.get(dot).is_some_and(|k| k != key) {
                return Err(crate::Error::ConflictingPayload { field: "map.key" });
            }
        }
        for (key, value) in &self.entries {
            if let Some(mine) = local.entries.get(key) {
                value.check_payloads(mine)?;
            }
        }
        Ok(())
    }
}
