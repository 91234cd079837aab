//! What the engine sends, and what it keeps.

/// What the engine sends, and what it keeps.
///
/// | Mode | Sends each poll | Buffers on receipt of group `g` from `j` |
/// |---|---|---|
/// | `FullState` | the whole state, to every neighbour | nothing |
/// | `Delta` | the unacknowledged deltas, joined | `g`, if it inflated the state |
/// | `DeltaBp` | the same, minus groups that came from the target | `g`, tagged with `j` |
/// | `DeltaRr` | the unacknowledged deltas, joined | `Δ(g, state)`: only what was new |
/// | `DeltaBpRr` | BP and RR together: optimal on trees | `Δ(g, state)`, tagged with `j` |
/// | `DeltaBpRrEcho` | BP+RR, minus what the target itself sent us since its last ack | as `DeltaBpRr` |
/// | `DeltaBpRrEchoDefer` | as `DeltaBpRrEcho`; to a neighbour with a smaller id, only deltas buffered before the previous poll | as `DeltaBpRr` |
///
/// `DeltaBpRrEcho` goes beyond the paper: a node that learns the same news from two neighbours in
/// one round buffers it once (RR) tagged with the first; BP then still forwards it to the second,
/// which sent it. Echo suppression remembers the groups each neighbour sent until it acknowledges
/// past them, and removes their irreducibles from what it sends that neighbour. It costs memory
/// for the unacknowledged groups only, and no extra bytes on the wire.
///
/// `DeltaBpRrEchoDefer` also removes some of the remaining "crossings": two neighbours that learn
/// the same news in the same round both forward it to each other. Deferring forwarding to the
/// neighbour with the smaller id by one poll lets that neighbour's copy arrive first, and echo
/// suppression then drops ours. It trades a round of latency on some edges for bandwidth.
///
/// ```
/// use convergent::sync::Mode;
///
/// assert!(Mode::DeltaBpRr.bp() && Mode::DeltaBpRr.rr());
/// assert!(!Mode::FullState.is_delta());
/// assert_eq!(Mode::ALL.len(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Mode {
    /// State-based anti-entropy: the full state to every neighbour on every poll, no acks.
    FullState,
    /// Classic delta propagation (algorithm 2 of Almeida et al.).
    Delta,
    /// Delta propagation without back-propagation (BP).
    DeltaBp,
    /// Delta propagation buffering only the new part of received groups (RR).
    DeltaRr,
    /// Both BP and RR: the default.
    #[default]
    DeltaBpRr,
    /// BP and RR, plus echo suppression (see the type's documentation).
    DeltaBpRrEcho,
    /// Echo suppression, plus forwarding to a neighbour with a smaller id deferred by one poll
    /// (see the type's documentation).
    DeltaBpRrEchoDefer,
}

impl Mode {
    /// Every mode, in the order of the table above.
    pub const ALL: [Mode; 7] = [
        Mode::FullState,
        Mode::Delta,
        Mode::DeltaBp,
        Mode::DeltaRr,
        Mode::DeltaBpRr,
        Mode::DeltaBpRrEcho,
        Mode::DeltaBpRrEchoDefer,
    ];

    /// Whether the mode sends deltas (every mode but [`FullState`](Mode::FullState)).
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert!(Mode::Delta.is_delta());
    /// ```
    #[must_use]
    pub const fn is_delta(self) -> bool {
        !matches!(self, Mode::FullState)
    }

    /// Whether groups are never sent back to the neighbour they came from.
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert!(Mode::DeltaBp.bp() && !Mode::DeltaRr.bp());
    /// ```
    #[must_use]
    pub const fn bp(self) -> bool {
        matches!(self, Mode::DeltaBp | Mode::DeltaBpRr | Mode::DeltaBpRrEcho | Mode::DeltaBpRrEchoDefer)
    }

    /// Whether only the new part of a received group is buffered.
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert!(Mode::DeltaRr.rr() && !Mode::DeltaBp.rr());
    /// ```
    #[must_use]
    pub const fn rr(self) -> bool {
        matches!(self, Mode::DeltaRr | Mode::DeltaBpRr | Mode::DeltaBpRrEcho | Mode::DeltaBpRrEchoDefer)
    }

    /// Whether echo suppression is on.
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert!(Mode::DeltaBpRrEcho.echo() && !Mode::DeltaBpRr.echo());
    /// ```
    #[must_use]
    pub const fn echo(self) -> bool {
        matches!(self, Mode::DeltaBpRrEcho | Mode::DeltaBpRrEchoDefer)
    }

    /// Whether forwarding to neighbours with smaller ids waits one poll.
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert!(Mode::DeltaBpRrEchoDefer.defer() && !Mode::DeltaBpRrEcho.defer());
    /// ```
    #[must_use]
    pub const fn defer(self) -> bool {
        matches!(self, Mode::DeltaBpRrEchoDefer)
    }

    /// A short name for tables: `state`, `delta`, `bp`, `rr`, `bp+rr`, `bp+rr+echo`.
    ///
    /// ```
    /// # use convergent::sync::Mode;
    /// assert_eq!(Mode::DeltaBpRr.name(), "bp+rr");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Mode::FullState => "state",
            Mode::Delta => "delta",
            Mode::DeltaBp => "bp",
            Mode::DeltaRr => "rr",
            Mode::DeltaBpRr => "bp+rr",
            Mode::DeltaBpRrEcho => "bp+rr+echo",
            Mode::DeltaBpRrEchoDefer => "bp+rr+echo+defer",
        }
    }
}
