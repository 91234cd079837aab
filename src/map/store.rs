//! The map dot store: `key -> nested dot store`, each key stored once, with a `dot -> key hash`
//! index so that joins and removes cost what the delta names, not what the map holds.

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
    /// The join that last found this key on both sides (see [`MapStore::joins`]): after a
    /// join's walk of the other side's keys, the entries not marked with that join's number are
    /// the keys only this side holds, found without hashing a key or looking up a dot.
    pub(super) joined: u32,
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
    /// Every live dot of every value, to the hash of the key holding it, when the map holds more
    /// than [`SMALL`] dots; empty otherwise (a small map, such as the delta of one update, is
    /// searched instead: it allocates no index).
    pub(super) index: HashMap<Dot, u64>,
    /// The number of live dots.
    pub(super) dots: usize,
    /// The number of joins into this store (wrapping; every mark is cleared when it wraps), the
    /// mark of the entries a join found on both sides.
    pub(super) joins: u32,
}

/// Up to this many live dots a map keeps no index: a dot is found by a search of its values.
const SMALL: usize = 8;

impl<K, S> Default for MapStore<K, S> {
    fn default() -> Self {
        MapStore {
            hasher: DefaultHashBuilder::default(),
            entries: HashTable::new(),
            index: HashMap::default(),
            dots: 0,
            joins: 0,
        }
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
}

impl<K: Hash + Eq, S: DotStore> MapStore<K, S> {
    /// Removes `key`'s entry and returns it. `O(1)` expected.
    fn take<Q>(&mut self, key: &Q) -> Option<Entry<K, S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let h = self.hash_of(key);
        let found = self.entries.find_entry(h, |e| e.hash == h && e.key.borrow() == key).ok()?;
        let e = found.remove().0;
        self.forget_value(&e.value);
        Some(e)
    }
}

/// The entry holding `dot`, whose key hashes to `hash` (from the index). Only when two keys share
/// the full 64-bit hash is a value asked whether it holds the dot.
fn holder<'a, K, S: DotStore>(
    entries: &'a HashTable<Entry<K, S>>,
    hash: u64,
    dot: &Dot,
) -> Option<&'a Entry<K, S>> {
    let mut it = entries.iter_hash(hash).filter(|e| e.hash == hash);
    let first = it.next()?;
    match it.next() {
        None => Some(first),
        Some(second) => [first, second].into_iter().chain(it).find(|e| e.value.contains_dot(dot)),
    }
}

/// Up to this many dots, the change an update or a join makes to a value is found by comparing
/// its dots before and after (on the stack) rather than recorded (in two vectors).
const DIFF: usize = 16;

/// A join of a map with at most this many keys (the delta of an update, or of a few) learns what
/// it changed under each key by comparing the key's dots before and after ([`DIFF`]): no
/// allocation. A larger one (a state) records the change in one [`DotLog`] reused for every key,
/// which costs nothing for a key the join leaves alone.
const FEW_KEYS: usize = 8;

/// The keys of the other side a join hashes and looks up ahead of joining them (see
/// [`MapStore::join_keys`]).
const AHEAD: usize = 8;

/// A key of the other side in a join's look-ahead: the hash of the key under this map's hasher,
/// the other side's entry, and whether the key may be held here.
type Lookahead<'a, K, S> = (u64, Option<&'a Entry<K, S>>, bool);

/// The dots of a value before a change, on the stack (see [`DIFF`]).
type Snapshot = SmallVec<[Dot; DIFF]>;

/// Fills `out` with the dots of `value` and returns true if it holds at most [`DIFF`] dots;
/// otherwise returns false and leaves `out` empty.
#[inline]
fn snapshot<S: DotStore>(value: &S, out: &mut Snapshot) -> bool {
    if value.dot_count() > DIFF {
        return false;
    }
    value.for_each_dot(&mut |d| out.push(d));
    true
}

/// The dots one key's value gained and lost in a mutation or a join, for the index and the
/// enclosing log (two inline: an overwrite adds one dot and removes one).
#[derive(Default)]
struct KeyChange {
    added: SmallVec<[Dot; 2]>,
    removed: SmallVec<[Dot; 2]>,
}

impl KeyChange {
    /// Notes the difference between `before` (the value's dots, from [`snapshot`]) and the value
    /// now.
    #[inline]
    fn diff<S: DotStore>(&mut self, before: &[Dot], now: &S) {
        // One dot before and after (an overwrite of a single value): one comparison.
        if let [b] = before
            && let Some(a) = now.only_dot()
        {
            if a != *b {
                self.added.push(a);
                self.removed.push(*b);
            }
            return;
        }
        let added = &mut self.added;
        now.for_each_dot(&mut |d| {
            if !before.contains(&d) {
                added.push(d);
            }
        });
        for d in before {
            if !now.contains_dot(d) {
                self.removed.push(*d);
            }
        }
    }

    /// Takes what `sub` recorded.
    fn take_log(&mut self, sub: &mut DotLog) {
        let (a, r) = sub.take();
        self.added.extend(a);
        self.removed.extend(r);
    }

    /// Moves the change of the key hashing to `hash` into the index and the parent log; returns
    /// the number of dots removed.
    #[inline]
    fn apply<K, S: DotStore>(&mut self, hash: u64, store: &mut MapStore<K, S>, log: &mut DotLog) -> usize {
        store.note(hash, &self.added, &self.removed);
        let gone = self.removed.len();
        if log.is_enabled() {
            self.added.iter().for_each(|d| log.added(*d));
            self.removed.iter().for_each(|d| log.removed(*d));
        }
        self.added.clear();
        self.removed.clear();
        gone
    }
}

/// Joins `theirs` (with the other context) into one key's value `mine`, noting what changed in
/// `change`: by comparing `mine`'s dots before and after when it holds at most [`DIFF`] (a value
/// of one dot, such as a register's, by that dot alone: [`DotStore::only_dot`], which took the
/// join of a one-key overwrite into a 10^3-key map of registers from 302 to 252 instructions in
/// this function, callgrind), else through a recording log. The join of [`MapStore`] for a delta of [`FEW_KEYS`] keys at most.
#[inline]
fn join_diffed<S: DotStore>(
    mine: &mut S,
    ctx: &CausalContext,
    theirs: &S,
    other_ctx: &CausalContext,
    change: &mut KeyChange,
) -> bool {
    // A value of one dot (a register of one value): that dot is the snapshot.
    if let Some(b) = mine.only_dot() {
        let changed = mine.join_store(ctx, theirs, other_ctx, &mut DotLog::disabled());
        if changed {
            change.diff(&[b], mine);
        }
        return changed;
    }
    let mut before = Snapshot::new();
    if snapshot(mine, &mut before) {
        let changed = mine.join_store(ctx, theirs, other_ctx, &mut DotLog::disabled());
        if changed {
            change.diff(&before, mine);
        }
        changed
    } else {
        let mut sub = DotLog::recording();
        let changed = mine.join_store(ctx, theirs, other_ctx, &mut sub);
        change.take_log(&mut sub);
        changed
    }
}

/// Room (keys, or index entries) a map keeps whatever it holds: below it, removals never shrink.
const SHRINK_FLOOR: usize = 16;

/// Whether a table allocated `bytes` for entries of `entry` bytes, holding `len` of them, should
/// shrink to fit (more than twice the buckets a fresh one would have, above [`SHRINK_FLOOR`]).
fn sparse(bytes: usize, entry: usize, len: usize) -> bool {
    crate::limits::table_is_sparse(bytes, entry, len, SHRINK_FLOOR)
}

impl<K, S> MapStore<K, S> {
    /// Memory follows the live size: the key table and the dot index each shrink to fit once
    /// they have more than twice the buckets their entries need.
    fn shrink_if_sparse(&mut self) {
        if sparse(self.entries.allocation_size(), size_of::<Entry<K, S>>(), self.entries.len()) {
            self.entries.shrink_to_fit(|e| e.hash);
        }
        if sparse(self.index.allocation_size(), size_of::<(Dot, u64)>(), self.index.len()) {
            self.index.shrink_to_fit();
        }
    }
}

/// The dot index: kept complete above [`SMALL`] live dots, absent below. Every change of the
/// values is reported here AFTER the values changed (the index is rebuilt from them when the map
/// grows past `SMALL`).
impl<K, S: DotStore> MapStore<K, S> {
    fn indexed(&self) -> bool {
        self.dots > SMALL
    }

    /// Notes that the dots `added` became live under the key hashing to `hash` and the dots
    /// `removed` stopped being live (a dot in both was minted and removed by one mutation: it
    /// must come first in `added`, never re-added after its removal).
    fn note(&mut self, hash: u64, added: &[Dot], removed: &[Dot]) {
        let after = self.dots + added.len() - removed.len();
        if after > SMALL {
            if self.indexed() {
                for d in added {
                    self.index.insert(*d, hash);
                }
                for d in removed {
                    self.index.remove(d);
                }
            } else {
                self.dots = after;
                let _ = self.build_index();
            }
        } else if self.index.capacity() > 0 {
            self.index = HashMap::default();
        }
        self.dots = after;
    }

    /// Indexes every live dot of the values; returns the first dot found under two keys.
    /// The mark of a new join (see [`Entry::joined`]): never 0, the mark of entries no join has
    /// found yet. When the count wraps, every mark is cleared first (once per 2^32 joins).
    fn next_join_mark(&mut self) -> u32 {
        self.joins = self.joins.wrapping_add(1);
        if self.joins == 0 {
            self.entries.iter_mut().for_each(|e| e.joined = 0);
            self.joins = 1;
        }
        self.joins
    }

    fn build_index(&mut self) -> Option<Dot> {
        let mut dup = None;
        let index = &mut self.index;
        index.clear();
        index.reserve(self.dots);
        for e in &self.entries {
            e.value.for_each_dot(&mut |d| {
                if index.insert(d, e.hash).is_some() && dup.is_none() {
                    dup = Some(d);
                }
            });
        }
        dup
    }

    /// The hash of the key holding the live `dot`. `O(1)` expected (a search of at most
    /// [`SMALL`] dots in a small map).
    fn hash_of_dot(&self, dot: &Dot) -> Option<u64> {
        if self.indexed() {
            self.index.get(dot).copied()
        } else {
            self.entries.iter().find(|e| e.value.contains_dot(dot)).map(|e| e.hash)
        }
    }

    /// Inserts an entry whose key is absent, indexing its dots. Returns the first dot found
    /// under two keys, if any (only a decoder can meet one).
    fn insert_new(&mut self, hash: u64, key: K, value: S) -> Option<Dot> {
        let was = self.indexed();
        let mut dup = None;
        if was {
            let index = &mut self.index;
            value.for_each_dot(&mut |d| {
                if index.insert(d, hash).is_some() && dup.is_none() {
                    dup = Some(d);
                }
            });
        } else {
            let entries = &self.entries;
            value.for_each_dot(&mut |d| {
                if dup.is_none() && entries.iter().any(|e| e.value.contains_dot(&d)) {
                    dup = Some(d);
                }
            });
        }
        self.dots += value.dot_count();
        self.entries.insert_unique(hash, Entry { hash, key, value, joined: 0 }, |e| e.hash);
        if !was && self.indexed() {
            dup = dup.or(self.build_index());
        }
        dup
    }

    /// Unindexes the dots of an entry just taken out of the table.
    fn forget_value(&mut self, value: &S) {
        let n = value.dot_count();
        if self.dots - n > SMALL {
            let index = &mut self.index;
            value.for_each_dot(&mut |d| {
                index.remove(&d);
            });
        } else if self.index.capacity() > 0 {
            self.index = HashMap::default();
        }
        self.dots -= n;
    }
}

/// Moves what `sub` recorded for the key hashing to `hash` into the index and the parent log.
/// Returns the number of dots the log says were removed.
fn apply_log<K, S: DotStore>(
    hash: u64,
    sub: &mut DotLog,
    store: &mut MapStore<K, S>,
    log: &mut DotLog,
) -> usize {
    // A key the join left alone (most keys of a state's merge): nothing to move.
    if sub.is_empty() {
        return 0;
    }
    // NOTE: added before removed: a mutation can mint a dot and then remove it (write then
    // clear), never the other way round (dots are never re-minted).
    let (added, removed) = sub.take();
    store.note(hash, &added, &removed);
    let gone = removed.len();
    for d in added {
        log.added(d);
    }
    for d in removed {
        log.removed(d);
    }
    gone
}

impl<K: Hash + Eq + Clone, S: DotStore> MapStore<K, S> {
    /// The hashes of the keys not held by `other` that hold a dot `other_ctx` has seen: the keys
    /// whose values the other side removed from (a superset when two keys share a hash, which is
    /// harmless: the caller joins those keys with the empty value). Walks whichever is smaller:
    /// the context's dots (a remove delta's context is the removed dots) or this map's keys
    /// (then only the dots of the keys `other` does not hold).
    /// Keys are neither cloned nor hashed per dot: a key holding many removed dots is looked up in
    /// `other` once.
    ///
    /// Nothing at all when the other side removed nothing: when every dot its context has seen
    /// is still live in `other` (a full state without removes: same count, as live dots are in
    /// the context), a dot of `self` that context has seen lives in `other` under the same key.
    pub(super) fn keys_removed_by(&self, other: &Self, other_ctx: &CausalContext) -> Vec<u64> {
        if self.dots == 0 || other_ctx.dot_count() == other.dots as u64 {
            return Vec::new();
        }
        // A dot of the context costs one lookup (two for the few the other side removed); a key
        // of this side costs a hash of the key and a lookup in `other`.
        let by_context =
            usize::try_from(other_ctx.dot_count()).is_ok_and(|n| n <= self.entries.len().saturating_mul(2));
        if by_context {
            let mut hashes: HashSet<u64> = HashSet::default();
            for d in other_ctx.dots() {
                if other.contains_dot(&d) {
                    continue;
                }
                if let Some(h) = self.hash_of_dot(&d) {
                    hashes.insert(h);
                }
            }
            hashes
                .into_iter()
                .filter(|h| self.entries.iter_hash(*h).any(|e| e.hash == *h && !other.contains_key(&e.key)))
                .collect()
        } else {
            let mut hashes = Vec::new();
            for e in &self.entries {
                if hashes.last() == Some(&e.hash) || other.contains_key(&e.key) {
                    continue;
                }
                let mut seen = false;
                e.value.for_each_dot(&mut |d| seen = seen || other_ctx.contains(&d));
                if seen {
                    hashes.push(e.hash);
                }
            }
            hashes.sort_unstable();
            hashes.dedup();
            hashes
        }
    }

    /// The join of [`DotStore::join_store`]. With `FEW` (a delta of at most [`FEW_KEYS`] keys)
    /// it notes what changed under each key by comparing the key's dots before and after (no
    /// allocation); otherwise through a recording log. The same result either way (tests run
    /// both on the same histories). A constant, so that a state's merge pays no test per key.
    pub(super) fn join_keys<const FEW: bool>(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let mut changed = false;
        // The general path's log (it allocates at the first dot it records, and is reused for
        // every key) and the few-keys path's change (on the stack).
        let mut sub = DotLog::recording();
        let mut change = KeyChange::default();
        let (dots_before, held) = (self.dots, self.entries.len());
        let mark = self.next_join_mark();
        // Keys the other side holds: nested join with the whole contexts.
        let (mut matched, mut removed_here) = (0usize, 0usize);
        // The other side's keys go in batches of `AHEAD`: first every key of the batch is
        // hashed and (but for a few keys) looked up here, in loops of nothing else, so that the
        // cache misses of different keys (their bytes, when a key lives on the heap; the
        // table's slots here) overlap instead of coming one after the other; then each key is
        // joined, its slot in cache. A merge of equal maps of 10^5 String keys: 13.4 -> 6.2 ms
        // (u64 keys: 2.1 ms either way).
        let mut keys = other.entries.iter();
        let mut batch: [Lookahead<'_, K, S>; AHEAD] = [(0, None, true); AHEAD];
        loop {
            let mut n = 0;
            for (slot, theirs) in batch.iter_mut().zip(&mut keys) {
                *slot = (self.hasher.hash_one(&theirs.key), Some(theirs), true);
                n += 1;
            }
            if n == 0 {
                break;
            }
            if !FEW {
                for (h, theirs, held) in &mut batch[..n] {
                    let key = &theirs.map(|t| &t.key);
                    *held = self.entries.find(*h, |e| e.hash == *h && Some(&e.key) == *key).is_some();
                }
            }
            // `held`: whether the key may be here (one the look-ahead did not find is not).
            for &(h, theirs, held) in &batch[..n] {
                let Some(theirs) = theirs else { continue };
                let slot = if held {
                    self.entries.find_entry(h, |e| e.hash == h && e.key == theirs.key).ok()
                } else {
                    None
                };
                match slot {
                    Some(mut found) => {
                        matched += 1;
                        let mine = found.get_mut();
                        mine.joined = mark;
                        changed |= if FEW {
                            join_diffed(&mut mine.value, ctx, &theirs.value, other_ctx, &mut change)
                        } else {
                            mine.value.join_store(ctx, &theirs.value, other_ctx, &mut sub)
                        };
                        if found.get().value.is_empty() {
                            found.remove();
                        }
                    }
                    None => {
                        let mut mine = S::default();
                        let joined = if FEW {
                            join_diffed(&mut mine, ctx, &theirs.value, other_ctx, &mut change)
                        } else {
                            mine.join_store(ctx, &theirs.value, other_ctx, &mut sub)
                        };
                        if joined {
                            changed = true;
                            if !mine.is_empty() {
                                let e = Entry { hash: h, key: theirs.key.clone(), value: mine, joined: mark };
                                self.entries.insert_unique(h, e, |e| e.hash);
                            }
                        }
                    }
                }
                removed_here +=
                    if FEW { change.apply(h, self, log) } else { apply_log(h, &mut sub, self, log) };
            }
        }
        // Keys only this side holds: the other side has the empty value there, which removes
        // the dots its context has seen. Only keys holding such a dot can change; none when
        // every key of this side is also the other's.
        // Every dot of the other context is live there, or was removed here under a key both
        // sides hold (such a dot was seen and dropped there, so it is not live there: the two
        // counts are of disjoint sets): then no dot is left that could remove anything under a
        // key only this side holds. The case of every one-key delta that overwrites a value.
        if matched < held && (removed_here as u64).saturating_add(other.dots as u64) < other_ctx.dot_count() {
            let empty = S::default();
            // The keys only this side holds are the entries this join did not mark. A context
            // with few dots against this map is walked dot by dot (`keys_removed_by`: a remove
            // delta); a larger one (a state) costs a scan of the entries instead, which reads
            // each entry's mark and looks up dots only under the unmarked keys: no key hashed,
            // no lookup per dot of the other context.
            let doomed = if usize::try_from(other_ctx.dot_count()).is_ok_and(|n| n < self.entries.len() / 8) {
                self.keys_removed_by(other, other_ctx)
            } else {
                let mut hashes = Vec::new();
                for e in &self.entries {
                    if e.joined != mark && hashes.last() != Some(&e.hash) {
                        let mut seen = false;
                        e.value.for_each_dot(&mut |d| seen = seen || other_ctx.contains(&d));
                        if seen {
                            hashes.push(e.hash);
                        }
                    }
                }
                hashes.sort_unstable();
                hashes.dedup();
                hashes
            };
            for h in doomed {
                let mut emptied = false;
                for mine in self.entries.iter_hash_mut(h) {
                    if mine.hash == h && mine.joined != mark {
                        changed |= if FEW {
                            join_diffed(&mut mine.value, ctx, &empty, other_ctx, &mut change)
                        } else {
                            mine.value.join_store(ctx, &empty, other_ctx, &mut sub)
                        };
                        emptied |= mine.value.is_empty();
                    }
                }
                while emptied {
                    match self.entries.find_entry(h, |e| e.hash == h && e.value.is_empty()) {
                        Ok(found) => drop(found.remove()),
                        Err(_) => emptied = false,
                    }
                }
                let _ = if FEW { change.apply(h, self, log) } else { apply_log(h, &mut sub, self, log) };
            }
        }
        // Only a join that dropped keys or dots can leave a table sparse.
        if changed && (self.entries.len() < held || self.dots < dots_before) {
            self.shrink_if_sparse();
        }
        changed
    }
}

impl<K: Hash + Eq + Clone, S: DotStore> DotStore for MapStore<K, S> {
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn dot_count(&self) -> usize {
        self.dots
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.entries.iter().for_each(|e| e.value.for_each_dot(f));
    }

    fn contains_dot(&self, dot: &Dot) -> bool {
        self.hash_of_dot(dot).is_some()
    }

    fn join_store(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        if other.entries.len() <= FEW_KEYS {
            self.join_keys::<true>(ctx, other, other_ctx, log)
        } else {
            self.join_keys::<false>(ctx, other, other_ctx, log)
        }
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        self.entries.retain(|e| {
            e.value.retain_dots(keep);
            !e.value.is_empty()
        });
        self.dots = self.entries.iter().map(|e| e.value.dot_count()).sum();
        if self.indexed() {
            let _ = self.build_index();
        } else {
            self.index = HashMap::default();
        }
        self.shrink_if_sparse();
    }

    /// Each dot looked up in the dot index, grouped by key, and each selected key's value
    /// asked for its dots: `O(dots log dots)` time plus the selected values' own selections,
    /// allocation for what is selected.
    fn select_dots(&self, dots: &mut dyn Iterator<Item = Dot>) -> Self {
        let mut found: Vec<(u64, Dot)> = dots.filter_map(|d| self.hash_of_dot(&d).map(|h| (h, d))).collect();
        found.sort_unstable();
        found.dedup();
        let mut out = MapStore { hasher: self.hasher, ..MapStore::default() };
        for group in found.chunk_by(|x, y| x.0 == y.0) {
            let h = group[0].0;
            // Keys sharing the full hash each keep only their own dots.
            for e in self.entries.iter_hash(h).filter(|e| e.hash == h) {
                let value = e.value.select_dots(&mut group.iter().map(|&(_, d)| d));
                if !value.is_empty() {
                    let _ = out.insert_new(h, e.key.clone(), value);
                }
            }
        }
        out
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
        let h = store.hash_of(&key);
        let mine = match store.entries.find_entry(h, |e| e.hash == h && e.key == key) {
            Ok(found) => found.into_mut(),
            Err(absent) => {
                let e = Entry { hash: h, key: key.clone(), value: S::default(), joined: 0 };
                absent.into_table().insert_unique(h, e, |e| e.hash).into_mut()
            }
        };
        // The delta's entry for the key is taken out, and put back after `f`.
        let dh = dstore.hash_of(&key);
        let mut dmine = dstore.take(&key).map(|e| e.value).unwrap_or_default();
        // What `f` adds to and removes from the value: for a small value, the difference of its
        // dots before and after (no allocation); otherwise recorded by the nested handle.
        let mut before = Snapshot::new();
        let small = snapshot(&mine.value, &mut before);
        let mut sub = if small { DotLog::disabled() } else { DotLog::recording() };
        let r = f(&mut Handle {
            store: &mut mine.value,
            dstore: &mut dmine,
            ctx,
            dctx,
            replica: *replica,
            log: &mut sub,
        });
        let mut change = KeyChange::default();
        if small {
            change.diff(&before, &mine.value);
        } else {
            change.take_log(&mut sub);
        }
        if mine.value.is_empty() {
            if let Ok(found) = store.entries.find_entry(h, |e| e.hash == h && e.key == key) {
                found.remove();
            }
        }
        let _ = change.apply(h, store, log);
        if !dmine.is_empty() {
            let _ = dstore.insert_new(dh, key, dmine);
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
        drop(self.dstore.take(key));
        let Some(v) = self.store.take(key) else { return false };
        v.value.for_each_dot(&mut |d| self.forget(d));
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
        *self.dstore = MapStore::default();
        let old = core::mem::take(&mut *self.store);
        old.for_each_dot(&mut |d| self.forget(d));
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
        self.insert_new(h, key, value).map_or(Ok(()), Err)
    }

    /// The key holding the live `dot`, if any. `O(1)` expected.
    #[cfg(test)]
    pub(crate) fn key_of(&self, dot: &Dot) -> Option<&K> {
        let h = self.hash_of_dot(dot)?;
        holder(&self.entries, h, dot).map(|e| &e.key)
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
            e.value.for_each_dot(&mut |d| {
                ok &= holder(&self.entries, e.hash, &d).is_some_and(|x| x.key == e.key)
                    && self.hash_of_dot(&d) == Some(e.hash);
            });
            if !ok {
                return Err("map: a live dot is missing from the index or indexed under another key");
            }
        }
        if total != self.dots {
            return Err("map: the live dot count is wrong");
        }
        if self.indexed() && self.index.len() != total {
            return Err("map: the index holds a dot no value holds (or a dot occurs twice)");
        }
        if !self.indexed() {
            if !self.index.is_empty() {
                return Err("map: a small map holds an index");
            }
            let mut twice = false;
            for (i, e) in self.entries.iter().enumerate() {
                e.value.for_each_dot(&mut |d| {
                    twice |= self.entries.iter().skip(i + 1).any(|x| x.value.contains_dot(&d));
                });
            }
            if twice {
                return Err("map: a dot occurs under two keys");
            }
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

impl<K, S> crate::causal::sealed::Sealed for MapStore<K, S> {}

/// Per key, the nested store's checks; and no dot under two different keys.
impl<K: Hash + Eq + Clone, S: crate::receive::ReceiveStore> crate::receive::ReceiveStore for MapStore<K, S> {
    fn check_clock(&self, policy: &crate::ReceivePolicy) -> Result<(), crate::Error> {
        self.values().try_for_each(|v| v.check_clock(policy))
    }

    /// The keys of `local` joined with `self` within [`Limits::max_elements`](crate::Limits)
    /// (`map.keys`, as decoding counts them), at every level: the count of this level is
    /// `O(1)` unless the two counts together exceed the limit, then one lookup per incoming key;
    /// each incoming key the receiver holds is checked one level down (`O(input keys)` lookups,
    /// as `check_payloads` does). An upper
    /// bound: keys the join would remove are not subtracted.
    fn check_joined_elements(&self, local: &Self, limits: &crate::Limits) -> Result<(), crate::Error> {
        let max = limits.max_elements;
        if local.len().saturating_add(self.len()) > max {
            let found = local.len() + self.entries.iter().filter(|e| local.entry(&e.key).is_none()).count();
            if found > max {
                return Err(crate::Error::TooLarge {
                    field: "map.keys",
                    limit: max as u64,
                    found: found as u64,
                });
            }
        }
        if local.entries.is_empty() {
            return Ok(());
        }
        self.entries.iter().try_for_each(|e| match local.entry(&e.key) {
            Some(mine) => e.value.check_joined_elements(&mine.value, limits),
            None => Ok(()),
        })
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
                if let Some(h) = local.hash_of_dot(&d) {
                    conflict = match mine {
                        Some(m) => h != m.hash || !m.value.contains_dot(&d),
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
