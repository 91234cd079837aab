//! The causal store of an add-wins set: element -> live dots, with a dot -> element index.
//!
//! # Layout (why it is this way)
//!
//! Memory per element is a target (at most 64 bytes for `u64` elements, against about 246 for the
//! `crdts` crate), and so is a join whose cost follows the delta. A remove delta carries only dots,
//! so the join must find an element from a dot without scanning: a dot index is needed. A [`Dot`]
//! is 24 bytes, so neither the store nor the index holds `Dot`s:
//!
//! * each store has a small replica table (index -> id, live dot count), and a dot is packed in a
//!   `u64` as `replica index (16 bits) | event number (48 bits)`;
//! * elements live in a dense vector of slots `(element, primary dot)`, 16 bytes for a `u64` (one
//!   slot is held inline: a one-element store, such as an insert delta, allocates nothing);
//! * two hash tables of `u32` slot numbers find a slot by element and by primary dot (5 bytes per
//!   bucket each, the keys are read from the slot);
//! * an element with several concurrent dots (two replicas added it concurrently) keeps its other
//!   dots in a side table, boxed and absent in the common case;
//! * the lookup structures (the two tables, their hasher, the side table and the sorted id
//!   lookup of a large replica table) live in ONE box, built the first time the store needs it
//!   (a fifth element, a second dot of an element, a ninth replica) and dropped when removals
//!   leave at most one element; smaller stores compare their slots in turn (see [`LINEAR`]). A
//!   one-element store (an insert delta, a map key's one-element set) allocates nothing, seeds
//!   no hasher, and drops with no work beyond its element. So the value
//!   is small: 72 bytes for a `SetStore<u64>`, 120 for an `OrSet<u64>`, moved by every API that
//!   returns a set or a delta.
//!
//! Slot order depends on history, so equality is semantic (same elements with the same dots),
//! written by hand, and the wire form sorts by dot.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::iter::FusedIterator;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use smallvec::SmallVec;

use crate::causal::{CausalContext, Dot, DotLog, DotStore, ReplicaId};

/// Room (elements) a store keeps whatever it holds: below it, removals never shrink anything.
const SHRINK_FLOOR: usize = 16;
mod invariants;

/// Bits of the event number in a packed dot.
const COUNTER_BITS: u32 = 48;
/// Mask of the event number in a packed dot.
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

// Test instrumentation: the dots a removal touches (doomed dots and the entries of the extra-dot
// lists it filters) are added to the crate's one per-thread work count, so tests can assert the
// work of a removal at two sizes. Compiled away outside the crate's own tests.
use crate::causal::work;

/// How a store packs a live dot `(replica index, event number)` into one integer.
///
/// Stores start narrow (`u64`: a 16-bit replica index above a 48-bit event number, 8 bytes per
/// dot) and widen once, in place, to `u128` (a 64-bit index above a 64-bit event number) when a
/// 65 537th replica with live dots arrives: so the packing never runs out (a plain join and an
/// insert never fail on the replica count), and sets of up to 65 536 live replicas keep the
/// narrow size.
pub(super) trait Pack: Copy + Eq + Ord + Hash + fmt::Debug {
    /// Replica indices this packing holds.
    const SLOTS: usize;
    /// `idx` must be below [`SLOTS`](Self::SLOTS), `n` in `1..=COUNTER_MASK`.
    fn pack(idx: usize, n: u64) -> Self;
    /// `(replica index, event number)`.
    fn unpack(self) -> (usize, u64);
}

impl Pack for u64 {
    const SLOTS: usize = 1 << (64 - COUNTER_BITS);

    #[inline]
    fn pack(idx: usize, n: u64) -> u64 {
        debug_assert!(idx < Self::SLOTS && (1..=COUNTER_MASK).contains(&n));
        ((idx as u64) << COUNTER_BITS) | n
    }

    #[inline]
    fn unpack(self) -> (usize, u64) {
        ((self >> COUNTER_BITS) as usize, self & COUNTER_MASK)
    }
}

impl Pack for u128 {
    // The replica lookup holds indices as `u32`.
    const SLOTS: usize = u32::MAX as usize;

    #[inline]
    fn pack(idx: usize, n: u64) -> u128 {
        debug_assert!(idx < Self::SLOTS && (1..=COUNTER_MASK).contains(&n));
        ((idx as u128) << 64) | u128::from(n)
    }

    #[inline]
    fn unpack(self) -> (usize, u64) {
        ((self >> 64) as usize, self as u64)
    }
}

/// Whether an index of `len` entries has more than twice the buckets a fresh index of them
/// would have (and more than [`SHRINK_FLOOR`]), counted from its allocation.
fn index_is_sparse(t: &HashTable<u32>, len: usize) -> bool {
    crate::limits::table_is_sparse(t.allocation_size(), core::mem::size_of::<u32>(), len, SHRINK_FLOOR)
}

/// Whether the canonical range list `rs` holds `n`.
#[inline]
fn ranges_contain(rs: &[(u64, u64)], n: u64) -> bool {
    match rs {
        [] => false,
        [(lo, hi)] => *lo <= n && n <= *hi,
        _ => {
            let i = rs.partition_point(|&(lo, _)| lo <= n);
            i > 0 && rs[i - 1].1 >= n
        }
    }
}

/// The number of dots of a range list (saturating).
fn ranges_len(rs: &[(u64, u64)]) -> u64 {
    rs.iter().fold(0u64, |acc, &(lo, hi)| acc.saturating_add(hi - lo + 1))
}

/// Replica tables up to this size are searched by comparing ids in turn, and keep no sorted
/// id lookup (see [`Replicas::find`]); a larger table's lookup lives in the store's [`Index`].
pub(super) const SMALL_TABLE: usize = 8;

/// The replica table of one store: index -> `(id, live dots)`.
///
/// A table of one entry (a store whose live dots are one replica's, such as every delta of a
/// local operation) is held inline. Tables of up to [`SMALL_TABLE`] entries are searched by
/// comparing ids in turn (cheaper than an indirect binary search for the few replicas most sets
/// hear from); a larger one also has the indices sorted by id (`by_id`), in the store's
/// [`Index`] (which such a store always has).
#[derive(Clone, Default)]
pub(super) struct Replicas {
    pub(super) entries: SmallVec<[(ReplicaId, usize); 1]>,
}

impl Replicas {
    /// The table of one replica with `live` live dots, inline: no allocation.
    #[inline]
    fn one(id: ReplicaId, live: usize) -> Self {
        Replicas { entries: SmallVec::from_buf([(id, live)]) }
    }

    /// Whether ids are found by comparing them in turn (the table has no sorted lookup).
    #[inline]
    fn scanned(&self) -> bool {
        self.entries.len() <= SMALL_TABLE
    }

    /// The position of `id` in the sorted lookup `by_id`, or where it would go.
    fn search(&self, by_id: &[u32], id: &ReplicaId) -> Result<usize, usize> {
        by_id.binary_search_by(|&i| self.entries[i as usize].0.cmp(id))
    }

    /// The index of `id`; `by_id` is the sorted lookup (empty for a scanned table).
    #[inline]
    fn find(&self, by_id: &[u32], id: &ReplicaId) -> Option<usize> {
        if self.scanned() {
            return self.entries.iter().position(|(r, _)| r == id);
        }
        self.search(by_id, id).ok().map(|k| by_id[k] as usize)
    }

    /// The number of replicas with live dots. `O(table)`.
    fn live_count(&self) -> usize {
        self.entries.iter().filter(|e| e.1 > 0).count()
    }

    /// The sorted lookup of this table: its indices ordered by id.
    fn sorted_ids(&self) -> Vec<u32> {
        let mut by_id: Vec<u32> = (0..self.entries.len() as u32).collect();
        by_id.sort_unstable_by(|&a, &b| self.entries[a as usize].0.cmp(&self.entries[b as usize].0));
        by_id
    }

    #[inline]
    fn id(&self, idx: usize) -> ReplicaId {
        self.entries[idx].0
    }

    #[inline]
    fn dot<P: Pack>(&self, p: P) -> Dot {
        let (i, n) = p.unpack();
        Dot::new(self.id(i), n).expect("packed counters are at least 1")
    }
}

/// One element and one of its live dots.
#[derive(Clone)]
pub(super) struct Slot<T, P> {
    elem: T,
    pub(super) dot: P,
}

/// The slots of a store. One slot (the store of a one-insert delta, and of a map key's
/// one-element set) is held inline: such a store allocates nothing for it, and dropping it frees
/// nothing. Larger stores spill to the heap, sized as a vector would be.
pub(super) type SlotVec<T, P> = SmallVec<[Slot<T, P>; 1]>;

/// The dots of elements with more than one live dot, beyond the one in the slot.
#[derive(Clone)]
pub(super) struct Extras<P> {
    by_dot: HashMap<P, u32>,
    by_slot: HashMap<u32, SmallVec<[P; 2]>>,
}

impl<P> Default for Extras<P> {
    fn default() -> Self {
        Extras { by_dot: HashMap::default(), by_slot: HashMap::default() }
    }
}

/// The causal store of an add-wins set ([`OrSet`](crate::OrSet)): each element with the dots of
/// the inserts of it that no remove has observed yet.
///
/// It is also what an [`OrMap`](crate::OrMap) of sets holds under each key, so the reads of a set
/// ([`contains`](Self::contains), [`len`](Self::len), [`iter`](Self::iter)) are here too. It is
/// mutated through a [`Handle`](crate::causal::Handle) (see the methods of `Handle<'_, SetStore<T>>`).
///
/// Costs: `contains`, and each mutation, `O(1)` expected; a join costs `O(size of the other
/// store + dots of this store the other context can remove)`, never a scan of this store for a
/// small delta (a dot index finds the elements a remove delta names). About 32 bytes per `u64`
/// element (`cargo run --release -p experiments --bin set_memory`).
///
/// Limits: event numbers up to `2^48 - 1` ([`MAX_COUNTER`](Self::MAX_COUNTER)); decoding
/// refuses input beyond it. Up to 65 536 replicas with live elements, a dot is packed in 8 bytes
/// (a 16-bit replica index); a store that gets more widens once to 16 bytes per dot, so no join
/// or insert fails on the replica count ([`MAX_REPLICAS`](Self::MAX_REPLICAS) is `2^32 - 1`).
///
/// # Example
///
/// ```
/// use convergent::{OrSet, ReplicaId, set::SetStore};
///
/// let mut s = OrSet::new();
/// let _ = s.insert(ReplicaId::from_u128(1), "a");
/// let store: &SetStore<&str> = s.as_causal().store();
/// assert!(store.contains("a"));
/// assert_eq!(format!("{store:?}"), r#"{"a"}"#);
/// ```
#[derive(Clone)]
pub struct SetStore<T> {
    repr: Repr<T>,
}

/// The two packings of a store (see [`Pack`]); a store widens once and stays wide.
#[derive(Clone)]
enum Repr<T> {
    Narrow(Packing<T, u64>),
    Wide(Box<Packing<T, u128>>),
}

/// The store itself, generic over how it packs its dots.
///
/// Small stores keep only their slots and replica table (see [`LINEAR`]); the lookup structures
/// of a larger one live in ONE box, [`Index`], built when the store first needs it, so that a
/// store of one element (a delta, a map key's one-element set) allocates nothing, seeds no
/// hasher, and drops with no work beyond its element.
#[derive(Clone)]
pub(super) struct Packing<T, P> {
    pub(super) slots: SlotVec<T, P>,
    pub(super) replicas: Replicas,
    pub(super) index: Option<Box<Index<P>>>,
}

/// The lookup structures of a store past [`LINEAR`] elements (or with extra dots, or a replica
/// table past [`SMALL_TABLE`]): `None` in a small store, whose lookups compare its slots.
#[derive(Clone)]
pub(super) struct Index<P> {
    /// Slot numbers by element.
    by_elem: HashTable<u32>,
    /// Slot numbers by primary dot.
    by_dot: HashTable<u32>,
    /// The extra dots of elements with several live dots; `None` when there are none.
    pub(super) extras: Option<Box<Extras<P>>>,
    /// The replica table's indices sorted by id, when it has more than [`SMALL_TABLE`] entries
    /// (empty otherwise).
    by_id: Vec<u32>,
    hasher: DefaultHashBuilder,
}

/// Stores of up to this many elements, with no element holding several dots and a replica
/// table of at most [`SMALL_TABLE`] entries, have no [`Index`]: a lookup compares the slots in
/// turn. Once built, an index is dropped again when removals leave fewer than half of
/// [`LINEAR`] elements (hysteresis: a store going up and down around the threshold does not
/// rebuild it each time).
///
/// Why 4: in an `OrMap<u64, OrSet<_>>` of 1 000 keys of 4-element sets (callgrind, per
/// operation), no index cut the join of a one-key insert and remove delta pair from 6 960 to
/// 6 453 instructions for `u64` elements (7 292 to 6 867 for 14-byte `String`s), a `contains`
/// from 113 to 91 instructions (`String`: 923 to 907, with the `format!` of the probe), and the
/// heap of the map from 1.50 MB to 1.07 MB (one allocation per key instead of four). At 8
/// elements the linear search no longer paid for strings of equal length (`contains` 923 to
/// 977, the join 9 664 to 9 733).
pub(super) const LINEAR: usize = 4;

impl<T> Default for SetStore<T> {
    #[inline(always)]
    fn default() -> Self {
        SetStore { repr: Repr::Narrow(Packing::default()) }
    }
}

impl<T, P> Default for Packing<T, P> {
    #[inline(always)]
    fn default() -> Self {
        Packing { slots: SlotVec::new(), replicas: Replicas::default(), index: None }
    }
}

/// `each!(store, s => expr)`: `expr` on the packing of `store`, whichever it is.
macro_rules! each {
    ($store:expr, $s:ident => $e:expr) => {
        match $store {
            Repr::Narrow($s) => $e,
            Repr::Wide($s) => $e,
        }
    };
}

/// `pair!(a, b, (x, y) => expr)`: `expr` on the packings of two stores, whichever each is; `x`
/// and `y` are `&Packing` (`pair!(mut a, ...)`: `x` is `&mut Packing`).
macro_rules! pair {
    ($a:expr, $b:expr, ($x:ident, $y:ident) => $e:expr) => {
        match ($a, $b) {
            (Repr::Narrow($x), Repr::Narrow($y)) => $e,
            (Repr::Narrow($x), Repr::Wide($y)) => {
                let $y = &**$y;
                $e
            }
            (Repr::Wide($x), Repr::Narrow($y)) => {
                let $x = &**$x;
                $e
            }
            (Repr::Wide($x), Repr::Wide($y)) => {
                let ($x, $y) = (&**$x, &**$y);
                $e
            }
        }
    };
    (mut $a:expr, $b:expr, ($x:ident, $y:ident) => $e:expr) => {
        match ($a, $b) {
            (Repr::Narrow($x), Repr::Narrow($y)) => $e,
            (Repr::Narrow($x), Repr::Wide($y)) => {
                let $y = &**$y;
                $e
            }
            (Repr::Wide($x), Repr::Narrow($y)) => {
                let $x = &mut **$x;
                $e
            }
            (Repr::Wide($x), Repr::Wide($y)) => {
                let ($x, $y) = (&mut **$x, &**$y);
                $e
            }
        }
    };
}

impl<T> SetStore<T> {
    /// The largest event number a set stores: `2^48 - 1`. A replica making a million events a
    /// second would reach it in nine years.
    ///
    /// ```
    /// # use convergent::set::SetStore;
    /// assert_eq!(SetStore::<u64>::MAX_COUNTER, (1 << 48) - 1);
    /// ```
    pub const MAX_COUNTER: u64 = COUNTER_MASK;

    /// The most replicas with live elements in one set: `2^32 - 1`, far beyond any
    /// [`Limits::max_replicas`](crate::Limits::max_replicas) (default 65 536). A set with live
    /// elements of up to 65 536 replicas packs a dot in 8 bytes; beyond that it widens, once, to
    /// 16 bytes per dot. Inserts and joins never fail on the replica count.
    ///
    /// ```
    /// # use convergent::set::SetStore;
    /// assert_eq!(SetStore::<u64>::MAX_REPLICAS, u32::MAX as usize);
    /// ```
    pub const MAX_REPLICAS: usize = <u128 as Pack>::SLOTS;

    /// The number of elements. `O(1)`.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(ReplicaId::from_u128(1), [1, 2, 2]);
    /// assert_eq!(s.as_causal().store().len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        each!(&self.repr, s => s.slots.len())
    }

    /// Whether the set has no element. `O(1)`.
    ///
    /// ```
    /// # use convergent::set::SetStore;
    /// assert!(SetStore::<u8>::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates the elements, in no particular order. `O(1)` per element.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(ReplicaId::from_u128(1), [1, 2]);
    /// let mut v: Vec<_> = s.as_causal().store().iter().copied().collect();
    /// v.sort();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            inner: match &self.repr {
                Repr::Narrow(s) => Slots::Narrow(s.slots.iter()),
                Repr::Wide(s) => Slots::Wide(s.slots.iter()),
            },
        }
    }

    /// The narrow packing (test hook: panics if wide).
    #[cfg(test)]
    pub(super) fn narrow_mut(&mut self) -> &mut Packing<T, u64> {
        match &mut self.repr {
            Repr::Narrow(s) => s,
            Repr::Wide(_) => panic!("a wide store"),
        }
    }

    /// Whether the store packs dots in 16 bytes (it held live elements of more than 65 536
    /// replicas at some point).
    #[cfg(test)]
    pub(crate) fn is_wide(&self) -> bool {
        matches!(self.repr, Repr::Wide(_))
    }
}

impl<T: Hash + Eq> SetStore<T> {
    /// Whether `value` is in the set. `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert(ReplicaId::from_u128(1), String::from("x"));
    /// assert!(s.as_causal().store().contains("x"));
    /// ```
    #[must_use]
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        each!(&self.repr, s => s.slot_of(value).is_some())
    }
}

impl<T: Hash + Eq + Clone> SetStore<T> {
    /// Widens the packing if `new` replicas with live dots (not live here yet) would not fit the
    /// narrow one. `O(1)` when they clearly fit; otherwise `O(table)` to count, and `O(store)`
    /// once, to widen.
    fn make_room(&mut self, new: impl FnOnce(&Packing<T, u64>) -> usize, upper_bound: usize) {
        let Repr::Narrow(s) = &self.repr else { return };
        if s.replicas.entries.len() + upper_bound <= <u64 as Pack>::SLOTS {
            return;
        }
        if s.replicas.live_count() + new(s) <= <u64 as Pack>::SLOTS {
            return;
        }
        let Repr::Narrow(s) = core::mem::take(&mut self.repr) else { unreachable!() };
        self.repr = Repr::Wide(Box::new(s.widen()));
    }

    /// Removes `value` with all its dots; returns the dots, or `None` if absent.
    pub(crate) fn take<Q>(&mut self, value: &Q) -> Option<SmallVec<[Dot; 2]>>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        each!(&mut self.repr, s => s.take(value))
    }

    /// Removes every element; returns every live dot, sorted.
    pub(crate) fn take_all(&mut self) -> Vec<Dot> {
        each!(&mut self.repr, s => s.take_all())
    }

    /// Adds a new live dot `dot` to `elem`. `dot` must not be live. Widens the packing if this
    /// is the 65 537th replica with live dots.
    ///
    /// # Panics
    ///
    /// If the dot's event number exceeds [`MAX_COUNTER`](Self::MAX_COUNTER).
    pub(crate) fn add_dot(&mut self, elem: T, dot: Dot) {
        let id = dot.replica();
        self.make_room(|s| usize::from(!s.is_live(&id)), 1);
        each!(&mut self.repr, s => s.add_dot(elem, dot));
    }

    /// The number of live dots of `value`.
    #[cfg(test)]
    pub(crate) fn dot_count_of(&self, value: &T) -> usize {
        each!(&self.repr, s => s.dot_count_of(value))
    }

    /// The allocation sizes of the slot vector's capacity and of the two indexes (test hook).
    #[cfg(test)]
    pub(crate) fn room(&self) -> (usize, usize, usize) {
        each!(&self.repr, s => {
            let (e, d) = s.index.as_ref().map_or((0, 0), |x| (x.by_elem.allocation_size(), x.by_dot.allocation_size()));
            (s.slots.capacity(), e, d)
        })
    }

    /// The number of entries of the replica table.
    #[cfg(test)]
    pub(crate) fn replica_table_len(&self) -> usize {
        each!(&self.repr, s => s.replicas.entries.len())
    }

    /// Checks every internal invariant; panics with a message on the first violation.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        each!(&self.repr, s => s.check_invariants());
    }
}

impl<T> Default for Repr<T> {
    fn default() -> Self {
        Repr::Narrow(Packing::default())
    }
}

impl<T: Hash + Eq + Clone> Packing<T, u64> {
    /// The same store packed wide. `O(store)`.
    fn widen(self) -> Packing<T, u128> {
        let wide = |p: u64| {
            let (i, n) = p.unpack();
            <u128 as Pack>::pack(i, n)
        };
        let Packing { slots, replicas, index } = self;
        let extras = index.and_then(|x| x.extras).map(|x| {
            Box::new(Extras {
                by_dot: x.by_dot.into_iter().map(|(p, s)| (wide(p), s)).collect(),
                by_slot: x.by_slot.into_iter().map(|(s, l)| (s, l.into_iter().map(wide).collect())).collect(),
            })
        });
        let slots: SlotVec<T, u128> =
            slots.into_iter().map(|s| Slot { elem: s.elem, dot: wide(s.dot) }).collect();
        let mut w = Packing { slots, replicas, index: None };
        w.index_all(0);
        if let Some(x) = &mut w.index {
            x.extras = extras;
        }
        w
    }
}

impl<P> Index<P> {
    #[inline]
    fn hash_elem<Q: Hash + ?Sized>(&self, q: &Q) -> u64 {
        self.hasher.hash_one(q)
    }

    #[inline]
    fn hash_dot(&self, p: P) -> u64
    where
        P: Hash,
    {
        self.hasher.hash_one(p)
    }
}

impl<T, P: Pack> Packing<T, P> {
    /// The store of one element with its one live dot, packed `(0, n)` for the one replica of
    /// `replicas`, without an index: no allocation (the slot is inline), no hasher.
    #[inline]
    fn of_one(elem: T, p: P, replicas: Replicas) -> Self {
        Packing { slots: SlotVec::from_buf([Slot { elem, dot: p }]), replicas, index: None }
    }

    /// The extra dots, if any element has several.
    #[inline]
    fn extras(&self) -> Option<&Extras<P>> {
        self.index.as_ref()?.extras.as_deref()
    }

    /// The extra dots, mutably, if any element has several.
    #[inline]
    fn extras_mut(&mut self) -> Option<&mut Extras<P>> {
        self.index.as_mut()?.extras.as_deref_mut()
    }

    /// The replica table's sorted id lookup (empty while the table is scanned).
    #[inline]
    fn by_id(&self) -> &[u32] {
        match &self.index {
            Some(x) => &x.by_id,
            None => &[],
        }
    }

    /// The index of replica `id` in the table.
    #[inline]
    fn find_replica(&self, id: &ReplicaId) -> Option<usize> {
        self.replicas.find(self.by_id(), id)
    }

    /// Whether `id` has live dots here.
    fn is_live(&self, id: &ReplicaId) -> bool {
        self.find_replica(id).is_some_and(|i| self.replicas.entries[i].1 > 0)
    }

    /// The number of live dots: the elements plus the extra dots of elements added concurrently
    /// by several replicas. `O(1)`.
    fn live_dots(&self) -> usize {
        self.slots.len() + self.extras().map_or(0, |x| x.by_dot.len())
    }

    /// Iterates every live dot, packed, with its slot.
    fn packed_dots(&self) -> impl Iterator<Item = (usize, P)> + '_ {
        let extra = self.extras().into_iter().flat_map(|x| x.by_dot.iter().map(|(&p, &s)| (s as usize, p)));
        self.slots.iter().enumerate().map(|(i, s)| (i, s.dot)).chain(extra)
    }
}

impl<T: Hash + Eq, P: Pack> Packing<T, P> {
    /// The slots and the index (built first if the store has none: `O(1)` when it has one,
    /// `O(LINEAR)` otherwise, or `O(store)` for a store whose replica table outgrew
    /// [`SMALL_TABLE`] while it was small), with the replica table.
    #[inline]
    fn parts(&mut self) -> (&mut SlotVec<T, P>, &mut Index<P>, &mut Replicas) {
        if self.index.is_none() {
            self.index_all(0);
        }
        let Self { slots, replicas, index } = self;
        (slots, index.as_deref_mut().expect("built above"), replicas)
    }

    /// (Re)builds the element and dot tables with room for `room` elements (at least the
    /// slots), reading the slots in order; creates the index (with its hasher and, for a
    /// large replica table, the id lookup) if the store has none.
    #[cold]
    #[inline(never)]
    fn index_all(&mut self, room: usize) {
        let Self { slots, replicas, index } = self;
        let x = index.get_or_insert_with(|| {
            Box::new(Index {
                by_elem: HashTable::new(),
                by_dot: HashTable::new(),
                extras: None,
                by_id: if replicas.scanned() { Vec::new() } else { replicas.sorted_ids() },
                hasher: DefaultHashBuilder::default(),
            })
        });
        let hasher = &x.hasher;
        let room = room.max(slots.len());
        let mut e = HashTable::with_capacity(room);
        let mut d = HashTable::with_capacity(room);
        for (i, s) in slots.iter().enumerate() {
            let i = i as u32;
            e.insert_unique(hasher.hash_one(&s.elem), i, |&j| hasher.hash_one(&slots[j as usize].elem));
            d.insert_unique(hasher.hash_one(s.dot), i, |&j| hasher.hash_one(slots[j as usize].dot));
        }
        x.by_elem = e;
        x.by_dot = d;
    }

    fn slot_of<Q>(&self, q: &Q) -> Option<usize>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(x) = &self.index else {
            return self.slots.iter().position(|s| s.elem.borrow() == q);
        };
        if self.slots.is_empty() {
            return None;
        }
        let h = x.hash_elem(q);
        x.by_elem.find(h, |&i| self.slots[i as usize].elem.borrow() == q).map(|&i| i as usize)
    }

    /// The slot holding the live dot `p`.
    fn slot_of_dot(&self, p: P) -> Option<usize> {
        let Some(x) = &self.index else {
            return self.slots.iter().position(|s| s.dot == p);
        };
        if !self.slots.is_empty()
            && let Some(&i) = x.by_dot.find(x.hash_dot(p), |&i| self.slots[i as usize].dot == p)
        {
            return Some(i as usize);
        }
        x.extras.as_ref()?.by_dot.get(&p).map(|&i| i as usize)
    }

    /// The packed form of `dot` in this store, if its replica is in the table and it fits.
    fn packed(&self, dot: &Dot) -> Option<P> {
        let idx = self.find_replica(&dot.replica())?;
        (dot.counter() <= COUNTER_MASK).then(|| P::pack(idx, dot.counter()))
    }

    /// The index of `id` in the replica table, creating it if needed, in a table of at most
    /// `P::SLOTS` entries. When the table is full, an entry without live dots is reused:
    /// callers hold no index of a replica without live dots across this call. `None` if
    /// `P::SLOTS` replicas all have live dots (the store then widens its packing: see [`Pack`]).
    #[inline]
    fn replica_index(&mut self, id: ReplicaId) -> Option<usize> {
        let entries = &mut self.replicas.entries;
        if entries.len() <= SMALL_TABLE {
            if let Some(i) = entries.iter().position(|(r, _)| *r == id) {
                return Some(i);
            }
            if entries.len() < SMALL_TABLE {
                entries.push((id, 0));
                return Some(entries.len() - 1);
            }
        }
        self.replica_index_search(id)
    }

    /// [`replica_index`](Self::replica_index) past the small-table scan: the sorted lookup
    /// (built, with the index, when the table first outgrows [`SMALL_TABLE`]).
    #[inline(never)]
    fn replica_index_search(&mut self, id: ReplicaId) -> Option<usize> {
        let (_, x, replicas) = self.parts();
        if x.by_id.len() < replicas.entries.len() {
            x.by_id = replicas.sorted_ids();
        }
        let by_id = &mut x.by_id;
        match replicas.search(by_id, &id) {
            Ok(k) => Some(by_id[k] as usize),
            Err(k) => {
                if replicas.entries.len() < P::SLOTS {
                    let idx = replicas.entries.len();
                    replicas.entries.push((id, 0));
                    // Fits: `P::SLOTS <= u32::MAX`.
                    by_id.insert(k, idx as u32);
                    Some(idx)
                } else {
                    let free = replicas.entries.iter().position(|e| e.1 == 0)?;
                    let old = replicas.entries[free].0;
                    let pos = replicas.search(by_id, &old).expect("table is consistent");
                    by_id.remove(pos);
                    replicas.entries[free] = (id, 0);
                    let k = replicas.search(by_id, &id).expect_err("id is new");
                    by_id.insert(k, free as u32);
                    Some(free)
                }
            }
        }
    }

    /// Adds the new live dot `p` to the element `elem` (creating it if absent). `p` must not be
    /// live already, and its replica's live count is the caller's to raise.
    fn add_packed(&mut self, elem: ElemRef<'_, T>, p: P)
    where
        T: Clone,
    {
        if self.index.is_none()
            && self.slots.len() < LINEAR
            && !self.slots.iter().any(|s| s.elem == *elem.get())
        {
            self.slots.push(Slot { elem: elem.into_owned(), dot: p });
            return;
        }
        let (slots, x, _) = self.parts();
        let h = x.hash_elem(elem.get());
        let Index { by_elem, by_dot, extras, hasher, .. } = x;
        let i = u32::try_from(slots.len()).expect("an OR-Set holds at most 2^32 - 1 elements");
        // One probe: find the element, or the place for it.
        match by_elem.entry(
            h,
            |&j| slots[j as usize].elem == *elem.get(),
            |&j| hasher.hash_one(&slots[j as usize].elem),
        ) {
            hashbrown::hash_table::Entry::Occupied(e) => {
                let j = *e.get();
                let x = extras.get_or_insert_with(Box::default);
                x.by_dot.insert(p, j);
                x.by_slot.entry(j).or_default().push(p);
                return;
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        slots.push(Slot { elem: elem.into_owned(), dot: p });
        by_dot.insert_unique(hasher.hash_one(p), i, |&j| hasher.hash_one(slots[j as usize].dot));
    }

    /// Adds a new live dot `dot` to `elem`. `dot` must not be live, and the table must have
    /// room for its replica (see [`SetStore::make_room`]).
    ///
    /// # Panics
    ///
    /// If the dot's event number exceeds `MAX_COUNTER`.
    fn add_dot(&mut self, elem: T, dot: Dot)
    where
        T: Clone,
    {
        assert!(
            dot.counter() <= COUNTER_MASK,
            "an OR-Set stores event numbers up to 2^48 - 1 (replica {} reached {})",
            dot.replica(),
            dot.counter()
        );
        let idx = self.replica_index(dot.replica()).expect("room was made");
        self.replicas.entries[idx].1 += 1;
        self.add_packed(ElemRef::Owned(elem), P::pack(idx, dot.counter()));
    }

    /// Removes the live dots `doomed` (each live, none twice), dropping the elements that lose
    /// their last dot; logs each removed dot if `log` is enabled.
    ///
    /// `O(d log d)` for `d` doomed dots, whatever their spread over elements: the extra dots of
    /// one element are filtered in one pass over its list (removing them one at a time rescanned
    /// the list per dot, quadratic for an element carrying many dots), then primaries go, in
    /// descending slot order so that the swap-removes never move a slot still to be visited.
    fn remove_many(&mut self, mut doomed: Vec<(u32, P)>, log: &mut DotLog) {
        if doomed.is_empty() {
            return;
        }
        if log.is_enabled() {
            for &(_, p) in &doomed {
                log.removed(self.replicas.dot(p));
            }
        }
        for &(_, p) in &doomed {
            self.replicas.entries[p.unpack().0].1 -= 1;
        }
        doomed.sort_unstable();
        work::add(doomed.len());
        let mut primaries: Vec<u32> = Vec::new();
        let mut k = 0;
        while k < doomed.len() {
            let slot = doomed[k].0;
            let end = k + doomed[k..].partition_point(|&(s, _)| s == slot);
            let group = &doomed[k..end];
            let primary = self.slots[slot as usize].dot;
            let extra_doomed = group.len() - usize::from(group.iter().any(|&(_, p)| p == primary));
            if extra_doomed > 0 {
                let x = self.extras_mut().expect("a non-primary dot is an extra");
                let list = x.by_slot.get_mut(&slot).expect("extras listed by slot");
                work::add(list.len());
                // `group` is sorted by dot: one binary search per listed dot.
                list.retain(|q| group.binary_search(&(slot, *q)).is_err());
                for &(_, p) in group {
                    if p != primary {
                        x.by_dot.remove(&p);
                    }
                }
                if list.is_empty() {
                    x.by_slot.remove(&slot);
                }
            }
            if extra_doomed < group.len() {
                primaries.push(slot);
            }
            k = end;
        }
        self.drop_empty_extras();
        // Slots ascending from the sort: visit them descending.
        for &slot in primaries.iter().rev() {
            self.drop_primary(slot as usize);
        }
        self.shrink_if_sparse();
    }

    /// Drops the primary dot of `slot` (its live count already lowered): promotes an extra dot,
    /// or removes the element. Moves only the last slot (into `slot`).
    fn drop_primary(&mut self, slot: usize) {
        let p = self.slots[slot].dot;
        let promoted = self.extras_mut().and_then(|x| {
            let s = slot as u32;
            let list = x.by_slot.get_mut(&s)?;
            let q = list.pop().expect("extras lists are never empty");
            if list.is_empty() {
                x.by_slot.remove(&s);
            }
            x.by_dot.remove(&q);
            Some(q)
        });
        match promoted {
            Some(q) => {
                self.drop_empty_extras();
                let (slots, x, _) = self.parts();
                let (h_old, h_new) = (x.hash_dot(p), x.hash_dot(q));
                let Index { by_dot, hasher, .. } = x;
                if let Ok(e) = by_dot.find_entry(h_old, |&i| i as usize == slot) {
                    e.remove();
                }
                slots[slot].dot = q;
                by_dot.insert_unique(h_new, slot as u32, |&j| hasher.hash_one(slots[j as usize].dot));
            }
            None => {
                self.remove_slot(slot);
            }
        }
    }

    /// Memory follows the live size: when removals leave the slot vector with more than twice
    /// the room its elements need, or an index with more than twice the buckets a fresh index of
    /// them would have (counted from its allocation, and above [`SHRINK_FLOOR`]), that part
    /// shrinks to fit. The room then has to halve again before the next shrink: amortized
    /// `O(1)` per removal. A store left with fewer than half of [`LINEAR`] elements, none with extra
    /// dots, and a small replica table drops its index altogether.
    fn shrink_if_sparse(&mut self) {
        let len = self.slots.len();
        let Self { slots, replicas, index } = self;
        if slots.capacity() > SHRINK_FLOOR && slots.capacity() > 2 * len {
            slots.shrink_to_fit();
        }
        let Some(x) = index else { return };
        if 2 * len < LINEAR && x.extras.is_none() && replicas.scanned() {
            *index = None;
            return;
        }
        if index_is_sparse(&x.by_elem, len) || index_is_sparse(&x.by_dot, len) {
            let hasher = &x.hasher;
            x.by_elem.shrink_to(len, |&j| hasher.hash_one(&slots[j as usize].elem));
            x.by_dot.shrink_to(len, |&j| hasher.hash_one(slots[j as usize].dot));
        }
    }

    fn drop_empty_extras(&mut self) {
        if let Some(x) = &mut self.index
            && x.extras.as_ref().is_some_and(|e| e.by_dot.is_empty())
        {
            x.extras = None;
        }
    }

    /// Removes the slot `slot`, which has no extra dots, moving the last slot into its place.
    /// Does not touch live counts.
    fn remove_slot(&mut self, slot: usize) -> T {
        let Self { slots, index, .. } = self;
        let Some(x) = index.as_deref_mut() else {
            return slots.swap_remove(slot).elem;
        };
        let h_elem = x.hash_elem(&slots[slot].elem);
        let h_dot = x.hash_dot(slots[slot].dot);
        let last = slots.len() - 1;
        let moved = (slot != last).then(|| {
            let s = &slots[last];
            (x.hash_elem(&s.elem), x.hash_dot(s.dot))
        });
        let Index { by_elem, by_dot, extras, .. } = x;
        if let Ok(e) = by_elem.find_entry(h_elem, |&i| i as usize == slot) {
            e.remove();
        }
        if let Ok(e) = by_dot.find_entry(h_dot, |&i| i as usize == slot) {
            e.remove();
        }
        let removed = slots.swap_remove(slot);
        if let Some((he, hd)) = moved {
            let (from, to) = (last as u32, slot as u32);
            if let Some(i) = by_elem.find_mut(he, |&i| i == from) {
                *i = to;
            }
            if let Some(i) = by_dot.find_mut(hd, |&i| i == from) {
                *i = to;
            }
            if let Some(x) = extras.as_mut()
                && let Some(list) = x.by_slot.remove(&from)
            {
                for q in &list {
                    x.by_dot.insert(*q, to);
                }
                x.by_slot.insert(to, list);
            }
        }
        removed.elem
    }

    /// Removes the element in `slot` with all its dots, returning them (packed). Lowers the
    /// live counts.
    fn take_slot(&mut self, slot: usize) -> (T, SmallVec<[P; 2]>) {
        let mut dots: SmallVec<[P; 2]> = SmallVec::new();
        dots.push(self.slots[slot].dot);
        if let Some(x) = self.extras_mut()
            && let Some(list) = x.by_slot.remove(&(slot as u32))
        {
            for q in &list {
                x.by_dot.remove(q);
            }
            dots.extend(list);
        }
        self.drop_empty_extras();
        for &p in &dots {
            self.replicas.entries[p.unpack().0].1 -= 1;
        }
        (self.remove_slot(slot), dots)
    }

    /// Removes `value` with all its dots; returns the dots, or `None` if absent.
    pub(crate) fn take<Q>(&mut self, value: &Q) -> Option<SmallVec<[Dot; 2]>>
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.slot_of(value)?;
        let (_, dots) = self.take_slot(slot);
        self.shrink_if_sparse();
        Some(dots.into_iter().map(|p| self.replicas.dot(p)).collect())
    }

    /// Removes every element; returns every live dot, sorted.
    pub(crate) fn take_all(&mut self) -> Vec<Dot> {
        let mut dots: Vec<Dot> = self.packed_dots().map(|(_, p)| self.replicas.dot(p)).collect();
        dots.sort_unstable();
        self.clear_all();
        self.shrink_if_sparse();
        dots
    }

    /// Empties the store: its index goes; the slot vector keeps its room until
    /// [`shrink_if_sparse`](Self::shrink_if_sparse).
    fn clear_all(&mut self) {
        self.slots.clear();
        self.index = None;
        self.replicas.entries.clear();
    }

    /// Whether the packed dot `p` is live.
    #[inline]
    fn has_packed(&self, p: P) -> bool {
        self.slot_of_dot(p).is_some()
    }

    /// Checks every internal invariant; panics with a message on the first violation.
    /// Tests call it after every operation.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let n = self.slots.len();
        let r = &self.replicas;
        match &self.index {
            None => {
                assert!(n <= LINEAR, "a store past LINEAR elements has an index");
                assert!(r.scanned(), "a replica table past SMALL_TABLE has an index");
            }
            Some(x) => {
                assert_eq!(x.by_elem.len(), n, "element index size");
                assert_eq!(x.by_dot.len(), n, "dot index size");
                for (i, s) in self.slots.iter().enumerate() {
                    let h = x.hash_dot(s.dot);
                    assert!(x.by_dot.find(h, |&j| j as usize == i) == Some(&(i as u32)), "dot index");
                    let h = x.hash_elem(&s.elem);
                    assert!(x.by_elem.find(h, |&j| j as usize == i) == Some(&(i as u32)), "element index");
                }
                // Every slot number appears once in each index.
                let mut seen = alloc::vec![false; n];
                for &i in &x.by_elem {
                    assert!(!core::mem::replace(&mut seen[i as usize], true), "slot twice in element index");
                }
                let mut seen = alloc::vec![false; n];
                for &i in &x.by_dot {
                    assert!(!core::mem::replace(&mut seen[i as usize], true), "slot twice in dot index");
                }
                // The id lookup: none for a scanned table, else a sorted permutation of it.
                let want = if r.scanned() { 0 } else { r.entries.len() };
                assert_eq!(x.by_id.len(), want, "replica lookup size");
                assert!(x.by_id.windows(2).all(|w| r.entries[w[0] as usize].0 < r.entries[w[1] as usize].0));
            }
        }
        for (i, s) in self.slots.iter().enumerate() {
            assert_eq!(self.slot_of(&s.elem), Some(i), "element lookup finds its slot");
            assert_eq!(self.slot_of_dot(s.dot), Some(i), "dot lookup finds its slot");
            let (ri, c) = s.dot.unpack();
            assert!(ri < r.entries.len(), "replica index in table");
            assert!(c >= 1, "counter at least 1");
        }
        if let Some(x) = self.extras() {
            assert!(!x.by_dot.is_empty(), "empty extras are dropped");
            let listed: usize = x.by_slot.values().map(SmallVec::len).sum();
            assert_eq!(listed, x.by_dot.len(), "extras listed once by slot");
            for (&s, list) in &x.by_slot {
                assert!((s as usize) < n, "extra of a live slot");
                assert!(!list.is_empty(), "no empty extras list");
                for q in list {
                    assert_eq!(x.by_dot.get(q), Some(&s), "extra dot index");
                    let (ri, c) = q.unpack();
                    assert!(ri < r.entries.len() && c >= 1);
                }
            }
        }
        // No dot twice.
        let mut all: Vec<P> = self.packed_dots().map(|(_, p)| p).collect();
        all.sort_unstable();
        let before = all.len();
        all.dedup();
        assert_eq!(all.len(), before, "a dot is live twice");
        // Live counts per replica.
        let mut live = alloc::vec![0usize; r.entries.len()];
        for p in &all {
            live[p.unpack().0] += 1;
        }
        for (i, (_, l)) in r.entries.iter().enumerate() {
            assert_eq!(*l, live[i], "live count of replica index {i}");
        }
        for (i, (id, _)) in r.entries.iter().enumerate() {
            assert_eq!(self.find_replica(id), Some(i), "replica lookup");
        }
        // The public checker agrees.
        assert_eq!(self.check(), Ok(()));
    }

    /// Test hook: the number of live dots of `value`.
    #[cfg(test)]
    pub(crate) fn dot_count_of(&self, value: &T) -> usize {
        self.slot_of(value).map_or(0, |s| {
            1 + self.extras().and_then(|x| x.by_slot.get(&(s as u32))).map_or(0, SmallVec::len)
        })
    }
}

/// An element to add: borrowed from another store (cloned only if it is new here) or owned.
enum ElemRef<'a, T> {
    Borrowed(&'a T),
    Owned(T),
}

impl<T: Clone> ElemRef<'_, T> {
    #[inline]
    fn get(&self) -> &T {
        match self {
            ElemRef::Borrowed(t) => t,
            ElemRef::Owned(t) => t,
        }
    }

    #[inline]
    fn into_owned(self) -> T {
        match self {
            ElemRef::Borrowed(t) => t.clone(),
            ElemRef::Owned(t) => t,
        }
    }
}

impl<T: Hash + Eq, P: Pack> Packing<T, P> {
    /// Semantic equality with a store of any packing.
    fn same_as<Q: Pack>(&self, other: &Packing<T, Q>) -> bool {
        if self.slots.len() != other.slots.len() || self.live_dots() != other.live_dots() {
            return false;
        }
        let tr: Vec<Option<usize>> = self
            .replicas
            .entries
            .iter()
            .map(|(id, live)| if *live > 0 { other.find_replica(id) } else { None })
            .collect();
        // Every (element, dot) pair of self is in other, and both have as many pairs.
        self.packed_dots().all(|(slot, p)| {
            let (ri, n) = p.unpack();
            let Some(oi) = tr[ri] else { return false };
            other.slot_of_dot(Q::pack(oi, n)).is_some_and(|j| other.slots[j].elem == self.slots[slot].elem)
        })
    }
}

/// Semantic equality: the same elements with the same live dots, whatever the history (slot
/// order, replica table order, packing, hash seeds) that built either side. `O(n)`.
impl<T: Hash + Eq> PartialEq for SetStore<T> {
    fn eq(&self, other: &Self) -> bool {
        pair!(&self.repr, &other.repr, (a, b) => a.same_as(b))
    }
}

impl<T: Hash + Eq> Eq for SetStore<T> {}

/// A replica both sides of a join know: its index here, its id, the other context's ranges.
type Known<'c> = (usize, ReplicaId, &'c [(u64, u64)]);

/// For a removal scan, per replica index of this store: the other context's ranges of that
/// replica, and its index in the other store's table.
type Scan<'c> = (&'c [(u64, u64)], Option<usize>);

/// Per replica of the other store, what a join needs: where its dots fall in this store's
/// context, and (once known) its index in this store's table.
struct Translation<'c> {
    seen: &'c [(u64, u64)],
    mine: usize,
    adds: usize,
}

impl<T: Hash + Eq + Clone, P: Pack> Packing<T, P> {
    fn dot_count(&self) -> usize {
        self.live_dots()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        for (_, p) in self.packed_dots() {
            f(self.replicas.dot(p));
        }
    }

    fn contains_dot(&self, dot: &Dot) -> bool {
        self.packed(dot).is_some_and(|p| self.has_packed(p))
    }

    /// The element holding the live `dot`. `O(1)` expected (the dot index).
    fn elem_of_dot(&self, dot: &Dot) -> Option<&T> {
        let p = self.packed(dot)?;
        self.slot_of_dot(p).map(|i| &self.slots[i].elem)
    }

    /// Removes the dots of `self` that `other_ctx` saw and `other` no longer holds, then adds the
    /// dots of `other` that `ctx` never saw.
    ///
    /// Removal looks, per replica with live dots here, either up each dot `other_ctx` holds of
    /// that replica in the dot index (when there are fewer of those than live dots here: the
    /// case of every delta) or scans this store once; so a delta costs `O(its dots)`, a full
    /// state at most `O(both stores)`.
    fn join_store<Q: Pack>(
        &mut self,
        ctx: &CausalContext,
        other: &Packing<T, Q>,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let mut changed = false;

        // 1. Removals: dots live here, seen by the other side, not live there.
        if !self.slots.is_empty() && !other_ctx.is_empty() {
            let mut doomed: Vec<(u32, P)> = Vec::new();
            // Per replica index of self: (ranges seen by other, other's index), for a scan.
            let mut scan: SmallVec<[Option<Scan<'_>>; 4]> = SmallVec::new();
            // The replicas both sides know: walk the shorter of the two lists (a delta names
            // few replicas; a store may know thousands).
            let mut both: SmallVec<[Known<'_>; 4]> = SmallVec::new();
            if other_ctx.replica_count() < self.replicas.entries.len() {
                for (id, seen) in other_ctx.ranges() {
                    if let Some(i) = self.find_replica(&id) {
                        both.push((i, id, seen));
                    }
                }
            } else {
                for (i, (id, _)) in self.replicas.entries.iter().enumerate() {
                    let seen = other_ctx.ranges_of(id);
                    if !seen.is_empty() {
                        both.push((i, *id, seen));
                    }
                }
            }
            for (i, id, seen) in both {
                let live = self.replicas.entries[i].1;
                if live == 0 {
                    continue;
                }
                let oi = other.find_replica(&id);
                let idx = i;
                if ranges_len(seen) <= live as u64 {
                    for &(lo, hi) in seen {
                        if lo > COUNTER_MASK {
                            break;
                        }
                        for n in lo..=hi.min(COUNTER_MASK) {
                            let p = P::pack(idx, n);
                            if let Some(slot) = self.slot_of_dot(p)
                                && !oi.is_some_and(|oi| other.has_packed(Q::pack(oi, n)))
                            {
                                doomed.push((slot as u32, p));
                            }
                        }
                    }
                } else {
                    if scan.is_empty() {
                        scan.resize(self.replicas.entries.len(), None);
                    }
                    scan[i] = Some((seen, oi));
                }
            }
            if !scan.is_empty() {
                for (slot, p) in self.packed_dots() {
                    let (ri, n) = p.unpack();
                    if let Some((seen, oi)) = scan[ri]
                        && ranges_contain(seen, n)
                        && !oi.is_some_and(|oi| other.has_packed(Q::pack(oi, n)))
                    {
                        doomed.push((slot as u32, p));
                    }
                }
            }
            changed = !doomed.is_empty();
            self.remove_many(doomed, log);
        }

        // 2. Additions: dots live there that this side has never seen.
        if !other.slots.is_empty() {
            let mut tr: SmallVec<[Option<Translation<'_>>; 4]> = other
                .replicas
                .entries
                .iter()
                .map(|(id, live)| {
                    (*live > 0).then(|| Translation { seen: ctx.ranges_of(id), mine: 0, adds: 0 })
                })
                .collect();
            // Count first (no buffer: a full state can bring many dots), then add.
            let mut total = 0usize;
            for (_, p) in other.packed_dots() {
                let (oi, n) = p.unpack();
                let t = tr[oi].as_mut().expect("live dots have live replicas");
                if !ranges_contain(t.seen, n) {
                    t.adds += 1;
                    total += 1;
                }
            }
            if total > 0 {
                // Index every replica first, raising its live count by what is coming, so that
                // no index handed out here is reused by a later one (see `index_for`).
                for (oi, t) in tr.iter_mut().enumerate() {
                    if let Some(t) = t
                        && t.adds > 0
                    {
                        t.mine = self
                            .replica_index(other.replicas.id(oi))
                            .expect("room was made (`SetStore::make_room`)");
                        self.replicas.entries[t.mine].1 += t.adds;
                    }
                }
                if total >= self.slots.len() / 2 {
                    // A bulk join (a full state): no doubling beyond what it brings. Repeated
                    // small joins still grow the vector geometrically.
                    self.slots.reserve_exact(total);
                } else {
                    self.slots.reserve(total);
                }
                // Rebuild (or build) the tables at the final size reading the slots in order,
                // rather than let them rehash in bucket order (a random read of a slot per
                // entry). A store that stays within `LINEAR` elements builds none.
                let want = self.slots.len() + total;
                let room = match &self.index {
                    None => want > LINEAR,
                    Some(x) => x.by_elem.capacity() - x.by_elem.len() < total,
                };
                if room {
                    self.index_all(want);
                }
                for (slot, p) in other.packed_dots() {
                    let (oi, n) = p.unpack();
                    let Some(t) = tr[oi].as_ref() else { continue };
                    if ranges_contain(t.seen, n) {
                        continue;
                    }
                    if log.is_enabled() {
                        log.added(other.replicas.dot(p));
                    }
                    self.add_packed(ElemRef::Borrowed(&other.slots[slot].elem), P::pack(t.mine, n));
                }
                changed = true;
            }
        }
        changed
    }

    /// The join of an insert delta: `other` holds ONE live dot and `other_ctx` is exactly that
    /// dot. Nothing can be removed (the only dot the other side saw is live there), so this is
    /// one context lookup, one replica-table search and one insert: no per-replica tables, no
    /// second search. `None` when `other` has another shape, or when the replica table is full
    /// (the general path makes room).
    fn join_one<Q: Pack>(
        &mut self,
        ctx: &CausalContext,
        other: &Packing<T, Q>,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> Option<bool> {
        let Some(p) = self.one_dot(ctx, other, other_ctx)? else { return Some(false) };
        let slot = &other.slots[0];
        if log.is_enabled() {
            log.added(other.replicas.dot(slot.dot));
        }
        self.add_packed(ElemRef::Borrowed(&slot.elem), p);
        Some(true)
    }

    /// [`join_one`](Self::join_one) with `other` by value: the element is moved out of `other`
    /// (left without its slot, to be dropped), not cloned.
    fn join_one_owned<Q: Pack>(
        &mut self,
        ctx: &CausalContext,
        other: &mut Packing<T, Q>,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> Option<bool> {
        let Some(p) = self.one_dot(ctx, other, other_ctx)? else { return Some(false) };
        if log.is_enabled() {
            log.added(other.replicas.dot(other.slots[0].dot));
        }
        let slot = other.slots.pop().expect("`one_dot` saw one slot");
        self.add_packed(ElemRef::Owned(slot.elem), p);
        Some(true)
    }

    /// The shape check of [`join_one`](Self::join_one): `None` when `other` is not an insert
    /// delta (or the replica table is full); `Some(None)` when its dot was seen here already;
    /// otherwise the dot packed for this store, its replica indexed and its live count raised.
    #[inline]
    fn one_dot<Q: Pack>(
        &mut self,
        ctx: &CausalContext,
        other: &Packing<T, Q>,
        other_ctx: &CausalContext,
    ) -> Option<Option<P>> {
        let [slot] = &other.slots[..] else { return None };
        if other.live_dots() != 1 || other_ctx.replica_count() != 1 {
            return None;
        }
        let (oi, n) = slot.dot.unpack();
        let id = other.replicas.id(oi);
        // The other context's one replica, read directly (no search).
        if other_ctx.replica_at(0) != Some((id, &[(n, n)][..])) {
            return None;
        }
        if ranges_contain(ctx.ranges_of(&id), n) {
            return Some(None);
        }
        let idx = self.replica_index(id)?;
        self.replicas.entries[idx].1 += 1;
        Some(Some(P::pack(idx, n)))
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        let doomed: Vec<(u32, P)> = self
            .packed_dots()
            .filter(|&(_, p)| !keep(&self.replicas.dot(p)))
            .map(|(slot, p)| (slot as u32, p))
            .collect();
        self.remove_many(doomed, &mut DotLog::default());
    }
}

impl<T: Hash + Eq + Clone> DotStore for SetStore<T> {
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn dot_count(&self) -> usize {
        each!(&self.repr, s => s.dot_count())
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        each!(&self.repr, s => s.for_each_dot(f));
    }

    fn contains_dot(&self, dot: &Dot) -> bool {
        each!(&self.repr, s => s.contains_dot(dot))
    }

    /// Removes the dots of `self` that `other_ctx` saw and `other` no longer holds, then adds the
    /// dots of `other` that `ctx` never saw.
    ///
    /// Removal looks, per replica with live dots here, either up each dot `other_ctx` holds of
    /// that replica in the dot index (when there are fewer of those than live dots here: the
    /// case of every delta) or scans this store once; so a delta costs `O(its dots)`, a full
    /// state at most `O(both stores)`. A join that brings live elements of more replicas than
    /// the narrow packing holds widens this store first (once, `O(this store)`).
    fn join_store(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        if let Some(changed) =
            pair!(mut &mut self.repr, &other.repr, (a, b) => a.join_one(ctx, b, other_ctx, log))
        {
            return changed;
        }
        let theirs = each!(&other.repr, o => &o.replicas);
        // Conservative: the replicas this join may add, ignoring what its removals free.
        self.make_room(
            |mine| theirs.entries.iter().filter(|(id, live)| *live > 0 && !mine.is_live(id)).count(),
            theirs.entries.len(),
        );
        pair!(mut &mut self.repr, &other.repr, (a, b) => a.join_store(ctx, b, other_ctx, log))
    }

    /// An insert delta's element is moved into this store, not cloned; any other shape joins
    /// as [`join_store`](Self::join_store) does.
    fn join_store_moving(
        &mut self,
        ctx: &CausalContext,
        other: &mut Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        let one = match (&mut self.repr, &mut other.repr) {
            (Repr::Narrow(a), Repr::Narrow(b)) => a.join_one_owned(ctx, b, other_ctx, log),
            (Repr::Narrow(a), Repr::Wide(b)) => a.join_one_owned(ctx, b, other_ctx, log),
            (Repr::Wide(a), Repr::Narrow(b)) => a.join_one_owned(ctx, b, other_ctx, log),
            (Repr::Wide(a), Repr::Wide(b)) => a.join_one_owned(ctx, b, other_ctx, log),
        };
        match one {
            Some(changed) => changed,
            None => self.join_store(ctx, other, other_ctx, log),
        }
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        each!(&mut self.repr, s => s.retain_dots(keep));
    }

    /// Each dot looked up in the dot index: `O(dots)` time, allocation for the selected
    /// elements only.
    fn select_dots(&self, dots: &mut dyn Iterator<Item = Dot>) -> Self {
        let mut out = SetStore::default();
        for d in dots {
            if let Some(e) = each!(&self.repr, s => s.elem_of_dot(&d)) {
                if !out.contains_dot(&d) {
                    out.add_dot(e.clone(), d);
                }
            }
        }
        out
    }
}

/// Shaped like the domain: `{1, 2}` (elements in no particular order).
impl<T: fmt::Debug> fmt::Debug for SetStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// An iterator over the elements of a set, in no particular order: see [`SetStore::iter`] and
/// [`OrSet::iter`](crate::OrSet::iter).
///
/// ```
/// # use convergent::{OrSet, ReplicaId, set::Iter};
/// let mut s = OrSet::new();
/// let _ = s.insert(ReplicaId::from_u128(1), 7);
/// let it: Iter<'_, i32> = s.iter();
/// assert_eq!(it.len(), 1);
/// ```
pub struct Iter<'a, T> {
    inner: Slots<'a, T>,
}

/// The slots of either packing.
enum Slots<'a, T> {
    Narrow(core::slice::Iter<'a, Slot<T, u64>>),
    Wide(core::slice::Iter<'a, Slot<T, u128>>),
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        match &mut self.inner {
            Slots::Narrow(it) => it.next().map(|s| &s.elem),
            Slots::Wide(it) => it.next().map(|s| &s.elem),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Slots::Narrow(it) => it.size_hint(),
            Slots::Wide(it) => it.size_hint(),
        }
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Slots::Narrow(it) => it.next_back().map(|s| &s.elem),
            Slots::Wide(it) => it.next_back().map(|s| &s.elem),
        }
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}
impl<T> FusedIterator for Iter<'_, T> {}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            Slots::Narrow(it) => Slots::Narrow(it.clone()),
            Slots::Wide(it) => Slots::Wide(it.clone()),
        };
        Iter { inner }
    }
}

impl<T: fmt::Debug> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl<'a, T> IntoIterator for &'a SetStore<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Crate-internal access for the wire form.
#[cfg(feature = "serde")]
impl<T: Hash + Eq + Clone, P: Pack> Packing<T, P> {
    /// Every live dot as `(replica id, event number, element)`, grouped by replica (in table
    /// order), unsorted.
    pub(crate) fn dots_by_replica(&self) -> Vec<(ReplicaId, Vec<(u64, &T)>)> {
        let mut groups: Vec<(ReplicaId, Vec<(u64, &T)>)> =
            self.replicas.entries.iter().map(|(id, live)| (*id, Vec::with_capacity(*live))).collect();
        for (slot, p) in self.packed_dots() {
            let (ri, n) = p.unpack();
            groups[ri].1.push((n, &self.slots[slot].elem));
        }
        groups.retain(|(_, v)| !v.is_empty());
        groups
    }

    /// The only live dot and its element, if the store holds exactly one (a one-insert delta).
    /// Inline: the encoder of a delta asks it first (out of line it cost about 30 instructions
    /// per encode, a tenth of the encode).
    #[inline]
    pub(crate) fn single(&self) -> Option<(ReplicaId, u64, &T)> {
        match (self.slots.as_slice(), self.extras()) {
            ([s], None) => {
                let (ri, n) = s.dot.unpack();
                Some((self.replicas.id(ri), n, &s.elem))
            }
            _ => None,
        }
    }

    /// Reserves room for `n` more elements.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        let want = self.slots.len().saturating_add(n);
        match &mut self.index {
            None if want <= LINEAR => {}
            None => self.index_all(want),
            Some(x) => {
                let (slots, hasher) = (&self.slots, &x.hasher);
                x.by_elem.reserve(n, |&j| hasher.hash_one(&slots[j as usize].elem));
                x.by_dot.reserve(n, |&j| hasher.hash_one(slots[j as usize].dot));
            }
        }
    }
}

/// Crate-internal access for the wire form.
#[cfg(feature = "serde")]
impl<T: Hash + Eq + Clone> SetStore<T> {
    /// Every live dot as `(replica id, event number, element)`, grouped by replica (in table
    /// order), unsorted.
    pub(crate) fn dots_by_replica(&self) -> Vec<(ReplicaId, Vec<(u64, &T)>)> {
        each!(&self.repr, s => s.dots_by_replica())
    }

    /// The only live dot and its element, if the store holds exactly one (a one-insert delta).
    /// Inline: the encoder of a delta asks it first (out of line it cost about 30 instructions
    /// per encode, a tenth of the encode).
    #[inline]
    pub(crate) fn single(&self) -> Option<(ReplicaId, u64, &T)> {
        each!(&self.repr, s => s.single())
    }

    /// Reserves room for `n` more elements.
    pub(crate) fn reserve(&mut self, n: usize) {
        each!(&mut self.repr, s => s.reserve(n));
    }
}

impl<T: Hash + Eq + Clone> SetStore<T> {
    /// The store of one element with one live dot (what decoding a one-insert delta and a local insert build):
    /// no allocation (the slot and the one-entry replica table are inline); the indexes are built
    /// by the first mutation that needs them. The caller checks `dot.counter() <= MAX_COUNTER`.
    #[inline]
    pub(crate) fn of_one(elem: T, dot: Dot) -> Self {
        debug_assert!(dot.counter() <= COUNTER_MASK);
        let p = <u64 as Pack>::pack(0, dot.counter());
        SetStore { repr: Repr::Narrow(Packing::of_one(elem, p, Replicas::one(dot.replica(), 1))) }
    }
}

impl<T> crate::causal::sealed::Sealed for SetStore<T> {}

/// An element under each dot: the one the receiver holds for the same dot, or none.
/// `O(self)` expected: one dot-index lookup in `local` per live dot of `self`.
impl<T: Hash + Eq + Clone> crate::receive::ReceiveStore for SetStore<T> {
    fn check_clock(&self, _: &crate::ReceivePolicy) -> Result<(), crate::Error> {
        Ok(())
    }

    /// The elements of `local` plus those of `self` that `local` lacks, against
    /// `max_elements` (field `set.elements`, as in decoding).
    fn check_joined_elements(&self, local: &Self, limits: &crate::Limits) -> Result<(), crate::Error> {
        let max = limits.max_elements;
        if local.len().saturating_add(self.len()) <= max {
            return Ok(());
        }
        let found = local.len() + self.iter().filter(|e| !local.contains(*e)).count();
        if found > max {
            return Err(crate::Error::TooLarge {
                field: "set.elements",
                limit: max as u64,
                found: found as u64,
            });
        }
        Ok(())
    }

    fn check_payloads(&self, local: &Self) -> Result<(), crate::Error> {
        if pair!(&self.repr, &local.repr, (a, b) => a.conflicts_with(b)) {
            return Err(crate::Error::ConflictingPayload { field: "set.element" });
        }
        Ok(())
    }
}

impl<T: Hash + Eq, P: Pack> Packing<T, P> {
    /// Whether a live dot of `self` is live in `local` with another element.
    fn conflicts_with<Q: Pack>(&self, local: &Packing<T, Q>) -> bool {
        if local.slots.is_empty() {
            return false;
        }
        self.packed_dots().any(|(slot, p)| {
            let dot = self.replicas.dot(p);
            let theirs = local.packed(&dot).and_then(|lp| local.slot_of_dot(lp));
            theirs.is_some_and(|i| local.slots[i].elem != self.slots[slot].elem)
        })
    }
}
