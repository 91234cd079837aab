//! Retirement of replica ids in two phases, driven by acknowledgements (see `docs/pruning.md`).
//!
//! **Phase 1, the mark.** `retire(X)` does not fold: it starts a mark `(X, owner, seen)` owned by
//! this replica. Marks spread to every neighbour; for one retired id each replica keeps the marks
//! of every owner it heard of (the seen sets of one owner join by union; a mark its owner
//! disowned stays disowned), follows the live mark of the LOWEST owner in its membership view,
//! and adds itself to that mark's seen set. A replica that added itself to the mark of ANOTHER
//! owner in its view is committed: it disowns its own mark, if any, and never folds. An id
//! whose marks' owners all left the view is taken over by the lowest member that followed one.
//!
//! **Phase 2, the fold.** An uncommitted owner whose seen set covers every member it knows of
//! (neighbours and [`set_members`](SyncEngine::set_members), minus ids being retired) folds the
//! retired id's live contributions into its own ([`Prune::fold`]), purges the id, and keeps a
//! [`Retirement`] record: the retired id, the heir, and the fold (purged of the retired id). A
//! record dominates every mark of its id. Every replica that holds a record sends it to each
//! neighbour that does not hold it yet, and sends that neighbour NO data until it acknowledged
//! every record: so a replica never receives state built after a fold (which counts the
//! retired replica's contributions under the heir) before it received the fold and purged.
//! Receiving a record joins its fold and purges the id; while a record lives, every incoming
//! payload is purged of the id before anything else looks at it, so late data naming it neither
//! resurrects nor double-counts. A record is dropped once every neighbour acknowledged it.
//!
//! Why at most one owner folds (when each competing owner's view holds the other): owner `P`
//! folds only when `Q` (in its view) followed `P`'s mark, and `Q`, once it followed the mark of
//! an owner in its view, never folds; if `Q` folded first, it never follows a mark afterwards.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
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
/// assert!(matches!(&out[..], [(to, RetireMessage::Marks(m))] if *to == b && m.len() == 1));
/// for _ in 0..3 {
///     for (_, m) in x.poll_retirements() {
///         y.on_retirement(a, m).unwrap(); // the mark, then the record
///     }
///     for (_, m) in y.poll_retirements() {
///         x.on_retirement(b, m).unwrap(); // b followed the mark; then its acknowledgement
///     }
/// }
/// assert_eq!(x.folds_made(), 1);
/// assert_eq!(x.retirements(), 0); // every neighbour acknowledged: dropped
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RetireMessage<L> {
    /// Records the receiver may not hold yet.
    Records(Vec<Retirement<L>>),
    /// The retired ids whose records the sender holds.
    Ack(Vec<ReplicaId>),
    /// Marks (phase 1) the receiver may not hold yet: it joins them and answers with
    /// [`MarksHeld`](Self::MarksHeld).
    Marks(Vec<RetireMark>),
    /// The marks the sender holds now, for the ids of a [`Marks`](Self::Marks) it received:
    /// joined like marks, never answered.
    MarksHeld(Vec<RetireMark>),
}

/// Phase 1 of a retirement: the proposal that `owner` fold `retired`, and what the sender knows
/// of it. Sent in [`RetireMessage::Marks`]; kept durable with
/// [`SyncEngine::retirement_marks`] / [`SyncEngine::with_retirement_marks`].
///
/// ```
/// use convergent::sync::{MarkState, Mode, RetireMark, SyncEngine};
/// use convergent::{GCounter, ReplicaId};
///
/// let (gone, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
/// let mut e = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
/// e.add_neighbour(b);
/// assert!(e.retire(gone)); // b has not seen the mark: no fold yet
/// let mine = RetireMark { retired: gone, owner: a, state: MarkState::Seen(vec![a]) };
/// assert_eq!(e.retirement_marks(), vec![mine]);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RetireMark {
    /// The id to retire.
    pub retired: ReplicaId,
    /// The replica that started the mark ([`SyncEngine::retire`]) and would fold.
    pub owner: ReplicaId,
    /// Who endorsed it, or that its owner disowned it.
    pub state: MarkState,
}

/// What is known of one owner's mark.
///
/// ```
/// use convergent::sync::MarkState;
/// use convergent::ReplicaId;
///
/// let s = MarkState::Seen(vec![ReplicaId::from_u128(2)]);
/// assert_ne!(s, MarkState::Disowned);
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MarkState {
    /// The replicas that followed this mark (added themselves to it), in id order. Seen sets
    /// of one owner's mark join by union.
    Seen(Vec<ReplicaId>),
    /// The owner will never fold this mark (it did not start it, or it followed another
    /// owner's mark): every replica follows the next owner. Dominates any seen set.
    Disowned,
}

/// One owner's mark as kept: the seen set, or `None` once disowned.
type OwnerMark = Option<BTreeSet<ReplicaId>>;

/// The marks of every owner for one retired id.
type Owners = BTreeMap<ReplicaId, OwnerMark>;

/// Joins one owner's mark into `into`; whether `into` changed.
fn join_owner(into: &mut Owners, owner: ReplicaId, m: Option<&BTreeSet<ReplicaId>>) -> bool {
    match (into.get_mut(&owner), m) {
        (None, m) => {
            into.insert(owner, m.cloned());
            true
        }
        (Some(None), _) => false,
        (Some(e @ Some(_)), None) => {
            *e = None;
            true
        }
        (Some(Some(mine)), Some(theirs)) => {
            let before = mine.len();
            mine.extend(theirs.iter().copied());
            mine.len() != before
        }
    }
}

/// Whether `a` is below `b`: `b` holds everything `a` says.
fn below(a: &Owners, b: &Owners) -> bool {
    a.iter().all(|(o, m)| match (m, b.get(o)) {
        (_, Some(None)) => true,
        (Some(s), Some(Some(t))) => s.is_subset(t),
        _ => false,
    })
}

/// A pending retirement: phase 1, before any owner folded.
#[derive(Clone)]
struct Pending {
    retired: ReplicaId,
    owners: Owners,
    /// Per neighbour, what it is known to hold (it sent or answered it): marks go to a
    /// neighbour until it holds ours.
    told: BTreeMap<ReplicaId, Owners>,
}

impl Pending {
    /// Whether `me` followed the mark of another owner that is in its view: it then never
    /// folds. (An owner that left the view, or is being retired itself, no longer binds it:
    /// the one-fold guarantee is for owners in each other's views.)
    fn committed(&self, me: ReplicaId, view: &BTreeSet<ReplicaId>) -> bool {
        self.owners
            .iter()
            .any(|(o, m)| *o != me && view.contains(o) && m.as_ref().is_some_and(|s| s.contains(&me)))
    }

    /// The live mark `me` follows: the lowest owner in `view` whose mark is not disowned.
    fn winner(&self, view: &BTreeSet<ReplicaId>) -> Option<ReplicaId> {
        self.owners.iter().find(|(o, m)| m.is_some() && view.contains(o)).map(|(o, _)| *o)
    }

    /// `me` follows the winner, and disowns its own mark once committed. With no live mark of
    /// an owner in the view (its owners left, or are being retired themselves), the lowest
    /// member of the view that followed a mark of the id (so held it while it was live, as an
    /// old member: a replica that just joined and holds none of the id's events never folds
    /// it) and did not disown a mark of its own takes it over: if that is `me` and it is not
    /// committed, it starts its own mark. Whether it changed.
    fn follow(&mut self, me: ReplicaId, view: &BTreeSet<ReplicaId>) -> bool {
        let mut changed = false;
        if self.winner(view).is_none() && !self.committed(me, view) {
            let followed =
                |r: &ReplicaId| self.owners.values().any(|m| m.as_ref().is_some_and(|s| s.contains(r)));
            let candidate = view.iter().find(|r| !matches!(self.owners.get(r), Some(None)) && followed(r));
            if candidate == Some(&me) {
                self.owners.insert(me, Some(BTreeSet::from([me])));
                changed = true;
            }
        }
        if let Some(w) = self.winner(view) {
            if let Some(Some(seen)) = self.owners.get_mut(&w) {
                changed |= seen.insert(me);
            }
        }
        if self.committed(me, view) {
            if let Some(e @ Some(_)) = self.owners.get_mut(&me) {
                *e = None;
                changed = true;
            }
        }
        changed
    }

    fn marks(&self) -> impl Iterator<Item = RetireMark> + '_ {
        self.owners.iter().map(|(o, m)| RetireMark {
            retired: self.retired,
            owner: *o,
            state: match m {
                Some(s) => MarkState::Seen(s.iter().copied().collect()),
                None => MarkState::Disowned,
            },
        })
    }
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
    /// Phase 1: the retirements no owner folded yet.
    pending: Vec<Pending>,
    /// The members the application's membership knows of ([`SyncEngine::set_members`]).
    members: BTreeSet<ReplicaId>,
    /// Answers owed to [`RetireMessage::Marks`]: by replica, the retired ids it asked about.
    marks_held_due: BTreeMap<ReplicaId, BTreeSet<ReplicaId>>,
    /// Folds this engine made as a heir.
    folds: u64,
    /// Records owed to a replica that sent marks of an id this engine holds a record of (or
    /// dropped one): by replica, the retired ids.
    records_due: BTreeMap<ReplicaId, BTreeSet<ReplicaId>>,
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
            pending: Vec::new(),
            members: BTreeSet::new(),
            marks_held_due: BTreeMap::new(),
            records_due: BTreeMap::new(),
            folds: 0,
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

    fn pending_of(&self, r: ReplicaId) -> Option<usize> {
        self.pending.iter().position(|p| p.retired == r)
    }

    /// The index of `r`'s pending marks, a new empty entry if it has none.
    fn pending_index_or_insert(&mut self, r: ReplicaId) -> usize {
        self.pending_of(r).unwrap_or_else(|| {
            self.pending.push(Pending { retired: r, owners: BTreeMap::new(), told: BTreeMap::new() });
            self.pending.len() - 1
        })
    }

    /// Whether `r` is being retired, or was: marked, recorded, or recently dropped.
    fn retiring(&self, r: ReplicaId) -> bool {
        self.knows(r).is_some() || self.pending_of(r).is_some() || self.done.contains(&r)
    }

    /// The members a mark must reach before its owner folds: the application's members, the
    /// neighbours and `me`, minus every id being retired (they will not answer).
    fn view(&self, me: ReplicaId, neighbours: impl Iterator<Item = ReplicaId>) -> BTreeSet<ReplicaId> {
        let mut v: BTreeSet<ReplicaId> = self.members.iter().copied().chain(neighbours).collect();
        v.insert(me);
        v.retain(|r| !self.retiring(*r));
        v
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

impl<L, V> SyncEngine<L, V> {
    /// Tells the engine who the members are, as the application's membership sees them (say
    /// every live member of a SWIM group): a retirement mark started here is folded only once
    /// every member, every neighbour and this replica followed it. Ids being retired are left
    /// out. Replaces the previous set; takes effect at the next
    /// [`poll_retirements`](SyncEngine::poll_retirements) or retirement message.
    /// `O(members × log members)`.
    ///
    /// Without it the members are the neighbours: enough in a full mesh, not on a ring, where
    /// two heirs of one id may then both fold (`docs/pruning.md`).
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let (gone, a, far) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(9));
    /// let mut e = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
    /// e.local(GCounter::new().increment(gone, 3));
    /// e.set_members([a, far]);
    /// assert!(e.retire(gone));
    /// e.poll_retirements();
    /// assert_eq!(e.state().get(gone), 3); // waits for `far` to follow the mark
    /// e.set_members([a]);
    /// e.poll_retirements();
    /// assert_eq!((e.state().get(gone), e.state().get(a)), (0, 3)); // folded
    /// ```
    pub fn set_members(&mut self, members: impl IntoIterator<Item = ReplicaId>) {
        self.retire.members = members.into_iter().collect();
    }

    /// Whether a retirement mark is pending here (phase 1: no owner folded yet, so a fold may
    /// still change the state). An id only noted from the mark of an owner outside the view
    /// does not count. `O(pending)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let mut e = SyncEngine::<GCounter>::new(ReplicaId::from_u128(2), Mode::DeltaBpRr);
    /// e.add_neighbour(ReplicaId::from_u128(3));
    /// assert!(!e.marks_pending());
    /// e.retire(ReplicaId::from_u128(1));
    /// assert!(e.marks_pending());
    /// ```
    pub fn marks_pending(&self) -> bool {
        self.retire.pending.iter().any(|p| !p.owners.is_empty())
    }

    /// How many retired ids this engine folded as their heir (phase 2 of its own marks): a
    /// durable replica saves its whole state after each (a purge is not a join: a log of deltas
    /// must not be replayed over it). `O(1)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let mut e = SyncEngine::<GCounter>::new(ReplicaId::from_u128(2), Mode::DeltaBpRr);
    /// e.add_neighbour(ReplicaId::from_u128(3));
    /// e.retire(ReplicaId::from_u128(1));
    /// assert_eq!(e.folds_made(), 0); // the neighbour has not followed the mark yet
    /// ```
    pub fn folds_made(&self) -> u64 {
        self.retire.folds
    }
}

impl<L: Prune + Decompose, V: Validator<L>> SyncEngine<L, V> {
    /// Starts retiring `retired`, with this replica as the owner of the mark (phase 1; see
    /// `docs/pruning.md`): stops treating `retired` as a neighbour and keeps a mark that every
    /// neighbour gets and follows. Once every member ([`set_members`](Self::set_members), and
    /// the neighbours) followed it, and this replica did not follow another owner's mark of the
    /// same id meanwhile, this replica folds (at the next poll or retirement message, or here
    /// if it has no other member): it folds the retired id's live contributions into its own
    /// ([`Prune::fold`]), forgets it ([`Prune::purge`]), and keeps a [`Retirement`] record
    /// that neighbours get before any more data.
    ///
    /// Returns `false` (and does nothing) for this replica's own id, an id already retired,
    /// an id another live mark already retires (this replica follows that one instead), or
    /// when [`with_max_buffered`](Self::with_max_buffered) ids are pending already.
    /// `O(1)` for the mark; the fold is `O(state + buffered deltas)`.
    ///
    /// Call it once the retired replica will never write again AND its last events reached
    /// this replica (or will before the mark completes): events of the retired id that reach
    /// the heir after its fold are dropped. Two replicas that both call it for one id fold it
    /// once when each one's membership view holds the other.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{EwFlag, ReplicaId};
    ///
    /// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut e = SyncEngine::<EwFlag>::new(heir, Mode::DeltaBpRr);
    /// e.local(EwFlag::new().enable(gone));
    /// assert!(e.retire(gone)); // no other member: folded at once
    /// assert!(e.state().is_enabled()); // still on, now under the heir's event
    /// assert_eq!(e.state().context().replica_count(), 1);
    /// assert!(!e.retire(gone));
    /// ```
    pub fn retire(&mut self, retired: ReplicaId) -> bool {
        if retired == self.id || self.retire.knows(retired).is_some() || self.retire.done.contains(&retired) {
            return false;
        }
        let me = self.id;
        let view = self.retire.view(me, self.peers.keys().copied());
        match self.retire.pending_of(retired) {
            Some(i) => {
                let p = &mut self.retire.pending[i];
                if p.winner(&view).is_some() || p.committed(me, &view) || p.owners.contains_key(&me) {
                    return false;
                }
                p.owners.insert(me, Some(BTreeSet::from([me])));
            }
            None => {
                if self.retire.pending.len() >= self.max_buffered {
                    return false;
                }
                let owners = BTreeMap::from([(me, Some(BTreeSet::from([me])))]);
                self.retire.pending.push(Pending { retired, owners, told: BTreeMap::new() });
            }
        }
        self.remove_neighbour(retired);
        self.advance_marks();
        true
    }

    /// Every pending mark: this replica follows its winner; an own mark that every member
    /// followed is folded. `O(pending × view)`, plus a fold.
    fn advance_marks(&mut self) {
        let me = self.id;
        let mut i = 0;
        while i < self.retire.pending.len() {
            let view = self.retire.view(me, self.peers.keys().copied());
            let p = &mut self.retire.pending[i];
            p.follow(me, &view);
            let covered = match p.owners.get(&me) {
                Some(Some(seen)) => !p.committed(me, &view) && view.iter().all(|r| seen.contains(r)),
                _ => false,
            };
            if covered {
                let retired = p.retired;
                self.retire.pending.remove(i);
                self.fold_retired(retired);
            } else {
                i += 1;
            }
        }
    }

    /// Phase 2 at the owner: folds `retired` into this replica, purges it, and keeps the
    /// record. `O(state + buffered deltas)`.
    fn fold_retired(&mut self, retired: ReplicaId) {
        // (Already done by `retire`; not for a mark adopted from a neighbour.)
        self.remove_neighbour(retired);
        let fold = self.state.fold(retired, self.id).purged(retired);
        self.purge_everywhere(retired);
        // The fold also travels as data, behind the record (data waits for its ack): a replica
        // that applied another heir's record for the same id still gets this one.
        if !fold.is_bottom() {
            self.push(fold.clone(), None);
        }
        self.retire.purge = Some(L::purge);
        self.retire.folds += 1;
        self.retire
            .live
            .push(Live { rec: Retirement { retired, heir: self.id, fold }, holders: BTreeSet::new() });
    }

    /// The retirement messages due now: acknowledgements and answers to marks, then to each
    /// neighbour the records it does not hold yet (sent again at every poll until
    /// acknowledged), then the marks it does not hold yet (sent again until it answers with
    /// them); a neighbour new since the last poll also gets the ids of recently dropped
    /// records, with an empty fold. First folds any own mark that every member followed (the
    /// neighbours may have changed). `O(neighbours × (records + marks × members))`.
    ///
    /// A transport that uses [`retire`](Self::retire) must carry these as well: a neighbour
    /// gets no data until it acknowledged every record, and a mark is folded only once every
    /// member answered it.
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
    /// x.update(|f, me| f.enable(me));
    /// x.retire(gone);
    /// // Phase 1: the mark goes to b, which follows it and answers.
    /// let marks = x.poll_retirements();
    /// assert!(matches!(&marks[..], [(_, RetireMessage::Marks(_))]));
    /// for (_, m) in marks {
    ///     y.on_retirement(a, m).unwrap();
    /// }
    /// for (_, m) in y.poll_retirements() {
    ///     x.on_retirement(b, m).unwrap();
    /// }
    /// // Phase 2: every member followed, so a folded; the record goes first, data waits.
    /// assert_eq!(x.retirements(), 1);
    /// assert!(!x.marks_pending());
    /// assert!(x.poll_outgoing().is_empty());
    /// for (_, m) in x.poll_retirements() {
    ///     y.on_retirement(a, m).unwrap();
    /// }
    /// for (_, ack) in y.poll_retirements() {
    ///     x.on_retirement(b, ack).unwrap();
    /// }
    /// assert_eq!(x.retirements(), 0);
    /// assert_eq!(x.poll_outgoing().len(), 1); // now the delta goes
    /// ```
    pub fn poll_retirements(&mut self) -> Vec<(ReplicaId, RetireMessage<L>)> {
        self.advance_marks();
        let mut out: Vec<(ReplicaId, RetireMessage<L>)> = core::mem::take(&mut self.retire.acks_due)
            .into_iter()
            .map(|(to, ids)| (to, RetireMessage::Ack(ids)))
            .collect();
        for (to, ids) in core::mem::take(&mut self.retire.marks_held_due) {
            let held: Vec<RetireMark> = self
                .retire
                .pending
                .iter()
                .filter(|p| ids.contains(&p.retired))
                .flat_map(Pending::marks)
                .collect();
            if !held.is_empty() {
                out.push((to, RetireMessage::MarksHeld(held)));
            }
        }
        let me = self.id;
        for (to, ids) in core::mem::take(&mut self.retire.records_due) {
            let recs: Vec<Retirement<L>> = ids
                .into_iter()
                .filter_map(|r| match self.retire.knows(r) {
                    Some(i) => Some(self.retire.live[i].rec.clone()),
                    None => self.retire.done.contains(&r).then(|| Retirement {
                        retired: r,
                        heir: me,
                        fold: L::bottom(),
                    }),
                })
                .collect();
            if !recs.is_empty() {
                out.push((to, RetireMessage::Records(recs)));
            }
        }
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
            let marks: Vec<RetireMark> = self
                .retire
                .pending
                .iter()
                .filter(|p| p.retired != j && p.told.get(&j).is_none_or(|t| !below(&p.owners, t)))
                .flat_map(Pending::marks)
                .collect();
            if !marks.is_empty() {
                out.push((j, RetireMessage::Marks(marks)));
            }
        }
        for p in &mut self.retire.pending {
            p.told.retain(|j, _| neighbours.contains(j));
        }
        self.retire.known = neighbours;
        out
    }

    /// Handles a retirement message from `from`.
    ///
    /// * A record is checked (heir differs from the retired id, fold accepted by the
    ///   validator) before anything changes; a new one is applied (its fold joined, its id
    ///   purged from the state and the buffered delta-groups, any mark of the id dropped) and
    ///   kept to forward; for a known one, `from` is noted as holding it and its fold is joined
    ///   (another heir's fold of the same id: forwarded as data). Every record is acknowledged.
    ///   A record retiring THIS replica's id is not applied: [`is_retired`](Self::is_retired)
    ///   turns true, and the application must discard this engine and rejoin under a new id
    ///   with the empty state. `O(records × (state + buffered deltas))` for new records,
    ///   `O(records)` otherwise.
    /// * Marks are joined into the ones held (the mark of an owner not in this replica's
    ///   membership view only notes its id as pending; a mark of this replica's own id is
    ///   ignored, and one of an id recorded here gets the record back to `from` instead); this
    ///   replica follows the winner of each, takes over an id no owner in its view retires if
    ///   it is the lowest member, and folds an own mark every member followed. [`RetireMessage::Marks`]
    ///   are answered with [`RetireMessage::MarksHeld`]. `O(marks × members)`, plus a fold.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] (field `retire.records` or `retire.marks`) for more records or
    /// marks than [`with_max_buffered`](Self::with_max_buffered) allows, or for a mark that
    /// would make this engine hold more pending ids than that; (field `retire.seen`) for a seen
    /// set of more than [`Limits::max_replicas`](crate::Limits) ids once joined;
    /// [`Error::Malformed`] (field `retire.heir`) for a record whose heir is the retired id,
    /// (field `retire.owner`) for a mark whose owner is the retired id; then the validator's
    /// error on a fold. On error nothing changes.
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
                self.advance_marks();
                Ok(())
            }
            RetireMessage::Marks(marks) => self.on_marks(from, marks, true),
            RetireMessage::MarksHeld(marks) => self.on_marks(from, marks, false),
        }
    }

    /// Checks, then joins received marks; `answer`: owe `from` the marks held of their ids.
    fn on_marks(&mut self, from: ReplicaId, marks: Vec<RetireMark>, answer: bool) -> Result<(), Error> {
        let me = self.id;
        if marks.len() > self.max_buffered {
            return Err(Error::TooLarge {
                field: "retire.marks",
                limit: self.max_buffered as u64,
                found: marks.len() as u64,
            });
        }
        let view = self.retire.view(me, self.peers.keys().copied());
        // A mark of another id than this replica's own, not recorded here, is noted as pending;
        // its owner's mark is kept if the owner is in the view (or already held: the view may
        // have changed since). A pending id without a live mark in the view is taken over by the
        // lowest member of the view that followed one of its marks (`Pending::follow`).
        let noted = |b: &Book<L>, m: &RetireMark| {
            m.retired != me && b.knows(m.retired).is_none() && !b.done.contains(&m.retired)
        };
        let kept = |b: &Book<L>, m: &RetireMark| {
            noted(b, m)
                && (view.contains(&m.owner)
                    || b.pending_of(m.retired).is_some_and(|i| b.pending[i].owners.contains_key(&m.owner)))
        };
        let mut new_ids: BTreeSet<ReplicaId> = BTreeSet::new();
        for m in &marks {
            if m.owner == m.retired {
                return Err(Error::Malformed { field: "retire.owner" });
            }
            if !noted(&self.retire, m) {
                continue;
            }
            let held = self.retire.pending_of(m.retired).map(|i| &self.retire.pending[i]);
            if held.is_none() {
                new_ids.insert(m.retired);
            }
            if !kept(&self.retire, m) {
                continue;
            }
            if let MarkState::Seen(seen) = &m.state {
                let mine = held.and_then(|p| p.owners.get(&m.owner)).and_then(Option::as_ref);
                let extra = seen.iter().filter(|r| mine.is_none_or(|s| !s.contains(r))).count();
                let total = mine.map_or(0, BTreeSet::len) + extra;
                if total > self.limits.max_replicas {
                    return Err(Error::TooLarge {
                        field: "retire.seen",
                        limit: self.limits.max_replicas as u64,
                        found: total as u64,
                    });
                }
            }
        }
        let pending = self.retire.pending.len() + new_ids.len();
        if pending > self.max_buffered {
            return Err(Error::TooLarge {
                field: "retire.marks",
                limit: self.max_buffered as u64,
                found: pending as u64,
            });
        }
        let neighbour = self.peers.contains_key(&from);
        let mut asked: BTreeSet<ReplicaId> = BTreeSet::new();
        for m in marks {
            let r = m.retired;
            if r == me {
                continue;
            }
            if self.retire.knows(r).is_some() || self.retire.done.contains(&r) {
                // `from` is behind: the record goes back (bounded like owed acks).
                if neighbour || self.retire.records_due.len() < self.max_buffered {
                    self.retire.records_due.entry(from).or_default().insert(r);
                }
                continue;
            }
            if !noted(&self.retire, &m) {
                continue;
            }
            let keep = kept(&self.retire, &m);
            let seen: OwnerMark = match m.state {
                MarkState::Seen(s) => Some(s.into_iter().filter(|x| *x != r).collect()),
                MarkState::Disowned => None,
            };
            let i = self.retire.pending_index_or_insert(r);
            let p = &mut self.retire.pending[i];
            if keep {
                join_owner(&mut p.owners, m.owner, seen.as_ref());
                if neighbour {
                    join_owner(p.told.entry(from).or_default(), m.owner, seen.as_ref());
                }
            }
            asked.insert(r);
        }
        if answer && !asked.is_empty() && (neighbour || self.retire.marks_held_due.len() < self.max_buffered)
        {
            self.retire.marks_held_due.entry(from).or_default().extend(asked);
        }
        self.advance_marks();
        Ok(())
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
        // A record dominates every mark of its id: an own mark is never folded now.
        self.retire.pending.retain(|p| p.retired != retired);
        self.remove_neighbour(retired);
        self.state.join_ref(&rec.fold);
        self.purge_everywhere(retired);
        self.retire.purge = Some(L::purge);
        self.retire.live.push(Live { rec, holders: BTreeSet::from([from]) });
    }

    /// Forgets `retired` in the state and in every buffered delta-group: a group sent later
    /// must not carry it to a replica that no longer remembers the retirement (one restarted
    /// since, whose recently-retired ids are gone). `O(state + log)`: one purge per buffered
    /// group and one of the state, counted by the test-only work counter.
    fn purge_everywhere(&mut self, retired: ReplicaId) {
        crate::causal::work::add(1 + self.log.len());
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
    /// e.local(GCounter::new().increment(gone, 3));
    /// e.retire(gone); // no other member yet: folded at once
    /// e.add_neighbour(other);
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
                self.retire.pending.retain(|p| p.retired != retired);
                self.retire.live.push(Live { rec, holders: BTreeSet::new() });
            }
        }
        self
    }

    /// The retirement marks this engine holds (phase 1): what a durable replica saves next to
    /// its records, so that after a restart ([`with_retirement_marks`](Self::with_retirement_marks))
    /// it still knows which owners' marks it followed. Losing them after following another
    /// owner's mark lets this replica start and fold its own mark of the same id: two folds.
    /// `O(marks × members)`.
    ///
    /// ```
    /// use convergent::sync::{Mode, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let (gone, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
    /// let mut e = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
    /// e.add_neighbour(b);
    /// e.retire(gone);
    /// let saved = (e.state().clone(), e.seq(), e.retirement_marks());
    /// let back = SyncEngine::restore(a, Mode::DeltaBpRr, saved.0, saved.1).unwrap().with_retirement_marks(saved.2);
    /// assert_eq!(back.retirement_marks(), e.retirement_marks());
    /// ```
    #[must_use]
    pub fn retirement_marks(&self) -> Vec<RetireMark> {
        self.retire.pending.iter().flat_map(Pending::marks).collect()
    }

    /// Restores marks saved with [`retirement_marks`](Self::retirement_marks) after a restart
    /// (apply the records, [`with_retirements`](Self::with_retirements), first: a mark of a
    /// recorded id is dropped). Marks of this replica's own id, or whose owner is the retired
    /// id, are skipped. `O(marks × members)`.
    ///
    /// ```
    /// use convergent::sync::{MarkState, Mode, RetireMark, SyncEngine};
    /// use convergent::{GCounter, ReplicaId};
    ///
    /// let (gone, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
    /// let followed = RetireMark { retired: gone, owner: a, state: MarkState::Seen(vec![a, b]) };
    /// let mut e = SyncEngine::<GCounter>::new(b, Mode::DeltaBpRr).with_retirement_marks(vec![followed]);
    /// assert!(e.marks_pending());
    /// e.add_neighbour(a);
    /// assert!(!e.retire(gone)); // b followed a's mark, and a is a member: b never starts its own
    /// ```
    #[must_use]
    pub fn with_retirement_marks(mut self, marks: Vec<RetireMark>) -> Self {
        for m in marks {
            let r = m.retired;
            if r == self.id || m.owner == r || self.retire.knows(r).is_some() || self.retire.done.contains(&r)
            {
                continue;
            }
            let seen: OwnerMark = match m.state {
                MarkState::Seen(s) => Some(s.into_iter().collect()),
                MarkState::Disowned => None,
            };
            let i = self.retire.pending_index_or_insert(r);
            join_owner(&mut self.retire.pending[i].owners, m.owner, seen.as_ref());
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

    /// The number of retirements in progress here: records (each until every neighbour
    /// acknowledged it) and ids with pending marks. `O(pending)`.
    ///
    /// ```
    /// # use convergent::sync::{Mode, SyncEngine};
    /// # use convergent::{EwFlag, ReplicaId};
    /// let e = SyncEngine::<EwFlag>::new(ReplicaId::from_u128(1), Mode::DeltaBpRr);
    /// assert_eq!(e.retirements(), 0);
    /// ```
    pub fn retirements(&self) -> usize {
        self.retire.live.len() + self.retire.pending.iter().filter(|p| !p.owners.is_empty()).count()
    }
}

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::Deserialize;

    use super::{MarkState, RetireMark, RetireMessage, Retirement};
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
                2 | 3 => {
                    let (n, mut rest) = count(rest, cx, "retire.marks")?;
                    // At least 33 bytes a mark: never more capacity than the bytes can fill.
                    let mut marks = Vec::with_capacity(n.min(rest.len() / 33));
                    for _ in 0..n {
                        let (retired, r) = take::<ReplicaId>(rest, "retire.retired")?;
                        let (owner, r) = take::<ReplicaId>(r, "retire.owner")?;
                        let (state, r) = take::<u32>(r, "retire.state")?;
                        let (state, r) = match state {
                            0 => {
                                let (k, mut r) = count(r, cx, "retire.seen")?;
                                let mut seen = Vec::with_capacity(k.min(r.len() / 16));
                                for _ in 0..k {
                                    let (id, r2) = take::<ReplicaId>(r, "retire.seen")?;
                                    seen.push(id);
                                    r = r2;
                                }
                                (MarkState::Seen(seen), r)
                            }
                            1 => (MarkState::Disowned, r),
                            _ => return Err(Error::Malformed { field: "retire.state" }),
                        };
                        marks.push(RetireMark { retired, owner, state });
                        rest = r;
                    }
                    Ok((
                        if tag == 2 { RetireMessage::Marks(marks) } else { RetireMessage::MarksHeld(marks) },
                        rest,
                    ))
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
    use alloc::vec;
    use alloc::vec::Vec;

    use super::{DONE_CAP, MarkState, RetireMark, RetireMessage, Retirement};
    use crate::causal::work;
    use crate::sync::{Message, Mode, SyncEngine};
    use crate::{EwFlag, GCounter, Lattice, ReplicaId};

    fn rid(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    /// `b`'s answer to `a`'s mark of `r`: it followed it.
    fn followed(r: ReplicaId, a: ReplicaId, b: ReplicaId) -> RetireMessage<GCounter> {
        RetireMessage::MarksHeld(vec![RetireMark {
            retired: r,
            owner: a,
            state: MarkState::Seen(vec![a, b]),
        }])
    }

    /// The purge calls one incoming payload costs after `retired` retirements, `live` of them
    /// not yet acknowledged by the neighbour.
    fn purge_calls(retired: u128, live: u128) -> usize {
        let (a, b) = (rid(1), rid(2));
        let mut e = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
        e.add_neighbour(b);
        for i in 0..retired {
            assert!(e.retire(rid(1_000 + i)));
            e.on_retirement(b, followed(rid(1_000 + i), a, b)).unwrap();
            if i < retired - live {
                e.on_retirement(b, RetireMessage::Ack(vec![rid(1_000 + i)])).unwrap();
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

    /// An engine with `n` buffered delta-groups (a neighbour `c` that never acknowledges), and
    /// `gone`'s increment among them.
    fn buffered(n: u64) -> SyncEngine<EwFlag> {
        let (gone, a, c) = (rid(1), rid(2), rid(4));
        let mut e = SyncEngine::<EwFlag>::new(a, Mode::DeltaBpRr);
        e.add_neighbour(c);
        e.local(EwFlag::new().enable(gone));
        for _ in 1..n {
            e.update(|f, me| f.enable(me));
        }
        assert_eq!(e.buffered() as u64, n);
        e
    }

    /// The work of one call on an engine holding `n` buffered delta-groups: `retire` (the mark;
    /// no fold yet), the fold once the last member followed, and applying another heir's record.
    fn retirement_work(n: u64) -> (usize, usize, usize) {
        let (gone, a, c) = (rid(1), rid(2), rid(4));
        let mut e = buffered(n);
        let _ = work::take();
        assert!(e.retire(gone));
        let mark = work::take();
        e.on_retirement(
            c,
            RetireMessage::MarksHeld(vec![RetireMark {
                retired: gone,
                owner: a,
                state: MarkState::Seen(vec![a, c]),
            }]),
        )
        .unwrap();
        let fold = work::take();
        assert_eq!(e.state().context().replica_count(), 1, "folded");
        let mut f = buffered(n);
        let rec = Retirement { retired: gone, heir: rid(3), fold: EwFlag::new().enable(rid(3)) };
        let _ = work::take();
        f.on_retirement(rid(3), RetireMessage::Records(vec![rec])).unwrap();
        (mark, fold, work::take())
    }

    /// The test-only work counter counts every purge of `retire` and of applying a record: one
    /// for the state and one per buffered delta-group, so `O(buffered deltas)` (plus the fold's
    /// and the join's own merges, small here). Counted at two sizes.
    #[test]
    fn retirement_work_grows_with_the_buffered_deltas() {
        let (m1, f1, r1) = retirement_work(100);
        let (m2, f2, r2) = retirement_work(200);
        std::eprintln!(
            "retire: mark {m1} / {m2}, fold {f1} / {f2}, record {r1} / {r2} at 100 / 200 buffered groups"
        );
        assert_eq!((m1, m2), (0, 0), "starting a mark purges nothing");
        // One purge of the state and one per buffered group (the fold's own group included).
        assert_eq!((f1, f2), (101, 201), "fold");
        assert!((101..=120).contains(&r1) && (201..=220).contains(&r2), "record: {r1}, {r2}");
        assert_eq!(f2 - f1, 100);
        assert_eq!(r2 - r1, 100);
    }

    /// Hostile marks: a count over the limit, an owner that is the retired id, a seen set
    /// over `max_replicas`: typed errors, nothing changes. A mark of an owner outside the
    /// membership view is not followed (it cannot block the retirement); a forged mark naming this
    /// replica as owner, received after it followed another owner's mark, is disowned.
    #[test]
    fn hostile_marks_are_refused_or_ignored() {
        let (gone, a, b, stranger) = (rid(1), rid(2), rid(3), rid(0));
        let mut e = SyncEngine::<GCounter>::new(b, Mode::DeltaBpRr).with_max_buffered(4);
        e.add_neighbour(a);
        let m = |owner, state| RetireMark { retired: gone, owner, state };
        let many = (0..5).map(|_| m(a, MarkState::Seen(vec![a]))).collect();
        assert!(matches!(
            e.on_retirement(a, RetireMessage::Marks(many)),
            Err(crate::Error::TooLarge { field: "retire.marks", .. })
        ));
        assert_eq!(
            e.on_retirement(a, RetireMessage::Marks(vec![m(gone, MarkState::Disowned)])),
            Err(crate::Error::Malformed { field: "retire.owner" })
        );
        let mut e = e.with_limits(crate::Limits { max_replicas: 3, ..crate::Limits::default() });
        let wide = (10..14).map(rid).collect();
        assert!(matches!(
            e.on_retirement(a, RetireMessage::Marks(vec![m(a, MarkState::Seen(wide))])),
            Err(crate::Error::TooLarge { field: "retire.seen", .. })
        ));
        assert!(!e.marks_pending() && e.poll_retirements().is_empty());
        // A stranger as owner (the lowest id: it would win): its mark is neither kept nor
        // followed, and nobody takes the id over (no member followed a mark of it).
        e.on_retirement(a, RetireMessage::Marks(vec![m(stranger, MarkState::Seen(vec![stranger]))])).unwrap();
        assert!(!e.marks_pending() && e.retirement_marks().is_empty());
        // b follows a's mark, then a forged mark names b as owner: b disowns it, and goes on
        // following a.
        e.on_retirement(a, RetireMessage::Marks(vec![m(a, MarkState::Seen(vec![a]))])).unwrap();
        e.on_retirement(a, RetireMessage::Marks(vec![m(b, MarkState::Seen(vec![b, a]))])).unwrap();
        let held = e.retirement_marks();
        assert_eq!(held, vec![m(a, MarkState::Seen(vec![a, b])), m(b, MarkState::Disowned)]);
        assert!(!e.retire(gone));
        // Every answer is a typed value, never a panic, and goes through the wire.
        for (_, msg) in e.poll_retirements() {
            let bytes = msg.to_bytes();
            assert_eq!(RetireMessage::<GCounter>::from_bytes(&bytes, &crate::Limits::default()), Ok(msg));
            for cut in 0..bytes.len() {
                assert!(
                    RetireMessage::<GCounter>::from_bytes(&bytes[..cut], &crate::Limits::default()).is_err()
                );
            }
        }
    }

    /// A forged mark naming an UNCOMMITTED member as owner is adopted by it (as if `retire` had
    /// been called there) and completes: a forged mark cannot block a retirement.
    #[test]
    fn a_forged_mark_naming_a_member_completes() {
        let (gone, a, b) = (rid(1), rid(2), rid(3));
        let mut x = SyncEngine::<GCounter>::new(a, Mode::DeltaBpRr);
        let mut y = SyncEngine::<GCounter>::new(b, Mode::DeltaBpRr);
        x.add_neighbour(b);
        y.add_neighbour(a);
        x.local(GCounter::new().increment(gone, 5));
        let forged = RetireMark { retired: gone, owner: a, state: MarkState::Seen(Vec::new()) };
        y.on_retirement(a, RetireMessage::Marks(vec![forged])).unwrap();
        for _ in 0..4 {
            for (_, m) in x.poll_retirements() {
                y.on_retirement(a, m).unwrap();
            }
            for (_, m) in y.poll_retirements() {
                x.on_retirement(b, m).unwrap();
            }
            for (_, m) in x.poll_outgoing() {
                y.on_message(a, m).unwrap();
            }
        }
        assert!(!x.marks_pending() && !y.marks_pending());
        assert_eq!((x.state().get(gone), x.state().get(a)), (0, 5));
        assert_eq!(y.state().value(), 5);
        assert!(GCounter::bottom().is_bottom());
    }
}
