//! Causal contexts: exact sets of dots in a canonical compact form.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use super::{Dot, ReplicaId, VersionVector};
use crate::Lattice;

/// The dots of one replica: sorted, disjoint, non-adjacent inclusive ranges, all starting at 1 or
/// more. One range (`1..=n`) is the overwhelmingly common case and lives inline.
pub(crate) type Ranges = SmallVec<[(u64, u64); 1]>;

/// The replicas of a context and their ranges, sorted by replica. One replica (the context of a
/// delta made by one replica, such as one insert) lives inline: such a context allocates nothing.
pub(crate) type Entries = SmallVec<[(ReplicaId, Ranges); 1]>;

/// Every event a replica has seen, live or removed: an arbitrary set of [`Dot`]s.
///
/// Stored per replica as sorted inclusive ranges, kept **canonical** after every operation
/// (sorted, merged, no empty entries), so two contexts holding the same dots are structurally
/// equal, compare equal and encode to the same bytes. A replica's own context is normally one
/// range `1..=n` per replica (a version vector); deltas carry gaps, which this type represents
/// exactly (a version-vector-only context would read a gap as a delete).
///
/// Costs, with `r` replicas and `g` ranges per replica (1 unless the context has gaps):
/// [`contains`](Self::contains) and [`insert`](Self::insert) are `O(log r + log g)` plus a shift of
/// at most `g` ranges; [`join_ref`](Lattice::join_ref) is `O(r + g)` over both operands.
///
/// # Example
///
/// ```
/// use convergent::{CausalContext, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = CausalContext::new();
/// let d1 = x.next_dot(a);
/// let d2 = x.next_dot(a);
/// let mut y = CausalContext::new();
/// let e1 = y.next_dot(b);
///
/// x.join_ref(&y);
/// assert!(x.contains(&d1) && x.contains(&d2) && x.contains(&e1));
/// assert_eq!(format!("{x:?}"), "{r1:1..=2, r2:1}");
/// assert_eq!(x.max(a), 2);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct CausalContext {
    /// Sorted by replica; no entry has empty ranges.
    entries: Entries,
}

impl CausalContext {
    /// The empty context.
    ///
    /// ```
    /// # use convergent::CausalContext;
    /// assert!(CausalContext::new().is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        CausalContext { entries: Entries::new_const() }
    }

    /// The context of one replica's dots `lo..=hi` (`1 <= lo <= hi`), inline: no allocation.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    #[inline]
    pub(crate) fn of_range(replica: ReplicaId, lo: u64, hi: u64) -> CausalContext {
        debug_assert!(1 <= lo && lo <= hi);
        CausalContext { entries: Entries::from_buf([(replica, Ranges::from_buf([(lo, hi)]))]) }
    }

    /// Whether the context holds no dot.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let _ = c.next_dot(ReplicaId::from_u128(1));
    /// assert!(!c.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of replicas with at least one dot.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let _ = c.next_dot(ReplicaId::from_u128(1));
    /// let _ = c.next_dot(ReplicaId::from_u128(1));
    /// assert_eq!(c.replica_count(), 1);
    /// ```
    #[must_use]
    pub fn replica_count(&self) -> usize {
        self.entries.len()
    }

    /// The number of dots (saturating at `u64::MAX`).
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// for _ in 0..3 { let _ = c.next_dot(ReplicaId::from_u128(1)); }
    /// assert_eq!(c.dot_count(), 3);
    /// ```
    #[must_use]
    #[inline]
    pub fn dot_count(&self) -> u64 {
        let mut n = 0u64;
        for (_, rs) in &self.entries {
            for &(lo, hi) in rs {
                n = n.saturating_add(hi - lo + 1);
            }
        }
        n
    }

    /// The number of ranges stored: the size of the context in memory and on the wire.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// for _ in 0..1000 { let _ = c.next_dot(ReplicaId::from_u128(1)); }
    /// assert_eq!(c.range_count(), 1);
    /// ```
    #[must_use]
    pub fn range_count(&self) -> usize {
        self.entries.iter().map(|(_, rs)| rs.len()).sum()
    }

    fn find(&self, r: &ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(x, _)| x.cmp(r))
    }

    /// The position of `r` among the context's replicas (sorted by id): its index in the
    /// replica table of an encoded value.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    #[inline]
    pub(crate) fn replica_index(&self, r: &ReplicaId) -> Option<usize> {
        self.find(r).ok()
    }

    /// The replica at position `i` (sorted by id) and its ranges.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    #[inline]
    pub(crate) fn replica_at(&self, i: usize) -> Option<(ReplicaId, &[(u64, u64)])> {
        self.entries.get(i).map(|(r, rs)| (*r, rs.as_slice()))
    }

    /// Whether the replica at position `i` (sorted by id) has event `n`: [`contains`](Self::contains)
    /// for a dot given by its index in an encoded value's replica table.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    #[inline]
    pub(crate) fn contains_at(&self, i: usize, n: u64) -> bool {
        self.entries.get(i).is_some_and(|(_, rs)| ranges_contain(rs, n))
    }

    pub(crate) fn ranges_of(&self, r: &ReplicaId) -> &[(u64, u64)] {
        match self.find(r) {
            Ok(i) => &self.entries[i].1,
            Err(_) => &[],
        }
    }

    /// Whether the context holds `dot`. `O(log r + log g)`.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let d = c.next_dot(ReplicaId::from_u128(1));
    /// assert!(c.contains(&d));
    /// assert!(!CausalContext::new().contains(&d));
    /// ```
    #[must_use]
    #[inline]
    pub fn contains(&self, dot: &Dot) -> bool {
        // A context of one replica (a delta's, mostly) is read without a search.
        let rs = match &self.entries[..] {
            [(r, rs)] if *r == dot.replica() => rs,
            [_] => return false,
            _ => self.ranges_of(&dot.replica()),
        };
        ranges_contain(rs, dot.counter())
    }

    /// The highest event number of `replica` in the context (0 if none).
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = CausalContext::new();
    /// assert_eq!(c.max(r), 0);
    /// let _ = c.next_dot(r);
    /// assert_eq!(c.max(r), 1);
    /// ```
    #[must_use]
    pub fn max(&self, replica: ReplicaId) -> u64 {
        self.ranges_of(&replica).last().map_or(0, |&(_, hi)| hi)
    }

    /// Mints the next dot of `replica` (`max + 1`) and records it in the context.
    ///
    /// This is the only way to create a [`Dot`]. Delta mutators of this crate call it for you.
    ///
    /// # Panics
    ///
    /// If `replica` has already made `u64::MAX` events. Received contexts are validated against
    /// far smaller limits (see [`Limits`](crate::Limits)), so this cannot be reached from remote
    /// input.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = CausalContext::new();
    /// let d1 = c.next_dot(r);
    /// let d2 = c.next_dot(r);
    /// assert_eq!((d1.counter(), d2.counter()), (1, 2));
    /// ```
    pub fn next_dot(&mut self, replica: ReplicaId) -> Dot {
        let n = self.max(replica).checked_add(1).expect("replica event counter exhausted");
        let dot = Dot::new(replica, n).expect("n >= 1");
        self.insert(dot);
        dot
    }

    /// Adds `dot`; returns whether it was new. `O(log r + g)`.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let d = c.clone().next_dot(ReplicaId::from_u128(1));
    /// assert!(c.insert(d));
    /// assert!(!c.insert(d));
    /// ```
    pub fn insert(&mut self, dot: Dot) -> bool {
        let n = dot.counter();
        let i = match self.find(&dot.replica()) {
            Ok(i) => i,
            Err(i) => {
                let mut rs = Ranges::new();
                rs.push((n, n));
                super::work::add(self.entries.len() - i + 1);
                self.entries.insert(i, (dot.replica(), rs));
                return true;
            }
        };
        insert_range(&mut self.entries[i].1, n, n)
    }

    /// Removes `dot`; returns whether it was present. Crate-internal: a context only grows in a
    /// replica, but decompositions and deltas are built by carving contexts.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, dot: &Dot) -> bool {
        let Ok(i) = self.find(&dot.replica()) else { return false };
        let rs = &mut self.entries[i].1;
        let n = dot.counter();
        let Some(j) = rs.iter().position(|&(lo, hi)| lo <= n && n <= hi) else { return false };
        let (lo, hi) = rs[j];
        match (lo == n, hi == n) {
            (true, true) => {
                rs.remove(j);
            }
            (true, false) => rs[j].0 = n + 1,
            (false, true) => rs[j].1 = n - 1,
            (false, false) => {
                rs[j].1 = n - 1;
                rs.insert(j + 1, (n + 1, hi));
            }
        }
        if rs.is_empty() {
            self.entries.remove(i);
        }
        true
    }

    /// Iterates the replicas and their dots as sorted inclusive ranges `(first, last)`.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = CausalContext::new();
    /// let _ = c.next_dot(r);
    /// let _ = c.next_dot(r);
    /// let v: Vec<_> = c.ranges().map(|(r, rs)| (r, rs.to_vec())).collect();
    /// assert_eq!(v, vec![(r, vec![(1, 2)])]);
    /// ```
    pub fn ranges(&self) -> impl Iterator<Item = (ReplicaId, &[(u64, u64)])> + '_ {
        self.entries.iter().map(|(r, rs)| (*r, rs.as_slice()))
    }

    /// Iterates every dot, in order of replica then number. Linear in [`dot_count`](Self::dot_count):
    /// meant for small contexts such as those of deltas.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let d = c.next_dot(ReplicaId::from_u128(1));
    /// assert_eq!(c.dots().collect::<Vec<_>>(), vec![d]);
    /// ```
    pub fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.entries.iter().flat_map(|(r, rs)| {
            rs.iter().flat_map(move |&(lo, hi)| (lo..=hi).filter_map(move |n| Dot::new(*r, n)))
        })
    }

    /// The dots of `self` that are not in `other`. `O(r + g)`.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut big = CausalContext::new();
    /// let d1 = big.next_dot(r);
    /// let small = big.clone();
    /// let d2 = big.next_dot(r);
    /// let diff = big.difference(&small);
    /// assert!(diff.contains(&d2) && !diff.contains(&d1));
    /// ```
    #[must_use]
    pub fn difference(&self, other: &CausalContext) -> CausalContext {
        let mut entries = Entries::new();
        for (r, rs) in &self.entries {
            let d = diff_ranges(rs, other.ranges_of(r));
            if !d.is_empty() {
                entries.push((*r, d));
            }
        }
        CausalContext { entries }
    }

    /// The dots in both `self` and `other`.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut a = CausalContext::new();
    /// let d1 = a.next_dot(r);
    /// let mut b = a.clone();
    /// let _ = b.next_dot(r);
    /// assert_eq!(a.intersection(&b).dots().collect::<Vec<_>>(), vec![d1]);
    /// ```
    #[must_use]
    pub fn intersection(&self, other: &CausalContext) -> CausalContext {
        let mut entries = Entries::new();
        for (r, rs) in &self.entries {
            let o = other.ranges_of(r);
            if o.is_empty() {
                continue;
            }
            let d = diff_ranges(rs, &diff_ranges(rs, o));
            if !d.is_empty() {
                entries.push((*r, d));
            }
        }
        CausalContext { entries }
    }

    /// The contiguous prefix `1..=n` of each replica, as a version vector (gaps cut it short).
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut c = CausalContext::new();
    /// let _ = c.next_dot(r);
    /// assert_eq!(c.version_vector().get(r), 1);
    /// ```
    #[must_use]
    pub fn version_vector(&self) -> VersionVector {
        let mut vv = VersionVector::new();
        for (r, rs) in &self.entries {
            if rs[0].0 == 1 {
                vv.raise(*r, rs[0].1);
            }
        }
        vv
    }

    /// Whether the context is downward closed: for every replica, the dots `1..=max` (a plain
    /// version vector). A replica's own context always is; deltas usually are not.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let _ = c.next_dot(ReplicaId::from_u128(1));
    /// assert!(c.is_downward_closed());
    /// ```
    #[must_use]
    pub fn is_downward_closed(&self) -> bool {
        self.entries.iter().all(|(_, rs)| rs.len() == 1 && rs[0].0 == 1)
    }

    /// Builds a context from raw per-replica ranges, checking that it is canonical. Used by
    /// decoders: returns `None` if the replicas are not strictly increasing, a replica has no
    /// range, or a replica's ranges are not sorted, disjoint, non-adjacent and within `1..`.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn from_canonical_parts(entries: impl Into<Entries>) -> Option<CausalContext> {
        let entries = entries.into();
        for w in entries.windows(2) {
            if w[0].0 >= w[1].0 {
                return None;
            }
        }
        for (_, rs) in &entries {
            if rs.is_empty() || !ranges_canonical(rs) {
                return None;
            }
        }
        Some(CausalContext { entries })
    }

    /// Whether `self ⊆ other`.
    fn subset(&self, other: &CausalContext) -> bool {
        self.entries.iter().all(|(r, rs)| {
            let o = other.ranges_of(r);
            rs.iter().all(|&(lo, hi)| ranges_cover(o, lo, hi))
        })
    }
}

pub(crate) fn ranges_canonical(rs: &[(u64, u64)]) -> bool {
    rs.iter().all(|&(lo, hi)| 1 <= lo && lo <= hi)
        && rs.windows(2).all(|w| w[0].1.checked_add(1).is_some_and(|n| n < w[1].0))
}

fn ranges_contain(rs: &[(u64, u64)], n: u64) -> bool {
    if let [(lo, hi)] = rs {
        return *lo <= n && n <= *hi;
    }
    // The last range with lo <= n.
    let i = rs.partition_point(|&(lo, _)| lo <= n);
    i > 0 && rs[i - 1].1 >= n
}

fn ranges_cover(rs: &[(u64, u64)], lo: u64, hi: u64) -> bool {
    let i = rs.partition_point(|&(l, _)| l <= lo);
    i > 0 && rs[i - 1].1 >= hi
}

/// Adds the dots `lo..=hi` (`1 <= lo <= hi`) to the canonical list `rs`, in place, keeping it
/// canonical. Returns whether a dot was new. `O(log g)` plus a shift of the ranges it merges or
/// moves; `O(1)` when the range extends or follows the last one (the next events of a replica).
fn insert_range(rs: &mut Ranges, lo: u64, hi: u64) -> bool {
    debug_assert!(1 <= lo && lo <= hi);
    if let Some(last) = rs.last_mut()
        && lo > last.1
    {
        // After every range: `last.1 < lo`, so `last.1 + 1` does not overflow.
        if lo == last.1 + 1 {
            last.1 = hi;
        } else {
            rs.push((lo, hi));
        }
        return true;
    }
    // The ranges `i..j` overlap or touch `lo..=hi`: those before `i` end before `lo - 1`,
    // those from `j` start after `hi + 1`.
    let i = rs.partition_point(|&(_, h)| h.saturating_add(1) < lo);
    let j = i + rs[i..].partition_point(|&(l, _)| l <= hi.saturating_add(1));
    if i == j {
        super::work::add(rs.len() - i + 1);
        rs.insert(i, (lo, hi));
        return true;
    }
    let (first, last) = (rs[i], rs[j - 1]);
    if j == i + 1 && first.0 <= lo && hi <= first.1 {
        return false;
    }
    super::work::add(rs.len() - i);
    rs[i] = (first.0.min(lo), last.1.max(hi));
    rs.drain(i + 1..j);
    true
}

/// The canonical union of two canonical range lists.
pub(crate) fn union_ranges(a: &[(u64, u64)], b: &[(u64, u64)]) -> Ranges {
    super::work::add(a.len() + b.len());
    let mut out = Ranges::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = if j >= b.len() || (i < a.len() && a[i].0 <= b[j].0) {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match out.last_mut() {
            Some(last) if next.0 <= last.1.saturating_add(1) => last.1 = last.1.max(next.1),
            _ => out.push(next),
        }
    }
    out
}

/// The canonical difference `a \ b` of two canonical range lists.
fn diff_ranges(a: &[(u64, u64)], b: &[(u64, u64)]) -> Ranges {
    let mut out = Ranges::new();
    let mut j = 0;
    for &(lo, hi) in a {
        let mut lo = lo;
        while j < b.len() && b[j].1 < lo {
            j += 1;
        }
        let mut k = j;
        let mut done = false;
        while k < b.len() && b[k].0 <= hi {
            if b[k].0 > lo {
                out.push((lo, b[k].0 - 1));
            }
            if b[k].1 >= hi {
                done = true;
                break;
            }
            lo = b[k].1 + 1;
            k += 1;
        }
        if !done {
            out.push((lo, hi));
        }
    }
    out
}

impl Lattice for CausalContext {
    fn bottom() -> Self {
        CausalContext::new()
    }

    fn is_bottom(&self) -> bool {
        self.is_empty()
    }

    /// Union. `O(r + g)` over both operands (one merge of the replica lists when `other` names
    /// replicas `self` has not seen, so many new replicas never shift the list once each).
    fn join_ref(&mut self, other: &Self) -> bool {
        // The context of a delta of one replica's consecutive events (every local operation's):
        // one search, merged in place.
        if let [(r, rs)] = &other.entries[..]
            && let [(lo, hi)] = rs[..]
            && let Ok(i) = self.find(r)
        {
            return insert_range(&mut self.entries[i].1, lo, hi);
        }
        self.join_entries(other)
    }

    fn leq(&self, other: &Self) -> bool {
        self.subset(other)
    }
}

/// The most dots a context may hold for [`CausalContext::join_few`] to join it dot by dot.
pub(crate) const FEW_DOTS: u64 = 4;

impl CausalContext {
    /// Joins `other` into `self` dot by dot when `other` holds at most [`FEW_DOTS`] dots (the
    /// context of a delta that writes one value over one or two, or removes a few), and puts
    /// into `seen` (empty on entry) the dots of `other` that `self` held already. Returns
    /// whether `self` changed; `None`, with nothing touched, when `other` holds more dots.
    ///
    /// One search per replica of `other`, then per dot a lookup in that replica's ranges and,
    /// for a new dot, an in-place insert. `seen` is built in order (no search, no shift); it
    /// allocates only when the seen dots span two replicas or two ranges.
    pub(crate) fn join_few(&mut self, other: &CausalContext, seen: &mut CausalContext) -> Option<bool> {
        debug_assert!(seen.is_empty());
        // At most `FEW_DOTS` dots: each range counts its length less one, plus one.
        let mut budget = FEW_DOTS;
        for (_, rs) in &other.entries {
            for &(lo, hi) in rs {
                budget = budget.checked_sub(1)?;
                if hi - lo > budget {
                    return None;
                }
                budget -= hi - lo;
            }
        }
        let mut changed = false;
        for (r, rs) in &other.entries {
            let mine = match self.find(r) {
                Ok(i) => &mut self.entries[i].1,
                Err(i) => {
                    // A replica this side has never seen: every dot of it is new.
                    super::work::add(self.entries.len() - i + 1);
                    self.entries.insert(i, (*r, rs.clone()));
                    changed = true;
                    continue;
                }
            };
            for &(lo, hi) in rs {
                for c in lo..=hi {
                    if ranges_contain(mine, c) {
                        seen.push_last(*r, c);
                    } else {
                        let _ = insert_range(mine, c, c);
                        changed = true;
                    }
                }
            }
        }
        Some(changed)
    }

    /// Adds `(r, c)`, which sorts after every dot of `self`, at the end.
    fn push_last(&mut self, r: ReplicaId, c: u64) {
        match self.entries.last_mut() {
            Some((x, rs)) if *x == r => {
                let _ = insert_range(rs, c, c);
            }
            _ => {
                debug_assert!(self.entries.last().is_none_or(|(x, _)| *x < r));
                self.entries.push((r, Ranges::from_buf([(c, c)])));
            }
        }
    }

    /// [`join_ref`](Lattice::join_ref) in general.
    #[inline(never)]
    fn join_entries(&mut self, other: &Self) -> bool {
        let mut changed = false;
        let mut fresh = false;
        for (r, rs) in &other.entries {
            match self.find(r) {
                Ok(i) => {
                    let mine = &mut self.entries[i].1;
                    if let [(lo, hi)] = rs[..] {
                        // One range (a prefix, or the dots of a delta): merged in place, no new
                        // list.
                        changed |= insert_range(mine, lo, hi);
                        continue;
                    }
                    let merged = union_ranges(mine, rs);
                    if merged != *mine {
                        *mine = merged;
                        changed = true;
                    }
                }
                Err(_) => fresh = true,
            }
        }
        if fresh {
            // The replicas only `other` names, merged in by one pass over both lists.
            let mine = core::mem::take(&mut self.entries);
            super::work::add(mine.len() + other.entries.len());
            let mut out = Entries::with_capacity(mine.len() + other.entries.len());
            let mut theirs = other.entries.iter().peekable();
            for (r, rs) in mine {
                while let Some(e) = theirs.next_if(|(x, _)| *x < r) {
                    out.push(e.clone());
                }
                let _ = theirs.next_if(|(x, _)| *x == r);
                out.push((r, rs));
            }
            out.extend(theirs.cloned());
            self.entries = out;
            changed = true;
        }
        changed
    }
}

impl FromIterator<Dot> for CausalContext {
    /// The context holding exactly the given dots. `O(n log n)` in any order: the dots are sorted
    /// first, then each replica's ranges are built left to right (never shifted).
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut dots: Vec<Dot> = iter.into_iter().collect();
        dots.sort_unstable_by(|a, b| {
            super::work::add(1);
            a.cmp(b)
        });
        super::work::add(dots.len());
        let mut entries = Entries::new();
        for d in dots {
            let n = d.counter();
            match entries.last_mut() {
                Some((r, rs)) if *r == d.replica() => match rs.last_mut() {
                    Some(last) if n <= last.1 => {}
                    Some(last) if n == last.1 + 1 => last.1 = n,
                    _ => rs.push((n, n)),
                },
                _ => {
                    let mut rs = Ranges::new();
                    rs.push((n, n));
                    entries.push((d.replica(), rs));
                }
            }
        }
        CausalContext { entries }
    }
}

impl Extend<Dot> for CausalContext {
    /// `O(n log n + r + g)`: the dots are sorted into a context first, then joined.
    fn extend<I: IntoIterator<Item = Dot>>(&mut self, iter: I) {
        let more: CausalContext = iter.into_iter().collect();
        self.join_ref(&more);
    }
}

/// Shaped like the domain: `{r1:1..=3, r2:1, r2:5}`.
impl fmt::Debug for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        let mut first = true;
        for (r, rs) in &self.entries {
            for &(lo, hi) in rs {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                if lo == hi {
                    write!(f, "{r:?}:{lo}")?;
                } else {
                    write!(f, "{r:?}:{lo}..={hi}")?;
                }
            }
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;

    use super::*;

    fn naive(rs: &[(u64, u64)]) -> alloc::collections::BTreeSet<u64> {
        rs.iter().flat_map(|&(a, b)| a..=b).collect()
    }

    #[test]
    fn range_ops_match_naive_sets() {
        // Exhaustive over small canonical range lists built from bitmasks of 1..=8.
        let lists: Vec<Ranges> = (0u32..256)
            .map(|m| {
                let mut rs = Ranges::new();
                for n in 1..=8u64 {
                    if m & (1 << (n - 1)) != 0 {
                        insert_range(&mut rs, n, n);
                    }
                }
                rs
            })
            .collect();
        for a in &lists {
            assert!(ranges_canonical(a));
            for b in &lists {
                let u = union_ranges(a, b);
                assert!(ranges_canonical(&u));
                assert_eq!(naive(&u), naive(a).union(&naive(b)).copied().collect());
                let d = diff_ranges(a, b);
                assert!(ranges_canonical(&d), "{a:?} - {b:?} = {d:?}");
                if let [(lo, hi)] = b[..] {
                    let mut x = a.clone();
                    let new = insert_range(&mut x, lo, hi);
                    assert_eq!(x, u, "{a:?} + {lo}..={hi} in place");
                    assert_eq!(new, u != *a, "{a:?} + {lo}..={hi}: whether a dot was new");
                }
                assert_eq!(naive(&d), naive(a).difference(&naive(b)).copied().collect());
            }
        }
    }

    /// The in-place union of one range at the top of the counter space (no `+ 1` overflows).
    #[test]
    fn insert_range_at_the_top_of_the_counter_space() {
        let m = u64::MAX;
        for (a, (lo, hi)) in [
            (&[(1, 3), (m - 1, m)][..], (m, m)),
            (&[(1, 3), (m - 1, m)][..], (5, m - 2)),
            (&[(1, 3), (m - 1, m)][..], (4, m)),
            (&[(1, 3)][..], (m, m)),
            (&[(m, m)][..], (1, m - 1)),
            (&[(2, 2), (m, m)][..], (1, 1)),
        ] {
            let mut x: Ranges = a.iter().copied().collect();
            let new = insert_range(&mut x, lo, hi);
            let u = union_ranges(a, &[(lo, hi)]);
            assert_eq!(x, u, "{a:?} + {lo}..={hi}");
            assert!(ranges_canonical(&x));
            assert_eq!(new, u.as_slice() != a);
        }
    }

    /// The dot-by-dot join of a small context against the general join, on random pairs of
    /// contexts over three replicas with gaps: the same union, the same changed flag, and as
    /// `seen` exactly the dots of the other that this one held (the intersection); `None`, with
    /// nothing touched, above `FEW_DOTS`.
    #[test]
    fn join_few_matches_the_general_join() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        let mut g = SmallRng::seed_from_u64(3);
        let mut random = |most: usize| -> CausalContext {
            let n = g.gen_range(0..=most);
            (0..n).map(|_| Dot::test(g.gen_range(1..=3), g.gen_range(1..=7))).collect()
        };
        let (mut few, mut many) = (0, 0);
        for _ in 0..50_000 {
            let (a, b) = (random(12), random(6));
            let mut general = a.clone();
            let changed = general.join_entries(&b);
            let mut fast = a.clone();
            let mut seen = CausalContext::new();
            match fast.join_few(&b, &mut seen) {
                Some(c) => {
                    few += 1;
                    assert_eq!(fast, general, "{a:?} + {b:?}");
                    assert_eq!(c, changed, "{a:?} + {b:?}");
                    assert_eq!(seen, a.intersection(&b), "{a:?} + {b:?}");
                    assert!(fast.entries.iter().all(|(_, rs)| ranges_canonical(rs)));
                }
                None => {
                    many += 1;
                    assert!(b.dot_count() > FEW_DOTS);
                    assert_eq!(fast, a);
                }
            }
        }
        assert!(few > 1000 && many > 1000, "{few} {many}");
    }

    #[test]
    fn remove_splits_and_stays_canonical() {
        let mut c = CausalContext::new();
        for n in 1..=5 {
            c.insert(Dot::test(1, n));
        }
        assert!(c.remove(&Dot::test(1, 3)));
        assert_eq!(format!("{c:?}"), "{r1:1..=2, r1:4..=5}");
        assert!(!c.remove(&Dot::test(1, 3)));
        for n in [1, 2, 4, 5] {
            assert!(c.remove(&Dot::test(1, n)));
        }
        assert!(c.is_empty());
        assert_eq!(c, CausalContext::new());
    }
}
