//! The positive-negative counter.

use alloc::vec::Vec;
use core::fmt;

use super::GCounter;
use super::gcounter::EntriesDebug;
use crate::causal::ReplicaId;
use crate::lattice::{Decompose, Lattice};

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
    pub(super) p: GCounter,
    pub(super) n: GCounter,
}

impl PnCounter {
    /// The counter at zero (the bottom element). `O(1)`, no allocation.
    ///
    /// ```
    /// # use convergent::PnCounter;
    /// assert_eq!(PnCounter::new().value(), 0);
    /// ```
    #[must_use]
    #[inline]
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
    #[inline]
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
    #[inline]
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
    #[inline]
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

/// Inside an [`OrMap`](crate::OrMap) a PN-Counter lives as a [`PnCounterStore`](crate::PnCounterStore).
impl crate::Nested for PnCounter {
    type Store = crate::PnCounterStore;
}

/// Both halves' invariants (each a [`GCounter`]).
impl crate::causal::CheckInvariants for PnCounter {
    fn check_invariants(&self) -> Result<(), &'static str> {
        crate::causal::CheckInvariants::check_invariants(&self.p)?;
        crate::causal::CheckInvariants::check_invariants(&self.n)
    }
}
