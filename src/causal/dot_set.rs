//! The dot set: a set of dots without payload, the store of an enable-wins flag.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use super::{CausalContext, Dot, DotLog, DotStore, Handle};
#[cfg(feature = "serde")]
use crate::error::Error;
#[cfg(feature = "serde")]
use crate::wire::{DecodeCx, ReplicaTable, WireDot, WireStore};

/// A set of dots without payload: the store of an [`EwFlag`](crate::EwFlag) (each live dot is one "enable" that
/// no "disable" has observed yet).
///
/// # Example
///
/// ```
/// use convergent::{EwFlag, ReplicaId};
///
/// let mut f = EwFlag::new();
/// let _ = f.enable(ReplicaId::from_u128(1));
/// assert_eq!(f.as_causal().store().dot_count(), 1);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct DotSet {
    /// Sorted, no duplicates.
    dots: SmallVec<[Dot; 1]>,
}

impl DotSet {
    /// Whether the set holds no dot.
    ///
    /// ```
    /// # use convergent::causal::DotSet;
    /// assert!(DotSet::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    /// Whether a flag stored as this set is enabled (some enable is live), as
    /// [`EwFlag::is_enabled`](crate::EwFlag::is_enabled). `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, OrMap, ReplicaId};
    /// let mut m: OrMap<&str, EwFlag> = OrMap::new();
    /// let _ = m.update(ReplicaId::from_u128(1), "dark mode", |f| f.enable());
    /// assert!(m.get("dark mode").unwrap().is_enabled());
    /// ```
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        !self.dots.is_empty()
    }

    /// The number of dots.
    ///
    /// ```
    /// # use convergent::causal::DotSet;
    /// assert_eq!(DotSet::default().dot_count(), 0);
    /// ```
    #[must_use]
    pub fn dot_count(&self) -> usize {
        self.dots.len()
    }

    /// Iterates the dots in order.
    ///
    /// ```
    /// # use convergent::{EwFlag, ReplicaId};
    /// let mut f = EwFlag::new();
    /// let _ = f.enable(ReplicaId::from_u128(1));
    /// assert_eq!(f.as_causal().store().iter().count(), 1);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Dot> + '_ {
        self.dots.iter()
    }

    pub(crate) fn insert(&mut self, d: Dot) -> bool {
        match self.dots.binary_search(&d) {
            Ok(_) => false,
            Err(i) => {
                super::work::add(self.dots.len() - i + 1);
                self.dots.insert(i, d);
                true
            }
        }
    }

    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn from_sorted(dots: Vec<Dot>) -> Option<Self> {
        dots.windows(2).all(|w| w[0] < w[1]).then(|| DotSet { dots: SmallVec::from_vec(dots) })
    }
}

impl super::sealed::Sealed for DotSet {}

impl DotStore for DotSet {
    fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    fn dot_count(&self) -> usize {
        self.dots.len()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.dots.iter().for_each(|d| f(*d));
    }

    fn contains_dot(&self, dot: &Dot) -> bool {
        self.dots.binary_search(dot).is_ok()
    }

    fn join_store(
        &mut self,
        ctx: &CausalContext,
        other: &Self,
        other_ctx: &CausalContext,
        log: &mut DotLog,
    ) -> bool {
        // One merge of the two sorted runs: `O(self + other)` lookups in the contexts, in any
        // order of arrival (inserting the other's dots one at a time would shift the vector once
        // per dot: quadratic when they sort before mine).
        let mut changed = false;
        let mut out: SmallVec<[Dot; 1]> = SmallVec::with_capacity(self.dots.len().max(other.dots.len()));
        let mine = core::mem::take(&mut self.dots);
        let (mut i, mut j) = (0, 0);
        while i < mine.len() || j < other.dots.len() {
            let (a, b) = (mine.get(i), other.dots.get(j));
            match (a, b) {
                (Some(x), Some(y)) if x == y => {
                    out.push(*x);
                    i += 1;
                    j += 1;
                }
                (Some(x), y) if y.is_none_or(|y| x < y) => {
                    // Mine that the other side saw and dropped: removed.
                    if other_ctx.contains(x) {
                        log.removed(*x);
                        changed = true;
                    } else {
                        out.push(*x);
                    }
                    i += 1;
                }
                (_, Some(y)) => {
                    // Theirs that I have never seen: new.
                    if !ctx.contains(y) {
                        log.added(*y);
                        out.push(*y);
                        changed = true;
                    }
                    j += 1;
                }
                (_, None) => unreachable!("one side is not exhausted"),
            }
        }
        super::work::add(mine.len() + other.dots.len());
        self.dots = out;
        changed
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        self.dots.retain(|d| keep(d));
    }

    fn select_dots(&self, dots: &mut dyn Iterator<Item = Dot>) -> Self {
        let mut out: SmallVec<[Dot; 1]> = dots.filter(|d| self.dots.binary_search(d).is_ok()).collect();
        out.sort_unstable();
        out.dedup();
        DotSet { dots: out }
    }
}

impl fmt::Debug for DotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.dots.iter()).finish()
    }
}

/// Delta mutators of a dot set, usable at the top level ([`EwFlag`](crate::EwFlag)) and inside an
/// [`OrMap`](crate::OrMap).
impl Handle<'_, DotSet> {
    /// Enables the flag: one new dot replaces every dot this replica has seen.
    /// Delta: `({d}, {d} ∪ old dots)`. `O(old dots)`.
    pub fn enable(&mut self) {
        let old: SmallVec<[Dot; 2]> = self.store.dots.drain(..).collect();
        for d in old {
            self.forget(d);
        }
        let d = self.mint();
        self.store.insert(d);
        self.dstore.dots.clear();
        self.dstore.insert(d);
    }

    /// Disables the flag: removes exactly the enables this replica has seen.
    /// Delta: `(∅, old dots)`; empty if the flag was already off. `O(old dots)`.
    pub fn disable(&mut self) {
        let old: SmallVec<[Dot; 2]> = self.store.dots.drain(..).collect();
        for d in old {
            self.forget(d);
            // A dot this same mutation enabled is no longer in the delta's store either.
            self.dstore.dots.retain(|x| *x != d);
        }
    }

    /// Whether the flag is on.
    pub fn is_enabled(&self) -> bool {
        !self.store.is_empty()
    }
}

#[cfg(feature = "serde")]
impl WireStore for DotSet {
    type Wire = Vec<WireDot>;

    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
        // Dots sort by (replica, counter) and the table is in replica order: already sorted.
        self.dots.iter().map(|d| table.dot(d)).collect()
    }

    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        cx.check_len("dot-set", wire.len(), cx.limits.max_dots)?;
        let dots = wire.into_iter().map(|w| table.resolve(w, cx)).collect::<Result<Vec<_>, _>>()?;
        if let Some(w) = dots.windows(2).find(|w| w[0] >= w[1]) {
            return Err(if w[0] == w[1] {
                Error::DuplicateDot { dot: w[0] }
            } else {
                Error::NotCanonical { field: "dot-set" }
            });
        }
        Ok(DotSet::from_sorted(dots).expect("checked sorted"))
    }
}
