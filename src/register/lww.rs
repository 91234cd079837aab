//! The last-writer-wins register (Almeida, Shoker and Baquero, *Delta State Replicated Data
//! Types*, JPDC 2018, section 4.4; hybrid logical clocks from Kulkarni et al., 2014).
//!
//! A register holds at most one write `(timestamp, replica, value)`. Writes are totally ordered by
//! timestamp, then by the writing replica's id, then by the value itself, and join keeps the
//! greatest: the lattice is a chain, so join is commutative, associative and idempotent even on
//! equal timestamps. The last step matters: a replica that issues two different values under one
//! `(timestamp, replica)` (a reused clock, a restored backup, a faulty peer) would otherwise make the
//! result depend on the order of delivery (the bug of a strict `>` comparison).

use alloc::vec::Vec;
use core::fmt;

use crate::causal::ReplicaId;
use crate::clock::{HybridClock, Timestamp};
use crate::error::Error;
use crate::lattice::Decompose;
use crate::lattice::Lattice;

/// A last-writer-wins register: the value of the write with the greatest
/// `(timestamp, replica, value)`.
///
/// State and every delta `O(1)` (one value). The value type needs [`Ord`] for the lattice
/// operations, so that two different values under the same `(timestamp, replica)` resolve the same
/// way on every replica; that `Ord` must be consistent with `Eq` (floats need a wrapper with a total
/// order). The struct itself has no bounds.
///
/// Use [`write_with`](Self::write_with) and a [`HybridClock`] per replica: its timestamps
/// increase strictly even when the wall clock steps back. Receivers should refuse registers whose
/// timestamp is far ahead of their own clock ([`check_skew`](Self::check_skew)): a far-future write
/// would win against everything for as long as it stays in the future.
///
/// # Example
///
/// ```
/// use convergent::{HybridClock, Lattice, LwwRegister, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let (mut ca, mut cb) = (HybridClock::new(), HybridClock::new());
/// let mut x = LwwRegister::new();
/// let mut y = LwwRegister::new();
/// let dx = x.write_with(a, &mut ca, 1_000, "left");
/// let dy = y.write_with(b, &mut cb, 1_000, "right"); // same millisecond: r2 > r1 wins
/// x.join(dy);
/// y.join(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), Some(&"right"));
/// assert_eq!(format!("{x:?}"), r#"LwwRegister("right" @ 1000ms+0 by r2)"#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LwwRegister<T> {
    /// The winning write; `None` is the bottom element (never written).
    pub(super) entry: Option<(Timestamp, ReplicaId, T)>,
}

/// Whether write `(ts, replica, value)` comes after `cur` in the total order of writes:
/// timestamp, then replica, then value. Branches on the first field that differs (the timestamp,
/// nearly always) rather than building an `Ordering` per field.
#[inline]
fn beats<T: Ord>(ts: Timestamp, replica: ReplicaId, value: &T, cur: &(Timestamp, ReplicaId, T)) -> bool {
    if ts != cur.0 {
        ts > cur.0
    } else if replica != cur.1 {
        replica > cur.1
    } else {
        *value > cur.2
    }
}

impl<T> LwwRegister<T> {
    /// A register that was never written (the bottom element). `O(1)`.
    ///
    /// ```
    /// # use convergent::LwwRegister;
    /// assert_eq!(LwwRegister::<u32>::new().value(), None);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        LwwRegister { entry: None }
    }

    /// The current value, `None` if never written. `O(1)`.
    ///
    /// ```
    /// # use convergent::{LwwRegister, ReplicaId, Timestamp};
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(ReplicaId::from_u128(1), Timestamp::from_parts(5, 0), 42);
    /// assert_eq!(reg.value(), Some(&42));
    /// ```
    #[must_use]
    pub fn value(&self) -> Option<&T> {
        self.entry.as_ref().map(|e| &e.2)
    }

    /// The timestamp of the current value, `None` if never written. `O(1)`.
    ///
    /// ```
    /// # use convergent::{LwwRegister, ReplicaId, Timestamp};
    /// let t = Timestamp::from_parts(5, 0);
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(ReplicaId::from_u128(1), t, 'x');
    /// assert_eq!(reg.timestamp(), Some(t));
    /// ```
    #[must_use]
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.entry.as_ref().map(|e| e.0)
    }

    /// The replica that wrote the current value, `None` if never written. `O(1)`.
    ///
    /// ```
    /// # use convergent::{LwwRegister, ReplicaId, Timestamp};
    /// let r = ReplicaId::from_u128(3);
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(r, Timestamp::from_parts(5, 0), 'x');
    /// assert_eq!(reg.writer(), Some(r));
    /// ```
    #[must_use]
    pub fn writer(&self) -> Option<ReplicaId> {
        self.entry.as_ref().map(|e| e.1)
    }

    /// Unwraps the current value. `O(1)`.
    ///
    /// ```
    /// # use convergent::{LwwRegister, ReplicaId, Timestamp};
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(ReplicaId::from_u128(1), Timestamp::from_parts(5, 0), String::from("x"));
    /// assert_eq!(reg.into_value().as_deref(), Some("x"));
    /// ```
    #[must_use]
    pub fn into_value(self) -> Option<T> {
        self.entry.map(|e| e.2)
    }

    /// Checks, on receipt, that the register's timestamp is at most `max_skew_ms` ahead of the
    /// receiver's clock `now_ms` (a never-written register always passes). `O(1)`.
    ///
    /// # Errors
    ///
    /// [`Error::TimestampTooFarAhead`]: refuse the input; joining it would let that write win
    /// against every local write until the wall clock catches up with it.
    /// [`Limits::max_clock_skew_ms`](crate::Limits::max_clock_skew_ms) is a sensible bound.
    ///
    /// ```
    /// # use convergent::{Error, Limits, LwwRegister, ReplicaId, Timestamp};
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(ReplicaId::from_u128(1), Timestamp::from_parts(10_000_000, 0), 1);
    /// let skew = Limits::default().max_clock_skew_ms;
    /// assert!(reg.check_skew(9_900_000, skew).is_ok());
    /// assert!(matches!(reg.check_skew(1_000, skew), Err(Error::TimestampTooFarAhead { .. })));
    /// ```
    pub fn check_skew(&self, now_ms: u64, max_skew_ms: u64) -> Result<(), Error> {
        match self.timestamp() {
            Some(t) => t.check_skew(now_ms, max_skew_ms),
            None => Ok(()),
        }
    }
}

impl<T: Ord + Clone> LwwRegister<T> {
    /// Writes `value` at timestamp `ts` on behalf of `replica`; returns the delta: the whole new
    /// register if the write wins, the bottom element if it loses (an existing write with a
    /// greater or equal `(timestamp, replica, value)` stays, and nothing is sent). `O(1)` plus one
    /// clone of `value` and a comparison of values on a `(timestamp, replica)` tie.
    ///
    /// Prefer [`write_with`](Self::write_with), which picks a timestamp that wins.
    ///
    /// ```
    /// # use convergent::{Lattice, LwwRegister, ReplicaId, Timestamp};
    /// let r = ReplicaId::from_u128(1);
    /// let mut reg = LwwRegister::new();
    /// let d = reg.write(r, Timestamp::from_parts(10, 0), "new");
    /// assert_eq!(d, reg);
    /// let stale = reg.write(r, Timestamp::from_parts(9, 0), "old");
    /// assert!(stale.is_bottom());
    /// assert_eq!(reg.value(), Some(&"new"));
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    #[inline]
    pub fn write(&mut self, replica: ReplicaId, ts: Timestamp, value: T) -> Self {
        match &mut self.entry {
            None => self.entry = Some((ts, replica, value.clone())),
            Some(cur) => {
                if !beats(ts, replica, &value, cur) {
                    return LwwRegister::new();
                }
                // In place: the value's clone reuses the current value's buffer where it can.
                cur.0 = ts;
                cur.1 = replica;
                cur.2.clone_from(&value);
            }
        }
        LwwRegister { entry: Some((ts, replica, value)) }
    }

    /// Writes `value` with a timestamp from `clock` (given the wall time `wall_ms`): the clock
    /// first observes the current timestamp, so the new one is greater and the local write wins
    /// even if the wall clock is behind the current value's. Returns the delta (the whole new
    /// register). `O(1)` plus one clone of `value`.
    ///
    /// The one exception: a clock that reached the largest timestamp (only after accepting one
    /// from the far future, which [`check_skew`](Self::check_skew) exists to refuse) cannot move
    /// past it, and the write then competes on replica and value.
    ///
    /// ```
    /// # use convergent::{HybridClock, LwwRegister, ReplicaId, Timestamp};
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut reg = LwwRegister::new();
    /// let _ = reg.write(b, Timestamp::from_parts(5_000, 0), "remote, clock ahead");
    /// let mut clock = HybridClock::new();
    /// let _ = reg.write_with(a, &mut clock, 1_000, "local, clock behind");
    /// assert_eq!(reg.value(), Some(&"local, clock behind"));
    /// assert_eq!(reg.timestamp(), Some(Timestamp::from_parts(5_000, 1)));
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn write_with(
        &mut self,
        replica: ReplicaId,
        clock: &mut HybridClock,
        wall_ms: u64,
        value: T,
    ) -> Self {
        if let Some(t) = self.timestamp() {
            clock.observe(t);
        }
        let ts = clock.tick(wall_ms);
        self.write(replica, ts, value)
    }
}

impl<T> Default for LwwRegister<T> {
    /// The never-written register.
    fn default() -> Self {
        LwwRegister::new()
    }
}

impl<T: Ord + Clone> Lattice for LwwRegister<T> {
    fn bottom() -> Self {
        LwwRegister::new()
    }

    fn is_bottom(&self) -> bool {
        self.entry.is_none()
    }

    /// Keeps the greater write. `O(1)` plus a clone of `other`'s value when it wins.
    #[inline]
    fn join_ref(&mut self, other: &Self) -> bool {
        match (&self.entry, &other.entry) {
            (_, None) => false,
            (Some(mine), Some(theirs)) if !beats(theirs.0, theirs.1, &theirs.2, mine) => false,
            _ => {
                self.entry.clone_from(&other.entry);
                true
            }
        }
    }

    /// Keeps the greater write without cloning. `O(1)`.
    #[inline]
    fn join(&mut self, other: Self) -> bool {
        let Some(theirs) = other.entry else { return false };
        match &mut self.entry {
            Some(mine) => {
                if !beats(theirs.0, theirs.1, &theirs.2, mine) {
                    return false;
                }
                *mine = theirs;
            }
            None => self.entry = Some(theirs),
        }
        true
    }

    /// `O(1)`: writes form a chain.
    fn leq(&self, other: &Self) -> bool {
        match (&self.entry, &other.entry) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => !beats(a.0, a.1, &a.2, b),
        }
    }
}

/// A written register is join-irreducible; the bottom element decomposes into nothing.
impl<T: Ord + Clone> Decompose for LwwRegister<T> {
    fn decompose(&self) -> Vec<Self> {
        if self.entry.is_some() { alloc::vec![self.clone()] } else { Vec::new() }
    }

    fn irreducible_count(&self) -> usize {
        usize::from(self.entry.is_some())
    }

    /// `self` if it is not below `other`, otherwise bottom. `O(1)` plus a clone.
    fn delta(&self, other: &Self) -> Self {
        if self.leq(other) { LwwRegister::new() } else { self.clone() }
    }
}

/// Shaped like the domain: `LwwRegister("x" @ 1000ms+0 by r2)`, or `LwwRegister(None)`.
impl<T: fmt::Debug> fmt::Debug for LwwRegister<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            None => f.write_str("LwwRegister(None)"),
            Some((ts, r, v)) => {
                f.write_str("LwwRegister(")?;
                v.fmt(f)?;
                write!(f, " @ {ts:?} by {r})")
            }
        }
    }
}

/// Inside an [`OrMap`](crate::OrMap) an LWW register lives as an [`LwwStore`](crate::LwwStore):
/// its write sits under a dot, so removing the key removes exactly the writes its remover saw.
impl<T: Clone + Ord> crate::Nested for LwwRegister<T> {
    type Store = crate::LwwStore<T>;
}

/// One write or none: nothing that can be inconsistent.
impl<T> crate::causal::CheckInvariants for LwwRegister<T> {
    fn check_invariants(&self) -> Result<(), &'static str> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::string::{String, ToString};

    use super::*;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    fn ts(ms: u64, l: u16) -> Timestamp {
        Timestamp::from_parts(ms, l)
    }

    fn reg<T: Ord + Clone>(replica: u128, t: Timestamp, v: T) -> LwwRegister<T> {
        let mut x = LwwRegister::new();
        let _ = x.write(r(replica), t, v);
        x
    }

    #[test]
    fn equal_timestamp_and_replica_different_values_join_in_both_orders() {
        let a = reg(1, ts(10, 0), "apple");
        let b = reg(1, ts(10, 0), "banana");
        let ab = a.clone().joined(b.clone());
        let ba = b.clone().joined(a.clone());
        assert_eq!(ab, ba);
        assert_eq!(ab.value(), Some(&"banana"));
        // By reference too, with the exact "changed" answer.
        let mut x = a.clone();
        assert!(x.join_ref(&b));
        assert!(!x.join_ref(&a));
        let mut y = b.clone();
        assert!(!y.join_ref(&a));
        assert_eq!(x, y);
        assert!(a.leq(&b) && !b.leq(&a));
        // And via local writes: the second write of the smaller value loses.
        let mut z = LwwRegister::new();
        let _ = z.write(r(1), ts(10, 0), "banana");
        assert!(z.write(r(1), ts(10, 0), "apple").is_bottom());
        assert_eq!(z, ab);
    }

    #[test]
    fn equal_timestamps_ordered_by_replica_then_value() {
        let lo = reg(1, ts(10, 0), 9);
        let hi = reg(2, ts(10, 0), 1);
        assert_eq!(lo.clone().joined(hi.clone()), hi);
        assert_eq!(hi.clone().joined(lo.clone()), hi);
        let later = reg(1, ts(10, 1), 0);
        assert_eq!(hi.clone().joined(later.clone()), later);
        assert_eq!(later.clone().joined(hi.clone()), later);
        // Associativity over the three, in every grouping.
        let x = lo.clone().joined(hi.clone()).joined(later.clone());
        let y = lo.clone().joined(hi.clone().joined(later.clone()));
        let z = later.clone().joined(lo.clone()).joined(hi);
        assert_eq!((x.clone(), y), (z, x));
    }

    #[test]
    fn clock_stepping_back_still_wins_locally() {
        let mut clock = HybridClock::new();
        let mut x = LwwRegister::new();
        let mut prev = None;
        for (i, wall) in [10_000u64, 9_000, 9_999, 10_000, 5, 10_001].into_iter().enumerate() {
            let before = x.clone();
            let d = x.write_with(r(1), &mut clock, wall, i);
            assert_eq!(x.value(), Some(&i), "write at wall {wall} won");
            assert_eq!(before.joined(d.clone()), x, "delta law");
            assert_eq!(d, x, "delta is the whole register");
            let t = x.timestamp().unwrap();
            assert!(prev.is_none_or(|p| t > p), "strictly increasing");
            assert!(t.wall_ms() >= wall.min(10_000));
            prev = Some(t);
        }
        assert_eq!(prev.unwrap(), ts(10_001, 0));
    }

    #[test]
    fn write_with_observes_a_remote_timestamp_ahead() {
        let mut x = reg(9, ts(50_000, 3), String::from("remote"));
        let mut clock = HybridClock::new();
        let d = x.write_with(r(1), &mut clock, 1_000, String::from("local"));
        assert_eq!(d.value().map(String::as_str), Some("local"));
        assert_eq!(x.timestamp(), Some(ts(50_000, 4)));
        assert_eq!(clock.last(), ts(50_000, 4));
    }

    #[test]
    fn saturated_clock_competes_on_replica_and_value() {
        let top = Timestamp::from_u64(u64::MAX);
        let mut x = reg(2, top, 5);
        let mut clock = HybridClock::new();
        // r1 < r2 at the same (saturated) timestamp: the local write loses, and says so.
        let d = x.write_with(r(1), &mut clock, 0, 7);
        assert!(d.is_bottom());
        assert_eq!(x.value(), Some(&5));
        let d = x.write_with(r(3), &mut clock, 0, 1);
        assert_eq!(d.writer(), Some(r(3)));
    }

    #[test]
    fn stale_and_duplicate_writes_send_nothing() {
        let mut x = reg(1, ts(10, 0), 1);
        assert!(x.write(r(1), ts(10, 0), 1).is_bottom(), "the same write again");
        assert!(x.write(r(0), ts(10, 0), 100).is_bottom(), "smaller replica at the same time");
        assert!(x.write(r(5), ts(9, 65_535), 100).is_bottom(), "earlier");
        assert_eq!(x, reg(1, ts(10, 0), 1));
    }

    #[test]
    fn delta_law_on_hand_made_histories() {
        // Two replicas with clocks, exchanging deltas at various points.
        let (mut ca, mut cb) = (HybridClock::new(), HybridClock::new());
        let (mut a, mut b) = (LwwRegister::new(), LwwRegister::new());
        let mut deltas = alloc::vec::Vec::new();
        let steps: [(bool, u64, u8); 6] = [
            (true, 100, 1),
            (false, 90, 2),
            (true, 100, 3),
            (false, 200, 4),
            (true, 150, 5),
            (false, 150, 6),
        ];
        for (i, (on_a, wall, v)) in steps.into_iter().enumerate() {
            let (x, c, id) = if on_a { (&mut a, &mut ca, 1) } else { (&mut b, &mut cb, 2) };
            let old = x.clone();
            let d = x.write_with(r(id), c, wall, v);
            assert_eq!(old.clone().joined(d.clone()), *x);
            assert_eq!(x.delta(&old), d, "optimal delta");
            deltas.push(d);
            if i % 2 == 1 {
                let snapshot = a.clone();
                a.join_ref(&b);
                b.join(snapshot);
            }
        }
        assert_eq!(a, b);
        assert_eq!(crate::Lattice::join_all(deltas.iter().rev().cloned()), a);
        // The last write in causal order wins: b's 6 at 200ms+2 after observing 200ms+1.
        assert_eq!(a.value(), Some(&6));
    }

    #[test]
    fn decompose_and_skew() {
        let bottom = LwwRegister::<u8>::new();
        assert!(bottom.decompose().is_empty());
        assert_eq!(bottom.irreducible_count(), 0);
        let x = reg(1, ts(1_000, 0), 3u8);
        assert_eq!(x.decompose(), alloc::vec![x.clone()]);
        assert_eq!(x.delta(&bottom), x);
        assert!(bottom.delta(&x).is_bottom());
        assert!(x.delta(&reg(1, ts(1_000, 0), 4)).is_bottom());
        assert!(bottom.check_skew(0, 0).is_ok());
        assert!(x.check_skew(1_000, 0).is_ok());
        assert_eq!(
            x.check_skew(999, 0),
            Err(Error::TimestampTooFarAhead { found_ms: 1_000, now_ms: 999, max_skew_ms: 0 })
        );
        assert!(x.check_skew(u64::MAX, u64::MAX).is_ok(), "no overflow");
    }

    #[test]
    fn debug_and_accessors() {
        assert_eq!(format!("{:?}", LwwRegister::<u8>::default()), "LwwRegister(None)");
        let x = reg(7, ts(12, 3), "v".to_string());
        assert_eq!(format!("{x:?}"), r#"LwwRegister("v" @ 12ms+3 by r7)"#);
        assert_eq!((x.timestamp(), x.writer()), (Some(ts(12, 3)), Some(r(7))));
        assert_eq!(x.into_value().as_deref(), Some("v"));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn wire_round_trip_and_size() {
        use crate::wire::{encoded_len, from_bytes, to_bytes};
        let empty = LwwRegister::<String>::new();
        assert_eq!(from_bytes::<LwwRegister<String>>(&to_bytes(&empty)), Ok(empty.clone()));
        assert_eq!(encoded_len(&empty), 2);
        let x = reg(u128::MAX, ts(1_700_000_000_000, 2), String::from("hello"));
        assert_eq!(from_bytes::<LwwRegister<String>>(&to_bytes(&x)), Ok(x.clone()));
        // version 1 + Some 1 + timestamp varint 9 + id 16 + string 1 + 5.
        assert_eq!(encoded_len(&x), 33);
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, r#"[111411200000000002,"ffffffff-ffff-ffff-ffff-ffffffffffff","hello"]"#);
        assert_eq!(serde_json::from_str::<LwwRegister<String>>(&json).unwrap(), x);
        let bytes = to_bytes(&x);
        for cut in 0..bytes.len() {
            assert!(from_bytes::<LwwRegister<String>>(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut bad = bytes.clone();
        bad[1] = 2; // Option tag
        assert!(from_bytes::<LwwRegister<String>>(&bad).is_err());
    }
}
