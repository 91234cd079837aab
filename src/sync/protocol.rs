//! Protocol version 2 state of an engine: what it holds of each sender (the handshake's digest),
//! chunked groups in both directions, and the engine's counters.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::message::{Message, MessageKind};
use crate::causal::ReplicaId;
use crate::error::Error;
use crate::lattice::Decompose;

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
    pub sent: [u64; 6],
    /// Encoded bytes of those messages, by kind, when the transport used
    /// [`poll_envelope_bytes`](super::SyncEngine::poll_envelope_bytes) (envelopes included).
    pub bytes_sent: [u64; 6],
    /// Messages accepted, by kind.
    pub received: [u64; 6],
    /// Encoded bytes of those, by kind, when they came through
    /// [`on_envelope_bytes`](super::SyncEngine::on_envelope_bytes) or `on_bytes`.
    pub bytes_received: [u64; 6],
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
            stats: EngineStats::default(),
        }
    }

    /// Records that this replica now holds `from`'s deltas before `seq`.
    pub(crate) fn hold(&mut self, from: ReplicaId, seq: u64) {
        let h = self.holds.entry(from).or_insert(seq);
        *h = (*h).max(seq);
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

/// Splits `payload` into parts whose measured size is at most `max` (an irreducible larger
/// than `max` goes alone), by join decomposition: every part is a valid delta, and their join is
/// `payload`. `O(irreducibles × part size)`.
pub(crate) fn split<L: Decompose>(payload: &L, max: usize, size: impl Fn(&L) -> usize) -> Vec<L> {
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
}
