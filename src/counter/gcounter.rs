//! The grow-only counter.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use crate::causal::ReplicaId;
use crate::lattice::{Decompose, Lattice};

/// Sorted by replica, no zero count: equal counters are structurally equal. One entry (a delta)
/// lives inline without allocating.
type Entries = SmallVec<[(ReplicaId, u64); 1]>;

/// Below this many entries in `other`, a join raises entries one by one (binary search); above it,
/// and unless `other` is much smaller than `self`, it merges the two sorted lists linearly.
const SMALL_JOIN: usize = 4;

/// Where `replica` is in sorted `entries`: its count, or the index it would be inserted at. A
/// branchy binary search on the big-endian key (its bytes swapped once, and once per probe): the
/// probe's branch is predictable when one peer's deltas arrive in a row, and the next probe's load
/// does not wait for this one's comparison. The search narrows the slice itself, so the found
/// entry needs no bounds check and the insertion index is computed only when it is needed.
#[inline]
fn find(entries: &mut [(ReplicaId, u64)], replica: ReplicaId) -> Result<&mut u64, usize> {
    let key = replica.as_uuid().as_u128();
    let start = entries.as_ptr() as usize;
    let mut rest = entries;
    while rest.len() > 1 {
        let half = rest.len() / 2;
        let all = core::mem::take(&mut rest);
        rest = if all[half].0.as_uuid().as_u128() <= key { &mut all[half..] } else { &mut all[..half] };
    }
    match rest.first_mut() {
        None => Err(0),
        Some(e) => {
            let k = e.0.as_uuid().as_u128();
            if k == key {
                return Ok(&mut e.1);
            }
            let at = (core::ptr::from_mut(e) as usize - start) / size_of::<(ReplicaId, u64)>();
            Err(at + usize::from(k < key))
        }
    }
}

/// A grow-only counter: each replica counts its own increments, the value is the sum.
///
/// State `O(r)` for `r` replicas that ever incremented; an increment delta is one entry
/// `{replica: new absolute count}`.
///
/// # Overflow
///
/// Nothing wraps and nothing panics. Each entry saturates at [`MAX_COUNT`](crate::counter::MAX_COUNT)
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
    pub(super) entries: Entries,
}

impl GCounter {
    /// The counter at zero (the bottom element). `O(1)`, no allocation.
    ///
    /// ```
    /// # use convergent::GCounter;
    /// assert_eq!(GCounter::new().value(), 0);
    /// ```
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        GCounter { entries: Entries::new() }
    }

    /// Adds `n` to `replica`'s count and returns the delta: `{replica: new absolute count}`.
    ///
    /// The count saturates at [`MAX_COUNT`](crate::counter::MAX_COUNT). When nothing changed (`n == 0`, or the entry was already
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
    #[inline]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> Self {
        // One search: the entry is raised in place, or inserted where the search ended.
        let max = crate::counter::MAX_COUNT;
        let new = match find(&mut self.entries, replica) {
            Ok(e) => {
                let new = e.saturating_add(n).min(max);
                if new == *e {
                    return GCounter::new();
                }
                *e = new;
                new
            }
            Err(_) if n == 0 => return GCounter::new(),
            Err(i) => {
                let new = n.min(max);
                self.entries.insert(i, (replica, new));
                new
            }
        };
        let mut entries = Entries::new();
        entries.push((replica, new));
        GCounter { entries }
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
    #[inline]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.entries.binary_search_by(|(r, _)| r.cmp(&replica)).map_or(0, |i| self.entries[i].1)
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

    /// Raises `replica`'s count to at least `n`; returns whether it changed. Keeps the entries
    /// canonical (a zero `n` is never stored).
    #[inline]
    fn raise(&mut self, replica: ReplicaId, n: u64) -> bool {
        if n == 0 {
            return false;
        }
        // One look at the inline-or-heap storage for the search and the update.
        match find(&mut self.entries, replica) {
            Ok(e) => {
                let raised = *e < n;
                if raised {
                    *e = n;
                }
                raised
            }
            Err(i) => {
                self.entries.insert(i, (replica, n));
                true
            }
        }
    }

    /// Linear merge of two sorted entry lists, `O(r + r')`.
    pub(super) fn merge_from(&mut self, other: &[(ReplicaId, u64)]) -> bool {
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
    #[inline]
    fn join_ref(&mut self, other: &Self) -> bool {
        // A one-entry delta (every increment's): one search, raised in place.
        if let [(r, n)] = other.entries[..] {
            return self.raise(r, n);
        }
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
pub(super) struct EntriesDebug<'a>(pub(super) &'a [(ReplicaId, u64)]);

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

/// Inside an [`OrMap`](crate::OrMap) a G-Counter lives as a [`GCounterStore`](crate::GCounterStore):
/// one dot per replica holding its running total, so that removing the key is an exact reset.
impl crate::Nested for GCounter {
    type Store = crate::GCounterStore;
}

/// Entries strictly sorted by replica, none zero, none above [`MAX_COUNT`](crate::counter::MAX_COUNT).
impl crate::causal::CheckInvariants for GCounter {
    fn check_invariants(&self) -> Result<(), &'static str> {
        if !self.entries.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err("g-counter: replicas not strictly sorted");
        }
        if self.entries.iter().any(|&(_, n)| n == 0 || n > crate::counter::MAX_COUNT) {
            return Err("g-counter: an entry is zero or above MAX_COUNT");
        }
        Ok(())
    }
}
