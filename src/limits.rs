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
    /// Largest encoded input, in bytes, and, where a bound on the state's size is kept
    /// ([`wire::StateSize`](crate::wire::StateSize): [`wire::receive_sized`](crate::wire::receive_sized)
    /// and the sync engine's byte paths), the largest encoded state a join may leave. Default
    /// 64 MiB.
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
    /// How far beyond what the receiver has seen of a replica a received value may claim that
    /// replica's events (a context entry, and so a dot) or its count (a counter entry), checked
    /// by validated receipt ([`Receive`](crate::Receive) and the sync engine's validators),
    /// `2^44` by default. It stops a single message from censoring a replica (a context claiming
    /// its events up to `2^53` makes all its later events vanish) or freezing its count (an entry
    /// at [`MAX_COUNT`]); a peer that forges claims can still advance them by this much per
    /// message (512 messages from 0 to `2^53`), which only an authenticated transport prevents
    /// (see `docs/receipt.md`). The cost of a tighter bound: an honest counter whose entry for one
    /// replica grew by more than the bound since the receiver last saw it (a counter of bytes
    /// past 17 TB, say, reaching a new replica) is refused until the bound is raised.
    /// `u64::MAX` turns the check off.
    pub max_claim_ahead: u64,
    /// Deepest nesting of maps. Default 64.
    pub max_depth: u32,
    /// How far ahead of the receiver's clock an LWW timestamp may be, in ms, when relayed; a
    /// write whose writer is the sender itself may be half as far ahead
    /// ([`ReceivePolicy::skew_margin_ms`](crate::ReceivePolicy::skew_margin_ms)). Default 5 minutes.
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
            max_claim_ahead: 1 << 44,
            max_depth: 64,
            max_clock_skew_ms: 5 * 60 * 1000,
        }
    }
}

/// The buckets of a fresh hash table (hashbrown) of `n` entries: a power of two at most 7/8
/// full. The shrink policy of the set and map stores compares against it.
pub(crate) fn fresh_buckets(n: usize) -> usize {
    match n {
        0 => 0,
        1..4 => 4,
        4..8 => 8,
        _ => n.saturating_mul(8).div_ceil(7).next_power_of_two(),
    }
}

/// Whether a hash table of `len` entries of `entry` bytes, whose allocation is `bytes`, has more
/// than twice the buckets a fresh one would (and more than `floor`). Buckets are counted from the
/// allocation: `capacity()` drops with every deleted entry, so a table full of them looks full.
/// The allocation is `buckets * (entry + 1)` bytes plus a trailing control group of at most 16
/// bytes and alignment, and bucket counts are powers of two: the quotient rounded down to a power
/// of two is the bucket count. (Without the rounding a table of small entries at exactly twice
/// the fresh buckets counted as sparse: a set growing and shrinking by the same few elements
/// rebuilt its indexes every cycle.)
pub(crate) fn table_is_sparse(bytes: usize, entry: usize, len: usize, floor: usize) -> bool {
    let counted = bytes / (entry + 1);
    let buckets = if counted == 0 { 0 } else { 1 << counted.ilog2() };
    buckets > floor && buckets > 2 * fresh_buckets(len)
}
