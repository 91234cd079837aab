//! The map dot store: `key -> nested dot store`, with a `dot -> key` index so that joins and
//! removes cost what the delta names, not what the map holds.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashMap, HashSet, HashTable, hash_table};
use smallvec::SmallVec;

use crate::causal::{CausalContext, Dot, DotLog, DotStore, Handle};

/// One key of a map with its value, and the hash of the key under the map's hasher (which the
/// dot index refers to, and which lets the table grow and shrink without hashing keys again).
#[derive(Clone)]
pub(super) struct Entry<K, S> {
    pub(super) hash: u64,
    pub(super) key: K,
    pub(super) value: S,
}

/// The store of an [`OrMap`](crate::OrMap): each key holds a nested dot store `S`, all of them
/// sharing the one causal context of the map at the top. Itself a [`DotStore`], so maps nest to
/// any depth (`MapStore<K1, MapStore<K2, S>>` is the store of `OrMap<K1, OrMap<K2, V>>`).
///
/// Invariants, kept after every join and mutation: no key holds an empty value; each dot occurs
/// under one key only; the index maps exactly the live dots to (the hash of) their keys.
///
/// Join (Almeida et al., JPDC 2018, section 6, the DotMap join): per key, the nested join with the
/// WHOLE contexts of both sides; a key whose value becomes empty is dropped. Keys the other side
/// does not hold are visited only if the other context names one of their dots, found through the
/// index, so a join costs `O(other + dots of self that other's context covers)`, and a remove
/// delta touches only the keys it removes from.
///
/// Memory: each key is stored ONCE, with its nested store and the 8-byte hash of the key; per
/// live dot, one index entry (the dot and that hash, 32 bytes), whatever the size of the key. A
/// dot is resolved to its key through the hash (and, only if two keys share a full 64-bit hash,
/// by asking which of them holds the dot). Memory follows the live size: the key table and the
/// index shrink to fit when a removal leaves them with more than twice the room a fresh table
/// would have (above 16 entries).
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
    /// Hashes the keys; the hashes stored in `entries` and `index` are its.
    pub(super) hasher: DefaultHashBuilder,
    pub(super) entries: HashTable<Entry<K, S>>,
    /// Every live dot of every value, to the hash of the key holding it.
    pub(super) index: HashMap<Dot, u64>,
}

impl<K, S> Default for MapStore<K, S> {
    fn default() -> Self {
        MapStore { hasher: DefaultHashBuilder::default(), entries: HashTable::new(), index: HashMap::default() }
    }
}

/// Equal when the keys and values are (the index is derived from them).
impl<K: Hash + Eq, S: PartialEq> PartialEq for MapStore<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().all(|e| other.get(&e.key).is_some_and(|v| *v == e.value))
    }
}

impl<K: Hash + Eq, S: Eq> Eq for MapStore<K, S> {}

/// Shaped like the domain: `{key: value, ...}` (in the hash table's order).
impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for MapStore<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|e| (&e.key, &e.value))).finish()
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
        Keys { inner: self.entries.iter() }
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
        Values { inner: self.entries.iter() }
    }
}

impl<K: Hash + Eq, S> MapStore<K, S> {
    /// The hash of `key` under this map's hasher.
    fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The entry of `key`. `O(1)` expected.
    fn entry<Q>(&self, key: &Q) -> Option<&Entry<K, S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let h = self.hash_of(key);
        self.entries.find(h, |e| e.hash == h && e.key.borrow() == key)
    }

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
        self.entry(key).map(|e| &e.value)
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
        self.entry(key).is_some()
    }

    /// Removes `key`'s entry and returns it. `O(1)` expected.
    fn take<Q>(&mut self, key: &Q) -> Option<Entry<K, S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let h = self.hash_of(key);
        let found = self.entries.find_entry(h, |e| e.hash == h && e.key.borrow() == key).ok()?;
        Some(found.remove().0)
    }
}

/// The entry holding `dot`, whose key hashes to `hash` (from the index). Only when two keys share
/// the full 64-bit hash is a value asked whether it holds the dot.
fn holder<'a, K, S: DotStore>(entries: &'a HashTable<Entry<K, S>>, hash: u64, dot: &Dot) -> Option<&'a Entry<K, S>> {
    let mut it = entries.iter_hash(hash).filter(|e| e.hash == hash);
    let first = it.next()?;
    match it.next() {
        None => Some(first),
        Some(second) => [first, second].into_iter().chain(it).find(|e| e.value.contains_dot(dot)),
    }
}

/// Room (keys, or index entries) a map keeps whatever it holds: below it, removals never shrink.
const SHRINK_FLOOR: usize = 16;

/// Whether a table of `room` slots holding `len` entries should shrink to fit: when it holds
/// more than twice the room a fresh table of its entries would (and above [`SHRINK_FLOOR`]). The
/// room must halve before the next shrink, so `O(1)` amortized per removal.
fn sparse(room: usize, len: usize) -> bool {
    room > SHRINK_FLOOR && room > 2 * crate::limits::table_room(len)
}

impl<K, S> MapStore<K, S> {
    /// Memory follows the live size: the key table and the dot index each shrink to fit once
    /// they hold more than twice the room their entries need.
    fn shrink_if_sparse(&mut self) {
        if sparse(self.entries.capacity(), self.entries.len()) {
            self.entries.shrink_to_fit(|e| e.hash);
        }
        if sparse(self.index.capacity(), self.index.len()) {
            self.index.shrink_to_fit();
        }
    }
}

/// Moves what `sub` recorded for the key hashing to `hash` into the index and the parent log.
fn apply_log(hash: u64, sub: &mut DotLog, index: &mut HashMap<Dot, u64>, log: &mut DotLog) {
    // NOTE: added before removed: a mutation can mint a dot and then remove it (write then
    // clear), never the other way round (dots are never re-minted).
    let (added, removed) = sub.take();
    for d in added {
        index.insert(d, hash);
        log.added(d);
    }
    for d in removed {
        index.remove(&d);
        log.removed(d);
    }
}

impl<K: Hash + Eq + Clone, S: DotStore> MapStore<K, S> {
    /// The hashes of the keys not held by `other` that hold a dot `other_ctx` has seen: the keys
    /// whose values the other side removed from (a superset when two keys share a hash, which is
    /// harmless: the caller joins those keys with the empty value). Walks whichever is smaller:
    /// the context's dots (a remove delta's context is the removed dots) or this map's index.
    /// Keys are neither cloned nor hashed per dot: a key holding many removed dots is looked up in
    /// `other` once.
    ///
    /// Nothing at all when the other side removed nothing: when every dot its context has seen
    /// is still live in `other` (a full state without removes: same count, as live dots are in
    /// the context), a dot of `self` that context has seen lives in `other` under the same key.
    pub(super) fn keys_removed_by(&self, other: &Self, other_ctx: &CausalContext) -> Vec<u64> {
        if self.index.is_empty() || other_ctx.dot_count() == other.index.len() as u64 {
            return Vec::new();
        }
        let mut hashes: HashSet<u64> = HashSet::default();
        let by_context = usize::try_from(other_ctx.dot_count()).is_ok_and(|n| n <= self.index.len());
        if by_context {
            for d in other_ctx.dots() {
                if let Some(h) = self.index.get(&d) {
                    hashes.insert(*h);
                }
            }
        } else {
            for (d, h) in &self.index {
                if !hashes.contains(h) && other_ctx.contains(d) {
                    hashes.insert(*h);
                }
            }
        }
        hashes
            .into_iter()
            .filter(|h| {
                self.entries.iter_hash(*h).any(|e| e.hash == *h && !other.contains_key(&e.key))
            })
            .collect()
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
        let MapStore { hasher, entries, index } = self;
        // Keys the other side holds: nested join with the whole contexts.
        for theirs in &other.entries {
            let h = hasher.hash_one(&theirs.key);
            match entries.find_entry(h, |e| e.hash == h && e.key == theirs.key) {
                Ok(mut found) => {
                    changed |= found.get_mut().value.join_store(ctx, &theirs.value, other_ctx, &mut sub);
                    if found.get().value.is_empty() {
                        found.remove();
                    }
                }
                Err(_) => {
                    let mut mine = S::default();
                    if mine.join_store(ctx, &theirs.value, other_ctx, &mut sub) {
                        changed = true;
                        if !mine.is_empty() {
                            let e = Entry { hash: h, key: theirs.key.clone(), value: mine };
                            entries.insert_unique(h, e, |e| e.hash);
                        }
                    }
                }
            }
            apply_log(h, &mut sub, index, log);
        }
        // Keys only this side holds: the other side has the empty value there, which removes
        // the dots its context has seen. Only keys holding such a dot can change.
        let empty = S::default();
        for h in self.keys_removed_by(other, other_ctx) {
            let mut emptied = false;
            for mine in self.entries.iter_hash_mut(h) {
                if mine.hash == h && !other.contains_key(&mine.key) {
                    changed |= mine.value.join_store(ctx, &empty, other_ctx, &mut sub);
                    emptied |= mine.value.is_empty();
                }
            }
            apply_log(h, &mut sub, &mut self.index, log);
            while emptied {
                match self.entries.find_entry(h, |e| e.hash == h && e.value.is_empty()) {
                    Ok(found) => drop(found.remove()),
                    Err(_) => emptied = false,
                }
            }
        }
        if changed {
            self.shrink_if_sparse();
        }
        changed
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        self.entries.retain(|e| {
            e.value.retain_dots(keep);
            !e.value.is_empty()
        });
        let entries = &self.entries;
        self.index.retain(|d, h| holder(entries, *h, d).is_some_and(|e| e.value.contains_dot(d)));
        self.shrink_if_sparse();
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
        let Handle { store, dstore, ctx, dctx, replica, log } = self;
        // The value is mutated where it lives (a key is cloned only when it is new: the state
        // and the delta each hold it once).
        let MapStore { hasher, entries, index } = &mut **store;
        let h = hasher.hash_one(&key);
        let mine = match entries.find_entry(h, |e| e.hash == h && e.key == key) {
            Ok(found) => found.into_mut(),
            Err(absent) => {
                let e = Entry { hash: h, key: key.clone(), value: S::default() };
                absent.into_table().insert_unique(h, e, |e| e.hash).into_mut()
            }
        };
        // The delta's index is rebuilt for this key from what the delta holds after `f`.
        let dh = dstore.hash_of(&key);
        let mut dmine = match dstore.take(&key) {
            Some(dmine) => {
                let dindex = &mut dstore.index;
                dmine.value.for_each_dot(&mut |d| {
                    dindex.remove(&d);
                });
                dmine.value
            }
            None => S::default(),
        };
        // The nested handle records its dots in its own log, so this level can index them
        // under `key` (the enclosing log may be disabled).
        let mut sub = DotLog::recording();
        let r = f(&mut Handle {
            store: &mut mine.value,
            dstore: &mut dmine,
            ctx,
            dctx,
            replica: *replica,
            log: &mut sub,
        });
        if mine.value.is_empty() {
            if let Ok(found) = entries.find_entry(h, |e| e.hash == h && e.key == key) {
                found.remove();
            }
        }
        apply_log(h, &mut sub, index, log);
        if !dmine.is_empty() {
            let dindex = &mut dstore.index;
            dmine.for_each_dot(&mut |d| {
                dindex.insert(d, dh);
            });
            dstore.entries.insert_unique(dh, Entry { hash: dh, key, value: dmine }, |e| e.hash);
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
        if let Some(dv) = self.dstore.take(key) {
            let dindex = &mut self.dstore.index;
            dv.value.for_each_dot(&mut |d| {
                dindex.remove(&d);
            });
        }
        let Some(v) = self.store.take(key) else { return false };
        let mut dots: SmallVec<[Dot; 4]> = SmallVec::new();
        v.value.for_each_dot(&mut |d| dots.push(d));
        for d in dots {
            self.store.index.remove(&d);
            self.forget(d);
        }
        self.store.shrink_if_sparse();
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
        self.store.shrink_if_sparse();
    }
}

macro_rules! map_iter {
    ($(#[$m:meta])* $name:ident, $item:ty, |$x:ident| $map:expr) => {
        $(#[$m])*
        pub struct $name<'a, K, S> {
            inner: hash_table::Iter<'a, Entry<K, S>>,
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
    Iter, (&'a K, &'a S), |e| (&e.key, &e.value)
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
    Keys, &'a K, |e| &e.key
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
    Values, &'a S, |e| &e.value
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
    /// Inserts a decoded non-empty value under a new key (the caller has checked it is new: the
    /// wire form's keys are strictly ascending), indexing its dots. Returns the first dot already
    /// indexed, if any (the caller refuses the input). The key is stored once, whatever the number
    /// of its dots.
    #[cfg(feature = "serde")]
    pub(crate) fn insert_decoded(&mut self, key: K, value: S) -> Result<(), Dot> {
        let h = self.hash_of(&key);
        let mut dup = None;
        let index = &mut self.index;
        value.for_each_dot(&mut |d| {
            if index.insert(d, h).is_some() && dup.is_none() {
                dup = Some(d);
            }
        });
        self.entries.insert_unique(h, Entry { hash: h, key, value }, |e| e.hash);
        dup.map_or(Ok(()), Err)
    }

    /// The key holding the live `dot`, if any. `O(1)` expected.
    #[cfg(test)]
    pub(crate) fn key_of(&self, dot: &Dot) -> Option<&K> {
        let h = self.index.get(dot)?;
        holder(&self.entries, *h, dot).map(|e| &e.key)
    }

    /// Checks the map-level invariants (not the nested values'): no empty value, stored hashes
    /// right, index exact.
    pub(crate) fn check_map(&self) -> Result<(), &'static str> {
        let mut total = 0usize;
        for e in &self.entries {
            if e.value.is_empty() {
                return Err("map: a key holds an empty value");
            }
            if e.hash != self.hash_of(&e.key) {
                return Err("map: a key is stored with a wrong hash");
            }
            total += e.value.dot_count();
            let mut ok = true;
            e.value.for_each_dot(&mut |d| ok &= self.index.get(&d) == Some(&e.hash));
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
        let mut v: Vec<(&K, &S)> = self.iter().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// Per key, the nested store's checks; and no dot under two different keys.
impl<K: Hash + Eq + Clone, S: crate::receive::ReceiveStore> crate::receive::ReceiveStore for MapStore<K, S> {
    fn check_clock(&self, policy: &crate::ReceivePolicy) -> Result<(), crate::Error> {
        self.values().try_for_each(|v| v.check_clock(policy))
    }

    /// Per key of the input, once: the local entry of the same key (one key hash, never a key
    /// comparison per dot), then per dot of the input's value, that the local map holds the dot
    /// under that entry or not at all. `O(input dots)` expected.
    fn check_payloads(&self, local: &Self) -> Result<(), crate::Error> {
        if local.entries.is_empty() {
            return Ok(());
        }
        for e in &self.entries {
            let mine = local.entry(&e.key);
            let mut conflict = false;
            e.value.for_each_dot(&mut |d| {
                if conflict {
                    return;
                }
                if let Some(h) = local.index.get(&d) {
                    conflict = match mine {
                        Some(m) => *h != m.hash || !m.value.contains_dot(&d),
                        None => true,
                    };
                }
            });
            if conflict {
                return Err(crate::Error::ConflictingPayload { field: "map.key" });
            }
            if let Some(m) = mine {
                e.value.check_payloads(&m.value)?;
            }
        }
        Ok(())
    }
}
