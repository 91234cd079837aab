//! A deterministic, seeded, fault-injecting network simulator for [`SyncEngine`]s.
//!
//! Rounds, as in the ICDE 2019 experiments (Enes et al., section V): the caller runs its local
//! operations on any replicas, then [`Simulation::step`] lets every live replica build its
//! messages, and delivers every message that is due (acknowledgements produced on delivery are
//! sent and, without delay, delivered in the same round). Faults, all drawn from one seeded
//! generator so that a seed replays exactly: message loss, duplication, reordering, delay;
//! partitions that heal; crashes and restarts with the durable state, or with nothing (the
//! replica comes back under a new id).
//!
//! Every message is encoded with [`Message::to_bytes`] and decoded by the receiver with
//! [`SyncEngine::on_bytes`], as over a real network; [`Stats`] counts messages, payload and
//! metadata bytes, and the "entries" of the paper.

use alloc::vec::Vec;
use core::fmt;

use super::topology::Topology;
use crate::causal::ReplicaId;
use crate::error::Error;
use crate::lattice::Decompose;
use crate::lattice::Lattice;
use crate::prune::Prune;
use crate::sync::{AcceptAll, Message, MessageKind, Mode, RetireMessage, SyncEngine, Validator};
use crate::wire::{self, Decode};

/// A tiny seeded pseudo-random generator (splitmix64): deterministic on every platform, no
/// dependency. Good for simulations and workloads, not for cryptography.
///
/// ```
/// use convergent::sim::SimRng;
///
/// let mut a = SimRng::new(7);
/// let mut b = SimRng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator from a seed. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::SimRng;
    /// assert_ne!(SimRng::new(1).next_u64(), SimRng::new(2).next_u64());
    /// ```
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        SimRng { state: seed }
    }

    /// The next 64 random bits. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::SimRng;
    /// let mut r = SimRng::new(0);
    /// assert_ne!(r.next_u64(), r.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 if `n` is 0). `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::SimRng;
    /// let mut r = SimRng::new(3);
    /// assert!((0..100).all(|_| r.below(6) < 6));
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift: unbiased enough for simulation, and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p` (clamped to `0.0..=1.0`). `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::SimRng;
    /// let mut r = SimRng::new(3);
    /// assert!(!r.chance(0.0));
    /// assert!(r.chance(1.0));
    /// ```
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        // 53 random bits as a float in [0, 1).
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// Shuffles a slice (Fisher-Yates). `O(len)`.
    ///
    /// ```
    /// # use convergent::sim::SimRng;
    /// let mut v = [1, 2, 3, 4];
    /// SimRng::new(9).shuffle(&mut v);
    /// v.sort();
    /// assert_eq!(v, [1, 2, 3, 4]);
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The faults a [`Simulation`] injects; probabilities are per message (network faults) or per
/// replica per round (crashes, restarts) or per round (partitions).
///
/// ```
/// use convergent::sim::Faults;
///
/// let f = Faults { loss: 0.1, ..Faults::none() };
/// assert!(f.is_faulty());
/// assert!(!Faults::none().is_faulty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Faults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (each copy with its own delay).
    pub duplicate: f64,
    /// Whether the messages due in a round are delivered in random order (otherwise in the
    /// order they were sent).
    pub reorder: bool,
    /// Each message is delayed by `0..=max_delay` rounds, uniformly.
    pub max_delay: u64,
    /// Probability that a live replica crashes, per round.
    pub crash: f64,
    /// Probability that a crashed replica restarts, per round.
    pub restart: f64,
    /// Probability that a restart has lost the durable state (the replica comes back empty,
    /// under a new id).
    pub wipe: f64,
    /// Probability that the network splits in two random halves, per round, while whole.
    pub partition: f64,
    /// Probability that a partition heals, per round.
    pub heal: f64,
}

impl Faults {
    /// No faults: every message delivered once, in order, in the round it was sent.
    ///
    /// ```
    /// # use convergent::sim::Faults;
    /// assert_eq!(Faults::none(), Faults::default());
    /// ```
    #[must_use]
    pub const fn none() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            reorder: false,
            max_delay: 0,
            crash: 0.0,
            restart: 0.0,
            wipe: 0.0,
            partition: 0.0,
            heal: 0.0,
        }
    }

    /// A hostile network in the spirit of Jepsen's defaults: 20% loss, 10% duplication,
    /// reordering, delays up to 3 rounds, crashes (2% per replica-round, half of the crashed
    /// replicas back each round, none losing its disk) and partitions (5% per round, healing
    /// with 25% per round).
    ///
    /// ```
    /// # use convergent::sim::Faults;
    /// assert_eq!(Faults::chaos().wipe, 0.0);
    /// ```
    #[must_use]
    pub const fn chaos() -> Self {
        Faults {
            loss: 0.2,
            duplicate: 0.1,
            reorder: true,
            max_delay: 3,
            crash: 0.02,
            restart: 0.5,
            wipe: 0.0,
            partition: 0.05,
            heal: 0.25,
        }
    }

    /// Whether any fault is enabled.
    ///
    /// ```
    /// # use convergent::sim::Faults;
    /// assert!(Faults::chaos().is_faulty());
    /// ```
    #[must_use]
    pub fn is_faulty(&self) -> bool {
        *self != Faults::none()
    }
}

/// What a [`Simulation`] counted, since it started or since [`Simulation::reset_stats`].
///
/// Entries follow the ICDE 2019 paper: the CRDT irreducibles in every payload sent
/// (`payload_entries`), plus 1 per message carrying a sequence number (delta-groups, snapshots,
/// acks: `metadata_entries`). Bytes are those of the compact encoding: `payload_bytes` is the
/// payload's postcard size, `metadata_bytes` everything else of the message (the two version
/// bytes, the tag, the sequence number).
///
/// ```
/// use convergent::sim::Stats;
///
/// let s = Stats::default();
/// assert_eq!(s.entries(), 0);
/// assert_eq!(s.bytes(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Rounds stepped.
    pub rounds: u64,
    /// Messages sent (a duplicate counts once here, and in `duplicated`).
    pub messages: u64,
    /// Of which [`Message::State`].
    pub state_messages: u64,
    /// Of which [`Message::Delta`].
    pub delta_messages: u64,
    /// Of which [`Message::Snapshot`].
    pub snapshot_messages: u64,
    /// Of which [`Message::Ack`].
    pub ack_messages: u64,
    /// Bytes of payload (lattice values) sent.
    pub payload_bytes: u64,
    /// Bytes of everything else sent.
    pub metadata_bytes: u64,
    /// Irreducibles sent.
    pub payload_entries: u64,
    /// One per message carrying a sequence number.
    pub metadata_entries: u64,
    /// Messages lost by the network.
    pub lost: u64,
    /// Messages duplicated by the network.
    pub duplicated: u64,
    /// Messages dropped because the receiver was down, partitioned away, or gone (a replica
    /// that came back under a new id no longer answers to the old one).
    pub undeliverable: u64,
    /// Messages the receiver refused with an [`Error`].
    pub rejected: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts with the durable state.
    pub restarts: u64,
    /// Restarts without state, under a new id.
    pub wipes: u64,
    /// Retirement messages sent (records and their acknowledgements; also counted in
    /// `messages`, their bytes in `metadata_bytes` and `payload_bytes`).
    pub retire_messages: u64,
    /// Replica ids retired.
    pub retirements: u64,
}

impl Stats {
    /// Entries in all: `payload_entries + metadata_entries`. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::Stats;
    /// let s = Stats { payload_entries: 3, metadata_entries: 2, ..Stats::default() };
    /// assert_eq!(s.entries(), 5);
    /// ```
    #[must_use]
    pub fn entries(&self) -> u64 {
        self.payload_entries + self.metadata_entries
    }

    /// Bytes in all: `payload_bytes + metadata_bytes`. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::Stats;
    /// let s = Stats { payload_bytes: 30, metadata_bytes: 4, ..Stats::default() };
    /// assert_eq!(s.bytes(), 34);
    /// ```
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.payload_bytes + self.metadata_bytes
    }
}

/// Something that happened to the simulated cluster, in order (see
/// [`Simulation::take_events`]).
///
/// ```
/// use convergent::sim::SimEvent;
///
/// let e = SimEvent::Crashed { round: 3, node: 1 };
/// assert_eq!(e.round(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimEvent {
    /// A replica crashed: its volatile buffers are gone, its durable state kept.
    Crashed {
        /// The round.
        round: u64,
        /// The node.
        node: usize,
    },
    /// A crashed replica restarted from its durable state.
    Restarted {
        /// The round.
        round: u64,
        /// The node.
        node: usize,
    },
    /// A crashed replica restarted with NO state, under a new replica id.
    Wiped {
        /// The round.
        round: u64,
        /// The node.
        node: usize,
        /// The id it had.
        old: ReplicaId,
        /// The id it has now.
        new: ReplicaId,
    },
    /// The network split: `side` can talk only among itself, the rest only among itself.
    Partitioned {
        /// The round.
        round: u64,
        /// One side of the split.
        side: Vec<usize>,
    },
    /// The network is whole again.
    Healed {
        /// The round.
        round: u64,
    },
    /// A replica id was retired: `heir` folded it ([`SyncEngine::retire`]).
    Retired {
        /// The round.
        round: u64,
        /// The node that folded the retired id's contributions.
        heir: usize,
        /// The retired id.
        retired: ReplicaId,
    },
    /// A replica refused a message.
    Rejected {
        /// The round.
        round: u64,
        /// The receiver.
        node: usize,
        /// Why.
        error: Error,
    },
}

impl SimEvent {
    /// The round in which it happened. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::SimEvent;
    /// assert_eq!(SimEvent::Healed { round: 9 }.round(), 9);
    /// ```
    #[must_use]
    pub fn round(&self) -> u64 {
        match self {
            SimEvent::Crashed { round, .. }
            | SimEvent::Restarted { round, .. }
            | SimEvent::Wiped { round, .. }
            | SimEvent::Partitioned { round, .. }
            | SimEvent::Healed { round }
            | SimEvent::Retired { round, .. }
            | SimEvent::Rejected { round, .. } => *round,
        }
    }
}

/// A message in flight.
#[derive(Clone, PartialEq, Eq)]
struct Envelope {
    from: usize,
    from_id: ReplicaId,
    to: usize,
    to_id: ReplicaId,
    bytes: Vec<u8>,
    /// The round it is due.
    at: u64,
    /// A [`RetireMessage`], not a [`Message`].
    retire: bool,
}

/// The retirement messages due, encoded, by destination.
type PollFn<L, V> = fn(&mut SyncEngine<L, V>) -> Vec<(ReplicaId, Vec<u8>)>;
/// Decodes and handles one retirement message.
type ReceiveFn<L, V> = fn(&mut SyncEngine<L, V>, ReplicaId, &[u8]) -> Result<(), Error>;
/// The new engine of a restart, with the crashed one's records.
type CarryFn<L, V> = fn(&SyncEngine<L, V>, SyncEngine<L, V>) -> SyncEngine<L, V>;

/// What routing retirement needs of `L: Prune`, stored by the first call that retires so that
/// [`Simulation::step`] needs no `Prune` bound (a simulation of a lattice without `Prune` never
/// routes retirement messages).
struct Retiring<L, V> {
    retire: fn(&mut SyncEngine<L, V>, ReplicaId) -> bool,
    poll: PollFn<L, V>,
    receive: ReceiveFn<L, V>,
    is_retired: fn(&SyncEngine<L, V>) -> bool,
    /// The records of a crashed engine carried into its restart: they are durable, like the
    /// state they were applied to.
    carry: CarryFn<L, V>,
    /// Whether [`Simulation::wipe`] retires the old id.
    wiped: bool,
}

impl<L, V> Clone for Retiring<L, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L, V> Copy for Retiring<L, V> {}

impl<L: Prune + Decompose + Decode, V: Validator<L>> Retiring<L, V> {
    fn new(wiped: bool) -> Self {
        Retiring {
            retire: SyncEngine::retire,
            poll: |e| e.poll_retirements().into_iter().map(|(to, m)| (to, m.to_bytes())).collect(),
            receive: |e, from, bytes| {
                let m = RetireMessage::from_bytes(bytes, e.limits())?;
                e.on_retirement(from, m)
            },
            is_retired: SyncEngine::is_retired,
            carry: |old, new| {
                new.with_retirements(old.retirement_records()).with_retirement_marks(old.retirement_marks())
            },
            wiped,
        }
    }
}

#[derive(Clone, PartialEq)]
struct Node<L, V> {
    engine: SyncEngine<L, V>,
    up: bool,
    incarnation: u64,
    /// Partition side (all equal when the network is whole).
    side: bool,
}

/// `N` replicas running [`SyncEngine`]s on a [`Topology`], with seeded faults.
///
/// # Example
///
/// ```
/// use convergent::{sim::{Faults, Simulation, Topology}, sync::Mode};
/// use convergent::EwFlag;
///
/// let mut sim = Simulation::<EwFlag>::new(Topology::ring(5), Mode::DeltaBpRr, 42);
/// sim.set_faults(Faults { loss: 0.3, ..Faults::none() });
/// for round in 0..20 {
///     let node = round % 5;
///     sim.update(node, |f, me| if round % 3 == 0 { f.disable(me) } else { f.enable(me) });
///     sim.step();
/// }
/// sim.calm(); // faults stop
/// assert!(sim.run_until_converged(100).is_some());
/// assert!(sim.stats().lost > 0);
/// ```
#[derive(Clone)]
pub struct Simulation<L, V = AcceptAll> {
    topology: Topology,
    mode: Mode,
    nodes: Vec<Node<L, V>>,
    validator: V,
    rng: SimRng,
    faults: Faults,
    partitioned: bool,
    in_flight: Vec<Envelope>,
    round: u64,
    stats: Stats,
    events: Vec<SimEvent>,
    resend_after: u32,
    retiring: Option<Retiring<L, V>>,
}

/// The id of incarnation `k` of node `i`: `k << 64 | (i + 1)` (readable in debug output).
fn node_id(i: usize, incarnation: u64) -> ReplicaId {
    ReplicaId::from_u128((u128::from(incarnation) << 64) | (i as u128 + 1))
}

impl<L> Simulation<L>
where
    L: Lattice + Decompose + Decode,
{
    /// A simulation of `topology.len()` new replicas (node `i` has id `i + 1`), every one in
    /// `mode`, with no faults. `O(n + edges)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1);
    /// assert_eq!(sim.len(), 3);
    /// ```
    #[must_use]
    pub fn new(topology: Topology, mode: Mode, seed: u64) -> Self {
        Self::with_validator(topology, mode, seed, AcceptAll)
    }
}

impl<L, V> Simulation<L, V>
where
    L: Lattice + Decompose + Decode,
    V: Validator<L> + Clone,
{
    /// As [`new`](Simulation::new), every replica checking received payloads with `validator`.
    /// `O(n + edges)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::{Mode, OwnDotsCheck}};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag, _>::with_validator(Topology::line(3), Mode::Delta, 1, OwnDotsCheck);
    /// assert_eq!(sim.len(), 3);
    /// ```
    #[must_use]
    pub fn with_validator(topology: Topology, mode: Mode, seed: u64, validator: V) -> Self {
        let mut sim = Simulation {
            mode,
            nodes: Vec::with_capacity(topology.len()),
            validator,
            rng: SimRng::new(seed),
            faults: Faults::none(),
            partitioned: false,
            in_flight: Vec::new(),
            round: 0,
            stats: Stats::default(),
            events: Vec::new(),
            resend_after: 1,
            retiring: None,
            topology,
        };
        for i in 0..sim.topology.len() {
            let engine = SyncEngine::new(node_id(i, 0), mode).with_validator(sim.validator.clone());
            sim.nodes.push(Node { engine, up: true, incarnation: 0, side: false });
        }
        for i in 0..sim.nodes.len() {
            sim.connect(i);
        }
        sim.share_members();
        sim
    }

    /// Tells every engine the current id of every node, up or down, as membership would
    /// ([`SyncEngine::set_members`]): a retirement mark waits for all of them. `O(n²)`.
    fn share_members(&mut self) {
        let ids: Vec<ReplicaId> = self.nodes.iter().map(|n| n.engine.id()).collect();
        for n in &mut self.nodes {
            n.engine.set_members(ids.iter().copied());
        }
    }

    /// Adds the current ids of `i`'s topology neighbours to its engine.
    fn connect(&mut self, i: usize) {
        let ids: Vec<ReplicaId> =
            self.topology.neighbours(i).iter().map(|&j| self.nodes[j].engine.id()).collect();
        for id in ids {
            self.nodes[i].engine.add_neighbour(id);
        }
    }

    /// Sets the faults injected from the next step on. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Faults, Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1);
    /// sim.set_faults(Faults::chaos());
    /// assert_eq!(sim.faults(), &Faults::chaos());
    /// ```
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Sets every replica's retransmission pace, now and after restarts (see
    /// [`SyncEngine::with_resend_after`]). `O(n)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1);
    /// sim.set_resend_after(4);
    /// assert_eq!(sim.engine(0).resend_after(), 4);
    /// ```
    pub fn set_resend_after(&mut self, polls: u32) {
        self.resend_after = polls.max(1);
        for n in &mut self.nodes {
            n.engine.set_resend_after(polls);
        }
    }

    /// The faults injected. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Faults, Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1);
    /// assert_eq!(sim.faults(), &Faults::none());
    /// ```
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops every fault: no more network faults, the partition heals, every crashed replica
    /// restarts from its durable state. Messages already in flight are still delivered when
    /// due. `O(n)`.
    ///
    /// ```
    /// # use convergent::{sim::{Faults, Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1);
    /// sim.crash(1);
    /// sim.calm();
    /// assert!(sim.is_up(1));
    /// ```
    pub fn calm(&mut self) {
        self.faults = Faults::none();
        self.heal();
        for i in 0..self.nodes.len() {
            if !self.nodes[i].up {
                self.restart(i);
            }
        }
    }

    /// The number of replicas. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// assert!(!Simulation::<EwFlag>::new(Topology::line(3), Mode::Delta, 1).is_empty());
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there is no replica. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// assert!(Simulation::<EwFlag>::new(Topology::line(0), Mode::Delta, 1).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The topology. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// assert_eq!(sim.topology(), &Topology::ring(4));
    /// ```
    #[must_use]
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The sync mode of every replica. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// assert_eq!(Simulation::<EwFlag>::new(Topology::ring(4), Mode::DeltaBp, 1).mode(), Mode::DeltaBp);
    /// ```
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Rounds stepped so far. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.step();
    /// assert_eq!(sim.round(), 1);
    /// ```
    #[must_use]
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The counters. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// sim.step();
    /// assert_eq!(sim.stats().delta_messages, 2);
    /// assert_eq!(sim.stats().ack_messages, 2);
    /// ```
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Zeroes the counters (for instance after a warm-up). `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Stats, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.step();
    /// sim.reset_stats();
    /// assert_eq!(sim.stats(), &Stats::default());
    /// ```
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Takes the events recorded since the last call. `O(events)`.
    ///
    /// ```
    /// # use convergent::{sim::{SimEvent, Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.crash(2);
    /// assert_eq!(sim.take_events(), [SimEvent::Crashed { round: 0, node: 2 }]);
    /// ```
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        core::mem::take(&mut self.events)
    }

    /// The current replica id of `node` (it changes when the node comes back without state).
    /// `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::{EwFlag, ReplicaId};
    /// let sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// assert_eq!(sim.replica_id(0), ReplicaId::from_u128(1));
    /// ```
    #[must_use]
    pub fn replica_id(&self, node: usize) -> ReplicaId {
        self.nodes[node].engine.id()
    }

    /// Whether `node` is running. `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// assert!(sim.is_up(0));
    /// ```
    #[must_use]
    pub fn is_up(&self, node: usize) -> bool {
        self.nodes[node].up
    }

    /// The state of `node` (its durable state while it is down). `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// assert!(sim.state(0).is_enabled());
    /// ```
    #[must_use]
    pub fn state(&self, node: usize) -> &L {
        self.nodes[node].engine.state()
    }

    /// The engine of `node`. `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// assert_eq!(sim.engine(1).neighbours().len(), 2);
    /// ```
    #[must_use]
    pub fn engine(&self, node: usize) -> &SyncEngine<L, V> {
        &self.nodes[node].engine
    }

    /// Runs a local delta mutator at `node` (see [`SyncEngine::update`]). Returns whether the
    /// state changed; `false` without running `f` if the node is down. `O(f)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// assert!(sim.update(0, |f, me| f.enable(me)));
    /// sim.crash(0);
    /// assert!(!sim.update(0, |f, me| f.enable(me)));
    /// ```
    pub fn update(&mut self, node: usize, f: impl FnOnce(&mut L, ReplicaId) -> L) -> bool {
        let n = &mut self.nodes[node];
        n.up && n.engine.update(f)
    }

    /// Crashes `node` (no-op if it is down): it stops sending and receiving; its durable state
    /// `(state, seq)` and its retirement records ([`SyncEngine::retirement_records`]) survive,
    /// its buffers and acks do not. `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.crash(0);
    /// assert!(!sim.is_up(0));
    /// ```
    pub fn crash(&mut self, node: usize) {
        if self.nodes[node].up {
            self.nodes[node].up = false;
            self.stats.crashes += 1;
            self.events.push(SimEvent::Crashed { round: self.round, node });
        }
    }

    /// Restarts a crashed `node` from its durable state with empty buffers
    /// ([`SyncEngine::restore`]); no-op if it is up. `O(state)` (the restore clones it).
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// sim.crash(0);
    /// sim.restart(0);
    /// assert!(sim.is_up(0) && sim.state(0).is_enabled());
    /// ```
    pub fn restart(&mut self, node: usize) {
        if self.nodes[node].up {
            return;
        }
        let old = &self.nodes[node].engine;
        let engine = SyncEngine::restore(old.id(), self.mode, old.state().clone(), old.seq())
            .expect("a running engine's seq is in range")
            .with_validator(self.validator.clone())
            .with_resend_after(self.resend_after);
        let engine = match self.retiring {
            Some(r) => (r.carry)(old, engine),
            None => engine,
        };
        self.nodes[node].engine = engine;
        self.nodes[node].up = true;
        self.connect(node);
        self.share_members();
        self.stats.restarts += 1;
        self.events.push(SimEvent::Restarted { round: self.round, node });
    }

    /// Restarts `node` with NO state (crashing it first if it is up): it comes back empty under
    /// a new replica id, as a replica that lost its disk must; its neighbours drop the old id
    /// and add the new one. `O(neighbours)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::{EwFlag, Lattice};
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::Delta, 1);
    /// let before = sim.replica_id(0);
    /// sim.update(0, |f, me| f.enable(me));
    /// sim.wipe(0);
    /// assert_ne!(sim.replica_id(0), before);
    /// assert!(sim.state(0).is_bottom());
    /// ```
    pub fn wipe(&mut self, node: usize) {
        let old = self.nodes[node].engine.id();
        self.rejoin(node);
        if let Some(r) = self.retiring.filter(|r| r.wiped) {
            // The heir: the live replica with the lowest id, as membership would pick it.
            let heir = (0..self.nodes.len())
                .filter(|&i| i != node && self.nodes[i].up)
                .min_by_key(|&i| self.nodes[i].engine.id());
            if let Some(heir) = heir {
                self.retire_with(r, heir, old);
            }
        }
    }

    fn retire_with(&mut self, r: Retiring<L, V>, node: usize, retired: ReplicaId) -> bool {
        if !self.nodes[node].up || !(r.retire)(&mut self.nodes[node].engine, retired) {
            return false;
        }
        self.stats.retirements += 1;
        self.events.push(SimEvent::Retired { round: self.round, heir: node, retired });
        true
    }

    /// `node` back empty under a new id (crashed first if up); its neighbours swap the ids.
    fn rejoin(&mut self, node: usize) {
        self.crash(node);
        let old = self.nodes[node].engine.id();
        let k = self.nodes[node].incarnation + 1;
        let new = node_id(node, k);
        self.nodes[node].incarnation = k;
        self.nodes[node].engine = SyncEngine::new(new, self.mode)
            .with_validator(self.validator.clone())
            .with_resend_after(self.resend_after);
        self.nodes[node].up = true;
        self.connect(node);
        for &j in self.topology.neighbours(node) {
            let e = &mut self.nodes[j].engine;
            e.remove_neighbour(old);
            e.add_neighbour(new);
        }
        self.share_members();
        self.stats.wipes += 1;
        self.events.push(SimEvent::Wiped { round: self.round, node, old, new });
    }

    /// Splits the network: the nodes of `side` talk only among themselves, the others only
    /// among themselves, until [`heal`](Self::heal). Messages crossing the split are dropped
    /// when due. `O(n)`.
    ///
    /// # Panics
    ///
    /// If a node of `side` is `>= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(2), Mode::Delta, 1);
    /// sim.partition(&[0]);
    /// sim.update(0, |f, me| f.enable(me));
    /// sim.step();
    /// assert!(!sim.state(1).is_enabled());
    /// sim.heal();
    /// sim.step();
    /// assert!(sim.state(1).is_enabled());
    /// ```
    pub fn partition(&mut self, side: &[usize]) {
        for n in &mut self.nodes {
            n.side = false;
        }
        for &i in side {
            self.nodes[i].side = true;
        }
        self.partitioned = true;
        self.events.push(SimEvent::Partitioned { round: self.round, side: side.to_vec() });
    }

    /// Ends the partition, if any. `O(n)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(2), Mode::Delta, 1);
    /// sim.partition(&[0]);
    /// sim.heal();
    /// assert!(!sim.is_partitioned());
    /// ```
    pub fn heal(&mut self) {
        if self.partitioned {
            for n in &mut self.nodes {
                n.side = false;
            }
            self.partitioned = false;
            self.events.push(SimEvent::Healed { round: self.round });
        }
    }

    /// Whether the network is split. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// assert!(!Simulation::<EwFlag>::new(Topology::line(2), Mode::Delta, 1).is_partitioned());
    /// ```
    #[must_use]
    pub fn is_partitioned(&self) -> bool {
        self.partitioned
    }

    /// Whether every replica is up, all states are equal, and no retirement mark is pending (a
    /// pending mark's fold would still change the states). `O(n × state)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(2), Mode::Delta, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// assert!(!sim.converged());
    /// sim.step();
    /// assert!(sim.converged());
    /// ```
    #[must_use]
    pub fn converged(&self) -> bool
    where
        L: PartialEq,
    {
        let Some(first) = self.nodes.first() else { return true };
        self.nodes
            .iter()
            .all(|n| n.up && !n.engine.marks_pending() && n.engine.state() == first.engine.state())
    }

    /// Steps until [`converged`](Self::converged), at most `max_rounds` times; returns the
    /// number of rounds stepped, or `None` if the states still differ. `O(rounds × step)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(5), Mode::DeltaBpRr, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// assert_eq!(sim.run_until_converged(10), Some(4)); // four hops
    /// ```
    pub fn run_until_converged(&mut self, max_rounds: u64) -> Option<u64>
    where
        L: PartialEq,
    {
        for r in 0..=max_rounds {
            if self.converged() {
                return Some(r);
            }
            if r < max_rounds {
                self.step();
            }
        }
        None
    }

    /// One round: random crashes, restarts and partitions (if enabled); every live replica
    /// builds its messages, which the network loses, duplicates and delays; every message due
    /// is delivered (in random order if reordering is on), and the acknowledgements this
    /// produces are sent in turn (and delivered in the same round when not delayed).
    /// `O(messages × (payload + decode + join))`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::line(3), Mode::DeltaBpRr, 1);
    /// sim.update(0, |f, me| f.enable(me));
    /// sim.step();
    /// assert!(sim.state(1).is_enabled() && !sim.state(2).is_enabled());
    /// ```
    pub fn step(&mut self) {
        self.chaos();
        for i in 0..self.nodes.len() {
            if self.nodes[i].up {
                if let Some(r) = self.retiring {
                    for (to, bytes) in (r.poll)(&mut self.nodes[i].engine) {
                        self.stats.retire_messages += 1;
                        self.stats.messages += 1;
                        self.stats.metadata_bytes += bytes.len() as u64;
                        self.route(i, to, bytes, true);
                    }
                }
                let out = self.nodes[i].engine.poll_outgoing();
                for (to, m) in out {
                    self.send(i, to, &m);
                }
            }
        }
        loop {
            let round = self.round;
            let (mut due, rest): (Vec<Envelope>, Vec<Envelope>) =
                core::mem::take(&mut self.in_flight).into_iter().partition(|e| e.at <= round);
            self.in_flight = rest;
            if due.is_empty() {
                break;
            }
            if self.faults.reorder {
                self.rng.shuffle(&mut due);
            }
            for env in due {
                self.deliver(env);
            }
        }
        self.round += 1;
        self.stats.rounds += 1;
    }

    fn chaos(&mut self) {
        let f = self.faults;
        for i in 0..self.nodes.len() {
            if self.nodes[i].up {
                if self.rng.chance(f.crash) {
                    self.crash(i);
                }
            } else if self.rng.chance(f.restart) {
                if self.rng.chance(f.wipe) {
                    self.wipe(i);
                } else {
                    self.restart(i);
                }
            }
        }
        if self.partitioned {
            if self.rng.chance(f.heal) {
                self.heal();
            }
        } else if self.nodes.len() > 1 && self.rng.chance(f.partition) {
            let mut order: Vec<usize> = (0..self.nodes.len()).collect();
            self.rng.shuffle(&mut order);
            let cut = 1 + self.rng.below(self.nodes.len() as u64 - 1) as usize;
            let mut side = order[..cut].to_vec();
            side.sort_unstable();
            self.partition(&side);
        }
    }

    fn send(&mut self, from: usize, to_id: ReplicaId, m: &Message<L>) {
        let bytes = m.to_bytes();
        let s = &mut self.stats;
        s.messages += 1;
        match m.kind() {
            MessageKind::State => s.state_messages += 1,
            MessageKind::Delta => s.delta_messages += 1,
            MessageKind::Snapshot => s.snapshot_messages += 1,
            MessageKind::Ack | MessageKind::ChunkAck | MessageKind::Digest => s.ack_messages += 1,
            MessageKind::Chunk => s.delta_messages += 1,
        }
        let payload = m.payload().map_or(0, |p| wire::encoded_len(p) - 1);
        s.payload_bytes += payload as u64;
        s.metadata_bytes += (bytes.len() - payload) as u64;
        s.payload_entries += m.payload().map_or(0, |p| p.irreducible_count() as u64);
        s.metadata_entries += m.metadata_entries();
        self.route(from, to_id, bytes, false);
    }

    fn route(&mut self, from: usize, to_id: ReplicaId, bytes: Vec<u8>, retire: bool) {
        let s = &mut self.stats;
        // Route by id among the sender's topology neighbours (an ack may answer a replica that
        // is not a neighbour any more: then it is undeliverable).
        let to = self.topology.neighbours(from).iter().copied().find(|&j| self.nodes[j].engine.id() == to_id);
        let Some(to) = to else {
            s.undeliverable += 1;
            return;
        };
        if self.rng.chance(self.faults.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let from_id = self.nodes[from].engine.id();
        for _ in 0..copies {
            let at = self.round + self.rng.below(self.faults.max_delay + 1);
            self.in_flight.push(Envelope { from, from_id, to, to_id, bytes: bytes.clone(), at, retire });
        }
    }

    fn deliver(&mut self, env: Envelope) {
        let (from, to) = (&self.nodes[env.from], &self.nodes[env.to]);
        if !to.up || to.engine.id() != env.to_id || (self.partitioned && from.side != to.side) {
            self.stats.undeliverable += 1;
            return;
        }
        let node = &mut self.nodes[env.to];
        let result = match self.retiring {
            Some(r) if env.retire => (r.receive)(&mut node.engine, env.from_id, &env.bytes),
            _ => node.engine.on_bytes(env.from_id, &env.bytes),
        };
        if let Err(error) = result {
            self.stats.rejected += 1;
            self.events.push(SimEvent::Rejected { round: self.round, node: env.to, error });
            return;
        }
        if self.retiring.is_some_and(|r| (r.is_retired)(&self.nodes[env.to].engine)) {
            // Told that its own id was retired: it rejoins empty under a new id (not retired
            // again: its old id already is).
            self.rejoin(env.to);
            return;
        }
        let node = &mut self.nodes[env.to];
        let acks = node.engine.poll_acks();
        for (to_id, m) in acks {
            self.send(env.to, to_id, &m);
        }
    }
}

impl<L, V> Simulation<L, V>
where
    L: Prune + Decompose + Decode,
    V: Validator<L> + Clone,
{
    /// Retires `retired` with `node` as its heir ([`SyncEngine::retire`]: a mark, folded by
    /// `node` once every node followed it, unless a lower node's mark of the same id wins); from
    /// now on every step routes [`RetireMessage`]s too (marks, records, acknowledgements), and a
    /// replica told that its own id was retired rejoins empty under a new id. Returns `false` (and does nothing)
    /// if `node` is down or the engine refuses (its own id, an id it already retired).
    /// `O(state)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::GCounter;
    /// let mut sim = Simulation::<GCounter>::new(Topology::line(3), Mode::DeltaBpRr, 1);
    /// sim.update(2, |c, me| c.increment(me, 5));
    /// sim.run_until_converged(10);
    /// let gone = sim.replica_id(2);
    /// sim.wipe(2); // lost its disk: a new id, its old one never writes again
    /// assert!(sim.retire(0, gone));
    /// sim.run_until_converged(20).unwrap();
    /// assert_eq!(sim.state(1).value(), 5); // the 5 is now the heir's
    /// assert_eq!(sim.state(1).get(gone), 0);
    /// ```
    pub fn retire(&mut self, node: usize, retired: ReplicaId) -> bool {
        let r = *self.retiring.get_or_insert_with(|| Retiring::new(false));
        self.retire_with(r, node, retired)
    }

    /// With `on`, every [`wipe`](Self::wipe) (chaos ones included) retires the wiped replica's
    /// old id, with the live replica of the lowest id as its heir ([`retire`](Self::retire)):
    /// churn no longer grows every value's metadata. Off by default. `O(1)`.
    ///
    /// ```
    /// # use convergent::{sim::{Simulation, Topology}, sync::Mode};
    /// # use convergent::EwFlag;
    /// let mut sim = Simulation::<EwFlag>::new(Topology::ring(4), Mode::DeltaBpRr, 1);
    /// sim.set_retire_wiped(true);
    /// for n in 0..20 {
    ///     sim.update(n % 4, |f, me| f.enable(me));
    ///     sim.run_until_converged(50).unwrap();
    ///     sim.wipe(n % 4);
    ///     sim.run_until_converged(50).unwrap();
    /// }
    /// assert!(sim.state(0).context().replica_count() <= 4);
    /// assert_eq!(sim.stats().retirements, 20);
    /// ```
    pub fn set_retire_wiped(&mut self, on: bool) {
        let mut r = self.retiring.unwrap_or_else(|| Retiring::new(on));
        r.wiped = on;
        self.retiring = Some(r);
    }
}

/// A summary: round, mode, which nodes are up, the counters.
impl<L, V> fmt::Debug for Simulation<L, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let up: Vec<bool> = self.nodes.iter().map(|n| n.up).collect();
        f.debug_struct("Simulation")
            .field("round", &self.round)
            .field("mode", &self.mode)
            .field("up", &up)
            .field("partitioned", &self.partitioned)
            .field("in_flight", &self.in_flight.len())
            .field("stats", &self.stats)
            .finish()
    }
}

/// Equal when topology, mode, replicas, network, generator and counters are equal.
impl<L: PartialEq, V: PartialEq> PartialEq for Simulation<L, V> {
    fn eq(&self, o: &Self) -> bool {
        self.topology == o.topology
            && self.mode == o.mode
            && self.nodes == o.nodes
            && self.validator == o.validator
            && self.rng == o.rng
            && self.faults == o.faults
            && self.partitioned == o.partitioned
            && self.in_flight == o.in_flight
            && self.round == o.round
            && self.stats == o.stats
            && self.events == o.events
            && self.resend_after == o.resend_after
            && self.retiring.map(|r| r.wiped) == o.retiring.map(|r| r.wiped)
    }
}
