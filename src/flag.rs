//! The enable-wins flag and its store, the plain dot set.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use crate::causal::{Causal, CausalContext, Dot, DotLog, DotStore, Handle, Nested, ReplicaId};
use crate::macros::causal_newtype;

/// A set of dots without payload: the store of an [`EwFlag`] (each live dot is one "enable" that
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
    /// # use convergent::DotSet;
    /// assert!(DotSet::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    /// The number of dots.
    ///
    /// ```
    /// # use convergent::DotSet;
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
        let mut changed = false;
        // Mine that the other side saw and dropped: removed.
        self.dots.retain(|d| {
            let keep = !other_ctx.contains(d) || other.dots.binary_search(d).is_ok();
            if !keep {
                log.removed(*d);
                changed = true;
            }
            keep
        });
        // Theirs that I have never seen: new.
        for d in &other.dots {
            if !ctx.contains(d) && self.insert(*d) {
                log.added(*d);
                changed = true;
            }
        }
        changed
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(&Dot) -> bool) {
        self.dots.retain(|d| keep(d));
    }
}

impl fmt::Debug for DotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.dots.iter()).finish()
    }
}

/// Delta mutators of a dot set, usable at the top level ([`EwFlag`]) and inside an
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

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use super::{DotSet, EwFlag};
    use crate::Error;
    use crate::wire::{Decode, DecodeCx, ReplicaTable, WireDot, WireStore};

    impl WireStore for DotSet {
        type Wire = Vec<WireDot>;

        fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
            // Dots sort by (replica, counter) and the table is in replica order: already sorted.
            self.dots.iter().map(|d| table.dot(d)).collect()
        }

        fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
            cx.check_len("dot set", wire.len(), cx.limits.max_dots)?;
            let dots = wire.into_iter().map(|w| table.resolve(w, cx)).collect::<Result<Vec<_>, _>>()?;
            if let Some(w) = dots.windows(2).find(|w| w[0] >= w[1]) {
                return Err(if w[0] == w[1] {
                    Error::DuplicateDot { dot: w[0] }
                } else {
                    Error::NotCanonical { field: "dot set" }
                });
            }
            Ok(DotSet::from_sorted(dots).expect("checked sorted"))
        }
    }

    impl serde::Serialize for EwFlag {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.inner.serialize(s)
        }
    }

    impl<'de> serde::Deserialize<'de> for EwFlag {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            crate::Causal::deserialize(d).map(|inner| EwFlag { inner })
        }
    }

    /// A causal pair: context, then the live dots in dot order.
    impl Decode for EwFlag {
        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            crate::Causal::decode_body(body, cx).map(|inner| EwFlag { inner })
        }
    }
}
