//! Version vectors.

use alloc::vec::Vec;
use core::fmt;

use super::{Dot, ReplicaId};
use crate::Lattice;

/// A map from replica to a count, joined by pointwise maximum: the contiguous prefix of events
/// `1..=n` seen from each replica.
///
/// Stored as a vector sorted by replica with no zero entries (canonical: equal vectors are
/// structurally equal). `get` is `O(log r)`, [`join_ref`](Lattice::join_ref) `O(r)` over both.
///
/// # Example
///
/// ```
/// use convergent::{Lattice, ReplicaId, causal::VersionVector};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = VersionVector::new();
/// x.raise(a, 3);
/// let mut y = VersionVector::new();
/// y.raise(a, 1);
/// y.raise(b, 2);
/// x.join_ref(&y);
/// assert_eq!((x.get(a), x.get(b)), (3, 2));
/// assert_eq!(format!("{x:?}"), "{r1: 3, r2: 2}");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct VersionVector {
    entries: Vec<(ReplicaId, u64)>,
}

impl VersionVector {
    /// The empty vector (every count 0).
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::VersionVector};
    /// assert_eq!(VersionVector::new().get(ReplicaId::from_u128(1)), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        VersionVector { entries: Vec::new() }
    }

    /// The count of `replica` (0 if absent). `O(log r)`.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::VersionVector};
    /// let mut v = VersionVector::new();
    /// v.raise(ReplicaId::from_u128(1), 4);
    /// assert_eq!(v.get(ReplicaId::from_u128(1)), 4);
    /// ```
    #[must_use]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        match self.entries.binary_search_by(|(r, _)| r.cmp(&replica)) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    /// Raises the count of `replica` to at least `n`; returns whether it changed.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::VersionVector};
    /// let r = ReplicaId::from_u128(1);
    /// let mut v = VersionVector::new();
    /// assert!(v.raise(r, 4));
    /// assert!(!v.raise(r, 2));
    /// assert_eq!(v.get(r), 4);
    /// ```
    pub fn raise(&mut self, replica: ReplicaId, n: u64) -> bool {
        if n == 0 {
            return false;
        }
        match self.entries.binary_search_by(|(r, _)| r.cmp(&replica)) {
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

    /// Whether the vector covers `dot` (its number is at most the replica's count).
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let mut c = CausalContext::new();
    /// let d = c.next_dot(ReplicaId::from_u128(1));
    /// assert!(c.version_vector().contains(&d));
    /// ```
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        self.get(dot.replica()) >= dot.counter()
    }

    /// The number of replicas with a non-zero count.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::VersionVector};
    /// let mut v = VersionVector::new();
    /// v.raise(ReplicaId::from_u128(9), 1);
    /// assert_eq!(v.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every count is 0.
    ///
    /// ```
    /// # use convergent::causal::VersionVector;
    /// assert!(VersionVector::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates `(replica, count)` in replica order.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::VersionVector};
    /// let mut v = VersionVector::new();
    /// v.raise(ReplicaId::from_u128(1), 2);
    /// assert_eq!(v.iter().collect::<Vec<_>>(), vec![(ReplicaId::from_u128(1), 2)]);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ReplicaId, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// Builds a vector from entries, checking they are canonical (strictly increasing replicas,
    /// no zero count). Used by decoders.
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn from_canonical_parts(entries: Vec<(ReplicaId, u64)>) -> Option<Self> {
        let sorted = entries.windows(2).all(|w| w[0].0 < w[1].0);
        (sorted && entries.iter().all(|&(_, n)| n > 0)).then_some(VersionVector { entries })
    }
}

impl Lattice for VersionVector {
    fn bottom() -> Self {
        VersionVector::new()
    }

    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pointwise maximum, `O(r)` over both operands.
    fn join_ref(&mut self, other: &Self) -> bool {
        let mut changed = false;
        for &(r, n) in &other.entries {
            changed |= self.raise(r, n);
        }
        changed
    }

    fn leq(&self, other: &Self) -> bool {
        self.entries.iter().all(|&(r, n)| other.get(r) >= n)
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    /// The join of the given entries.
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut v = VersionVector::new();
        for (r, n) in iter {
            v.raise(r, n);
        }
        v
    }
}

/// Shaped like the domain: `{r1: 3, r2: 2}`.
impl fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(r, n)| (r, n))).finish()
    }
}
