//! Validated receipt: [`Receive`], [`ReceivePolicy`], and the sync engine's [`Validator`]s.

use core::fmt;

use crate::LwwRegister;
use crate::causal::{Causal, CausalContext, DotSet, DotStore, ReplicaId};
use crate::counter::{GCounter, PnCounter};
use crate::error::Error;
use crate::lattice::Lattice;
use crate::limits::Limits;

/// What the receiver knows about itself when it validates remote input: its replica id, its
/// clock, its [`Limits`] (the clock-skew bound is [`Limits::max_clock_skew_ms`]) and, when known,
/// the peer the input came from ([`sender`](Self::sender)).
///
/// **Two skew margins.** A timestamp written by the sender itself (first hand: an LWW value whose
/// writer is `sender`) may be at most HALF of `max_clock_skew_ms` ahead of the receiver's clock;
/// a timestamp relayed from another writer at most the whole of it. So a write that entered at
/// one replica passes every relay whose clock is at most half the skew behind that replica's,
/// however long the chain: a relay never refuses (and so never stalls a whole delta-group on)
/// one value its neighbour accepted (issue 10, class 7). Without a sender (`wire::receive`) every
/// timestamp gets the whole margin.
///
/// ```
/// use convergent::{Limits, ReceivePolicy, ReplicaId};
///
/// let p = ReceivePolicy::new(ReplicaId::from_u128(1), 10_000)
///     .with_limits(Limits { max_clock_skew_ms: 1_000, ..Limits::default() });
/// assert_eq!(p.now_ms, 10_000);
/// assert_eq!(p.limits.max_clock_skew_ms, 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivePolicy {
    /// The receiver's own replica id.
    pub replica: ReplicaId,
    /// The receiver's clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// The peer the input came from, if known: its own LWW writes get the tighter (accept)
    /// margin, half of [`Limits::max_clock_skew_ms`]. The sync engine sets it per message.
    pub sender: Option<ReplicaId>,
    /// The limits: [`max_clock_skew_ms`](Limits::max_clock_skew_ms) here, and every limit of
    /// decoding in [`wire::receive`](crate::wire::receive).
    pub limits: Limits,
}

impl ReceivePolicy {
    /// The policy of replica `replica` whose clock reads `now_ms`, with the default [`Limits`].
    ///
    /// ```
    /// # use convergent::{Limits, ReceivePolicy, ReplicaId};
    /// let p = ReceivePolicy::new(ReplicaId::from_u128(1), 5);
    /// assert_eq!(p.limits, Limits::default());
    /// ```
    #[must_use]
    pub fn new(replica: ReplicaId, now_ms: u64) -> Self {
        ReceivePolicy { replica, now_ms, sender: None, limits: Limits::default() }
    }

    /// The policy of `replica` with no clock (`now_ms` is `u64::MAX`: no timestamp is ahead of
    /// it), with the default [`Limits`]. The sync engine validates under this policy with its own
    /// limits ([`SyncEngine::receive_policy`](crate::sync::SyncEngine::receive_policy)).
    ///
    /// ```
    /// # use convergent::{ReceivePolicy, ReplicaId};
    /// assert_eq!(ReceivePolicy::without_clock(ReplicaId::from_u128(1)).now_ms, u64::MAX);
    /// ```
    #[must_use]
    pub fn without_clock(replica: ReplicaId) -> Self {
        Self::new(replica, u64::MAX)
    }

    /// The policy of `replica` at the system clock's current time (`std` only).
    ///
    /// ```
    /// # use convergent::{ReceivePolicy, ReplicaId};
    /// assert!(ReceivePolicy::now(ReplicaId::from_u128(1)).now_ms > 1_600_000_000_000);
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn now(replica: ReplicaId) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self::new(replica, now_ms)
    }

    /// Replaces the limits.
    ///
    /// ```
    /// # use convergent::{Limits, ReceivePolicy, ReplicaId};
    /// let strict = Limits { max_bytes: 1024, ..Limits::default() };
    /// assert_eq!(ReceivePolicy::new(ReplicaId::from_u128(1), 0).with_limits(strict).limits, strict);
    /// ```
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The input comes from `sender`: its own LWW writes get half the skew margin (see the
    /// type's docs).
    ///
    /// ```
    /// # use convergent::{ReceivePolicy, ReplicaId};
    /// let peer = ReplicaId::from_u128(2);
    /// let p = ReceivePolicy::new(ReplicaId::from_u128(1), 0).with_sender(peer);
    /// assert_eq!(p.sender, Some(peer));
    /// assert_eq!(p.skew_margin_ms(peer), p.limits.max_clock_skew_ms / 2);
    /// assert_eq!(p.skew_margin_ms(ReplicaId::from_u128(3)), p.limits.max_clock_skew_ms);
    /// ```
    #[must_use]
    pub fn with_sender(mut self, sender: ReplicaId) -> Self {
        self.sender = Some(sender);
        self
    }

    /// How far ahead of `now_ms` a timestamp written by `writer` may be: half of
    /// [`Limits::max_clock_skew_ms`] if `writer` is the [`sender`](Self::sender) (a write
    /// entering the group: the accept margin), the whole of it otherwise (a relayed write: the
    /// refuse margin). `O(1)`.
    ///
    /// ```
    /// # use convergent::{ReceivePolicy, ReplicaId};
    /// let p = ReceivePolicy::new(ReplicaId::from_u128(1), 0);
    /// assert_eq!(p.skew_margin_ms(ReplicaId::from_u128(2)), p.limits.max_clock_skew_ms);
    /// ```
    #[must_use]
    pub fn skew_margin_ms(&self, writer: ReplicaId) -> u64 {
        let skew = self.limits.max_clock_skew_ms;
        if self.sender == Some(writer) { skew / 2 } else { skew }
    }

    /// Checks one LWW timestamp, written by `writer`, against the clock and its skew margin.
    pub(crate) fn check_timestamp(&self, ts: crate::Timestamp, writer: ReplicaId) -> Result<(), Error> {
        ts.check_skew(self.now_ms, self.skew_margin_ms(writer))
    }
}

/// A lattice whose remote values can be validated against the receiver's state before a join.
/// Implemented by every type of this crate.
///
/// Validated receipt: checks a remote value against the RECEIVER's own state before joining it.
///
/// Decoding (see [`wire`](crate::wire)) checks what a value says about itself: sizes, canonical
/// form, store dots inside its own context, no dot twice, counters in range. A value can pass all
/// of that and still harm THIS replica. [`validate_against`](Self::validate_against) checks, cheapest first:
///
/// 1. **Own dots from the future** ([`Error::OwnDotFromFuture`]): the value carries an event of
///    the receiver's own replica beyond the receiver's own highest event (its context, or its
///    counter entry). Either this replica lost state and came back under its old id, or someone
///    else speaks for it. Shared with the sync engine's [`OwnDotsCheck`].
/// 2. **Replicas** ([`Error::TooLarge`]): the join would leave the receiver's context or counter
///    with more than [`Limits::max_replicas`] replicas (its own state would then no longer decode
///    at peers with the same limits; replicas otherwise accumulate one small delta at a time).
/// 3. **Clock skew** ([`Error::TimestampTooFarAhead`]): an LWW timestamp (an [`LwwRegister`], or
///    an LWW value inside a map) further ahead of the receiver's clock than its margin (the whole
///    [`Limits::max_clock_skew_ms`] for a relayed write, half of it for a write of the sender
///    itself: [`ReceivePolicy::skew_margin_ms`]), which would win against every write for as long
///    as it stays in the future.
/// 4. **One dot, two payloads** ([`Error::ConflictingPayload`]): an incoming dot that the
///    receiver already holds under a different element, key or value. Payloads are immutable per
///    dot, and the join relies on it: it keeps the receiver's payload and drops the other, so two
///    replicas that received the two payloads in opposite orders never converge.
///
/// [`receive`](Self::receive) validates and then joins: on any error the receiver's state is exactly
/// what it was (the join itself cannot fail). With the `serde` feature,
/// [`wire::receive`](crate::wire::receive) decodes, validates and joins in one call.
///
/// Nesting depth is bounded by the Rust type (an `OrMap<K, OrMap<K, ...>>` has as many levels as
/// its type spells), so the recursion of validation, like that of join, `Drop` and `Debug`, is as
/// deep as the type and no deeper: hostile input cannot make it deeper. Decoding checks
/// [`Limits::max_depth`] in addition, for types that nest deeper than a receiver wants.
///
/// # Examples
///
/// ```
/// use convergent::{Error, Lattice, OrSet, Receive, ReceivePolicy, ReplicaId};
///
/// let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut local = OrSet::new();
/// let _ = local.insert(me, "a");
///
/// let mut remote = OrSet::new();
/// let delta = remote.insert(peer, "b");
/// let policy = ReceivePolicy::new(me, 1_700_000_000_000);
/// assert_eq!(local.receive(delta, &policy), Ok(true));
///
/// // A value that speaks for `me` beyond what `me` ever did is refused, and nothing changes.
/// let mut impostor = OrSet::new();
/// let _ = impostor.insert(me, "x");
/// let forged = impostor.insert(me, "y");
/// let before = local.clone();
/// assert!(matches!(local.receive(forged, &policy), Err(Error::OwnDotFromFuture { .. })));
/// assert_eq!(local, before);
/// ```
///
/// ```
/// use convergent::{Error, Lattice, MvRegister, Receive, ReceivePolicy, ReplicaId};
///
/// let me = ReplicaId::from_u128(1);
/// let mut local = MvRegister::new();
/// let _ = local.write(me, 1);
/// let remote = local.clone();
/// let policy = ReceivePolicy::new(me, 0);
/// assert!(remote.validate_against(&local, &policy).is_ok());
/// assert_eq!(local.receive(remote, &policy), Ok(false)); // nothing new
/// ```
pub trait Receive: Lattice {
    /// `Ok` if `self`, a value received from another replica (already decoded and valid in
    /// itself), may be joined into `local`, the state of the replica `policy` describes.
    /// Costs follow `self` (plus a lookup in `local` per incoming dot), not `local`.
    ///
    /// The default accepts everything: a lattice of your own opts into receipt (and so into the
    /// sync engine's default validator) with `impl Receive for MyType {}`, or overrides this
    /// method to refuse what it must with [`Error::Rejected`] (see the example on [`Validator`]).
    ///
    /// # Errors
    ///
    /// [`Error::OwnDotFromFuture`], [`Error::TimestampTooFarAhead`], [`Error::ConflictingPayload`],
    /// [`Error::ClaimTooFarAhead`], [`Error::TooLarge`]; [`Error::Rejected`] from a type of your own.
    fn validate_against(&self, local: &Self, policy: &ReceivePolicy) -> Result<(), Error> {
        let _ = (local, policy);
        Ok(())
    }

    /// Validates `incoming` against `self`, then joins it. Returns whether `self` changed. On
    /// error, `self` is exactly what it was.
    ///
    /// # Errors
    ///
    /// Those of [`validate_against`](Self::validate_against).
    ///
    /// ```
    /// use convergent::{GCounter, Receive, ReceivePolicy, ReplicaId};
    ///
    /// let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut local = GCounter::new();
    /// let mut remote = GCounter::new();
    /// let d = remote.increment(peer, 3);
    /// assert_eq!(local.receive(d, &ReceivePolicy::new(me, 0)), Ok(true));
    /// assert_eq!(local.value(), 3);
    /// ```
    fn receive(&mut self, incoming: Self, policy: &ReceivePolicy) -> Result<bool, Error> {
        incoming.validate_against(self, policy)?;
        Ok(self.join(incoming))
    }
}

/// The part of [`Receive`] that a dot store checks, for [`Causal`] states and values nested in
/// maps. Implemented by every store of this crate.
///
/// ```
/// use convergent::{EwFlag, ReceivePolicy, ReplicaId, causal::{Causal, ReceiveStore}};
///
/// let mut f = EwFlag::new();
/// let _ = f.enable(ReplicaId::from_u128(2));
/// let store = f.as_causal().store();
/// let policy = ReceivePolicy::new(ReplicaId::from_u128(1), 0);
/// assert!(store.check_clock(&policy).is_ok());
/// assert!(store.check_payloads(store).is_ok());
/// ```
/// Plumbing: public only because it appears in public bounds; hidden from the docs, not
/// covered by semver, and sealed (implemented by this crate's stores only: receipt of a store
/// of your own would bypass the payload checks the joins rely on).
#[doc(hidden)]
pub trait ReceiveStore: DotStore {
    /// Every LWW timestamp of the store within the policy's skew bound. `O(timestamps)`.
    ///
    /// # Errors
    ///
    /// [`Error::TimestampTooFarAhead`].
    fn check_clock(&self, policy: &ReceivePolicy) -> Result<(), Error>;

    /// No live dot of `self` that `local` also holds live carries a different payload there
    /// (element, key, value or total). `O(self)` lookups in `local`.
    ///
    /// # Errors
    ///
    /// [`Error::ConflictingPayload`] naming what carries the payload.
    fn check_payloads(&self, local: &Self) -> Result<(), Error>;

    /// `local` joined with `self` holds at most [`Limits::max_elements`] elements (set
    /// elements; the default, for stores without elements, passes). An upper bound: removals
    /// are not subtracted. `O(1)` when the two counts together fit, else `O(self)` lookups.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] naming the store's element field.
    fn check_joined_elements(&self, local: &Self, limits: &Limits) -> Result<(), Error> {
        let _ = (local, limits);
        Ok(())
    }
}

/// Own dots (the one check [`OwnDotsCheck`] runs alone), the replicas of the joined context within
/// [`Limits::max_replicas`], then timestamps, then payloads.
impl<S: ReceiveStore> Receive for Causal<S> {
    fn validate_against(&self, local: &Self, policy: &ReceivePolicy) -> Result<(), Error> {
        own_events(self.context.max(policy.replica), local.context.max(policy.replica), policy.replica)?;
        let new = self.context.ranges().filter(|(r, _)| local.context.max(*r) == 0).count();
        check_replicas("context.replicas", local.context.replica_count() + new, &policy.limits)?;
        check_context_claims(&self.context, &local.context, policy)?;
        check_joined_size(self, local, &policy.limits)?;
        self.store.check_joined_elements(&local.store, &policy.limits)?;
        self.store.check_clock(policy)?;
        self.store.check_payloads(&local.store)
    }
}

/// How far a value may claim another replica's events beyond what the receiver has seen of it
/// ([`Limits::max_claim_ahead`]). The receiver's own replica is [`OwnDotsCheck`]'s.
/// `O(incoming replicas x log local replicas)`.
fn check_context_claims(
    incoming: &CausalContext,
    local: &CausalContext,
    policy: &ReceivePolicy,
) -> Result<(), Error> {
    for (r, rs) in incoming.ranges() {
        let found = rs.last().map_or(0, |&(_, hi)| hi);
        if r != policy.replica {
            check_claim(r, local.max(r), found, &policy.limits)?;
        }
    }
    Ok(())
}

/// One claim (an event number or a count of `replica`) against what the receiver has seen.
fn check_claim(replica: ReplicaId, seen: u64, found: u64, limits: &Limits) -> Result<(), Error> {
    let max_ahead = limits.max_claim_ahead;
    if found > seen.saturating_add(max_ahead) {
        return Err(Error::ClaimTooFarAhead { replica, seen, found, max_ahead });
    }
    Ok(())
}

/// The receiver's state after the join stays within the limits it decodes with: context ranges
/// ([`Limits::max_ranges`]) and live dots ([`Limits::max_dots`]). Otherwise every peer with the
/// same limits would refuse the receiver's snapshots, forever.
///
/// Ranges: exact (the union of each replica's ranges), computed only when the two counts
/// together exceed the limit: `O(1)` then, else `O(incoming ranges + local ranges of the replicas
/// it names)`. Dots: the local count plus the incoming dots the receiver has never seen (an upper
/// bound: removals are not subtracted). `O(incoming dots x log local)`.
fn check_joined_size<S: DotStore>(
    incoming: &Causal<S>,
    local: &Causal<S>,
    limits: &Limits,
) -> Result<(), Error> {
    let (mine, theirs) = (local.context.range_count(), incoming.context.range_count());
    if mine.saturating_add(theirs) > limits.max_ranges {
        let mut total = mine;
        for (r, rs) in incoming.context.ranges() {
            let l = local.context.ranges_of(&r);
            total = total - l.len() + crate::causal::context::union_ranges(l, rs).len();
        }
        if total > limits.max_ranges {
            return Err(too_large("context.ranges", limits.max_ranges, total));
        }
    }
    let mut dots = local.store.dot_count();
    if dots.saturating_add(incoming.store.dot_count()) > limits.max_dots {
        incoming.store.for_each_dot(&mut |d| dots += usize::from(!local.context.contains(&d)));
        if dots > limits.max_dots {
            return Err(too_large("store.dots", limits.max_dots, dots));
        }
    }
    Ok(())
}

fn too_large(field: &'static str, limit: usize, found: usize) -> Error {
    Error::TooLarge { field, limit: limit as u64, found: found as u64 }
}

/// A dot set has no payload: only its own dots and nothing else to check.
impl ReceiveStore for DotSet {
    fn check_clock(&self, _: &ReceivePolicy) -> Result<(), Error> {
        Ok(())
    }

    fn check_payloads(&self, _: &Self) -> Result<(), Error> {
        Ok(())
    }
}

/// The replicas a join would leave in the receiver's state, against the limit: beyond it, the
/// receiver's own state would no longer decode at peers with the same limits.
fn check_replicas(field: &'static str, found: usize, limits: &Limits) -> Result<(), Error> {
    if found > limits.max_replicas {
        return Err(Error::TooLarge { field, limit: limits.max_replicas as u64, found: found as u64 });
    }
    Ok(())
}

/// The replicas of `a` and `b` together. `O(a log b)`.
fn union_len(a: &GCounter, b: &GCounter) -> usize {
    b.len() + a.iter().filter(|(r, _)| b.get(*r) == 0).count()
}

/// Every entry of another replica within [`Limits::max_claim_ahead`] of the receiver's entry for
/// it (an entry at [`MAX_COUNT`](crate::counter::MAX_COUNT) would freeze that replica's count at
/// every receiver). `O(incoming log local)`.
fn counter_claims(incoming: &GCounter, local: &GCounter, policy: &ReceivePolicy) -> Result<(), Error> {
    for (r, n) in incoming.iter() {
        if r != policy.replica {
            check_claim(r, local.get(r), n, &policy.limits)?;
        }
    }
    Ok(())
}

/// The highest event (a context's dot, or a counter entry) a value claims for the receiver's own
/// replica, against the receiver's own: the one own-dots check of every receive path.
fn own_events(found: u64, own_max: u64, replica: ReplicaId) -> Result<(), Error> {
    if found > own_max { Err(Error::OwnDotFromFuture { replica, own_max, found }) } else { Ok(()) }
}

/// Only the receiver's replica counts its own increments: an entry for it above its own count is
/// [`Error::OwnDotFromFuture`] (the counter's analogue of a dot from the future).
///
/// ```
/// use convergent::{Error, GCounter, Receive, ReceivePolicy, ReplicaId};
///
/// let me = ReplicaId::from_u128(1);
/// let mut before_the_crash = GCounter::new();
/// let _ = before_the_crash.increment(me, 5);
/// let wiped = GCounter::new();
/// assert!(matches!(
///     before_the_crash.validate_against(&wiped, &ReceivePolicy::new(me, 0)),
///     Err(Error::OwnDotFromFuture { own_max: 0, found: 5, .. })
/// ));
/// ```
///
/// The replicas of the join must stay within [`Limits::max_replicas`] ([`Error::TooLarge`]).
impl Receive for GCounter {
    fn validate_against(&self, local: &Self, policy: &ReceivePolicy) -> Result<(), Error> {
        let me = policy.replica;
        own_events(self.get(me), local.get(me), me)?;
        check_replicas("g-counter", union_len(self, local), &policy.limits)?;
        counter_claims(self, local, policy)
    }
}

/// As a [`GCounter`], for both halves (the replicas of the two halves together are its entries).
impl Receive for PnCounter {
    fn validate_against(&self, local: &Self, policy: &ReceivePolicy) -> Result<(), Error> {
        let me = policy.replica;
        own_events(self.increments().get(me), local.increments().get(me), me)?;
        own_events(self.decrements().get(me), local.decrements().get(me), me)?;
        // The replicas of both halves of both counters together, without cloning the
        // receiver's state: its own replicas, plus the incoming ones it has in neither half
        // (a replica in both incoming halves counted once). `O(incoming log local + local N)`.
        let (lp, ln) = (local.increments(), local.decrements());
        let known = union_len(ln, lp);
        let absent = |r: ReplicaId| lp.get(r) == 0 && ln.get(r) == 0;
        let (ip, id) = (self.increments(), self.decrements());
        let new = ip.iter().filter(|(r, _)| absent(*r)).count()
            + id.iter().filter(|(r, _)| ip.get(*r) == 0 && absent(*r)).count();
        check_replicas("pn-counter", known + new, &policy.limits)?;
        counter_claims(ip, lp, policy)?;
        counter_claims(id, ln, policy)
    }
}

/// The timestamp within the skew bound.
///
/// Two writes with one `(timestamp, writer)` and different values are NOT refused: the join
/// orders writes totally by `(timestamp, writer, value)`, so every replica keeps the same one
/// whatever the order of delivery (no divergence), and [`LwwRegister::write`] with an explicit
/// timestamp may legitimately produce them.
///
/// ```
/// use convergent::{Error, LwwRegister, Receive, ReceivePolicy, ReplicaId, Timestamp};
///
/// let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut far = LwwRegister::new();
/// let _ = far.write(peer, Timestamp::from_parts(10_000_000, 0), "x");
/// let policy = ReceivePolicy::new(me, 1_000);
/// assert!(matches!(far.validate_against(&LwwRegister::new(), &policy), Err(Error::TimestampTooFarAhead { .. })));
/// ```
impl<T: Ord + Clone> Receive for LwwRegister<T> {
    fn validate_against(&self, local: &Self, policy: &ReceivePolicy) -> Result<(), Error> {
        let _ = local;
        match (self.timestamp(), self.writer()) {
            (Some(ts), Some(writer)) => policy.check_timestamp(ts, writer),
            _ => Ok(()),
        }
    }
}

/// The sync engine's hook into validated receipt: a check run on every received payload BEFORE
/// it touches the state (after decoding, which already checked the payload's own invariants).
///
/// A validator sees what [`Receive::validate_against`] sees: the incoming value, the receiver's
/// state and the [`ReceivePolicy`] the engine validates under
/// ([`SyncEngine::receive_policy`](crate::sync::SyncEngine::receive_policy): its replica id, its
/// [`Limits`] from [`SyncEngine::with_limits`](crate::sync::SyncEngine::with_limits), no clock).
/// Decoding and receipt therefore apply one set of limits. Implemented by [`BasicCheck`] (the
/// default: the value's own [`Receive`] checks), [`ReceiveCheck`] (the same with a clock),
/// [`OwnDotsCheck`] (only the first of them), [`AcceptAll`], closures
/// `Fn(&L, &L, ReplicaId) -> Result<(), Error>` taking `(incoming, local, me)`, and pairs of
/// validators (both must pass). A check of your own refuses with [`Error::Rejected`], from a
/// closure or from your type's [`Receive::validate_against`].
///
/// ```
/// use convergent::sync::{BasicCheck, Mode, SyncEngine, Validator};
/// use convergent::{Error, EwFlag, ReplicaId};
///
/// // Refuse anything while read-only, after the receipt checks.
/// let read_only = |_: &EwFlag, _: &EwFlag, _: ReplicaId| Err(Error::Rejected { reason: "read-only" });
/// let e = SyncEngine::new(ReplicaId::from_u128(1), Mode::DeltaBpRr).with_validator((BasicCheck, read_only));
/// let refused = e.validator().validate(&EwFlag::new(), e.state(), &e.receive_policy());
/// assert_eq!(refused, Err(Error::Rejected { reason: "read-only" }));
/// ```
pub trait Validator<L> {
    /// `Ok` if `incoming` may be joined into `local`, the state of the replica `policy` describes.
    ///
    /// # Errors
    ///
    /// Whatever the check finds; the engine returns it and changes nothing.
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error>;
}

/// The validator that accepts every payload that decoded. `O(1)`. Only for trusted peers: with
/// it, remote input can grow the state past the engine's limits (the checks of [`BasicCheck`]
/// are skipped; an OR-Set still widens its packing rather than panic). (A lattice of your own
/// needs no `AcceptAll`: `impl Receive for MyType {}` accepts what decodes under the default
/// [`BasicCheck`].)
///
/// ```
/// # use convergent::sync::{AcceptAll, Validator};
/// # use convergent::{EwFlag, ReceivePolicy, ReplicaId};
/// let policy = ReceivePolicy::without_clock(ReplicaId::from_u128(1));
/// assert!(AcceptAll.validate(&EwFlag::new(), &EwFlag::new(), &policy).is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AcceptAll;

impl<L> Validator<L> for AcceptAll {
    fn validate(&self, _: &L, _: &L, _: &ReceivePolicy) -> Result<(), Error> {
        Ok(())
    }
}

/// The sync engine's default validator: [`Receive::validate_against`] under the engine's
/// [`ReceivePolicy`], which has no clock. So every check of receipt but the clock's: own events
/// from the future, replicas beyond [`Limits::max_replicas`] (and an OR-Set's packing), claims
/// beyond [`Limits::max_claim_ahead`], a joined state past [`Limits::max_ranges`] or
/// [`Limits::max_dots`], and dots whose payload differs from the receiver's. With it no remote
/// input can make the engine panic or grow past its own limits. Use [`ReceiveCheck`] to bound
/// LWW timestamps too. `O(payload)`.
///
/// ```
/// use convergent::sync::{BasicCheck, Validator};
/// use convergent::{Error, EwFlag, ReceivePolicy, ReplicaId};
///
/// let me = ReplicaId::from_u128(1);
/// let mut before_the_crash = EwFlag::new();
/// let _ = before_the_crash.enable(me);
/// assert!(matches!(
///     BasicCheck.validate(&before_the_crash, &EwFlag::new(), &ReceivePolicy::without_clock(me)),
///     Err(Error::OwnDotFromFuture { .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BasicCheck;

impl<L: Receive> Validator<L> for BasicCheck {
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error> {
        incoming.validate_against(local, policy)
    }
}

/// A closure `(incoming, local, me)`; it does not see the limits.
impl<L, F: Fn(&L, &L, ReplicaId) -> Result<(), Error>> Validator<L> for F {
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error> {
        self(incoming, local, policy.replica)
    }
}

impl<L, A: Validator<L>, B: Validator<L>> Validator<L> for (A, B) {
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error> {
        self.0.validate(incoming, local, policy)?;
        self.1.validate(incoming, local, policy)
    }
}

/// A state with a causal context (every causal type of this crate), for [`OwnDotsCheck`].
///
/// ```
/// # use convergent::sync::HasContext;
/// # use convergent::{EwFlag, ReplicaId};
/// let mut f = EwFlag::new();
/// let _ = f.enable(ReplicaId::from_u128(1));
/// assert_eq!(HasContext::causal_context(&f).dot_count(), 1);
/// ```
pub trait HasContext {
    /// The causal context: every event this value has seen.
    fn causal_context(&self) -> &CausalContext;
}

impl<S> HasContext for crate::Causal<S> {
    fn causal_context(&self) -> &CausalContext {
        self.context()
    }
}

/// Only the first check of [`Receive::validate_against`]: refuses input that carries an event of
/// the RECEIVER's own replica beyond its own counter ([`Error::OwnDotFromFuture`]).
/// `O(replicas of the incoming context)`.
///
/// Such input means this replica lost state (a restore from an old backup, a wiped disk) and came
/// back under its old id, or another process uses its id. Writing on would re-issue event numbers
/// peers have already seen, and their copies would treat the new writes as old news (riak_kv
/// issue 679). The fix is a new [`ReplicaId`]: see [`SyncEngine::new`](crate::sync::SyncEngine::new).
///
/// ```
/// use convergent::sync::{OwnDotsCheck, Validator};
/// use convergent::{Error, EwFlag, ReceivePolicy, ReplicaId};
///
/// let me = ReplicaId::from_u128(1);
/// let mut before_the_crash = EwFlag::new();
/// let _ = before_the_crash.enable(me);
/// let wiped = EwFlag::new(); // came back empty under the same id: wrong
/// assert!(matches!(
///     OwnDotsCheck.validate(&before_the_crash, &wiped, &ReceivePolicy::without_clock(me)),
///     Err(Error::OwnDotFromFuture { .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OwnDotsCheck;

impl<L: HasContext> Validator<L> for OwnDotsCheck {
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error> {
        let me = policy.replica;
        own_events(incoming.causal_context().max(me), local.causal_context().max(me), me)
    }
}

/// [`BasicCheck`] with a clock: [`Receive::validate_against`] under the engine's policy, with
/// `clock()` (milliseconds since the Unix epoch) as its `now_ms`. So LWW timestamps more than
/// [`Limits::max_clock_skew_ms`] (the engine's, from [`SyncEngine::with_limits`]) ahead of the
/// clock are refused as well. `O(payload)`.
///
/// [`SyncEngine::with_limits`]: crate::sync::SyncEngine::with_limits
///
/// ```
/// use convergent::sync::{Message, Mode, ReceiveCheck, SyncEngine};
/// use convergent::{Error, Limits, LwwRegister, ReplicaId, Timestamp};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let clock = || 1_000_000; // a fixed clock, for the example
/// let tight = Limits { max_clock_skew_ms: 10, ..Limits::default() };
/// let mut e = SyncEngine::<LwwRegister<u8>>::new(a, Mode::DeltaBpRr)
///     .with_limits(tight)
///     .with_validator(ReceiveCheck::new(clock));
/// let mut near = LwwRegister::new();
/// let delta = near.write(b, Timestamp::from_parts(1_000_100, 0), 1); // 100 ms ahead
/// assert!(matches!(e.on_message(b, Message::Delta { seq: 1, delta }), Err(Error::TimestampTooFarAhead { .. })));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReceiveCheck<C> {
    clock: C,
}

impl<C: Fn() -> u64> ReceiveCheck<C> {
    /// Checks against `clock`; the bounds are the engine's [`Limits`]. `O(1)`.
    ///
    /// ```
    /// # use convergent::sync::ReceiveCheck;
    /// let c = ReceiveCheck::new(|| 0);
    /// assert_eq!(c.now_ms(), 0);
    /// ```
    pub fn new(clock: C) -> Self {
        ReceiveCheck { clock }
    }

    /// The clock's current reading, in milliseconds since the Unix epoch. `O(clock)`.
    ///
    /// ```
    /// # use convergent::sync::ReceiveCheck;
    /// assert_eq!(ReceiveCheck::new(|| 42).now_ms(), 42);
    /// ```
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }
}

impl<L: Receive, C: Fn() -> u64> Validator<L> for ReceiveCheck<C> {
    fn validate(&self, incoming: &L, local: &L, policy: &ReceivePolicy) -> Result<(), Error> {
        incoming.validate_against(local, &ReceivePolicy { now_ms: self.now_ms(), ..*policy })
    }
}

/// `ReceiveCheck { .. }` (the clock is not shown).
impl<C> fmt::Debug for ReceiveCheck<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiveCheck").finish_non_exhaustive()
    }
}
