//! Why input from another replica was refused.

use core::fmt;

use crate::causal::{Dot, ReplicaId};

/// Why a received state, delta or message was refused.
///
/// Joining is infallible; these errors come from decoding and validating remote input. On any
/// error, nothing was applied: the receiving replica's state is exactly what it was.
///
/// Every `field` names what was being checked in one scheme: `structure` or `structure.part`,
/// lowercase, words joined by `-` (`"context.replicas"`, `"set.element"`, `"g-counter"`,
/// `"mv-register.value"`, `"counter-store.total"`, `"bytes.trailing"`).
///
/// # Example
///
/// ```
/// use convergent::Error;
///
/// let e = Error::TooLarge { field: "replicas", limit: 4096, found: 1_000_000 };
/// assert_eq!(e.to_string(), "replicas: 1000000 exceeds the limit of 4096");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed encoding (truncated, bad varint, wrong shape).
    Malformed {
        /// What was being decoded.
        field: &'static str,
    },
    /// The encoding carries a format version this build does not read.
    UnsupportedVersion {
        /// The version tag found.
        found: u8,
    },
    /// A size limit of [`Limits`](crate::Limits) was exceeded.
    TooLarge {
        /// Which quantity.
        field: &'static str,
        /// The configured limit.
        limit: u64,
        /// The value found (or claimed by a length prefix).
        found: u64,
    },
    /// A structure that must be canonical (sorted, merged, no empty entries) is not.
    NotCanonical {
        /// Which structure.
        field: &'static str,
    },
    /// A replica index points outside the value's replica table.
    UnknownReplicaIndex {
        /// The index found.
        index: u64,
    },
    /// A live dot of the store is not in the value's own causal context.
    DotOutsideContext {
        /// The offending dot.
        dot: Dot,
    },
    /// One dot occurs twice in a store (possibly with two different payloads).
    DuplicateDot {
        /// The offending dot.
        dot: Dot,
    },
    /// An incoming dot carries a different payload (element, key, value or total) than the same
    /// dot at the receiver. Payloads are immutable per dot; joining such input would keep one
    /// payload at some replicas and the other elsewhere, forever.
    ConflictingPayload {
        /// What carries it.
        field: &'static str,
    },
    /// A counter or event number is outside the accepted range.
    CounterOutOfRange {
        /// Which counter.
        field: &'static str,
        /// The value found.
        value: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A timestamp lies further ahead of the receiver's clock than the accepted skew.
    TimestampTooFarAhead {
        /// The timestamp found (milliseconds since the Unix epoch).
        found_ms: u64,
        /// The receiver's clock (milliseconds since the Unix epoch).
        now_ms: u64,
        /// The accepted skew in milliseconds.
        max_skew_ms: u64,
    },
    /// The input speaks for the RECEIVER's own replica with an event the receiver never made.
    ///
    /// Either this replica lost state (a restore from an old backup, a wiped disk) and must take
    /// a new [`ReplicaId`] before writing again, or another process is using its id. Do not keep
    /// writing under this id.
    OwnDotFromFuture {
        /// The receiver's replica.
        replica: ReplicaId,
        /// The highest event number the receiver has made.
        own_max: u64,
        /// The event number found.
        found: u64,
    },
    /// The input claims events of another replica further beyond what the receiver has seen of
    /// it than [`Limits::max_claim_ahead`](crate::Limits::max_claim_ahead) (a context entry, and
    /// so a dot, or a counter entry). Honest peers move a replica forward a step at a time; a
    /// claim far ahead would make every later event of that replica look already seen (and
    /// vanish), or freeze its count. Catch up through other peers first.
    ClaimTooFarAhead {
        /// The replica the claim is about.
        replica: ReplicaId,
        /// The highest event number (or count) the receiver has of it.
        seen: u64,
        /// The event number (or count) claimed.
        found: u64,
        /// The configured bound.
        max_ahead: u64,
    },
    /// The input nests deeper than the limit.
    TooDeep {
        /// The configured limit.
        limit: u32,
    },
    /// Refused by a check of your own (your type's [`Receive`](crate::Receive) impl, or a
    /// [`Validator`](crate::sync::Validator) you gave the sync engine): the input is well-formed
    /// but your application does not accept it.
    ///
    /// ```
    /// use convergent::Error;
    ///
    /// let e = Error::Rejected { reason: "read-only replica" };
    /// assert_eq!(e.to_string(), "rejected: read-only replica");
    /// ```
    Rejected {
        /// Why, in your words.
        reason: &'static str,
    },
    /// A sync message addressed to another replica id: most often an earlier incarnation of
    /// this replica on the same address (it lost its disk and came back under a new id).
    /// Acknowledging it would tell the sender this replica holds what it never received.
    Misaddressed {
        /// The recipient the message names.
        to: ReplicaId,
        /// This replica.
        me: ReplicaId,
    },
    /// An error found while decoding one field of a composite value (a struct with
    /// `#[derive(Lattice)]`, or a tuple, whose fields are named `"0"`, `"1"`, ...). Nested
    /// composites nest the variant: its `Display` is the path of fields, then the error.
    ///
    /// ```
    /// use convergent::Error;
    ///
    /// let e = Error::TooLarge { field: "context.replicas", limit: 1, found: 2 }.in_field("tags");
    /// assert_eq!(e.to_string(), "tags.context.replicas: 2 exceeds the limit of 1");
    /// assert!(matches!(e.root_cause(), Error::TooLarge { .. }));
    /// ```
    InField {
        /// The field's name.
        field: &'static str,
        /// What was wrong there.
        error: alloc::boxed::Box<Error>,
    },
}

impl Error {
    /// This error, as found inside field `field` of a composite value: [`Error::InField`].
    /// Allocates the box.
    ///
    /// ```
    /// use convergent::Error;
    ///
    /// let e = Error::Malformed { field: "value" }.in_field("items");
    /// assert_eq!(e.to_string(), "items.value: malformed encoding");
    /// ```
    #[must_use]
    pub fn in_field(self, field: &'static str) -> Error {
        Error::InField { field, error: alloc::boxed::Box::new(self) }
    }

    /// The error beneath every [`Error::InField`]: what was wrong, wherever it was. `O(depth)`.
    ///
    /// ```
    /// use convergent::Error;
    ///
    /// let e = Error::TooDeep { limit: 3 }.in_field("b").in_field("a");
    /// assert_eq!(e.root_cause(), &Error::TooDeep { limit: 3 });
    /// ```
    #[must_use]
    pub fn root_cause(&self) -> &Error {
        let mut e = self;
        while let Error::InField { error, .. } = e {
            e = error;
        }
        e
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { field } => write!(f, "{field}: malformed encoding"),
            Error::UnsupportedVersion { found } => write!(f, "version: unsupported format version {found}"),
            Error::TooLarge { field, limit, found } => {
                write!(f, "{field}: {found} exceeds the limit of {limit}")
            }
            Error::NotCanonical { field } => write!(f, "{field}: not in canonical form"),
            Error::UnknownReplicaIndex { index } => {
                write!(f, "replica: index {index} is outside the replica table")
            }
            Error::DotOutsideContext { dot } => write!(f, "store: dot {dot} is not in the causal context"),
            Error::DuplicateDot { dot } => write!(f, "store: dot {dot} occurs more than once"),
            Error::ConflictingPayload { field } => {
                write!(f, "{field}: one event carries two different payloads")
            }
            Error::CounterOutOfRange { field, value, max } => {
                write!(f, "{field}: {value} is above the accepted maximum {max}")
            }
            Error::TimestampTooFarAhead { found_ms, now_ms, max_skew_ms } => write!(
                f,
                "timestamp: {found_ms} ms is more than {max_skew_ms} ms ahead of the local clock ({now_ms} ms)"
            ),
            Error::OwnDotFromFuture { replica, own_max, found } => write!(
                f,
                "context: event {found} of this replica ({replica}) is beyond its own counter {own_max}: \
                 this replica lost state or another process uses its id; take a new replica id"
            ),
            Error::ClaimTooFarAhead { replica, seen, found, max_ahead } => write!(
                f,
                "context: event {found} of replica {replica} is more than {max_ahead} beyond the {seen} seen of it"
            ),
            Error::TooDeep { limit } => write!(f, "nesting: deeper than the limit of {limit}"),
            Error::Rejected { reason } => write!(f, "rejected: {reason}"),
            Error::Misaddressed { to, me } => {
                write!(
                    f,
                    "recipient: the message is for replica {to}, this is {me}: dropped, not acknowledged"
                )
            }
            Error::InField { field, error } => write!(f, "{field}.{error}"),
        }
    }
}

/// Always available (`core::error::Error`), with or without `std`.
impl core::error::Error for Error {}
