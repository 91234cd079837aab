//! The [`Lattice`] trait: the one abstraction every type of this crate shares.
//!
//! A state-based CRDT is a join-semilattice (Almeida, Shoker and Baquero, *Delta State Replicated
//! Data Types*, JPDC 2018, section 2): [`Lattice::join`] is commutative, associative and
//! idempotent, and [`Lattice::bottom`] is its identity. Whatever order, grouping or number of times
//! replicas receive each other's states, they end in the same place.
//!
//! Delta mutators (section 3 of the same paper) return a *delta*: a small value of the same
//! lattice such that `state.joined(delta)` is the mutated state. A delta is merged with the same
//! `join` as a full state, and the join of several deltas (a delta-group) is again a delta.

/// A join-semilattice with a bottom element.
///
/// Laws, checked for every type of this crate by the generic tests in `tests/laws.rs`:
///
/// * `a ⊔ b == b ⊔ a` (commutative), `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)` (associative),
///   `a ⊔ a == a` (idempotent), `⊥ ⊔ a == a` (bottom is the identity);
/// * `a.leq(b)` if and only if `a ⊔ b == b`;
/// * [`join`](Lattice::join) and [`join_ref`](Lattice::join_ref) return `true` exactly when
///   `self` changed.
///
/// # Example
///
/// ```
/// use convergent::{GCounter, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = GCounter::new();
/// let mut y = GCounter::new();
/// let _ = x.increment(a, 2);
/// let _ = y.increment(b, 3);
///
/// assert!(x.join_ref(&y)); // by reference: `y` is untouched, `x` changed
/// assert!(!x.join_ref(&y)); // idempotent: nothing new the second time
/// assert_eq!(x.value(), 5);
/// assert!(y.leq(&x));
/// assert_eq!(GCounter::bottom().joined(y.clone()), y);
/// ```
pub trait Lattice: Sized {
    /// The least element: the identity of [`join`](Lattice::join), the state of a new replica.
    fn bottom() -> Self;

    /// Whether `self` is the bottom element.
    fn is_bottom(&self) -> bool;

    /// Joins `other` into `self`, reading `other` by reference; returns whether `self` changed.
    ///
    /// Cost: linear in the size of `other` for every type of this crate (never in the size of
    /// `self` beyond a logarithmic or constant factor per entry of `other`), so that joining a
    /// small delta into a large state is cheap.
    fn join_ref(&mut self, other: &Self) -> bool;

    /// Joins `other` into `self`, consuming it (types may reuse its allocations); returns whether
    /// `self` changed.
    fn join(&mut self, other: Self) -> bool {
        self.join_ref(&other)
    }

    /// The join of `self` and `other`, by value: `a.joined(b)` is `a ⊔ b`.
    #[must_use]
    fn joined(mut self, other: Self) -> Self {
        self.join(other);
        self
    }

    /// The partial order of the lattice: `self ≤ other` if and only if `self ⊔ other == other`.
    ///
    /// The provided implementation clones `other`; types of this crate override it with a
    /// direct comparison.
    fn leq(&self, other: &Self) -> bool
    where
        Self: Clone,
    {
        let mut o = other.clone();
        !o.join_ref(self)
    }
}

/// Joins an iterator of values (for example a batch of deltas) into one: their least upper bound.
///
/// # Example
///
/// ```
/// use convergent::{lattice::join_all, GCounter, ReplicaId};
///
/// let r = ReplicaId::from_u128(7);
/// let mut c = GCounter::new();
/// let deltas = vec![c.increment(r, 1), c.increment(r, 1), c.increment(r, 1)];
/// let group = join_all(deltas);
/// assert_eq!(group, c);
/// ```
pub fn join_all<L: Lattice, I: IntoIterator<Item = L>>(items: I) -> L {
    let mut acc = L::bottom();
    for x in items {
        acc.join(x);
    }
    acc
}
