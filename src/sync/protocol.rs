//! Protocol version 2 state of an engine: what it holds of each sender (the handshake's digest),
//! chunked groups in both directions, and the engine's counters.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::message::{Message, MessageKind};
use crate::causal::{Causal, CausalContext, Dot, DotStore, Ranges, ReplicaId, VersionVector};
use crate::counter::GCounter;
use crate::error::Error;
use crate::lattice::Decompose;
use crate::limits::Limits;

/// The most version vectors one digest may carry (a composite state sends one per causal
/// component); a longer digest is refused before anything is allocated for it.
pub const MAX_DIGEST_PARTS: usize = 64;

/// A state that can say what it holds in a few version vectors, and answer such a summary
/// with exactly what it lacks: the handshake of
/// [`SyncEngine::with_digest_handshake`](super::SyncEngine::with_digest_handshake).
///
/// A reconnecting or restarted replica sends its [`digest`](Digest::digest); its neighbour
/// answers with [`missing`](Digest::missing), a delta, where it would otherwise send its whole
/// state.
///
/// * A causal type (OR-Set, OR-Map, MV-Register, flag, causal counter): one vector, the
///   contiguous prefix of its causal context; the answer is every live dot beyond it and the
///   context without the live dots within it (so removals travel, as ranges of events).
/// * A G-Counter: one vector, its entries; the answer is the entries above it.
/// * Your own lattice: the defaults send no vector and answer with the whole state (what a
///   snapshot costs). A struct of causal fields concatenates its fields' digests and splits
///   the digest it gets back in the same order ([`PARTS`](Digest::PARTS) each).
///
/// # Contract
///
/// `x.missing(&y.digest())` joined into `y` gives at least `x ⊔ y`, for every `x`, `y` of the
/// type; `missing` must be correct for any digest of [`PARTS`](Digest::PARTS) vectors (it is
/// remote input, validated only for size).
///
/// ```
/// use convergent::sync::Digest;
/// use convergent::{Lattice, OrSet, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = OrSet::new();
/// for i in 0..100u32 {
///     let _ = x.insert(a, i);
/// }
/// let mut y = x.clone(); // y has all of it ...
/// let _ = x.insert(b, 1000); // ... but the last insert
/// let d = x.missing(&y.digest());
/// assert_eq!(d.len(), 1);
/// y.join(d);
/// assert_eq!(y, x);
/// ```
pub trait Digest: Decompose {
    /// The number of version vectors in this type's digest (0: none, the answer is the whole
    /// state).
    const PARTS: usize = 0;

    /// What this value holds, as [`PARTS`](Digest::PARTS) version vectors. `O(replicas)` for
    /// this crate's types.
    fn digest(&self) -> Vec<VersionVector> {
        Vec::new()
    }

    /// What this value holds beyond `digest` (of [`PARTS`](Digest::PARTS) vectors): a delta
    /// that brings any value summarised by `digest` up to at least `self`. The default is
    /// the whole value. For this crate's causal types: time `O(dots beyond the digest +
    /// ranges)`, plus one lookup per event within the digest when some of those events were
    /// removed; allocation for the answer only (no copy of the state). For a G-Counter
    /// `O(entries + digest)`.
    #[must_use]
    fn missing(&self, digest: &[VersionVector]) -> Self {
        let _ = digest;
        self.clone()
    }
}

/// One vector: the contiguous prefix of the causal context. The answer is the state minus the
/// live dots within the prefix (the receiver has seen them; if it still holds them, so does
/// this state): every live dot beyond the prefix with its payload, and the whole context
/// without those live dots, so that every removal the receiver may not know travels as a
/// context entry (removals make no new events, a version vector cannot tell them). Ranges of
/// removed events are compact when removals come in runs, one range per run otherwise.
impl<S: DotStore> Digest for Causal<S> {
    const PARTS: usize = 1;

    fn digest(&self) -> Vec<VersionVector> {
        alloc::vec![self.context.version_vector()]
    }

    fn missing(&self, digest: &[VersionVector]) -> Self {
        let [vv] = digest else { return self.clone() };
        let live = self.store.dot_count();
        // The live dots beyond the frontier: looked up by dot when the context beyond it is
        // no larger than the store (a peer a little behind), else found by a walk of the
        // store (a peer far behind, or a history of mostly removed events): either way only
        // what is selected is copied.
        let beyond = self.context.ranges().map(|(r, rs)| count_beyond(rs, vv.get(r))).sum::<u64>();
        let store = if beyond <= live as u64 {
            let mut dots = self.context.ranges().flat_map(|(r, rs)| {
                let f = vv.get(r);
                rs.iter().filter(move |&&(_, hi)| hi > f).flat_map(move |&(lo, hi)| {
                    (lo.max(f.saturating_add(1))..=hi).filter_map(move |n| Dot::new(r, n))
                })
            });
            self.store.select_dots(&mut dots)
        } else {
            let mut above = Vec::new();
            self.store.for_each_dot(&mut |d| {
                if !vv.contains(&d) {
                    above.push(d);
                }
            });
            self.store.select_dots(&mut above.into_iter())
        };
        // Every live dot not selected is within the frontier.
        let live_within = (live - store.dot_count()) as u64;
        let context = context_without_seen_live(&self.context, &self.store, vv, live_within);
        Causal { store, context }
    }
}

/// The events of `rs` (one replica's ranges) above `frontier`. `O(ranges)`.
fn count_beyond(rs: &[(u64, u64)], frontier: u64) -> u64 {
    rs.iter().filter(|&&(_, hi)| hi > frontier).map(|&(lo, hi)| hi - lo.max(frontier + 1) + 1).sum()
}

/// Appends the event `n` (or the run `lo..=hi`) to sorted, canonical ranges.
fn push_run(out: &mut Ranges, lo: u64, hi: u64) {
    match out.last_mut() {
        Some(last) if last.1.saturating_add(1) >= lo => last.1 = last.1.max(hi),
        _ => out.push((lo, hi)),
    }
}

/// `context` without the live dots of `store` that `vv` covers: the events a peer summarised
/// by `vv` may not know (everything beyond `vv`, and the removed events within it), as ranges.
///
/// `live_within` is the number of live dots within `vv`. When the context holds no more events
/// within `vv` than that, none of them was removed and only the ranges beyond `vv` are copied
/// (`O(ranges)`). Otherwise each event of the context within `vv` is asked of the store
/// (`contains_dot`, no allocation) when there are at most about twice as many as live dots; a
/// history of mostly removed events instead sorts the live dots within `vv` once and subtracts
/// them. Allocation: the ranges returned (plus, in the last case, the live dots within `vv`).
fn context_without_seen_live<S: DotStore>(
    context: &CausalContext,
    store: &S,
    vv: &VersionVector,
    live_within: u64,
) -> CausalContext {
    let within: u64 = context
        .ranges()
        .map(|(r, rs)| {
            let f = vv.get(r);
            rs.iter().filter(|&&(lo, _)| lo <= f).map(|&(lo, hi)| hi.min(f) - lo + 1).sum::<u64>()
        })
        .sum();
    let sorted_live: Option<Vec<Dot>> = (within > live_within && within > 2 * store.dot_count() as u64 + 64)
        .then(|| {
            let mut v = Vec::new();
            store.for_each_dot(&mut |d| {
                if vv.contains(&d) {
                    v.push(d);
                }
            });
            v.sort_unstable();
            v
        });
    let mut entries: Vec<(ReplicaId, Ranges)> = Vec::new();
    for (r, rs) in context.ranges() {
        let f = vv.get(r);
        let mut out = Ranges::new();
        // The live dots of `r` within `vv`, sorted (second case only).
        let mut live_of_r = sorted_live.as_deref().map(|v| {
            let start = v.partition_point(|d| d.replica() < r);
            let end = v.partition_point(|d| d.replica() <= r);
            v[start..end].iter().map(Dot::counter).peekable()
        });
        for &(lo, hi) in rs {
            if lo <= f && within > live_within {
                let top = hi.min(f);
                match live_of_r.as_mut() {
                    None => {
                        for n in lo..=top {
                            if Dot::new(r, n).is_some_and(|d| !store.contains_dot(&d)) {
                                push_run(&mut out, n, n);
                            }
                        }
                    }
                    Some(live) => {
                        let mut next = lo;
                        while let Some(&n) = live.peek() {
                            if n > top {
                                break;
                            }
                            live.next();
                            if n > next {
                                push_run(&mut out, next, n - 1);
                            }
                            next = next.max(n + 1);
                        }
                        if next <= top {
                            push_run(&mut out, next, top);
                        }
                    }
                }
            }
            if hi > f {
                push_run(&mut out, lo.max(f + 1), hi);
            }
        }
        if !out.is_empty() {
            entries.push((r, out));
        }
    }
    CausalContext::from_canonical_parts(entries).unwrap_or_else(|| context.clone())
}

/// One vector: the entries.
impl Digest for GCounter {
    const PARTS: usize = 1;

    fn digest(&self) -> Vec<VersionVector> {
        alloc::vec![self.iter().collect()]
    }

    fn missing(&self, digest: &[VersionVector]) -> Self {
        match digest {
            [vv] => self.iter().filter(|&(r, n)| n > vv.get(r)).collect(),
            _ => self.clone(),
        }
    }
}

/// Two vectors: the increments, then the decrements.
impl Digest for crate::PnCounter {
    const PARTS: usize = 2;

    fn digest(&self) -> Vec<VersionVector> {
        alloc::vec![self.increments().iter().collect(), self.decrements().iter().collect()]
    }

    fn missing(&self, digest: &[VersionVector]) -> Self {
        match digest {
            [p, n] => crate::PnCounter::from_parts(
                self.increments().missing(core::slice::from_ref(p)),
                self.decrements().missing(core::slice::from_ref(n)),
            ),
            _ => self.clone(),
        }
    }
}

/// No vector: a register is one irreducible, the answer is the register.
impl<T: Ord + Clone> Digest for crate::LwwRegister<T> {}

/// Checks a digest received for `L`: the type's part count, every vector within
/// `limits.max_replicas` (the decoder already checked counters and canonical order).
/// `O(parts)`.
pub(crate) fn check_digest(digest: &[VersionVector], parts: usize, limits: &Limits) -> Result<(), Error> {
    if digest.len() != parts {
        return Err(Error::Malformed { field: "message.digest" });
    }
    for vv in digest {
        if vv.len() > limits.max_replicas {
            return Err(Error::TooLarge {
                field: "version-vector",
                limit: limits.max_replicas as u64,
                found: vv.len() as u64,
            });
        }
        if let Some((_, n)) = vv.iter().find(|(_, n)| *n > limits.max_counter) {
            return Err(Error::CounterOutOfRange {
                field: "version-vector",
                value: n,
                max: limits.max_counter,
            });
        }
    }
    Ok(())
}

/// The digest functions of a type, fixed by
/// [`with_digest_handshake`](super::SyncEngine::with_digest_handshake).
pub(crate) struct DigestFns<L> {
    pub(crate) parts: usize,
    pub(crate) digest: fn(&L) -> Vec<VersionVector>,
    pub(crate) missing: fn(&L, &[VersionVector]) -> L,
}

impl<L> Clone for DigestFns<L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L> Copy for DigestFns<L> {}

impl<L: Digest> DigestFns<L> {
    pub(crate) fn of() -> Self {
        DigestFns { parts: L::PARTS, digest: L::digest, missing: L::missing }
    }
}

/// Polls spent waiting for a neighbour's digest before sending it the whole state instead
/// (it may not speak digests).
pub(crate) const DIGEST_PATIENCE: u32 = 3;

/// An engine's counters, since it was built (see
/// [`SyncEngine::stats`](super::SyncEngine::stats)).
///
/// ```
/// use convergent::sync::{EngineStats, MessageKind};
///
/// let s = EngineStats::default();
/// assert_eq!(s.sent[MessageKind::Delta.index()], 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Messages handed to the transport, by [`MessageKind::index`].
    pub sent: [u64; 7],
    /// Encoded bytes of those messages, by kind, when the transport used
    /// [`poll_envelope_bytes`](super::SyncEngine::poll_envelope_bytes) (envelopes included).
    pub bytes_sent: [u64; 7],
    /// Messages accepted, by kind.
    pub received: [u64; 7],
    /// Encoded bytes of those, by kind, when they came through
    /// [`on_envelope_bytes`](super::SyncEngine::on_envelope_bytes) or `on_bytes`.
    pub bytes_received: [u64; 7],
    /// Messages refused, by the name of the error (`"Misaddressed"`, `"OwnDotFromFuture"`, ...).
    pub refused: BTreeMap<&'static str, u64>,
    /// Snapshots sent (whole or in chunks): a neighbour was new, restarted, or behind the
    /// collected log.
    pub snapshots: u64,
    /// Delta-groups and snapshots that were larger than the message bound and went in chunks.
    pub chunked: u64,
    /// Chunks sent again because their acknowledgement had not come.
    pub chunks_resent: u64,
    /// Handshakes sent: an acknowledgement of what this replica holds of a neighbour it
    /// (re)connected to.
    pub handshakes: u64,
    /// Answers to a neighbour's digest: what it lacked, sent as a delta-group in place of a
    /// snapshot ([`SyncEngine::with_digest_handshake`](super::SyncEngine::with_digest_handshake)).
    pub digest_answers: u64,
}

impl EngineStats {
    pub(crate) fn count_sent(&mut self, m: &Message<impl Sized>) {
        self.sent[m.kind().index()] += 1;
        if m.kind() == MessageKind::Snapshot {
            self.snapshots += 1;
        }
    }

    pub(crate) fn refuse(&mut self, e: &Error) {
        *self.refused.entry(error_name(e)).or_default() += 1;
    }
}

/// The variant name of an error, for counters.
fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Malformed { .. } => "Malformed",
        Error::UnsupportedVersion { .. } => "UnsupportedVersion",
        Error::TooLarge { .. } => "TooLarge",
        Error::NotCanonical { .. } => "NotCanonical",
        Error::UnknownReplicaIndex { .. } => "UnknownReplicaIndex",
        Error::DotOutsideContext { .. } => "DotOutsideContext",
        Error::DuplicateDot { .. } => "DuplicateDot",
        Error::ConflictingPayload { .. } => "ConflictingPayload",
        Error::CounterOutOfRange { .. } => "CounterOutOfRange",
        Error::TimestampTooFarAhead { .. } => "TimestampTooFarAhead",
        Error::OwnDotFromFuture { .. } => "OwnDotFromFuture",
        Error::TooDeep { .. } => "TooDeep",
        Error::Rejected { .. } => "Rejected",
        Error::Misaddressed { .. } => "Misaddressed",
        #[allow(unreachable_patterns)]
        _ => "Other",
    }
}

/// What an engine keeps about its neighbours besides its state and sequence number, so that a
/// restart costs no snapshot: persist it with them ([`SyncEngine::sync_record`]) and give it
/// back on restore ([`SyncEngine::with_sync_record`]). Both halves are lower bounds, so an
/// older record is safe; it only costs snapshots.
///
/// [`SyncEngine::sync_record`]: super::SyncEngine::sync_record
/// [`SyncEngine::with_sync_record`]: super::SyncEngine::with_sync_record
///
/// ```
/// use convergent::sync::SyncRecord;
/// use convergent::ReplicaId;
///
/// let r = SyncRecord { holds: vec![(ReplicaId::from_u128(2), 4)], acked: vec![] };
/// assert_eq!(r.holds[0].1, 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SyncRecord {
    /// What this replica holds of each sender: the highest sequence number it acknowledged to
    /// it. Sent as the handshake when the sender becomes a neighbour again.
    pub holds: Vec<(ReplicaId, u64)>,
    /// What each neighbour acknowledged of this replica: a restarted replica whose neighbour
    /// had acknowledged everything sends it nothing.
    pub acked: Vec<(ReplicaId, u64)>,
}

/// A chunked group on its way to one neighbour.
#[derive(Clone, PartialEq)]
pub(crate) struct Outgoing<L> {
    /// The group's sequence number.
    pub(crate) seq: u64,
    pub(crate) parts: Vec<L>,
    pub(crate) acked: Vec<bool>,
}

impl<L: Clone> Outgoing<L> {
    /// The parts not yet acknowledged, as messages.
    pub(crate) fn pending(&self) -> Vec<Message<L>> {
        let count = u32::try_from(self.parts.len()).unwrap_or(u32::MAX);
        self.parts
            .iter()
            .zip(&self.acked)
            .enumerate()
            .filter(|(_, (_, a))| !**a)
            .map(|(i, (p, _))| Message::Chunk {
                seq: self.seq,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                count,
                part: p.clone(),
            })
            .collect()
    }

    /// Records the acknowledgement of part `index`; true once every part is acknowledged.
    pub(crate) fn ack(&mut self, index: u32) -> bool {
        if let Some(a) = usize::try_from(index).ok().and_then(|i| self.acked.get_mut(i)) {
            *a = true;
        }
        self.acked.iter().all(|a| *a)
    }
}

/// Measures a payload's encoded size (`wire::encoded_len`, fixed where the bound is set).
pub(crate) type Measure<L> = fn(&L) -> usize;

/// The version-2 state of an engine.
#[derive(Clone)]
pub(crate) struct Protocol<L> {
    /// What this replica holds of each sender: the highest `seq` it acknowledged to it (after
    /// the transport saved what came with it). Sent as a handshake to a neighbour it
    /// (re)connects to; durable with the state ([`SyncEngine::holds`](super::SyncEngine::holds)).
    pub(crate) holds: BTreeMap<ReplicaId, u64>,
    /// Per sender, the chunked group being received: its `seq`, part count and parts seen
    /// (bounded by the parts that actually arrived, whatever count a sender claims).
    pub(crate) incoming: BTreeMap<ReplicaId, (u64, u32, BTreeSet<u32>)>,
    /// Chunk acknowledgements to send, per sender.
    pub(crate) chunk_acks_due: BTreeMap<ReplicaId, Vec<(u64, u32)>>,
    /// The bound on a payload's encoded size and the function that measures it.
    pub(crate) max_payload: Option<(usize, Measure<L>)>,
    /// Acknowledgements restored from a [`SyncRecord`], applied when the neighbour is added.
    pub(crate) restored_acked: BTreeMap<ReplicaId, u64>,
    /// The digest handshake, if on.
    pub(crate) digest: Option<DigestFns<L>>,
    /// The latest digest of each neighbour (a lower bound of what it holds), kept while it is a
    /// neighbour.
    pub(crate) digests: BTreeMap<ReplicaId, Vec<VersionVector>>,
    /// Neighbours that asked for this replica's digest.
    pub(crate) digests_due: BTreeSet<ReplicaId>,
    /// Per neighbour, the polls spent asking for its digest.
    pub(crate) asked: BTreeMap<ReplicaId, u32>,
    pub(crate) stats: EngineStats,
}

/// Equal state and bound (not the measuring function, nor the counters: counting a refusal
/// changes nothing else).
impl<L> PartialEq for Protocol<L> {
    fn eq(&self, o: &Self) -> bool {
        self.holds == o.holds
            && self.incoming == o.incoming
            && self.chunk_acks_due == o.chunk_acks_due
            && self.max_payload.map(|(n, _)| n) == o.max_payload.map(|(n, _)| n)
            && self.restored_acked == o.restored_acked
            && self.digest.map(|d| d.parts) == o.digest.map(|d| d.parts)
            && self.digests == o.digests
            && self.digests_due == o.digests_due
            && self.asked == o.asked
    }
}

impl<L> Protocol<L> {
    pub(crate) fn new() -> Self {
        Protocol {
            holds: BTreeMap::new(),
            incoming: BTreeMap::new(),
            chunk_acks_due: BTreeMap::new(),
            max_payload: None,
            restored_acked: BTreeMap::new(),
            digest: None,
            digests: BTreeMap::new(),
            digests_due: BTreeSet::new(),
            asked: BTreeMap::new(),
            stats: EngineStats::default(),
        }
    }

    /// Records that this replica now holds `from`'s deltas before `seq`.
    pub(crate) fn hold(&mut self, from: ReplicaId, seq: u64) {
        let h = self.holds.entry(from).or_insert(seq);
        *h = (*h).max(seq);
    }

    /// Forgets what was kept about a neighbour that left.
    pub(crate) fn forget(&mut self, j: ReplicaId) {
        self.digests.remove(&j);
        self.digests_due.remove(&j);
        self.asked.remove(&j);
    }

    /// What to send a neighbour whose acknowledgement is unknown, in place of a snapshot:
    /// the answer to its digest (what it lacks, as a delta-group ending at `seq`), or while
    /// its digest has not come, a request for it (this replica's digest, asking back), for
    /// [`DIGEST_PATIENCE`] polls. `None`: send the snapshot. `O(missing)` or `O(digest)`.
    pub(crate) fn resync(&mut self, j: ReplicaId, seq: u64, state: &L) -> Option<Message<L>> {
        let fns = self.digest?;
        if let Some(d) = self.digests.get(&j) {
            self.stats.digest_answers += 1;
            return Some(Message::Delta { seq, delta: (fns.missing)(state, d) });
        }
        let n = self.asked.entry(j).or_insert(0);
        if *n >= DIGEST_PATIENCE {
            return None;
        }
        *n += 1;
        Some(Message::Digest { digest: (fns.digest)(state), asks_back: true })
    }

    /// Takes a neighbour's digest (checked: part count, sizes); it asks for ours back if
    /// `asks_back`. `O(digest)`.
    pub(crate) fn on_digest(
        &mut self,
        from: ReplicaId,
        digest: Vec<VersionVector>,
        asks_back: bool,
        neighbour: bool,
        limits: &Limits,
    ) -> Result<(), Error> {
        let Some(fns) = self.digest else {
            return Err(Error::Rejected { reason: "digest handshake not enabled" });
        };
        check_digest(&digest, fns.parts, limits)?;
        if !neighbour {
            // Kept only for neighbours: a flood of strangers stores nothing.
            return Ok(());
        }
        if asks_back {
            self.digests_due.insert(from);
        }
        self.asked.remove(&from);
        self.digests.insert(from, digest);
        Ok(())
    }

    /// This replica's digest for every neighbour that asked for it.
    pub(crate) fn take_digests(&mut self, state: &L) -> Vec<(ReplicaId, Message<L>)> {
        let Some(fns) = self.digest else { return Vec::new() };
        if self.digests_due.is_empty() {
            return Vec::new();
        }
        let mine = (fns.digest)(state);
        core::mem::take(&mut self.digests_due)
            .into_iter()
            .map(|to| (to, Message::Digest { digest: mine.clone(), asks_back: false }))
            .collect()
    }

    /// Records part `index` of `count` of `from`'s group `seq`; true once every part arrived.
    pub(crate) fn part_arrived(&mut self, from: ReplicaId, seq: u64, index: u32, count: u32) -> bool {
        self.chunk_acks_due.entry(from).or_default().push((seq, index));
        let e = self.incoming.entry(from).or_insert_with(|| (seq, count, BTreeSet::new()));
        if e.0 != seq || e.1 != count {
            *e = (seq, count, BTreeSet::new());
        }
        e.2.insert(index);
        if e.2.len() == usize::try_from(count).unwrap_or(usize::MAX) {
            self.incoming.remove(&from);
            self.hold(from, seq);
            return true;
        }
        false
    }
}

/// The most irreducibles per encoded byte a payload may have to be split into chunks (see
/// [`split`]): an honest state's live dots cost at least a byte each, so past this its context
/// is mostly a range of removed (or claimed) events.
pub(crate) const MAX_IRREDUCIBLES_PER_BYTE: usize = 8;

/// Splits `payload` into parts whose measured size is at most `max` (an irreducible larger
/// than `max` goes alone), by join decomposition: every part is a valid delta, and their join is
/// `payload`. `O(irreducibles × part size)`.
///
/// A payload with more than [`MAX_IRREDUCIBLES_PER_BYTE`] irreducibles per byte of its encoding
/// (plus 4 096) is not split: it goes whole (one part). Decomposition yields one irreducible per
/// event of the context a removed dot leaves, so a state that took a 29-byte message claiming
/// `2^40` events of some replica (within the default `max_claim_ahead`) would otherwise build
/// `2^40` irreducibles for its next chunked snapshot: a hang and an allocation no machine has.
/// `O(1)` for the check (`irreducible_count` is the context's event count for causal types).
pub(crate) fn split<L: Decompose>(payload: &L, max: usize, size: impl Fn(&L) -> usize) -> Vec<L> {
    let bytes = size(payload);
    if payload.irreducible_count() > bytes.saturating_mul(MAX_IRREDUCIBLES_PER_BYTE).saturating_add(4096) {
        return alloc::vec![payload.clone()];
    }
    let mut parts = Vec::new();
    let mut part = L::bottom();
    for x in payload.decompose() {
        if part.is_bottom() {
            part = x;
            continue;
        }
        let candidate = part.clone().joined(x.clone());
        if size(&candidate) <= max {
            part = candidate;
        } else {
            parts.push(core::mem::replace(&mut part, x));
        }
    }
    if !part.is_bottom() || parts.is_empty() {
        parts.push(part);
    }
    parts
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use alloc::vec::Vec;

    use super::super::{Envelope, Message, MessageKind, Mode, SyncEngine};
    use crate::{Error, Lattice, OrSet, ReplicaId};

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    type E = SyncEngine<OrSet<u64>>;

    /// A splitmix step: a deterministic loss pattern.
    fn next(s: &mut u64) -> u64 {
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Delivers every envelope of `from` to whichever engine it names (by id), losing those for
    /// which `lose` says so; returns the envelopes sent.
    fn pump(engines: &mut [E], lose: &mut impl FnMut() -> bool) -> usize {
        let mut mail = Vec::new();
        for e in engines.iter_mut() {
            mail.extend(e.poll_envelopes());
        }
        let n = mail.len();
        for m in mail {
            if lose() {
                continue;
            }
            // Delivered by address: whoever has the recipient's id, or (a stale message) the
            // engine now at that "address" (same index), refusing it.
            if let Some(e) = engines.iter_mut().find(|e| e.id() == m.to) {
                e.on_envelope(m).unwrap();
            }
        }
        n
    }

    /// The issue's divergence: B loses its disk and comes back as B' on the same address. A,
    /// not yet told, sends B a delta; B' must not acknowledge it (with bare messages it did, A
    /// then counted B' as holding everything before that seq, and B' never got the snapshot it
    /// needed).
    #[test]
    fn a_stale_delta_for_a_predecessor_is_refused_and_the_newcomer_gets_a_snapshot() {
        let (a, b, b2) = (r(1), r(2), r(3));
        let mut x = E::new(a, Mode::DeltaBpRr);
        let mut y = E::new(b, Mode::DeltaBpRr);
        x.add_neighbour(b);
        y.add_neighbour(a);
        for i in 0..5 {
            x.update(|s, me| s.insert(me, i));
        }
        let mut never = || false;
        let mut both = [x, y];
        for _ in 0..3 {
            pump(&mut both, &mut never);
        }
        let [mut x, _] = both;
        // B is wiped; B' (new id) listens where B was. A edits once more and sends to B.
        let mut y2 = E::new(b2, Mode::DeltaBpRr);
        x.update(|s, me| s.insert(me, 99));
        let stale: Vec<Envelope<OrSet<u64>>> = x.poll_envelopes();
        assert!(stale.iter().all(|e| e.to == b));
        for e in stale {
            assert_eq!(y2.on_envelope(e), Err(Error::Misaddressed { to: b, me: b2 }));
        }
        assert!(y2.poll_envelopes().is_empty(), "nothing acknowledged");
        assert_eq!(y2.stats().refused["Misaddressed"], 1);
        // Membership tells A: B is gone, B' is there.
        x.remove_neighbour(b);
        x.add_neighbour(b2);
        y2.add_neighbour(a);
        let mut both = [x, y2];
        for _ in 0..3 {
            pump(&mut both, &mut never);
        }
        assert_eq!(both[0].state(), both[1].state());
        assert_eq!(both[1].state().len(), 6);
        assert!(both[0].stats().snapshots >= 1, "the newcomer needs a snapshot");
    }

    /// The handshake: a replica restarted from its record (state, seq, holds) tells its
    /// neighbour what it holds; the neighbour goes on with deltas, no snapshot either way.
    #[test]
    fn a_restart_with_its_holds_costs_no_snapshot() {
        let (a, b) = (r(1), r(2));
        let mut x = E::new(a, Mode::DeltaBpRr);
        let mut y = E::new(b, Mode::DeltaBpRr);
        x.add_neighbour(b);
        y.add_neighbour(a);
        for i in 0..50 {
            x.update(|s, me| s.insert(me, i));
            y.update(|s, me| s.insert(me, 1000 + i));
        }
        let mut never = || false;
        let mut both = [x, y];
        for _ in 0..3 {
            pump(&mut both, &mut never);
        }
        let [x, y] = both;
        // Both restart from their records, one after the other would do the same.
        let mut x2 = E::restore(a, Mode::DeltaBpRr, x.state().clone(), x.seq())
            .unwrap()
            .with_sync_record(x.sync_record());
        let mut y2 = E::restore(b, Mode::DeltaBpRr, y.state().clone(), y.seq())
            .unwrap()
            .with_sync_record(y.sync_record());
        x2.add_neighbour(b);
        y2.add_neighbour(a);
        x2.update(|s, me| s.insert(me, 7777));
        let mut both = [x2, y2];
        for _ in 0..3 {
            pump(&mut both, &mut never);
        }
        assert_eq!(both[0].state(), both[1].state());
        for e in &both {
            assert_eq!(e.stats().snapshots, 0, "handshakes spared the snapshots");
            assert_eq!(e.stats().handshakes, 1);
        }
        // Without the holds, each side sends the other its whole state.
        let mut x3 = E::restore(a, Mode::DeltaBpRr, x.state().clone(), x.seq()).unwrap();
        let mut y3 = E::restore(b, Mode::DeltaBpRr, y.state().clone(), y.seq()).unwrap();
        x3.add_neighbour(b);
        y3.add_neighbour(a);
        let mut both = [x3, y3];
        pump(&mut both, &mut never);
        assert_eq!(both[0].stats().snapshots + both[1].stats().snapshots, 2);
    }

    /// Parts are acknowledged one by one: under 20% loss each way, a snapshot in ~50 parts
    /// arrives after sending each part about 1 / 0.8^2 = 1.6 times (a part, or its ack, is lost),
    /// where all-or-nothing reassembly needs the whole message to survive (0.8^50 = 1.4e-5 per
    /// attempt).
    #[test]
    fn chunks_are_acknowledged_one_by_one_and_only_missing_parts_are_resent() {
        let (a, b) = (r(1), r(2));
        let mut x = E::new(a, Mode::DeltaBpRr).with_max_payload_bytes(60).with_resend_after(2);
        for i in 0..1000 {
            x.update(|s, me| s.insert(me, i));
        }
        // A snapshot: x's log was collected with no neighbour.
        x.add_neighbour(b);
        let y = E::new(b, Mode::DeltaBpRr).with_max_payload_bytes(60).with_resend_after(2);
        let mut seed = 7u64;
        let mut lossy = || next(&mut seed) % 5 == 0;
        let mut both = [x, y];
        let mut rounds = 0;
        while both[1].state() != both[0].state() || !both[0].caught_up(b) {
            pump(&mut both, &mut lossy);
            rounds += 1;
            assert!(rounds < 40, "did not converge");
        }
        let s = both[0].stats();
        let parts = s.sent[MessageKind::Chunk.index()];
        assert_eq!(s.chunked, 1);
        let first = parts - s.chunks_resent;
        assert!(first > 40, "{first} parts");
        assert!(parts * 10 < first * 20, "{parts} chunk messages for {first} parts");
        assert!(both[1].stats().sent[MessageKind::ChunkAck.index()] >= first);
    }

    /// A hostile part count allocates nothing for the parts that never come.
    #[test]
    fn a_claimed_part_count_allocates_nothing_ahead() {
        let (a, b) = (r(1), r(2));
        let mut y = E::new(b, Mode::DeltaBpRr);
        let mut src = OrSet::new();
        for i in 0..100u32 {
            let part = src.insert(a, u64::from(i));
            y.on_message(a, Message::Chunk { seq: 5, index: i, count: u32::MAX, part }).unwrap();
        }
        assert_eq!(y.proto.incoming.len(), 1);
        assert_eq!(y.proto.incoming[&a].2.len(), 100);
        assert!(y.sync_record().holds.is_empty(), "the group is not complete");
        assert_eq!(
            y.on_message(a, Message::Chunk { seq: 5, index: 3, count: 2, part: OrSet::new() }),
            Err(Error::Malformed { field: "message.chunk-index" })
        );
        // An ack of a part of a seq never issued is refused; one for no group in flight ignored.
        assert!(matches!(
            y.on_message(a, Message::ChunkAck { seq: 999, index: 0 }),
            Err(Error::CounterOutOfRange { .. })
        ));
        assert!(y.on_message(a, Message::ChunkAck { seq: 0, index: 0 }).is_ok());
        assert!(y.state().len() == 100 && !y.state().is_bottom());
    }

    #[test]
    fn envelopes_round_trip_and_version_1_bytes_are_refused() {
        let mut f = OrSet::new();
        let e = Envelope {
            from: r(1),
            to: r(2),
            message: Message::Chunk { seq: 3, index: 1, count: 2, part: f.insert(r(1), 5u64) },
        };
        let bytes = e.to_bytes();
        assert_eq!(Envelope::from_bytes(&bytes, &crate::Limits::default()), Ok(e.clone()));
        let v1 = e.message.to_bytes();
        assert_eq!(
            Envelope::<OrSet<u64>>::from_bytes(&v1, &crate::Limits::default()),
            Err(Error::UnsupportedVersion { found: 1 })
        );
        let mut y = E::new(r(2), Mode::DeltaBpRr);
        assert_eq!(y.on_envelope_bytes(&v1), Err(Error::UnsupportedVersion { found: 1 }));
        assert_eq!(y.on_envelope_bytes(&bytes), Ok(r(1)));
        assert_eq!(y.stats().bytes_received[MessageKind::Chunk.index()], bytes.len() as u64);
        for cut in 0..bytes.len() {
            assert!(y.on_envelope_bytes(&bytes[..cut]).is_err());
        }
    }

    /// Bytes both sides send until `y` (which holds `held`, restarted without a sync record)
    /// has `x`'s state, with or without the digest handshake.
    fn resync_bytes(full: &OrSet<u64>, held: &OrSet<u64>, digests: bool) -> (u64, u64) {
        let (a, b) = (r(1), r(2));
        let mut x = E::restore(a, Mode::DeltaBpRr, full.clone(), 5000).unwrap();
        let mut y = E::restore(b, Mode::DeltaBpRr, held.clone(), 5000).unwrap();
        if digests {
            x = x.with_digest_handshake();
            y = y.with_digest_handshake();
        }
        x.add_neighbour(b);
        y.add_neighbour(a);
        let mut bytes = 0u64;
        for _ in 0..6 {
            for (_, m) in x.poll_envelope_bytes() {
                bytes += m.len() as u64;
                y.on_envelope_bytes(&m).unwrap();
            }
            for (_, m) in y.poll_envelope_bytes() {
                bytes += m.len() as u64;
                x.on_envelope_bytes(&m).unwrap();
            }
        }
        assert_eq!(x.state(), y.state());
        assert!(x.caught_up(b) && y.caught_up(a));
        (bytes, x.stats().snapshots + y.stats().snapshots)
    }

    /// The issue's measure: a peer that missed the last `k` updates (inserts and removes) of
    /// an `n`-element set comes back; the snapshot costs the state, the digest's answer the
    /// `k` updates, whatever `n`.
    #[test]
    fn a_digest_resyncs_a_peer_that_missed_k_updates_for_the_updates_not_the_state() {
        let k = 10u64;
        let mut after_by_n = Vec::new();
        for n in [1_000u64, 10_000] {
            let (a, c) = (r(1), r(3));
            let mut full = OrSet::new();
            for i in 0..n {
                let _ = full.insert(if i % 2 == 0 { a } else { c }, i);
            }
            let held = full.clone();
            for i in 0..k {
                if i % 2 == 0 {
                    let _ = full.insert(a, n + i);
                } else {
                    let _ = full.remove(c, &i);
                }
            }
            let (before, snaps_before) = resync_bytes(&full, &held, false);
            let (after, snaps_after) = resync_bytes(&full, &held, true);
            std::eprintln!("n = {n}, k = {k}: snapshot {before} bytes, digest {after} bytes");
            assert_eq!(snaps_before, 2, "without digests both sides send their state");
            assert_eq!(snaps_after, 0);
            assert!(before > n * 2, "a snapshot costs the state: {before}");
            assert!(after * 10 < before, "{after} vs {before}");
            after_by_n.push(after);
        }
        // The answer does not grow with the state.
        assert!(after_by_n[1] < after_by_n[0] + 64, "{after_by_n:?}");
    }

    /// G-Counters answer with the entries above the digest.
    #[test]
    fn a_gcounter_digest_answers_with_the_entries_above_it() {
        use super::Digest;
        use crate::GCounter;
        let mut x = GCounter::new();
        for i in 0..100u128 {
            let _ = x.increment(r(i + 1), 5);
        }
        let mut y = x.clone();
        let _ = x.increment(r(7), 1);
        let d = x.missing(&y.digest());
        assert_eq!(d.len(), 1);
        y.join(d);
        assert_eq!(y, x);
        assert!(x.missing(&[]) == x, "a malformed digest gets the whole state");
    }

    /// A digest is remote input: wrong part counts and oversized vectors are refused with the
    /// state and tables unchanged; a stranger's digest is not stored; a peer that never
    /// answers gets the snapshot after a few polls.
    #[test]
    fn digests_are_checked_and_a_silent_peer_gets_a_snapshot() {
        use crate::causal::VersionVector;
        let (a, b, s) = (r(1), r(2), r(9));
        let mut x = E::new(a, Mode::DeltaBpRr).with_digest_handshake();
        let vv: VersionVector = [(r(5), 3)].into_iter().collect();
        let before = x.clone();
        assert_eq!(
            x.on_message(b, Message::Digest { digest: alloc::vec![vv.clone(), vv.clone()], asks_back: true }),
            Err(Error::Malformed { field: "message.digest" })
        );
        let tight = crate::Limits { max_replicas: 0, ..crate::Limits::default() };
        let mut t = x.clone().with_limits(tight);
        assert!(matches!(
            t.on_message(b, Message::Digest { digest: alloc::vec![vv.clone()], asks_back: true }),
            Err(Error::TooLarge { .. })
        ));
        assert!(
            x.on_message(s, Message::Digest { digest: alloc::vec![vv.clone()], asks_back: true }).is_ok()
        );
        assert!(x.proto.digests.is_empty() && x.proto.digests_due.is_empty(), "strangers store nothing");
        assert!(x.state() == before.state());
        // Wire: too many parts refused before allocating them.
        let mut bytes = alloc::vec![1u8, 1, 6, 1];
        bytes.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            Message::<OrSet<u64>>::from_bytes(&bytes, &crate::Limits::default()),
            Err(Error::TooLarge { .. })
        ));
        // An engine without digests refuses them (typed), and a silent peer gets the snapshot.
        let mut plain = E::new(b, Mode::DeltaBpRr);
        assert!(matches!(
            plain.on_message(a, Message::Digest { digest: alloc::vec![vv], asks_back: true }),
            Err(Error::Rejected { .. })
        ));
        let mut x = E::restore(a, Mode::DeltaBpRr, OrSet::new(), 3).unwrap().with_digest_handshake();
        x.update(|st, me| st.insert(me, 1));
        x.add_neighbour(b);
        let kinds: Vec<MessageKind> = (0..5).flat_map(|_| x.poll_outgoing()).map(|(_, m)| m.kind()).collect();
        assert_eq!(
            kinds,
            [
                MessageKind::Digest,
                MessageKind::Digest,
                MessageKind::Digest,
                MessageKind::Snapshot,
                MessageKind::Snapshot
            ]
        );
    }

    /// Mixed engines: one with digests, one without, still converge (the plain one refuses the
    /// requests; the other falls back to a snapshot).
    #[test]
    fn an_engine_without_digests_still_converges_with_one_that_has_them() {
        let (a, b) = (r(1), r(2));
        let mut x = E::restore(a, Mode::DeltaBpRr, OrSet::new(), 3).unwrap().with_digest_handshake();
        let mut y = E::restore(b, Mode::DeltaBpRr, OrSet::new(), 3).unwrap();
        x.update(|st, me| st.insert(me, 1));
        y.update(|st, me| st.insert(me, 2));
        x.add_neighbour(b);
        y.add_neighbour(a);
        for _ in 0..8 {
            for e in x.poll_envelopes() {
                let _ = y.on_envelope(e);
            }
            for e in y.poll_envelopes() {
                let _ = x.on_envelope(e);
            }
        }
        assert_eq!(x.state(), y.state());
        assert!(x.caught_up(b) && y.caught_up(a));
    }

    /// The contract of [`Digest::missing`] on histories of three replicas that insert, remove
    /// and exchange deltas in random order (contexts with gaps included): the answer to `y`'s
    /// digest brings `y` to `x ⊔ y`, and is never larger than `x`.
    #[test]
    fn the_answer_to_a_digest_brings_the_peer_up_to_the_join_on_random_histories() {
        use super::Digest;
        for seed in 0..200u64 {
            let mut rng = seed;
            let ids = [r(1), r(2), r(3)];
            let mut xs: Vec<OrSet<u64>> = alloc::vec![OrSet::new(); 3];
            let mut deltas: Vec<(usize, OrSet<u64>)> = Vec::new();
            for _ in 0..40 {
                let i = (next(&mut rng) % 3) as usize;
                let e = next(&mut rng) % 8;
                let d = match next(&mut rng) % 3 {
                    0 => xs[i].remove(ids[i], &e),
                    1 => {
                        // Deliver some earlier delta out of order (a gap in the receiver's context).
                        if let Some((_, d)) =
                            deltas.get((next(&mut rng) % (deltas.len() as u64 + 1)) as usize)
                        {
                            let d = d.clone();
                            xs[i].join(d);
                        }
                        continue;
                    }
                    _ => xs[i].insert(ids[i], e),
                };
                deltas.push((i, d));
            }
            for x in &xs {
                for y in &xs {
                    let answer = x.missing(&y.digest());
                    let mut got = y.clone();
                    got.join(answer.clone());
                    let want = y.clone().joined(x.clone());
                    assert_eq!(got, want, "seed {seed}");
                    assert!(answer.leq(x), "seed {seed}");
                }
            }
        }
    }

    /// The answer as it was computed before the by-dot selection (clone the store, drop the
    /// dots within the frontier, subtract the live dots seen from the context): the reference
    /// the new computation must equal.
    fn reference_missing<S: crate::causal::DotStore>(
        x: &crate::causal::Causal<S>,
        vv: &crate::causal::VersionVector,
    ) -> crate::causal::Causal<S> {
        let mut seen = Vec::new();
        x.store.for_each_dot(&mut |d| {
            if vv.contains(&d) {
                seen.push(d);
            }
        });
        let seen: crate::CausalContext = seen.into_iter().collect();
        let mut store = x.store.clone();
        store.retain_dots(&mut |d| !vv.contains(d));
        crate::causal::Causal { store, context: x.context.difference(&seen) }
    }

    /// Random histories of three replicas (edits, and earlier deltas delivered out of order so
    /// that contexts have gaps), `rounds` steps: for every pair, the answer to `y`'s digest
    /// equals the reference, brings `y` to `x ⊔ y`, and is below `x`.
    fn answers_match_the_reference<L, S>(
        rounds: usize,
        edit: impl Fn(&mut L, ReplicaId, u64) -> L,
        causal: impl Fn(&L) -> &crate::causal::Causal<S>,
    ) where
        L: super::Digest + Lattice + Clone + PartialEq + core::fmt::Debug,
        S: crate::causal::DotStore + core::fmt::Debug,
    {
        for seed in 0..60u64 {
            let mut rng = seed;
            let ids = [r(1), r(2), r(3)];
            let mut xs: Vec<L> = alloc::vec![L::bottom(); 3];
            let mut deltas: Vec<L> = Vec::new();
            for _ in 0..rounds {
                let i = (next(&mut rng) % 3) as usize;
                if next(&mut rng) % 3 == 0 {
                    let at = (next(&mut rng) % (deltas.len() as u64 + 1)) as usize;
                    if let Some(d) = deltas.get(at) {
                        let d = d.clone();
                        xs[i].join(d);
                    }
                    continue;
                }
                let pick = next(&mut rng);
                deltas.push(edit(&mut xs[i], ids[i], pick));
            }
            for x in &xs {
                for y in &xs {
                    let digest = y.digest();
                    let answer = x.missing(&digest);
                    assert_eq!(*causal(&answer), reference_missing(causal(x), &digest[0]), "seed {seed}");
                    let mut got = y.clone();
                    got.join(answer.clone());
                    assert_eq!(got, y.clone().joined(x.clone()), "seed {seed}");
                    assert!(answer.leq(x), "seed {seed}");
                }
            }
        }
    }

    /// The by-dot answer equals the old clone-and-filter answer on every causal type,
    /// including maps of nested values (a map of sets, of registers, of maps).
    #[test]
    fn the_by_dot_answer_equals_the_clone_and_filter_answer_for_every_causal_type() {
        use crate::{CausalCounter, EwFlag, MvRegister, OrMap};
        answers_match_the_reference(
            60,
            |x: &mut OrSet<u64>, me, p| {
                if p % 3 == 0 { x.remove(me, &(p % 11)) } else { x.insert(me, p % 11) }
            },
            OrSet::as_causal,
        );
        answers_match_the_reference(
            60,
            |x: &mut OrMap<u8, OrSet<u8>>, me, p| {
                let (k, e) = ((p % 5) as u8, ((p >> 8) % 7) as u8);
                match p % 4 {
                    0 => x.remove(me, &k),
                    1 => x.update(me, k, |s| s.remove(&e)).0,
                    _ => x.update(me, k, |s| s.insert(e)).0,
                }
            },
            OrMap::as_causal,
        );
        answers_match_the_reference(
            60,
            |x: &mut OrMap<u8, OrMap<u8, MvRegister<u8>>>, me, p| {
                let (k, j, v) = ((p % 3) as u8, ((p >> 8) % 3) as u8, (p >> 16) as u8);
                match p % 4 {
                    0 => x.remove(me, &k),
                    1 => x.update(me, k, |m| m.remove(&j)).0,
                    _ => x.update(me, k, |m| m.update(j, |r| r.write(v))).0,
                }
            },
            OrMap::as_causal,
        );
        answers_match_the_reference(
            40,
            |x: &mut MvRegister<u8>, me, p| if p % 4 == 0 { x.clear(me) } else { x.write(me, p as u8) },
            MvRegister::as_causal,
        );
        answers_match_the_reference(
            40,
            |x: &mut EwFlag, me, p| if p % 3 == 0 { x.disable(me) } else { x.enable(me) },
            EwFlag::as_causal,
        );
        answers_match_the_reference(
            40,
            |x: &mut CausalCounter, me, p| if p % 5 == 0 { x.reset(me) } else { x.increment(me, p % 9) },
            CausalCounter::as_causal,
        );
    }

    /// Regression guard for the two ways of finding removed events within the frontier:
    /// a history of mostly removed events (the sorted subtraction) and one with a few (the
    /// lookup walk) give the reference answer, and an insert-only history none at all.
    #[test]
    fn the_answer_lists_removed_events_within_the_frontier_by_either_walk() {
        use super::Digest;
        for (inserted, removed) in [(300u64, 290u64), (300, 3), (300, 0)] {
            let mut x = OrSet::new();
            for i in 0..inserted {
                let _ = x.insert(r(1), i);
            }
            for i in 0..removed {
                let _ = x.remove(r(1), &(i * 7 % inserted));
            }
            let y = x.clone();
            for i in 0..5 {
                let _ = x.insert(r(2), inserted + i);
            }
            let digest = y.digest();
            let answer = x.missing(&digest);
            assert_eq!(*answer.as_causal(), reference_missing(x.as_causal(), &digest[0]));
            assert_eq!(answer.len(), 5);
            let removed_ranges = answer.as_causal().context().ranges_of(&r(1)).len();
            assert_eq!(removed_ranges > 0, removed > 0, "{inserted}/{removed}: {answer:?}");
        }
    }
}
