//! Bounds on what a receiver accepts: [`Limits`], and the counters' ceiling [`MAX_COUNT`].

/// The largest count a counter entry holds, and the largest event number a receiver accepts by
/// default: `2^53`. Counters saturate here rather than at `u64::MAX`, so that every state a
/// replica can produce is one its peers accept (an entry at `u64::MAX` from a hostile peer would
/// freeze a replica's count forever, and is refused), and sums of up to 2 048 entries fit a `u64`.
///
/// ```
/// use convergent::{GCounter, ReplicaId, counter::MAX_COUNT};
///
/// let mut c = GCounter::new();
/// let _ = c.increment(ReplicaId::from_u128(1), u64::MAX);
/// assert_eq!(c.value(), MAX_COUNT);
/// ```
pub const MAX_COUNT: u64 = 1 << 53;

/// Bounds on what a receiver accepts, checked before anything is allocated or applied.
///
/// The defaults suit application state exchanged between a few thousand replicas; raise them
/// for bigger states, lower them for untrusted peers.
///
/// # Example
///
/// ```
/// use convergent::Limits;
///
/// let strict = Limits { max_bytes: 64 * 1024, ..Limits::default() };
/// assert_eq!(strict.max_replicas, Limits::default().max_replicas);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded input, in bytes. Default 64 MiB.
    pub max_bytes: usize,
    /// Most distinct replicas in one value. Default 65 536.
    pub max_replicas: usize,
    /// Most ranges in a causal context (gaps make ranges). Default 1 000 000.
    pub max_ranges: usize,
    /// Most live dots in a store. Default 10 000 000.
    pub max_dots: usize,
    /// Most elements or keys in one set or map. Default 10 000 000.
    pub max_elements: usize,
    /// Largest event number or counter entry accepted (`2^53` by default, far above any real
    /// replica's event count and far below overflow). An entry at `u64::MAX` would censor a
    /// replica forever.
    pub max_counter: u64,
    /// Deepest nesting of maps. Default 64.
    pub max_depth: u32,
    /// How far ahead of the receiver's clock an LWW timestamp may be, in ms. Default 5 minutes.
    pub max_clock_skew_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_replicas: 1 << 16,
            max_ranges: 1_000_000,
            max_dots: 10_000_000,
            max_elements: 10_000_000,
            max_counter: MAX_COUNT,
            max_depth: 64,
            max_clock_skew_ms: 5 * 60 * 1000,
        }
    }
}
