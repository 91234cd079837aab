//! Internal consistency checks of causal states, for tests and fuzzing.

use super::{Causal, CausalContext, DotSet, DotStore, ranges_canonical};

/// Internal consistency checks, for tests and fuzzing (yours and ours).
///
/// Every state or delta this crate builds passes; a failure is a bug in the crate (or a value
/// built by hand from invalid parts). Costs `O(size)`.
///
/// Checks: dot stores are sorted and hold no dot twice; maps hold no empty value and their
/// `dot -> key` index is exact; a causal pair's context is canonical and holds every live dot.
///
/// # Example
///
/// ```
/// use convergent::{MvRegister, OrMap, ReplicaId, causal::CheckInvariants};
///
/// let mut m: OrMap<u8, OrMap<u8, MvRegister<u8>>> = OrMap::new();
/// let (d, _) = m.update(ReplicaId::from_u128(1), 0, |inner| inner.update(1, |r| r.write(2)));
/// assert_eq!(m.check_invariants(), Ok(()));
/// assert_eq!(d.check_invariants(), Ok(()));
/// ```
#[doc(hidden)]
pub trait CheckInvariants {
    /// `Ok(())`, or what is broken.
    ///
    /// # Errors
    ///
    /// A description of the first broken invariant found.
    fn check_invariants(&self) -> Result<(), &'static str>;
}

impl CheckInvariants for DotSet {
    fn check_invariants(&self) -> Result<(), &'static str> {
        if self.iter().zip(self.iter().skip(1)).all(|(a, b)| a < b) {
            Ok(())
        } else {
            Err("dot set: dots not strictly sorted")
        }
    }
}

impl CheckInvariants for CausalContext {
    fn check_invariants(&self) -> Result<(), &'static str> {
        let mut prev = None;
        for (r, rs) in self.ranges() {
            if prev.is_some_and(|p| p >= r) {
                return Err("context: replicas not strictly sorted");
            }
            prev = Some(r);
            if rs.is_empty() || !ranges_canonical(rs) {
                return Err("context: ranges not canonical");
            }
        }
        Ok(())
    }
}

impl<S: DotStore + CheckInvariants> CheckInvariants for Causal<S> {
    fn check_invariants(&self) -> Result<(), &'static str> {
        self.context.check_invariants()?;
        self.store.check_invariants()?;
        if self.store_within_context() { Ok(()) } else { Err("causal: a live dot is outside the context") }
    }
}
