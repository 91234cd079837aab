//! The enable-wins flag and its store, the plain dot set.

use core::fmt;

use crate::causal::{Causal, DotSet, Nested, ReplicaId};
use crate::macros::causal_newtype;

/// An enable-wins flag: a boolean where a concurrent enable and disable resolve to *enabled*.
///
/// A disable removes exactly the enables it observed; an enable concurrent with it survives.
/// State `O(concurrent enablers)`; each mutator's delta is one dot plus the dots it replaces.
///
/// # Example
///
/// ```
/// use convergent::{EwFlag, Lattice, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = EwFlag::new();
/// let _ = x.enable(a);
/// let mut y = x.clone();
/// let _ = x.disable(a); // a turns it off...
/// let _ = y.enable(b); // ...while b concurrently turns it on
/// x.join_ref(&y);
/// assert!(x.is_enabled()); // enable wins
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EwFlag {
    inner: Causal<DotSet>,
}

causal_newtype!([] EwFlag => DotSet);

impl Nested for EwFlag {
    type Store = DotSet;
}

impl EwFlag {
    /// A disabled flag that has seen nothing.
    ///
    /// ```
    /// # use convergent::EwFlag;
    /// assert!(!EwFlag::new().is_enabled());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the flag is on (some enable not observed by a disable).
    ///
    /// ```
    /// # use convergent::{EwFlag, ReplicaId};
    /// let mut f = EwFlag::new();
    /// let _ = f.enable(ReplicaId::from_u128(1));
    /// assert!(f.is_enabled());
    /// ```
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        !self.inner.store.is_empty()
    }

    /// Turns the flag on; returns the delta. `O(concurrent enablers)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, Lattice, ReplicaId};
    /// let mut f = EwFlag::new();
    /// let before = f.clone();
    /// let d = f.enable(ReplicaId::from_u128(1));
    /// assert_eq!(before.joined(d), f);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn enable(&mut self, replica: ReplicaId) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.enable()).0 }
    }

    /// Turns the flag off, removing the enables it has seen; returns the delta (empty if it was
    /// already off).
    ///
    /// ```
    /// # use convergent::{EwFlag, Lattice, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut f = EwFlag::new();
    /// let _ = f.enable(r);
    /// let d = f.disable(r);
    /// assert!(!f.is_enabled());
    /// assert!(d.as_causal().store().is_empty());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn disable(&mut self, replica: ReplicaId) -> Self {
        Self { inner: self.inner.mutate(replica, |h| h.disable()).0 }
    }
}

/// Shaped like the domain: `EwFlag(true)`.
impl fmt::Debug for EwFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EwFlag").field(&self.is_enabled()).finish()
    }
}
