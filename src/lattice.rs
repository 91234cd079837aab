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
//!
//! [`Decompose`] splits a state into join-irreducibles and computes optimal deltas.

use alloc::vec::Vec;

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

    /// Joins an iterator of values (for example a batch of deltas) into one: their least upper
    /// bound, bottom for none. `O(sum of the joins)`.
    ///
    /// ```
    /// use convergent::{GCounter, Lattice, ReplicaId};
    ///
    /// let r = ReplicaId::from_u128(7);
    /// let mut c = GCounter::new();
    /// let deltas = vec![c.increment(r, 1), c.increment(r, 1), c.increment(r, 1)];
    /// assert_eq!(GCounter::join_all(deltas), c);
    /// ```
    #[must_use]
    fn join_all<I: IntoIterator<Item = Self>>(items: I) -> Self {
        let mut acc = Self::bottom();
        for x in items {
            acc.join(x);
        }
        acc
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

/// Join decomposition and optimal deltas (Enes et al., ICDE 2019, section III).
///
/// Every state is the join of a unique set of *join-irreducible* states; the optimal delta
/// `a.delta(b)` is the join of the irreducibles of `a` that are not below `b`: the smallest state
/// `d` with `d ⊔ b == a ⊔ b`.
///
/// For causal types the irreducibles are `({d: payload}, {d})` for each live dot and `(⊥, {d})`
/// for each seen-but-removed dot: removed dots are never cut as redundant, so removes survive
/// every optimisation.
///
/// # Your own lattice
///
/// Every method has a default, so a lattice of your own goes through the
/// [`SyncEngine`](crate::sync::SyncEngine) with an empty `impl Decompose for MyType {}` (plus
/// an empty [`Receive`](crate::Receive) impl for receipt, and serde for the wire): the engine
/// then ships whole states where a finer decomposition would ship parts, but it converges the
/// same. See `examples/own_lattice.rs`.
///
/// # Example
///
/// ```
/// use convergent::{Decompose, GCounter, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = GCounter::new();
/// let _ = x.increment(a, 5);
/// let mut y = x.clone();
/// let _ = y.increment(b, 1);
/// let d = y.delta(&x); // what x lacks of y: b's entry only
/// assert_eq!(d.irreducible_count(), 1);
/// assert_eq!(x.clone().joined(d), x.joined(y));
/// ```
pub trait Decompose: Lattice + Clone {
    /// The irredundant decomposition: irreducibles whose join is `self`, none below another.
    ///
    /// The default treats the whole state as one irreducible: `[]` for bottom, `[self]`
    /// otherwise. Correct for every lattice (the join of the result is `self`), only coarser.
    fn decompose(&self) -> Vec<Self> {
        if self.is_bottom() { Vec::new() } else { alloc::vec![self.clone()] }
    }

    /// The number of irreducibles of [`decompose`](Self::decompose), without building them.
    ///
    /// The default counts the default [`decompose`](Self::decompose): 0 for bottom, 1 otherwise.
    fn irreducible_count(&self) -> usize {
        usize::from(!self.is_bottom())
    }

    /// The optimal delta: the smallest `d` with `d ⊔ other == self ⊔ other`. Cost follows `self`.
    ///
    /// The default is bottom when `self ≤ other` (nothing new) and `self` otherwise: a valid
    /// delta (`self ⊔ other` is reached), not the smallest one.
    #[must_use]
    fn delta(&self, other: &Self) -> Self {
        if self.leq(other) { Self::bottom() } else { self.clone() }
    }
}
