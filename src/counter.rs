//! Grow-only and positive-negative counters (Almeida, Shoker and Baquero, *Delta State Replicated
//! Data Types*, JPDC 2018, section 4.1 and figure 3; join decomposition from Enes et al., ICDE
//! 2019, section III).
//!
//! A [`GCounter`] maps each replica to the number of increments it made; join is the pointwise
//! maximum and the value is the sum. An increment delta carries the replica's NEW ABSOLUTE count
//! (`{i: 7}`, never "+1"), so deltas survive loss, duplication and reordering. A [`PnCounter`] is
//! two G-Counters, one for increments and one for decrements.
//!
//! Overflow never wraps and never panics: see [`GCounter`'s section on it](GCounter#overflow).

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use crate::causal::{Decompose, ReplicaId};
use crate::lattice::Lattice;

/// Sorted by replica, no zero count: equal counters are structurally equal. One entry (a delta)
/// lives inline without allocating.
type Entries = SmallVec<[(ReplicaId, u64); 1]>;

/// Below this many entries in `other`, a join raises entries one by one (binary search); above it,
/// and unless `other` is much smaller than `self`, it merges the two sorted lists linearly.
const SMALL_JOIN: usize = 4;

/// A grow-only counter: each replica counts its own increments, the value is the sum.
///
/// State `O(r)` for `r` replicas that ever incremented; an increment delta is one entry
/// `{replica: new absolute count}`.
///
/// # Overflow
///
/// Nothing wraps and nothing panics. Each entry saturates at [`MAX_COUNT`](crate::MAX_COUNT)
/// (`2^53`; an increment past it leaves the entry there), [`value`](Self::value) saturates at
/// `u64::MAX` (reached only by more than 2 047 saturated replicas), and
/// [`value_u128`](Self::value_u128) is the exact sum. Saturating per entry keeps join a lattice
/// join (it is still the pointwise maximum). Entries saturate at `2^53` rather than `u64::MAX`
/// because receivers refuse entries above [`Limits::max_counter`](crate::Limits::max_counter)
/// (`2^53` by default): an entry at `u64::MAX` from a hostile peer would freeze a replica's count
/// forever. So every state a replica can produce is one its peers accept.
///
/// # Example
///
/// ```
/// use convergent::{GCounter, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = GCounter::new();
/// let mut y = GCounter::new();
/// let dx = x.increment(a, 2);
/// let dy = y.increment(b, 3);
///
/// // Deltas carry absolute counts: delivering one twice changes nothing.
/// x.join(dy.clone());
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), 5);
/// assert_eq!(format!("{x:?}"), "GCounter(5) {r1: 2, r2: 3}");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct GCounter {
    entries: Entries,
}

impl GCounter {
    /// The counter at zero (the bottom element). `O(1)`, no allocation.
    ///
    /// ```
    /// # use convergent::GCounter;
    /// assert_eq!(GCounter::new().value(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        GCounter { entries: Entries::new() }
    }

    /// Adds `n` to `replica`'s count and returns the delta: `{replica: new absolute count}`.
    ///
    /// The count saturates at [`MAX_COUNT`](crate::MAX_COUNT). When nothing changed (`n == 0`, or the entry was already
    /// saturated) the delta is the bottom element: there is nothing to send. `O(log r)` plus a
    /// shift of `O(r)` entries when `replica` is new.
    ///
    /// ```
    /// # use convergent::{GCounter, Lattice, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = GCounter::new();
    /// let _ = c.increment(r, 4);
    /// let before = c.clone();
    /// let d = c.increment(r, 3);
    /// assert_eq!(d.get(r), 7); // absolute, not "+3"
    /// assert_eq!(before.joined(d), c);
    /// assert!(c.increment(r, 0).is_bottom());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> Self {
        let new = self.get(replica).saturating_add(n).min(crate::MAX_COUNT);
        if self.raise(replica, new) {
            let mut entries = Entries::new();
            entries.push((replica, new));
            GCounter { entries }
        } else {
            GCounter::new()
        }
    }

    /// The count of `replica` (0 if it never incremented). `O(log r)`.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = GCounter::new();
    /// let _ = c.increment(r, 2);
    /// assert_eq!((c.get(r), c.get(ReplicaId::from_u128(2))), (2, 0));
    /// ```
    #[must_use]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        match self.search(replica) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    /// The value: the sum of all counts, saturating at `u64::MAX`. `O(r)`.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let mut c = GCounter::new();
    /// for r in 0..2048 {
    ///     let _ = c.increment(ReplicaId::from_u128(r), u64::MAX); // each saturates at 2^53
    /// }
    /// assert_eq!(c.value(), u64::MAX); // 2048 * 2^53 = 2^64: saturated
    /// assert_eq!(c.value_u128(), 1 << 64);
    /// ```
    #[must_use]
    pub fn value(&self) -> u64 {
        u64::try_from(self.value_u128()).unwrap_or(u64::MAX)
    }

    /// The exact value: the sum of all counts as a `u128` (which cannot overflow: it would take
    /// more than `2^64` replicas). `O(r)`.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let mut c = GCounter::new();
    /// let _ = c.increment(ReplicaId::from_u128(1), 1 << 53);
    /// let _ = c.increment(ReplicaId::from_u128(2), 1);
    /// assert_eq!(c.value_u128(), (1 << 53) + 1);
    /// ```
    #[must_use]
    pub fn value_u128(&self) -> u128 {
        self.entries.iter().map(|&(_, n)| u128::from(n)).sum()
    }

    /// Iterates `(replica, count)` in replica order, skipping replicas at zero. `O(1)` per item.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut c = GCounter::new();
    /// let _ = c.increment(b, 3);
    /// let _ = c.increment(a, 1);
    /// assert_eq!(c.iter().collect::<Vec<_>>(), vec![(a, 1), (b, 3)]);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ReplicaId, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// The number of replicas with a non-zero count. `O(1)`.
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let mut c = GCounter::new();
    /// let _ = c.increment(ReplicaId::from_u128(1), 1);
    /// let _ = c.increment(ReplicaId::from_u128(1), 1);
    /// assert_eq!(c.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every count is zero (the bottom element). `O(1)`.
    ///
    /// ```
    /// # use convergent::GCounter;
    /// assert!(GCounter::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn search(&self, replica: ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(r, _)| r.cmp(&replica))
    }

    /// Raises `replica`'s count to at least `n`; returns whether it changed. Keeps the entries
    /// canonical (a zero `n` is never stored).
    fn raise(&mut self, replica: ReplicaId, n: u64) -> bool {
        if n == 0 {
            return false;
        }
        match self.search(replica) {
            Ok(i) if self.entries[i].1 >= n => false,
            Ok(i) => {
                self.entries[i].1 = n;
                true
            }
            Err(i) => {
                self.entries.insert(i, (replica, n));
                true
            }
        }
    }

    /// Linear merge of two sorted entry lists, `O(r + r')`.
    fn merge_from(&mut self, other: &[(ReplicaId, u64)]) -> bool {
        let mine = &self.entries;
        let mut out = Entries::with_capacity(mine.len() + other.len());
        let (mut i, mut j, mut changed) = (0, 0, false);
        while i < mine.len() && j < other.len() {
            let (a, b) = (mine[i], other[j]);
            match a.0.cmp(&b.0) {
                core::cmp::Ordering::Less => {
                    out.push(a);
                    i += 1;
                }
                core::cmp::Ordering::Greater => {
                    out.push(b);
                    changed = true;
                    j += 1;
                }
                core::cmp::Ordering::Equal => {
                    changed |= b.1 > a.1;
                    out.push((a.0, a.1.max(b.1)));
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&mine[i..]);
        changed |= j < other.len();
        out.extend_from_slice(&other[j..]);
        if changed {
            self.entries = out;
        }
        changed
    }

    /// For each entry of `self` in order, the count `other` holds for the same replica.
    /// `O(|self| log |other|)`: the search window only moves forward.
    fn paired<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = ((ReplicaId, u64), u64)> + 'a {
        let mut from = 0;
        self.entries.iter().map(move |&(r, n)| {
            let rest = &other.entries[from..];
            match rest.binary_search_by(|(x, _)| x.cmp(&r)) {
                Ok(k) => {
                    from += k + 1;
                    ((r, n), rest[k].1)
                }
                Err(k) => {
                    from += k;
                    ((r, n), 0)
                }
            }
        })
    }

    /// Builds a counter from entries that are already canonical. Used by decoders.
    #[cfg(feature = "serde")]
    pub(crate) fn from_canonical(entries: Vec<(ReplicaId, u64)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0) && entries.iter().all(|e| e.1 > 0));
        GCounter { entries: Entries::from_vec(entries) }
    }
}

impl Lattice for GCounter {
    fn bottom() -> Self {
        GCounter::new()
    }

    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pointwise maximum. `O(r' log r)` plus shifts for a small `other` (a delta),
    /// `O(r + r')` otherwise.
    fn join_ref(&mut self, other: &Self) -> bool {
        if other.entries.is_empty() {
            return false;
        }
        if self.entries.is_empty() {
            self.entries.clone_from(&other.entries);
            return true;
        }
        if other.entries.len() <= SMALL_JOIN || other.entries.len() * 8 <= self.entries.len() {
            let mut changed = false;
            for &(r, n) in &other.entries {
                changed |= self.raise(r, n);
            }
            changed
        } else {
            self.merge_from(&other.entries)
        }
    }

    fn join(&mut self, other: Self) -> bool {
        if self.entries.is_empty() {
            let changed = !other.entries.is_empty();
            self.entries = other.entries;
            return changed;
        }
        self.join_ref(&other)
    }

    /// `O(r log r')`; `false` at once when `self` has more replicas than `other`.
    fn leq(&self, other: &Self) -> bool {
        // Canonical form (no zero entries): a longer counter has a replica the other lacks.
        self.entries.len() <= other.entries.len() && self.paired(other).all(|((_, n), m)| n <= m)
    }
}

/// The irreducibles of a G-Counter are its single entries `{i: n}`.
impl Decompose for GCounter {
    /// One single-entry counter per replica. `O(r)`.
    fn decompose(&self) -> Vec<Self> {
        self.entries.iter().map(|&e| GCounter { entries: core::iter::once(e).collect() }).collect()
    }

    fn irreducible_count(&self) -> usize {
        self.entries.len()
    }

    /// The entries of `self` above `other`'s. `O(r log r')`.
    fn delta(&self, other: &Self) -> Self {
        GCounter { entries: self.paired(other).filter(|&((_, n), m)| n > m).map(|(e, _)| e).collect() }
    }
}

impl FromIterator<(ReplicaId, u64)> for GCounter {
    /// The join of the given entries: the largest count per replica (zeros are dropped).
    ///
    /// ```
    /// # use convergent::{GCounter, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let c: GCounter = [(r, 2), (r, 5), (ReplicaId::from_u128(2), 0)].into_iter().collect();
    /// assert_eq!(c.iter().collect::<Vec<_>>(), vec![(r, 5)]);
    /// ```
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut entries: Vec<(ReplicaId, u64)> = iter.into_iter().filter(|e| e.1 > 0).collect();
        // Sort by replica, largest count first, then keep the first of each replica.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        entries.dedup_by_key(|e| e.0);
        GCounter { entries: Entries::from_vec(entries) }
    }
}

/// The entries as a map: `{r1: 2, r2: 3}`.
struct EntriesDebug<'a>(&'a [(ReplicaId, u64)]);

impl fmt::Debug for EntriesDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(r, n)| (r, n))).finish()
    }
}

/// Shaped like the domain: `GCounter(5) {r1: 2, r2: 3}` (the exact value, then the entries).
impl fmt::Debug for GCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GCounter({}) ", self.value_u128())?;
        EntriesDebug(&self.entries).fmt(f)
    }
}

/// A counter that goes up and down: a [`GCounter`] of increments and one of decrements.
///
/// The value is `increments - decrements` and may be negative. State `O(r)`; each mutation's
/// delta is ONE entry of one of the two G-Counters. Counts saturate as in a
/// [`GCounter`](GCounter#overflow); [`value`](Self::value) saturates at `i64::MIN` /
/// `i64::MAX`, [`value_i128`](Self::value_i128) is exact.
///
/// # Example
///
/// ```
/// use convergent::{Lattice, PnCounter, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = PnCounter::new();
/// let mut y = PnCounter::new();
/// let dx = x.increment(a, 2);
/// let dy = y.decrement(b, 5);
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), -3);
/// assert_eq!(format!("{x:?}"), "PnCounter(-3) { p: {r1: 2}, n: {r2: 5} }");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PnCounter {
    p: GCounter,
    n: GCounter,
}

impl PnCounter {
    /// The counter at zero (the bottom element). `O(1)`, no allocation.
    ///
    /// ```
    /// # use convergent::PnCounter;
    /// assert_eq!(PnCounter::new().value(), 0);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        PnCounter { p: GCounter::new(), n: GCounter::new() }
    }

    /// Adds `n` on behalf of `replica`; returns the one-entry delta (the replica's new absolute
    /// count of increments), or bottom if nothing changed. `O(log r)` plus a shift when new.
    ///
    /// ```
    /// # use convergent::{Lattice, PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// let before = c.clone();
    /// let d = c.increment(ReplicaId::from_u128(1), 3);
    /// assert_eq!(before.joined(d), c);
    /// assert_eq!(c.value(), 3);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> Self {
        PnCounter { p: self.p.increment(replica, n), n: GCounter::new() }
    }

    /// Subtracts `n` on behalf of `replica`; returns the one-entry delta (the replica's new
    /// absolute count of decrements), or bottom if nothing changed. `O(log r)` plus a shift when
    /// new.
    ///
    /// ```
    /// # use convergent::{Lattice, PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// let before = c.clone();
    /// let d = c.decrement(ReplicaId::from_u128(1), 3);
    /// assert_eq!(before.joined(d), c);
    /// assert_eq!(c.value(), -3);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn decrement(&mut self, replica: ReplicaId, n: u64) -> Self {
        PnCounter { p: GCounter::new(), n: self.n.increment(replica, n) }
    }

    /// The value `increments - decrements`, saturating at `i64::MIN` and `i64::MAX`. `O(r)`.
    ///
    /// ```
    /// # use convergent::{PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// for r in 0..1025 {
    ///     let _ = c.decrement(ReplicaId::from_u128(r), u64::MAX); // each saturates at 2^53
    /// }
    /// assert_eq!(c.value(), i64::MIN); // -1025 * 2^53 < i64::MIN: saturated
    /// ```
    #[must_use]
    pub fn value(&self) -> i64 {
        let v = self.value_i128();
        i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
    }

    /// The exact value `increments - decrements` as an `i128`. `O(r)`.
    ///
    /// ```
    /// # use convergent::{PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// let _ = c.decrement(ReplicaId::from_u128(1), 5);
    /// let _ = c.increment(ReplicaId::from_u128(2), 2);
    /// assert_eq!(c.value_i128(), -3);
    /// ```
    #[must_use]
    pub fn value_i128(&self) -> i128 {
        // Each sum is below 2^64 times the number of replicas, far from i128's range; the
        // conversions cannot fail in practice and saturate rather than panic if they did.
        let p = i128::try_from(self.p.value_u128()).unwrap_or(i128::MAX);
        let n = i128::try_from(self.n.value_u128()).unwrap_or(i128::MAX);
        p.saturating_sub(n)
    }

    /// The G-Counter of increments. `O(1)`.
    ///
    /// ```
    /// # use convergent::{PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// let _ = c.increment(ReplicaId::from_u128(1), 2);
    /// assert_eq!(c.increments().value(), 2);
    /// ```
    #[must_use]
    pub fn increments(&self) -> &GCounter {
        &self.p
    }

    /// The G-Counter of decrements. `O(1)`.
    ///
    /// ```
    /// # use convergent::{PnCounter, ReplicaId};
    /// let mut c = PnCounter::new();
    /// let _ = c.decrement(ReplicaId::from_u128(1), 2);
    /// assert_eq!(c.decrements().value(), 2);
    /// ```
    #[must_use]
    pub fn decrements(&self) -> &GCounter {
        &self.n
    }

    /// Builds a counter from its increments and decrements. `O(1)`.
    ///
    /// ```
    /// # use convergent::{GCounter, PnCounter, ReplicaId};
    /// let p: GCounter = [(ReplicaId::from_u128(1), 5)].into_iter().collect();
    /// let n: GCounter = [(ReplicaId::from_u128(2), 7)].into_iter().collect();
    /// assert_eq!(PnCounter::from_parts(p, n).value(), -2);
    /// ```
    #[must_use]
    pub fn from_parts(increments: GCounter, decrements: GCounter) -> Self {
        PnCounter { p: increments, n: decrements }
    }
}

impl Lattice for PnCounter {
    fn bottom() -> Self {
        PnCounter::new()
    }

    fn is_bottom(&self) -> bool {
        self.p.is_bottom() && self.n.is_bottom()
    }

    /// Both halves joined; cost as for [`GCounter`].
    fn join_ref(&mut self, other: &Self) -> bool {
        let a = self.p.join_ref(&other.p);
        let b = self.n.join_ref(&other.n);
        a | b
    }

    fn join(&mut self, other: Self) -> bool {
        let a = self.p.join(other.p);
        let b = self.n.join(other.n);
        a | b
    }

    fn leq(&self, other: &Self) -> bool {
        self.p.leq(&other.p) && self.n.leq(&other.n)
    }
}

/// The irreducibles of a PN-Counter are its single increment entries and single decrement
/// entries.
impl Decompose for PnCounter {
    fn decompose(&self) -> Vec<Self> {
        let p = self.p.decompose().into_iter().map(|p| PnCounter { p, n: GCounter::new() });
        let n = self.n.decompose().into_iter().map(|n| PnCounter { p: GCounter::new(), n });
        p.chain(n).collect()
    }

    fn irreducible_count(&self) -> usize {
        self.p.len() + self.n.len()
    }

    fn delta(&self, other: &Self) -> Self {
        PnCounter { p: self.p.delta(&other.p), n: self.n.delta(&other.n) }
    }
}

/// Shaped like the domain: `PnCounter(-3) { p: {r1: 2}, n: {r2: 5} }`.
impl fmt::Debug for PnCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PnCounter({})", self.value_i128())?;
        f.debug_struct("")
            .field("p", &EntriesDebug(&self.p.entries))
            .field("n", &EntriesDebug(&self.n.entries))
            .finish()
    }
}

#[cfg(feature = "serde")]
pub(crate) use wire_impls::WireId;

/// Wire forms. A G-Counter is its sorted entries `[(id, count)]`; a PN-Counter is ONE sorted list
/// `[(id, increments, decrements)]`, so a replica that both incremented and decremented pays its
/// id once. Ids are 16 raw bytes each (no length prefix) in compact formats, the UUID string in
/// human-readable ones. Decoding checks canonical order, no zero entry, counts within
/// [`Limits::max_counter`](crate::Limits::max_counter) and at most
/// [`Limits::max_replicas`](crate::Limits::max_replicas) entries (before allocating for them).
#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{GCounter, PnCounter};
    use crate::causal::ReplicaId;
    use crate::error::Error;
    use crate::wire::{Decode, DecodeCx, checked_default, decode_via};

    /// A replica id on the wire: 16 raw bytes in compact formats, the hyphenated UUID in
    /// human-readable ones (the same encoding as `ReplicaId`'s own serde impls).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) struct WireId(pub(crate) ReplicaId);

    impl Serialize for WireId {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() { self.0.serialize(s) } else { self.0.to_bytes().serialize(s) }
        }
    }

    impl<'de> Deserialize<'de> for WireId {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.is_human_readable() {
                ReplicaId::deserialize(d).map(WireId)
            } else {
                <[u8; 16]>::deserialize(d).map(|b| WireId(ReplicaId::from_bytes(b)))
            }
        }
    }

    /// One wire entry with its replica and its counts.
    trait Entry {
        fn replica(&self) -> ReplicaId;
        fn counts(&self) -> [u64; 2];
    }

    impl Entry for (WireId, u64) {
        fn replica(&self) -> ReplicaId {
            self.0.0
        }
        fn counts(&self) -> [u64; 2] {
            [self.1, 0]
        }
    }

    impl Entry for (WireId, u64, u64) {
        fn replica(&self) -> ReplicaId {
            self.0.0
        }
        fn counts(&self) -> [u64; 2] {
            [self.1, self.2]
        }
    }

    /// Checks a decoded entry list: at most `max_replicas` entries, sorted by replica with no
    /// replica twice, no all-zero entry, every count within `max_counter`.
    fn check_entries<E: Entry>(v: &[E], field: &'static str, cx: &DecodeCx) -> Result<(), Error> {
        let (max_replicas, max_counter) = (cx.limits.max_replicas, cx.limits.max_counter);
        cx.check_len(field, v.len(), max_replicas)?;
        let mut last: Option<ReplicaId> = None;
        for e in v {
            let counts = e.counts();
            if counts == [0, 0] {
                return Err(Error::NotCanonical { field });
            }
            if let Some(&value) = counts.iter().find(|&&c| c > max_counter) {
                return Err(Error::CounterOutOfRange { field, value, max: max_counter });
            }
            if last.is_some_and(|l| l >= e.replica()) {
                return Err(Error::NotCanonical { field });
            }
            last = Some(e.replica());
        }
        Ok(())
    }

    fn gcounter_from_wire(v: Vec<(WireId, u64)>, cx: &DecodeCx) -> Result<GCounter, Error> {
        check_entries(&v, "g-counter", cx)?;
        Ok(GCounter::from_canonical(v.into_iter().map(|(r, n)| (r.0, n)).collect()))
    }

    fn pncounter_from_wire(v: Vec<(WireId, u64, u64)>, cx: &DecodeCx) -> Result<PnCounter, Error> {
        check_entries(&v, "pn-counter", cx)?;
        let p = v.iter().filter(|e| e.1 > 0).map(|e| (e.0.0, e.1)).collect();
        let n = v.iter().filter(|e| e.2 > 0).map(|e| (e.0.0, e.2)).collect();
        Ok(PnCounter { p: GCounter::from_canonical(p), n: GCounter::from_canonical(n) })
    }

    impl Serialize for GCounter {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.entries.iter().map(|&(r, n)| (WireId(r), n)))
        }
    }

    impl<'de> Deserialize<'de> for GCounter {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = Vec::<(WireId, u64)>::deserialize(d)?;
            checked_default(|cx| gcounter_from_wire(v, cx))
        }
    }

    /// `[(16-byte id, count)]`.
    impl Decode for GCounter {
        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            decode_via(body, cx, |v, cx| gcounter_from_wire(v, cx))
        }
    }

    impl Serialize for PnCounter {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let (p, n) = (&self.p.entries, &self.n.entries);
            let mut out = Vec::with_capacity(p.len().max(n.len()));
            let (mut i, mut j) = (0, 0);
            while i < p.len() || j < n.len() {
                let next = match (p.get(i), n.get(j)) {
                    (Some(a), Some(b)) if a.0 == b.0 => (a.0, a.1, b.1),
                    (Some(a), Some(b)) if a.0 < b.0 => (a.0, a.1, 0),
                    (Some(a), None) => (a.0, a.1, 0),
                    (_, Some(b)) => (b.0, 0, b.1),
                    (None, None) => unreachable!("loop condition"),
                };
                i += usize::from(p.get(i).is_some_and(|a| a.0 == next.0));
                j += usize::from(n.get(j).is_some_and(|b| b.0 == next.0));
                out.push((WireId(next.0), next.1, next.2));
            }
            out.serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for PnCounter {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = Vec::<(WireId, u64, u64)>::deserialize(d)?;
            checked_default(|cx| pncounter_from_wire(v, cx))
        }
    }

    /// `[(16-byte id, increments, decrements)]`.
    impl Decode for PnCounter {
        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            decode_via(body, cx, |v, cx| pncounter_from_wire(v, cx))
        }
    }
}

/// Inside an [`OrMap`](crate::OrMap) a G-Counter lives as a [`GCounterStore`](crate::GCounterStore):
/// one dot per replica holding its running total, so that removing the key is an exact reset.
impl crate::Nested for GCounter {
    type Store = crate::GCounterStore;
}

/// Inside an [`OrMap`](crate::OrMap) a PN-Counter lives as a [`PnCounterStore`](crate::PnCounterStore).
impl crate::Nested for PnCounter {
    type Store = crate::PnCounterStore;
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec;

    use super::*;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    fn gc(entries: &[(u128, u64)]) -> GCounter {
        entries.iter().map(|&(i, n)| (r(i), n)).collect()
    }

    /// Applies `ops` (replica, amount) to `state` one by one, checking the delta law at every
    /// step, and returns the deltas.
    fn run_g(state: &mut GCounter, ops: &[(u128, u64)]) -> Vec<GCounter> {
        ops.iter()
            .map(|&(i, n)| {
                let before = state.clone();
                let d = state.increment(r(i), n);
                assert_eq!(before.clone().joined(d.clone()), *state, "m(X) == X ⊔ mδ(X)");
                assert!(d.len() <= 1, "one-entry delta");
                assert_eq!(d, state.delta(&before), "the delta is the optimal one");
                d
            })
            .collect()
    }

    #[test]
    fn canonical_and_structurally_equal() {
        let a = gc(&[(2, 3), (1, 1), (3, 0)]);
        let mut b = GCounter::new();
        let _ = b.increment(r(2), 3);
        let _ = b.increment(r(1), 1);
        let _ = b.increment(r(3), 0);
        assert_eq!(a, b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![(r(1), 1), (r(2), 3)]);
        assert_eq!(format!("{a:?}"), "GCounter(4) {r1: 1, r2: 3}");
    }

    #[test]
    fn delta_is_absolute_and_idempotent() {
        let mut c = GCounter::new();
        let deltas = run_g(&mut c, &[(1, 2), (1, 3), (2, 1), (1, 0)]);
        assert_eq!(deltas[1], gc(&[(1, 5)]));
        assert!(deltas[3].is_bottom(), "increment by 0 sends nothing");
        // Duplicated, reordered delivery ends in the same place.
        let mut rx = GCounter::new();
        for d in deltas.iter().rev().chain(deltas.iter()) {
            rx.join_ref(d);
        }
        assert_eq!(rx, c);
        assert_eq!(crate::lattice::join_all(deltas), c);
    }

    #[test]
    fn delta_law_on_interleaved_history() {
        // Three replicas increment, exchange states and deltas at various points.
        let (mut a, mut b, mut x) = (GCounter::new(), GCounter::new(), GCounter::new());
        let da = run_g(&mut a, &[(1, 1), (1, 4)]);
        b.join(da[0].clone());
        let db = run_g(&mut b, &[(2, 7), (2, 1)]);
        x.join_ref(&b);
        let dc = run_g(&mut x, &[(3, 2), (3, 2)]);
        a.join_ref(&x);
        let da2 = run_g(&mut a, &[(1, 1)]);
        let all = [da, db, dc, da2].concat();
        let mut full = a.clone();
        full.join_ref(&b);
        full.join_ref(&x);
        assert_eq!(crate::lattice::join_all(all), full);
        assert_eq!(full.value(), 6 + 8 + 4);
    }

    #[test]
    fn join_reports_changes_exactly_on_both_paths() {
        let big = gc(&[(1, 5), (2, 5), (3, 5), (4, 5), (5, 5), (6, 5)]);
        // Linear-merge path (other has more than SMALL_JOIN entries).
        let mut x = gc(&[(2, 5), (4, 9)]);
        assert!(x.join_ref(&big));
        assert!(!x.join_ref(&big));
        assert_eq!(x, gc(&[(1, 5), (2, 5), (3, 5), (4, 9), (5, 5), (6, 5)]));
        let mut y = x.clone();
        assert!(!y.join_ref(&big), "merge path: nothing new");
        assert_eq!(y, x);
        // Entry-by-entry path.
        assert!(!x.join_ref(&gc(&[(4, 9)])));
        assert!(x.join_ref(&gc(&[(4, 10)])));
        assert!(x.join_ref(&gc(&[(7, 1)])));
        assert!(!x.join(GCounter::new()));
        let mut e = GCounter::new();
        assert!(e.join(big.clone()));
        assert!(!e.join(big.clone()));
        assert!(!GCounter::new().join(GCounter::new()));
        // Both paths agree with each other on a larger case.
        let wide: GCounter = (0..40).map(|i| (r(i), i as u64 % 7)).collect();
        let other: GCounter = (20..60).map(|i| (r(i), i as u64 % 5)).collect();
        let mut m = wide.clone();
        m.join_ref(&other);
        let mut s = wide.clone();
        for e in other.iter() {
            s.join_ref(&GCounter::from_iter([e]));
        }
        assert_eq!(m, s);
    }

    #[test]
    fn leq_matches_join() {
        let cases = [
            gc(&[]),
            gc(&[(1, 1)]),
            gc(&[(1, 2)]),
            gc(&[(2, 1)]),
            gc(&[(1, 1), (2, 1)]),
            gc(&[(1, 2), (3, 4)]),
            gc(&[(1, 2), (2, 1), (3, 4)]),
        ];
        for a in &cases {
            for b in &cases {
                let joined = a.clone().joined(b.clone());
                assert_eq!(a.leq(b), joined == *b, "{a:?} <= {b:?}");
            }
        }
    }

    #[test]
    fn decompose_and_optimal_delta() {
        let a = gc(&[(1, 3), (2, 5), (4, 1)]);
        let b = gc(&[(1, 3), (2, 7), (3, 9)]);
        let parts = a.decompose();
        assert_eq!(parts.len(), a.irreducible_count());
        assert_eq!(crate::lattice::join_all(parts.clone()), a);
        assert!(parts.iter().all(|p| p.len() == 1));
        let d = a.delta(&b);
        assert_eq!(d, gc(&[(4, 1)]));
        assert_eq!(d.clone().joined(b.clone()), a.clone().joined(b.clone()));
        assert!(a.delta(&a).is_bottom());
        assert_eq!(a.delta(&GCounter::new()), a);
    }

    #[test]
    fn overflow_saturates_at_max_count_and_u64_max() {
        use crate::MAX_COUNT;
        let mut c = GCounter::new();
        let d1 = c.increment(r(1), MAX_COUNT - 1);
        let d2 = c.increment(r(1), u64::MAX);
        assert_eq!(d1.get(r(1)), MAX_COUNT - 1);
        assert_eq!(d2.get(r(1)), MAX_COUNT, "saturates, does not wrap");
        assert!(c.increment(r(1), 1).is_bottom(), "saturated: nothing changes");
        assert_eq!(c.get(r(1)), MAX_COUNT);
        // The value saturates at u64::MAX: 2048 saturated entries sum to exactly 2^64.
        for i in 2..=2048 {
            let _ = c.increment(r(i), u64::MAX);
        }
        assert_eq!(c.value_u128(), 1u128 << 64);
        assert_eq!(c.value(), u64::MAX, "value saturates");
        // Joins of saturated entries stay the pointwise maximum.
        let mut other = gc(&[(1, 3), (2, MAX_COUNT)]);
        assert!(other.join_ref(&c));
        assert_eq!(other, c);
    }

    #[test]
    fn pn_counter_basics_and_deltas() {
        let mut c = PnCounter::new();
        let before = c.clone();
        let d1 = c.increment(r(1), 5);
        let d2 = c.decrement(r(1), 2);
        let d3 = c.decrement(r(2), 10);
        for d in [&d1, &d2, &d3] {
            assert_eq!(d.irreducible_count(), 1, "one-entry delta: {d:?}");
        }
        assert!(c.increment(r(1), 0).is_bottom());
        assert_eq!(c.value(), -7);
        assert_eq!(before.joined(d1.clone().joined(d2.clone()).joined(d3.clone())), c);
        assert_eq!(format!("{c:?}"), "PnCounter(-7) { p: {r1: 5}, n: {r1: 2, r2: 10} }");
        // Delta law on each step of another history, and optimal deltas.
        let mut x = PnCounter::new();
        x.join_ref(&d3);
        for (i, inc, n) in [(3, true, 4), (3, false, 1), (2, true, 2)] {
            let old = x.clone();
            let d = if inc { x.increment(r(i), n) } else { x.decrement(r(i), n) };
            assert_eq!(old.clone().joined(d.clone()), x);
            assert_eq!(x.delta(&old), d);
        }
        let parts = c.decompose();
        assert_eq!(parts.len(), 3);
        assert_eq!(crate::lattice::join_all(parts), c);
        assert!(c.leq(&c.clone().joined(x.clone())));
        assert!(!c.leq(&x));
    }

    #[test]
    fn pn_counter_overflow_saturates_at_i64_bounds() {
        use crate::MAX_COUNT;
        // 1024 saturated decrements are exactly -2^63 = i64::MIN; one more is below it.
        let mut c = PnCounter::new();
        for i in 1..=1024 {
            let _ = c.decrement(r(i), u64::MAX);
        }
        assert_eq!(c.value(), i64::MIN);
        assert_eq!(c.value_i128(), i128::from(i64::MIN));
        let _ = c.decrement(r(1025), 1);
        assert_eq!((c.value(), c.value_i128()), (i64::MIN, i128::from(i64::MIN) - 1));
        // And the other way: 1024 saturated increments are 2^63 = i64::MAX + 1.
        let mut f = PnCounter::new();
        for i in 1..=1024 {
            let _ = f.increment(r(i), MAX_COUNT);
        }
        assert_eq!((f.value(), f.value_i128()), (i64::MAX, i128::from(i64::MAX) + 1));
        let d = f.decrement(r(1), 1);
        assert_eq!(d.decrements().get(r(1)), 1);
        assert_eq!(f.value(), i64::MAX);
    }

    #[cfg(feature = "serde")]
    mod wire {
        use alloc::string::ToString;
        use alloc::vec::Vec;

        use super::*;
        use crate::Error;
        use crate::wire::{encoded_len, from_bytes, to_bytes};

        /// The figures reported in the issue's closing note (postcard, format version byte
        /// included; ids are 16 raw bytes, written once).
        #[test]
        fn encoded_sizes() {
            let mut c = GCounter::new();
            let d = c.increment(r(u128::MAX / 3), 1);
            // version 1 + entry count 1 + id 16 + varint count 1.
            assert_eq!(encoded_len(&d), 19);
            let d = c.increment(r(u128::MAX / 5), 1_000);
            assert_eq!(encoded_len(&d), 20, "count 1000 takes a 2-byte varint");
            // 16 replicas, each with 100 increments: 1 + 1 + 16 * (16 + 1).
            let mut s = GCounter::new();
            for i in 0..16 {
                let _ = s.increment(r(u128::MAX / 17 * (i + 1)), 100);
            }
            assert_eq!(encoded_len(&s), 274);
            assert_eq!(to_bytes(&s).len(), 274);
            // PN-Counter: one list, the id once even with both halves.
            let mut p = PnCounter::new();
            let inc = p.increment(r(1), 1);
            assert_eq!(encoded_len(&inc), 20);
            let _ = p.decrement(r(1), 1);
            assert_eq!(encoded_len(&p), 20);
            assert_eq!(encoded_len(&GCounter::new()), 2);
        }

        #[test]
        fn round_trips() {
            let states = [
                gc(&[]),
                gc(&[(1, 1)]),
                gc(&[(1, 3), (2, 1 << 53), (9, 7)]),
                gc(&[(u128::MAX, 4), (1 << 100, 2)]),
            ];
            for s in &states {
                assert_eq!(from_bytes::<GCounter>(&to_bytes(s)).as_ref(), Ok(s));
                let json = serde_json::to_string(s).unwrap();
                assert_eq!(&serde_json::from_str::<GCounter>(&json).unwrap(), s);
                let pn = PnCounter::from_parts(s.clone(), gc(&[(2, 5), (5, 1)]));
                assert_eq!(from_bytes::<PnCounter>(&to_bytes(&pn)), Ok(pn.clone()));
                let json = serde_json::to_string(&pn).unwrap();
                assert_eq!(serde_json::from_str::<PnCounter>(&json).unwrap(), pn);
            }
            assert_eq!(
                serde_json::to_string(&gc(&[(1, 2)])).unwrap(),
                r#"[["00000000-0000-0000-0000-000000000001",2]]"#
            );
        }

        fn json_err<T: serde::de::DeserializeOwned + core::fmt::Debug>(s: &str) -> alloc::string::String {
            serde_json::from_str::<T>(s).unwrap_err().to_string()
        }

        const ID1: &str = "00000000-0000-0000-0000-000000000001";
        const ID2: &str = "00000000-0000-0000-0000-000000000002";

        #[test]
        fn rejects_bad_input() {
            let canon = Error::NotCanonical { field: "g-counter" }.to_string();
            // Unsorted, duplicated, zero entries.
            assert!(json_err::<GCounter>(&format!(r#"[["{ID2}",1],["{ID1}",1]]"#)).contains(&canon));
            assert!(json_err::<GCounter>(&format!(r#"[["{ID1}",1],["{ID1}",2]]"#)).contains(&canon));
            assert!(json_err::<GCounter>(&format!(r#"[["{ID1}",0]]"#)).contains(&canon));
            // Above the counter limit.
            let too_big = Error::CounterOutOfRange { field: "g-counter", value: u64::MAX, max: 1 << 53 };
            assert!(
                json_err::<GCounter>(&format!(r#"[["{ID1}",{}]]"#, u64::MAX)).contains(&too_big.to_string())
            );
            // PN-Counter: an entry with both counts zero, order, limit.
            let canon = Error::NotCanonical { field: "pn-counter" }.to_string();
            assert!(json_err::<PnCounter>(&format!(r#"[["{ID1}",0,0]]"#)).contains(&canon));
            assert!(json_err::<PnCounter>(&format!(r#"[["{ID2}",1,0],["{ID1}",0,1]]"#)).contains(&canon));
            assert!(
                json_err::<PnCounter>(&format!(r#"[["{ID1}",0,{}]]"#, (1u64 << 53) + 1))
                    .contains("pn-counter")
            );
            // Through the binary decoder: the same checks, and truncation.
            let bytes = to_bytes(&gc(&[(1, 1), (2, 1)]));
            let mut swapped = bytes[..2].to_vec();
            swapped.extend_from_slice(&bytes[19..36]);
            swapped.extend_from_slice(&bytes[2..19]);
            assert_eq!(
                from_bytes::<GCounter>(&[&bytes[..2], &bytes[2..19], &bytes[19..36]].concat()),
                Ok(gc(&[(1, 1), (2, 1)]))
            );
            // (A regression: this was `Malformed { field: "value" }`, the typed error lost in serde.)
            assert_eq!(from_bytes::<GCounter>(&swapped), Err(Error::NotCanonical { field: "g-counter" }));
            for cut in 0..bytes.len() {
                assert!(from_bytes::<GCounter>(&bytes[..cut]).is_err(), "truncated at {cut}");
            }
            let mut zero = bytes.clone();
            zero[18] = 0;
            assert!(from_bytes::<GCounter>(&zero).is_err());
        }

        #[test]
        fn rejects_too_many_replicas_before_allocating() {
            // A length prefix claiming 2^32 entries, with no entries behind it.
            let bytes = [crate::wire::FORMAT_VERSION, 0x80, 0x80, 0x80, 0x80, 0x10];
            assert!(from_bytes::<GCounter>(&bytes).is_err());
            let limit = Limits::default().max_replicas;
            let ids: Vec<alloc::string::String> = (0..=limit as u128)
                .map(|i| format!(r#"["{}",1]"#, uuid::Uuid::from_u128(i + 1).hyphenated()))
                .collect();
            let msg = json_err::<GCounter>(&format!("[{}]", ids.join(",")));
            assert!(msg.contains("exceeds the limit"), "{msg}");
        }

        use crate::Limits;
    }
}
