//! Timestamps and the hybrid logical clock that orders last-writer-wins writes.

use core::fmt;

use crate::error::Error;

/// A hybrid logical timestamp: milliseconds since the Unix epoch in the high 48 bits, a logical
/// counter in the low 16. Ordered as a `u64`, so it sorts by wall time first.
///
/// # Example
///
/// ```
/// use convergent::Timestamp;
///
/// let t = Timestamp::from_parts(1_700_000_000_000, 3);
/// assert_eq!((t.wall_ms(), t.logical()), (1_700_000_000_000, 3));
/// assert!(Timestamp::from_parts(5, 0) > Timestamp::from_parts(4, 9));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Timestamp(u64);

impl Timestamp {
    /// The largest wall time representable: `2^48 - 1` ms (about the year 10889).
    pub const MAX_WALL_MS: u64 = (1 << 48) - 1;

    /// A timestamp from wall milliseconds (clamped to [`MAX_WALL_MS`](Self::MAX_WALL_MS)) and a
    /// logical counter.
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// assert_eq!(Timestamp::from_parts(10, 2).logical(), 2);
    /// ```
    #[must_use]
    pub const fn from_parts(wall_ms: u64, logical: u16) -> Self {
        let ms = if wall_ms > Self::MAX_WALL_MS { Self::MAX_WALL_MS } else { wall_ms };
        Timestamp((ms << 16) | logical as u64)
    }

    /// The timestamp of a raw `u64` (as returned by [`as_u64`](Self::as_u64)).
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// let t = Timestamp::from_parts(7, 1);
    /// assert_eq!(Timestamp::from_u64(t.as_u64()), t);
    /// ```
    #[must_use]
    pub const fn from_u64(raw: u64) -> Self {
        Timestamp(raw)
    }

    /// The raw `u64`.
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// assert_eq!(Timestamp::from_parts(1, 0).as_u64(), 1 << 16);
    /// ```
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// assert_eq!(Timestamp::from_parts(42, 0).wall_ms(), 42);
    /// ```
    #[must_use]
    pub const fn wall_ms(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter: how many timestamps were issued within the same millisecond.
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// assert_eq!(Timestamp::from_parts(42, 5).logical(), 5);
    /// ```
    #[must_use]
    pub const fn logical(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// Checks that `self` is not more than `max_skew_ms` ahead of `now_ms`.
    ///
    /// # Errors
    ///
    /// [`Error::TimestampTooFarAhead`] otherwise: a far-future timestamp would wedge a
    /// last-writer-wins register forever.
    ///
    /// ```
    /// # use convergent::Timestamp;
    /// let t = Timestamp::from_parts(10_000, 0);
    /// assert!(t.check_skew(9_000, 5_000).is_ok());
    /// assert!(t.check_skew(1_000, 5_000).is_err());
    /// ```
    pub fn check_skew(self, now_ms: u64, max_skew_ms: u64) -> Result<(), Error> {
        if self.wall_ms() > now_ms.saturating_add(max_skew_ms) {
            Err(Error::TimestampTooFarAhead { found_ms: self.wall_ms(), now_ms, max_skew_ms })
        } else {
            Ok(())
        }
    }
}

/// Shaped like the domain: `1700000000000ms+3`.
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms+{}", self.wall_ms(), self.logical())
    }
}

/// A hybrid logical clock (Kulkarni et al., 2014): timestamps that are strictly increasing at
/// each replica even when the wall clock steps back, that stay close to wall time, and that move
/// past any timestamp the replica has observed from others.
///
/// The clock takes the wall time as an argument, so it works without `std` and in deterministic
/// simulations; [`now`](Self::now) reads the system clock.
///
/// # Example
///
/// ```
/// use convergent::HybridClock;
///
/// let mut clock = HybridClock::new();
/// let a = clock.tick(1_000);
/// let b = clock.tick(900); // the wall clock stepped back 100 ms
/// let c = clock.tick(1_000);
/// assert!(a < b && b < c);
/// assert_eq!(b.wall_ms(), 1_000); // still close to wall time
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HybridClock {
    last: Timestamp,
}

impl HybridClock {
    /// A clock that has issued nothing.
    ///
    /// ```
    /// # use convergent::HybridClock;
    /// assert_eq!(HybridClock::new().last().as_u64(), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        HybridClock { last: Timestamp(0) }
    }

    /// The last timestamp issued or observed.
    ///
    /// ```
    /// # use convergent::HybridClock;
    /// let mut c = HybridClock::new();
    /// let t = c.tick(5);
    /// assert_eq!(c.last(), t);
    /// ```
    #[must_use]
    pub const fn last(&self) -> Timestamp {
        self.last
    }

    /// A new timestamp, given the current wall time in ms: the wall time if it is ahead of
    /// everything issued or observed so far, otherwise one logical step past the last one.
    ///
    /// ```
    /// # use convergent::HybridClock;
    /// let mut c = HybridClock::new();
    /// let a = c.tick(7);
    /// let b = c.tick(7);
    /// assert_eq!((a.logical(), b.logical()), (0, 1));
    /// ```
    pub fn tick(&mut self, wall_ms: u64) -> Timestamp {
        let physical = Timestamp::from_parts(wall_ms, 0);
        self.last = if physical > self.last { physical } else { Timestamp(self.last.0.saturating_add(1)) };
        self.last
    }

    /// Moves the clock past a timestamp received from another replica, so the next
    /// [`tick`](Self::tick) orders after it.
    ///
    /// ```
    /// # use convergent::{HybridClock, Timestamp};
    /// let mut c = HybridClock::new();
    /// c.observe(Timestamp::from_parts(50, 0));
    /// assert!(c.tick(10) > Timestamp::from_parts(50, 0));
    /// ```
    pub fn observe(&mut self, remote: Timestamp) {
        if remote > self.last {
            self.last = remote;
        }
    }

    /// [`tick`](Self::tick) with the system clock.
    ///
    /// ```
    /// # use convergent::HybridClock;
    /// let mut c = HybridClock::new();
    /// assert!(c.now() < c.now());
    /// ```
    #[cfg(feature = "std")]
    pub fn now(&mut self) -> Timestamp {
        self.tick(system_ms())
    }

    /// Milliseconds since the Unix epoch from the system clock (0 if the clock is before 1970):
    /// the physical clock [`now`](Self::now) reads. `std` only.
    ///
    /// ```
    /// assert!(convergent::HybridClock::system_ms() > 1_600_000_000_000);
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn system_ms() -> u64 {
        system_ms()
    }
}

/// Milliseconds since the Unix epoch from the system clock (0 if the clock is before 1970).
#[cfg(feature = "std")]
#[must_use]
pub(crate) fn system_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_when_wall_clock_steps_back() {
        let mut c = HybridClock::new();
        let mut prev = c.tick(10_000);
        for wall in [9_000, 9_500, 10_000, 10_000, 5, 10_001, 10_001] {
            let t = c.tick(wall);
            assert!(t > prev, "{t:?} <= {prev:?}");
            assert!(t.wall_ms() >= wall);
            prev = t;
        }
        assert_eq!(prev.wall_ms(), 10_001);
    }

    #[test]
    fn logical_overflow_carries_into_the_millisecond() {
        let mut c = HybridClock::new();
        c.observe(Timestamp::from_parts(7, u16::MAX));
        let t = c.tick(7);
        assert_eq!((t.wall_ms(), t.logical()), (8, 0));
        assert!(t > Timestamp::from_parts(7, u16::MAX));
        // The wall clock reaching that millisecond does not reissue it.
        assert!(c.tick(8) > t);
    }

    #[test]
    fn observe_never_moves_back_and_tick_passes_remote() {
        let mut c = HybridClock::new();
        let local = c.tick(1_000);
        c.observe(Timestamp::from_parts(500, 9));
        assert_eq!(c.last(), local, "an older remote timestamp changes nothing");
        let remote = Timestamp::from_parts(2_000, 4);
        c.observe(remote);
        let t = c.tick(1_500);
        assert_eq!(t, Timestamp::from_parts(2_000, 5));
        // Once the wall clock passes the remote time, timestamps follow wall time again.
        assert_eq!(c.tick(2_001), Timestamp::from_parts(2_001, 0));
    }

    #[test]
    fn debug_is_ms_plus_logical() {
        assert_eq!(alloc::format!("{:?}", Timestamp::from_parts(12, 3)), "12ms+3");
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let mut c = HybridClock::new();
        c.observe(Timestamp::from_u64(u64::MAX));
        assert_eq!(c.tick(0), Timestamp::from_u64(u64::MAX));
        assert_eq!(Timestamp::from_parts(u64::MAX, 0).wall_ms(), Timestamp::MAX_WALL_MS);
    }
}
