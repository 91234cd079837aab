//! Retirement of replica ids, driven by acknowledgements (see `docs/pruning.md`).
//!
//! The heir folds the retired id's live contributions into its own ([`Prune::fold`]), purges
//! the id, and keeps a [`Retirement`] record: the retired id, the heir, and the fold (purged of
//! the retired id). Every replica that holds a record sends it to each neighbour that does not
//! hold it yet, and sends that neighbour NO data until it acknowledged every record: so a
//! replica never receives state built after a fold (which counts the retired replica's
//! contributions under the heir) before it received the fold and purged. Receiving a record
//! joins its fold and purges the id; while a record lives, every incoming payload is purged of
//! the id before anything else looks at it, so late data naming it neither resurrects nor
//! double-counts. A record is dropped once every neighbour acknowledged it.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

use super::SyncEngine;
use crate::causal::ReplicaId;
use crate::error::Error;
use crate::lattice::Decompose;
use crate::prune::Prune;
use crate::receive::Validator;

/// How many ids of dropped records an engine remembers: a late copy of their record is
/// acknowledged without being applied again, and a message delayed in the network past the
/// drop (sent before its sender purged) is still purged of them.
const DONE_CAP: usize = 64;

/// How many of the most recently dropped records' ids a new neighbour gets (as records with an
/// empty fold).
const RECENT: usize = 4;

/// A retired replica id and the heir's fold of its contributions: what the heir sends in
/// [`RetireMessage::Records`] until every neighbour acknowledged it, and every replica
/// forwards the same way.
///
/// ```
/// use convergent::sync::{Mode, Retirement, SyncEngine};
/// use convergent::{GCounter, ReplicaId};
///
/// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut e = SyncEngine::<GCounter>::new(heir, Mode::DeltaBpRr);
/// let mut other = GCounter::new();
/// e.local(other.increment(gone, 3));
/// assert!(e.retire(gone));
/// assert_eq!(e.state().value(), 3);
/// assert_eq!(e.state().len(), 1); // only the heir's entry
/// assert_eq!(e.retirements(), 1); // no neighbour yet: kept until one acknowledges
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Retirement<L> {
    /// The id that will never write again.
    pub retired: ReplicaId,
    /// The replica that folded its contributions.
    pub heir: ReplicaId,
    /// The heir's fold ([`Prune::fold`]), purged of `retired`: joined by every receiver before
    /// it purges `retired`.
    pub fold: L,
}

/// The retirement messages of the sync engine: records, and their acknowledgements. Carried by
/// the transport next to the [`Message`](crate::sync::Message)s, from
/// [`SyncEngine::poll_retirements`] to [`SyncEngine::on_retirement`].
///
/// ```
/// use convergent::sync::{Mode, RetireMessage, SyncEngine};
/// use convergent::{EwFlag, ReplicaId};
///
/// let (gone, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
/// let mut x = SyncEngine::<EwFlag>::new(a, Mode::DeltaBpRr);
/// let mut y = SyncEngine::<EwFlag>::new(b, Mode::DeltaBpRr);
/// x.add_neighbour(b);
/// y.add_neighbour(a);
/// x.retire(gone);
/// let out = x.poll_retirements();
/// assert!(matches!(&out[..], [(to, RetireMessage::Records(r))] if *to == b && r.len() == 1));
/// for (_, m) in out {
///     y.on_retirement(a, m).unwrap();
/// }
/// for (_, ack) in y.poll_retirements() {
///     x.on_retirement(b, ack).unwrap();
/// }
/// assert_eq!(x.retirements(), 0); // every neighbour acknowledged: dropped
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RetireMessage<L> {
    /// Records the receiver may not hold yet.
    Records(Vec<Retirement<L>>),
    /// The retired ids whose records the sender holds.
    Ack(Vec<ReplicaId>),
}

/// One record, and the neighbours known to hold it.
#[derive(Clone)]
struct Live<L> {
    rec: Retirement<L>,
    holders: BTreeSet<ReplicaId>,
}

/// The engine's retirement records (volatile, like its buffers).
#[derive(Clone)]
pub(super) struct Book<L> {
    live: Vec<Live<L>>,
    acks_due: alloc::collections::BTreeMap<ReplicaId, Vec<ReplicaId>>,
    done: VecDeque<ReplicaId>,
    /// `L::purge`, stored when the first record arrives, so that the hooks on the receive path
    /// need no `Prune` bound.
    purge: Option<fn(&mut L, ReplicaId)>,
    retired_me: bool,
    /// The neighbours at the last poll, and the last [`DONE_CAP`] removed since: a neighbour
    /// removed and added again gets the dropped records' ids.
    known: BTreeSet<ReplicaId>,
    removed: VecDeque<ReplicaId>,
}

impl<L> Default for Book<L> {
    fn default() -> Self {
        Book {
            live: Vec::new(),
            acks_due: Default::default(),
            done: VecDeque::new(),
            purge: None,
            retired_me: false,
            known: BTreeSet::new(),
            removed: VecDeque::new(),
        }
    }
}

impl<L> Book<L> {
    /// `payload` purged of every retired id whose record lives or was dropped recently: at most
    /// `live records + 64` purge calls per payload, however many ids were ever retired (counted
    /// by `tests::purging_work_per_payload_is_bounded`). Each call is a lookup,
    /// `O(log replicas of the payload)`, when the payload does not name the id (this crate's
    /// types), `O(payload)` when it does. None for an empty payload.
    pub(super) fn clean(&self, mut payload: L) -> L
    where
        L: crate::lattice::Lattice,
    {
        if let Some(purge) = self.purge {
            if payload.is_bottom() {
                return payload;
            }
            for r in self.live.iter().map(|x| x.rec.retired).chain(self.done.iter().copied()) {
                crate::causal::work::add(1);
                purge(&mut payload, r);
            }
        }
        payload
    }

    /// Whether data for `j` must wait: `j` has not acknowledged every record.
    pub(super) fn holds_back(&self, j: ReplicaId) -> bool {
        self.live.iter().any(|x| !x.holders.contains(&j))
    }

    fn knows(&self, r: ReplicaId) -> Option<usize> {
        self.live.iter().position(|x| x.rec.retired == r)
    }

    /// Drops the records every neighbour holds.
    fn collect(&mut self, neighbours: &BTreeSet<ReplicaId>) {
        let done = &mut self.done;
        self.live.retain(|x| {
            let keep = !neighbours.is_subset(&x.holders);
            if !keep {
                if done.len() >= DONE_CAP {
                    done.pop_front();
                }
                done.push_back(x.rec.retired);
            }
            keep
        });
    }
}

impl<L: Prune + Decompose, V: Validator<L>> SyncEngine<L, V> {
    /// Retires `retired`, with this replica as its heir: folds its live contributions into this
    /// replica's ([`Prune::fold`]), forgets it ([`Prune::purge`]), stops treating it as a
    /// neighbour, and keeps a [`Retirement`] record that neighbours get before any more data.
    /// Returns `false` (and does nothing) for this replica's own id or an id already retired.
    /// `O(state)`.
    ///
    /// Call it at ONE replica per retired id (say the lowest live id, as membership sees it),
    /// once the retired replica will never write again AND its last events reached this
    /// replica: events of the retired id that reach the heir later are dropped.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{EwFlag, ReplicaId};
    ///
    /// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut e = SyncEngine::<EwFlag>::new(heir, Mode::DeltaBpRr);
    /// e.local(EwFlag::new().enable(gone));
    /// assert!(e.retire(gone));
    /// assert!(e.state().is_enabled()); // still on, now under the heir's event
    /// assert_eq!(e.state().context().replica_count(), 1);
    /// assert!(!e.retire(gone));
    /// ```
    pub fn retire(&mut self, retired: ReplicaId) -> bool {
        if retired == self.id || self.retire.knows(retired).is_some() || self.retire.done.contains(&retired) {
            return false;
        }
        self.remove_neighbour(retired);
        let fold = self.state.fold(retired, self.id).purged(retired);
        self.purge_everywhere(retired);
        // The fold also travels as data, behind the record (data waits for its ack): a replica
        // that applied another heir's record for the same id still gets this one.
        if !fold.is_bottom() {
            self.push(fold.clone(), None);
        }
        self.retire.purge = Some(L::purge);
        self.retire
            .live
            .push(Live { rec: Retirement { retired, heir: self.id, fold }, holders: BTreeSet::new() });
        true
    }

    /// The retirement messages due now: acknowledgements, then to each neighbour the records it
    /// does not hold yet (sent again at every poll until acknowledged); a neighbour new since
    /// the last poll also gets the ids of recently dropped records, with an empty fold.
    /// `O(neighbours × records)`.
    ///
    /// A transport that uses [`retire`](Self::retire) must carry these as well: a neighbour
    /// gets no data until it acknowledged every record.
    ///
    /// ```
    /// use convergent::sync::{Mode, RetireMessage, SyncEngine};
    /// use convergent::{EwFlag, ReplicaId};
    ///
    /// let (gone, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
    /// let mut x = SyncEngine::<EwFlag>::new(a, Mode::DeltaBpRr);
    /// x.add_neighbour(b);
    /// x.update(|f, me| f.enable(me));
    /// x.retire(gone);
    /// assert!(x.poll_outgoing().is_empty()); // data waits for the record's acknowledgement
    /// assert!(matches!(&x.poll_retirements()[..], [(to, RetireMessage::Records(_))] if *to == b));
    /// x.on_retirement(b, RetireMessage::Ack(vec![gone])).unwrap();
    /// assert_eq!(x.poll_outgoing().len(), 1); // now the delta goes
    /// ```
    pub fn poll_retirements(&mut self) -> Vec<(ReplicaId, RetireMessage<L>)> {
        let mut out: Vec<(ReplicaId, RetireMessage<L>)> = core::mem::take(&mut self.retire.acks_due)
            .into_iter()
            .map(|(to, ids)| (to, RetireMessage::Ack(ids)))
            .collect();
        let neighbours: BTreeSet<ReplicaId> = self.peers.keys().copied().collect();
        self.retire.collect(&neighbours);
        for &j in self.retire.known.difference(&neighbours) {
            if self.retire.removed.len() >= DONE_CAP {
                self.retire.removed.pop_front();
            }
            self.retire.removed.push_back(j);
        }
        for &j in &neighbours {
            let mut due: Vec<Retirement<L>> =
                self.retire.live.iter().filter(|x| !x.holders.contains(&j)).map(|x| x.rec.clone()).collect();
            if !self.retire.known.contains(&j) {
                // A new neighbour may have missed records dropped here meanwhile (it was
                // removed and added again, or it bootstrapped from a replica that had not
                // purged yet) and would keep their ids for good: their ids again, with an empty
                // fold (the heir's fold reaches it as data, like any of the heir's events). All
                // of them to a neighbour removed and added again; the last `RECENT` to any other.
                let me = self.id;
                let skip = if self.retire.removed.contains(&j) {
                    0
                } else {
                    self.retire.done.len().saturating_sub(RECENT)
                };
                due.extend(self.retire.done.iter().skip(skip).map(|&retired| Retirement {
                    retired,
                    heir: me,
                    fold: L::bottom(),
                }));
            }
            if !due.is_empty() {
                out.push((j, RetireMessage::Records(due)));
            }
        }
        self.retire.known = neighbours;
        out
    }

    /// Handles a retirement message from `from`. A record is checked (heir differs from the
    /// retired id, fold accepted by the validator) before anything changes; a new one is
    /// applied (its fold joined, its id purged from the state and the buffered delta-groups) and
    /// kept to forward; for a known one, `from` is noted as holding it and its fold is joined
    /// (another heir's fold of the same id: forwarded as data). Every record is acknowledged. A record retiring THIS
    /// replica's id is not applied: [`is_retired`](Self::is_retired) turns true, and the
    /// application must discard this engine and rejoin under a new id with the empty state.
    /// `O(records × state)` for new records, `O(records)` otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] (field `retire.records`) for more records than
    /// [`with_max_buffered`](Self::with_max_buffered) allows, [`Error::Malformed`] (field
    /// `retire.heir`) for a record whose heir is the retired id, then the validator's error on
    /// a fold. On error nothing changes.
    ///
    /// ```
    /// use convergent::sync::{Mode, RetireMessage, Retirement, SyncEngine};
    /// use convergent::{Error, GCounter, Lattice, ReplicaId};
    ///
    /// let (gone, heir, me) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
    /// let mut e = SyncEngine::<GCounter>::new(me, Mode::DeltaBpRr);
    /// e.local(GCounter::new().increment(gone, 4));
    /// let fold = GCounter::new().increment(heir, 4); // the heir took over the 4
    /// e.on_retirement(heir, RetireMessage::Records(vec![Retirement { retired: gone, heir, fold }])).unwrap();
    /// assert_eq!((e.state().value(), e.state().get(gone)), (4, 0));
    ///
    /// let bad = Retirement { retired: gone, heir: gone, fold: GCounter::bottom() };
    /// let err = e.on_retirement(heir, RetireMessage::Records(vec![bad]));
    /// assert_eq!(err, Err(Error::Malformed { field: "retire.heir" }));
    /// ```
    pub fn on_retirement(&mut self, from: ReplicaId, msg: RetireMessage<L>) -> Result<(), Error> {
        match msg {
            RetireMessage::Ack(ids) => {
                for r in ids {
                    if let Some(i) = self.retire.knows(r) {
                        self.retire.live[i].holders.insert(from);
                    }
                }
                let neighbours: BTreeSet<ReplicaId> = self.peers.keys().copied().collect();
                self.retire.collect(&neighbours);
                Ok(())
            }
            RetireMessage::Records(records) => {
                if records.len() > self.max_buffered {
                    return Err(Error::TooLarge {
                        field: "retire.records",
                        limit: self.max_buffered as u64,
                        found: records.len() as u64,
                    });
                }
                for rec in &records {
                    if rec.retired == rec.heir {
                        return Err(Error::Malformed { field: "retire.heir" });
                    }
                    self.validate(from, &rec.fold)?;
                }
                let mut acks = Vec::with_capacity(records.len());
                for rec in records {
                    acks.push(rec.retired);
                    self.apply_record(from, rec);
                }
                self.retire.acks_due.entry(from).or_default().extend(acks);
                Ok(())
            }
        }
    }

    fn apply_record(&mut self, from: ReplicaId, rec: Retirement<L>) {
        if rec.retired == self.id {
            self.retire.retired_me = true;
            return;
        }
        let retired = rec.retired;
        // A fold naming the retired id (from a heir that did not purge it), or another id this
        // replica retired (a heir that had not applied that record yet), is purged first.
        let rec = Retirement { fold: self.retire.clean(rec.fold.purged(retired)), ..rec };
        let known = self.retire.knows(retired);
        if known.is_some() || self.retire.done.contains(&retired) {
            if let Some(i) = known {
                self.retire.live[i].holders.insert(from);
            }
            // A second heir's fold of the same id (membership views differed): joined and
            // forwarded as data, so that every replica ends with both folds.
            if self.state.join_ref(&rec.fold) {
                self.push(rec.fold, Some(from));
            }
            return;
        }
        self.remove_neighbour(retired);
        self.state.join_ref(&rec.fold);
        self.purge_everywhere(retired);
        self.retire.purge = Some(L::purge);
        self.retire.live.push(Live { rec, holders: BTreeSet::from([from]) });
    }

    /// Forgets `retired` in the state and in every buffered delta-group: a group sent later
    /// must not carry it to a replica that no longer remembers the retirement (one restarted
    /// since, whose recently-retired ids are gone). `O(state + log)`.
    fn purge_everywhere(&mut self, retired: ReplicaId) {
        self.state.purge(retired);
        for e in &mut self.log {
            e.delta.purge(retired);
        }
    }

    /// `payload` purged of every id this engine retired (live records, and the 64 most recently
    /// dropped): what the engine itself joins of a received payload. For a transport that keeps
    /// its own copy of what it received (a durable node's unsaved deltas), so that the copy
    /// does not bring a retired id back after a restart. `O(records × log replicas)` for this
    /// crate's types when the payload does not name them.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let (gone, me) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut e = SyncEngine::<GCounter>::new(me, Mode::DeltaBpRr);
    /// e.retire(gone);
    /// let late = GCounter::new().increment(gone, 4);
    /// assert!(e.purged_of_retired(late).is_empty());
    /// ```
    #[must_use]
    pub fn purged_of_retired(&self, payload: L) -> L {
        self.retire.clean(payload)
    }

    /// The retirement records this engine holds: what a durable replica saves next to its state
    /// (they are volatile otherwise, like its buffers), so that after a restart from the saved
    /// state ([`with_retirements`](Self::with_retirements)) it still sends them to the neighbours
    /// that have not acknowledged them. Lost records leave those neighbours naming the retired
    /// id for good, and a replica that purged alone diverges from them. `O(records)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let (gone, heir, other) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
    /// let mut e = SyncEngine::<GCounter>::new(heir, Mode::DeltaBpRr);
    /// e.add_neighbour(other);
    /// e.local(GCounter::new().increment(gone, 3));
    /// e.retire(gone);
    /// let saved = (e.state().clone(), e.seq(), e.retirement_records());
    /// // ... a crash, then a restart from disk:
    /// let mut back = SyncEngine::restore(heir, Mode::DeltaBpRr, saved.0, saved.1).unwrap().with_retirements(saved.2);
    /// back.add_neighbour(other);
    /// assert_eq!(back.retirements(), 1);
    /// assert_eq!(back.poll_retirements().len(), 1); // sent to `other` again
    /// ```
    #[must_use]
    pub fn retirement_records(&self) -> Vec<Retirement<L>> {
        self.retire.live.iter().map(|x| x.rec.clone()).collect()
    }

    /// Restores records saved with [`retirement_records`](Self::retirement_records) after a
    /// restart: each is applied again (its fold joined, its id purged and dropped from the
    /// neighbours: no-ops on the state it was saved with) and kept, unacknowledged, so that
    /// every neighbour gets it again. A record of this replica's own id sets
    /// [`is_retired`](Self::is_retired). `O(records × state)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, Retirement, SyncEngine};
    /// use convergent::{EwFlag, Lattice, ReplicaId};
    ///
    /// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let rec = Retirement { retired: gone, heir, fold: EwFlag::bottom() };
    /// let e = SyncEngine::<EwFlag>::new(heir, Mode::DeltaBpRr).with_retirements(vec![rec]);
    /// assert_eq!(e.retirements(), 1);
    /// ```
    #[must_use]
    pub fn with_retirements(mut self, records: Vec<Retirement<L>>) -> Self {
        for rec in records {
            if rec.retired == self.id {
                self.retire.retired_me = true;
            } else if rec.retired != rec.heir && self.retire.knows(rec.retired).is_none() {
                let retired = rec.retired;
                self.remove_neighbour(retired);
                let rec = Retirement { fold: self.retire.clean(rec.fold.purged(retired)), ..rec };
                self.state.join_ref(&rec.fold);
                self.purge_everywhere(retired);
                self.retire.purge = Some(L::purge);
                self.retire.done.retain(|&d| d != retired);
                self.retire.live.push(Live { rec, holders: BTreeSet::new() });
            }
        }
        self
    }

    /// Whether a neighbour told this replica that its own id was retired: the application must
    /// discard this engine and its state, and rejoin under a new id. `O(1)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, RetireMessage, SyncEngine};
    /// use convergent::{EwFlag, ReplicaId};
    ///
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut heir = SyncEngine::<EwFlag>::new(a, Mode::DeltaBpRr);
    /// let mut partitioned = SyncEngine::<EwFlag>::new(b, Mode::DeltaBpRr);
    /// heir.add_neighbour(b); // membership removed b, but b comes back
    /// heir.retire(b);
    /// heir.add_neighbour(b);
    /// for (_, m) in heir.poll_retirements() {
    ///     partitioned.on_retirement(a, m).unwrap();
    /// }
    /// assert!(partitioned.is_retired());
    /// ```
    pub fn is_retired(&self) -> bool {
        self.retire.retired_me
    }

    /// The number of retirement records this engine holds (each until every neighbour
    /// acknowledged it). `O(1)`.
    ///
    /// ```
    /// # use convergent::sync::{Mode, SyncEngine};
    /// # use convergent::{EwFlag, ReplicaId};
    /// let e = SyncEngine::<EwFlag>::new(ReplicaId::from_u128(1), Mode::DeltaBpRr);
    /// assert_eq!(e.retirements(), 0);
    /// ```
    pub fn retirements(&self) -> usize {
        self.retire.live.len()
    }
}

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::Deserialize;

    use super::{RetireMessage, Retirement};
    use crate::causal::ReplicaId;
    use crate::error::Error;
    use crate::limits::Limits;
    use crate::wire::{self, Decode, DecodeCx};

    fn take<'a, T: Deserialize<'a>>(bytes: &'a [u8], field: &'static str) -> Result<(T, &'a [u8]), Error> {
        postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::Malformed { field })
    }

    /// A count of ids or records, at most `limits.max_replicas` (one record per retired replica).
    fn count<'a>(bytes: &'a [u8], cx: &DecodeCx, field: &'static str) -> Result<(usize, &'a [u8]), Error> {
        let (n, rest) = take::<usize>(bytes, field)?;
        if n > cx.limits.max_replicas {
            return Err(Error::TooLarge { field, limit: cx.limits.max_replicas as u64, found: n as u64 });
        }
        Ok((n, rest))
    }

    /// The kind, the count (checked before anything is allocated), then each record's ids and
    /// its fold under the same limits.
    impl<L: Decode> Decode for RetireMessage<L> {
        fn decode_prefix<'b>(body: &'b [u8], cx: &mut DecodeCx) -> Result<(Self, &'b [u8]), Error> {
            let (tag, rest) = take::<u32>(body, "retire.kind")?;
            match tag {
                0 => {
                    let (n, mut rest) = count(rest, cx, "retire.records")?;
                    let mut records = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (retired, r) = take::<ReplicaId>(rest, "retire.retired")?;
                        let (heir, r) = take::<ReplicaId>(r, "retire.heir")?;
                        let (fold, r) = L::decode_prefix(r, cx)?;
                        records.push(Retirement { retired, heir, fold });
                        rest = r;
                    }
                    Ok((RetireMessage::Records(records), rest))
                }
                1 => {
                    let (n, mut rest) = count(rest, cx, "retire.acks")?;
                    let mut ids = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (id, r) = take::<ReplicaId>(rest, "retire.ack")?;
                        ids.push(id);
                        rest = r;
                    }
                    Ok((RetireMessage::Ack(ids), rest))
                }
                _ => Err(Error::Malformed { field: "retire.kind" }),
            }
        }
    }

    impl<L: Decode> RetireMessage<L> {
        /// Encodes the message (format version, then postcard). `O(records)`.
        ///
        /// ```
        /// # use convergent::{EwFlag, Limits, ReplicaId, sync::RetireMessage};
        /// let m = RetireMessage::<EwFlag>::Ack(vec![ReplicaId::from_u128(1)]);
        /// assert_eq!(RetireMessage::from_bytes(&m.to_bytes(), &Limits::default()), Ok(m));
        /// ```
        #[must_use]
        pub fn to_bytes(&self) -> Vec<u8> {
            wire::to_bytes(self)
        }

        /// Decodes and validates a message written by [`to_bytes`](Self::to_bytes) under
        /// `limits` (also inside every fold). Never panics. `O(bytes)`.
        ///
        /// # Errors
        ///
        /// [`Error::TooLarge`] over `limits.max_bytes`, or for more records or acknowledged ids
        /// than `limits.max_replicas`; [`Error::UnsupportedVersion`], [`Error::Malformed`], and
        /// the fold type's own validation errors.
        ///
        /// ```
        /// # use convergent::{Error, EwFlag, Limits, sync::RetireMessage};
        /// let lie = [1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]; // "4 billion acks follow"
        /// assert!(matches!(
        ///     RetireMessage::<EwFlag>::from_bytes(&lie, &Limits::default()),
        ///     Err(Error::TooLarge { field: "retire.acks", .. })
        /// ));
        /// ```
        pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
            wire::from_bytes_with(bytes, limits)
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::{DONE_CAP, RetireMessage};
    use crate::causal::work;
    use crate::sync::{Message, Mode, SyncEngine};
    use crate::{GCounter, ReplicaId};

    fn rid(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    /// The purge calls one incoming payload costs after `retired` retirements, `live` of them
    /// not yet acknowledged by the neighbour.
    fn purge_calls(retired: u128, live: u128) -> usize {
        let (a, b) = (rid(1), rid(2));
        let mut e = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
        e.add_neighbour(b);
        for i in 0..retired {
            assert!(e.retire(rid(1_000 + i)));
            if i < retired - live {
                e.on_retirement(b, RetireMessage::Ack(alloc::vec![rid(1_000 + i)])).unwrap();
            }
        }
        assert_eq!(e.retirements(), live as usize);
        let mut remote = GCounter::new();
        for r in 3..503 {
            let _ = remote.increment(rid(r), 1);
        }
        let _ = work::take();
        e.on_message(b, Message::Delta { seq: 1, delta: remote }).unwrap();
        work::take()
    }

    /// Issue 10 (retirement): the engine purges each payload of the ids of live records and of
    /// the 64 most recently dropped ones: bounded however many ids were ever retired.
    #[test]
    fn purging_work_per_payload_is_bounded() {
        let (w1, w2) = (purge_calls(200, 0), purge_calls(400, 0));
        let (l1, l2) = (purge_calls(200, 10), purge_calls(400, 10));
        std::eprintln!(
            "purge calls per payload: {w1} after 200 retirements, {w2} after 400; {l1}, {l2} with 10 live"
        );
        assert_eq!((w1, w2), (DONE_CAP, DONE_CAP));
        assert_eq!((l1, l2), (DONE_CAP + 10, DONE_CAP + 10));
    }
}
