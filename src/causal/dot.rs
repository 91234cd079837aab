//! Dots: unique names of events.

use core::fmt;
use core::num::NonZeroU64;

use super::ReplicaId;

/// One event of one replica: `(replica, n)` with `n >= 1`, the replica's `n`-th event.
///
/// Dots are opaque: the only way to create one outside this crate is
/// [`CausalContext::next_dot`](crate::CausalContext::next_dot), which hands out the next unused
/// number of a replica and records it. That makes every dot unique, which is what lets an
/// observed-remove set remove exactly what it saw.
///
/// # Example
///
/// ```
/// use convergent::{CausalContext, ReplicaId};
///
/// let r = ReplicaId::from_u128(1);
/// let mut ctx = CausalContext::new();
/// let d = ctx.next_dot(r);
/// assert_eq!((d.replica(), d.counter()), (r, 1));
/// assert_eq!(format!("{d:?}"), "r1:1");
/// assert!(ctx.contains(&d));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    replica: ReplicaId,
    counter: NonZeroU64,
}

impl Dot {
    /// A dot from its parts; `None` if `counter` is 0. Crate-internal: dots are minted by contexts.
    pub(crate) fn new(replica: ReplicaId, counter: u64) -> Option<Dot> {
        NonZeroU64::new(counter).map(|counter| Dot { replica, counter })
    }

    /// A dot for tests and fuzzing of this crate. Panics if `counter` is 0.
    #[cfg(test)]
    pub(crate) fn test(replica: u128, counter: u64) -> Dot {
        Dot::new(ReplicaId::from_u128(replica), counter).expect("counter >= 1")
    }

    /// The replica that made the event.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(3);
    /// assert_eq!(CausalContext::new().next_dot(r).replica(), r);
    /// ```
    #[must_use]
    pub const fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The event's number at its replica, at least 1.
    ///
    /// ```
    /// # use convergent::{CausalContext, ReplicaId};
    /// let r = ReplicaId::from_u128(3);
    /// let mut ctx = CausalContext::new();
    /// let _ = ctx.next_dot(r);
    /// assert_eq!(ctx.next_dot(r).counter(), 2);
    /// ```
    #[must_use]
    pub const fn counter(&self) -> u64 {
        self.counter.get()
    }
}

impl fmt::Debug for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:{}", self.replica, self.counter)
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
