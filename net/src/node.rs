//! The node: a sync engine on a tokio UDP socket, with foca for membership and redb for
//! durability.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use convergent::Prune;
use convergent::sync::{
    Digest, Envelope, Message, MessageKind, Mode, ReceiveCheck, RetireMark, SyncEngine, Validator,
};
use convergent::wire::Decode;
use convergent::{Lattice, Receive, ReplicaId};
use foca::{AccumulatingRuntime, Foca, NoCustomBroadcast, OwnedNotification, PostcardCodec, Timer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::frame::{self, Replacement, TAG_MEMBERSHIP, TAG_REPLACED, TAG_RETIRE, TAG_SYNC};
use crate::store::{DurableReplica, StoreError};

/// A member's identity in the SWIM protocol: its address, the replica it runs, and a number that
/// grows with every (re)start or renewal, so that a newer identity on the same address always
/// wins ([`foca::Identity::win_addr_conflict`]).
///
/// A process that restarts from its disk keeps its `replica` and comes back with a larger `bump`;
/// one that lost its disk comes back with a new `replica`: peers then drop the old replica as a
/// neighbour and take the new one in.
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::MemberId;
/// use foca::Identity;
///
/// let old = MemberId { addr: "127.0.0.1:9000".parse().unwrap(), replica: ReplicaId::from_u128(1), bump: 5 };
/// let new = MemberId { replica: ReplicaId::from_u128(2), bump: 9, ..old };
/// assert!(new.win_addr_conflict(&old));
/// assert_eq!(old.renew().unwrap().bump, 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberId {
    /// Where the member listens.
    pub addr: SocketAddr,
    /// The replica it runs.
    pub replica: ReplicaId,
    /// Start time in milliseconds since the Unix epoch, plus one per renewal.
    pub bump: u64,
}

impl foca::Identity for MemberId {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(MemberId { bump: self.bump + 1, ..*self })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, other: &Self) -> bool {
        (self.bump, self.replica) > (other.bump, other.replica)
    }
}

/// Faults injected in the node's send path, for tests: every datagram (membership and sync)
/// is dropped with probability `loss`, and every datagram to an address in `blocked`.
///
/// ```
/// use convergent_net::Faults;
///
/// let f = Faults { loss: 0.2, blocked: ["127.0.0.1:9001".parse().unwrap()].into() };
/// assert!(f.blocked.contains(&"127.0.0.1:9001".parse().unwrap()));
/// assert_eq!(Faults::default().loss, 0.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Probability of dropping each datagram sent.
    pub loss: f64,
    /// Addresses this node cannot reach (one side of a partition).
    pub blocked: HashSet<SocketAddr>,
}

/// A deliberate bug, for showing that the fault tests catch a broken node
/// ([`NodeConfig::bug`]). Never set it outside such tests.
///
/// ```
/// use convergent_net::InjectedBug;
/// let b = InjectedBug::AckWithoutApplying { every: 5 };
/// assert_ne!(b, InjectedBug::AckWithoutApplying { every: 4 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedBug {
    /// Every `every`-th new delta-group, snapshot or part received is acknowledged without
    /// being applied. The choice is made once per message: a resend (the same sender, kind,
    /// sequence number and part) is treated as its first copy was, so a dropped message stays
    /// dropped and a resend of an applied one does not use up a turn.
    AckWithoutApplying {
        /// The period (at least 1).
        every: u32,
    },
    /// A replica started without state (a wiped disk) takes this id instead of a new one.
    ReuseIdAfterWipe(ReplicaId),
}

/// Which live members are the sync engine's neighbours.
///
/// BP+RR sends each change across each edge of the overlay about once: on a full mesh of `n`
/// members that is `n - 1` direct sends plus `(n - 1)(n - 2)` forwards per change; on a ring
/// it is about `n`, at the price of `n / 2` hops of latency. With up to 3 members both are the
/// same.
///
/// ```
/// use convergent_net::Overlay;
/// assert_eq!(Overlay::default(), Overlay::Ring);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overlay {
    /// Every live member.
    FullMesh,
    /// The previous and the next live member in replica-id order (wrapping around): two
    /// neighbours each, a ring that stays connected through any single failure.
    #[default]
    Ring,
}

/// How a node runs. Build with [`NodeConfig::new`] and set fields.
///
/// ```
/// use convergent_net::NodeConfig;
///
/// let mut c = NodeConfig::new("127.0.0.1:0".parse().unwrap());
/// c.peers.push("127.0.0.1:9000".parse().unwrap());
/// assert_eq!(c.max_datagram, 1200);
/// ```
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The UDP address to bind.
    pub bind: SocketAddr,
    /// Addresses to join through (any live member will do); empty for the first node.
    pub peers: Vec<SocketAddr>,
    /// The redb file of the replica; `None` keeps the replica in memory (a new id every start).
    pub data: Option<PathBuf>,
    /// Largest datagram sent (default 1200 bytes, below common MTUs); larger sync messages go
    /// in chunks.
    pub max_datagram: usize,
    /// How often the engine sends what each neighbour lacks (default 50 ms).
    pub sync_interval: Duration,
    /// Polls without an acknowledgement before a delta-group or snapshot is sent again.
    pub resend_after: u32,
    /// The sync engine's mode (default BP+RR).
    pub mode: Mode,
    /// SWIM settings (default: [`NodeConfig::fast_membership`]).
    pub membership: foca::Config,
    /// Seed for the node's randomness (membership probing, injected faults); `None`: from the OS.
    pub seed: Option<u64>,
    /// Which members are sync neighbours (default [`Overlay::Ring`]).
    pub overlay: Overlay,
    /// How long a neighbour that SWIM declared down stays a neighbour (default 30 s): its
    /// unacknowledged deltas are kept, so a partition that heals within this time costs deltas,
    /// not snapshots. A member replaced by a new replica id on its address is dropped at once.
    pub forget_after: Duration,
    /// Retire the old id of a member that came back under a new one (default `true`; see
    /// docs/network.md, "Retiring replica ids", and docs/pruning.md). The heir is the lowest
    /// live id in this node's membership view off the wiped address (no incarnation there is
    /// ever the heir; a node that is not the heir tells the heir of its view, and a notice
    /// goes on until it reaches one): it starts a retirement mark, and folds once
    /// every live SWIM member followed it (the engine gets the member set at every membership
    /// change, [`SyncEngine::set_members`]). Two nodes whose views differ may both start one;
    /// the lower owner's mark wins and the id is folded once, as long as each of the two views
    /// holds the other node. Retirement messages from peers are carried and applied either way.
    /// The store keeps the records, not the marks: a node restarted while a mark was pending
    /// follows it again when a neighbour sends it.
    pub retire_replaced: bool,
    /// A deliberate bug, for tests of the tests only (default `None`).
    pub bug: Option<InjectedBug>,
}

impl NodeConfig {
    /// Defaults for a node bound to `bind`.
    ///
    /// ```
    /// use convergent_net::{NodeConfig, Overlay};
    /// let c = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    /// assert_eq!((c.overlay, c.sync_interval.as_millis(), c.data.is_none()), (Overlay::Ring, 50, true));
    /// ```
    #[must_use]
    pub fn new(bind: SocketAddr) -> Self {
        NodeConfig {
            bind,
            peers: Vec::new(),
            data: None,
            max_datagram: 1200,
            sync_interval: Duration::from_millis(50),
            resend_after: 2,
            mode: Mode::DeltaBpRr,
            membership: Self::fast_membership(),
            seed: None,
            overlay: Overlay::Ring,
            forget_after: Duration::from_secs(30),
            retire_replaced: true,
            bug: None,
        }
    }

    /// SWIM settings for a LAN or loopback with loss: a probe every 400 ms, suspicion for 1.6 s
    /// before a member is declared down, gossip every 100 ms, (re)announcing every second.
    ///
    /// ```
    /// let c = convergent_net::NodeConfig::fast_membership();
    /// assert!(c.probe_rtt < c.probe_period);
    /// ```
    #[must_use]
    pub fn fast_membership() -> foca::Config {
        let mut c = foca::Config::new_lan(std::num::NonZeroU32::new(16).expect("16"));
        c.probe_period = Duration::from_millis(400);
        c.probe_rtt = Duration::from_millis(150);
        c.suspect_to_down_after = Duration::from_millis(1600);
        c.remove_down_after = Duration::from_secs(120);
        c.periodic_announce = Some(foca::PeriodicParams {
            frequency: Duration::from_secs(1),
            num_members: std::num::NonZeroUsize::new(1).expect("1"),
        });
        c.periodic_announce_to_down_members = Some(foca::PeriodicParams {
            frequency: Duration::from_secs(1),
            num_members: std::num::NonZeroUsize::new(2).expect("2"),
        });
        c.periodic_gossip = Some(foca::PeriodicParams {
            frequency: Duration::from_millis(100),
            num_members: std::num::NonZeroUsize::new(3).expect("3"),
        });
        c
    }
}

/// Why a node could not start or save.
#[derive(Debug)]
pub enum NodeError {
    /// The socket could not be bound.
    Io(std::io::Error),
    /// The durable replica could not be opened or written.
    Store(StoreError),
    /// The configuration is unusable (for example a datagram size below
    /// [`frame::MIN_DATAGRAM`]).
    Config(&'static str),
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::Io(e) => write!(f, "socket: {e}"),
            NodeError::Store(e) => write!(f, "store: {e}"),
            NodeError::Config(e) => write!(f, "configuration: {e}"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<StoreError> for NodeError {
    fn from(e: StoreError) -> Self {
        NodeError::Store(e)
    }
}

/// Messages and bytes of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages (whole sync messages, not chunks).
    pub messages: u64,
    /// Encoded bytes of those messages (without frame headers).
    pub bytes: u64,
}

/// One neighbour as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The neighbour's replica.
    pub replica: ReplicaId,
    /// Its address, if known.
    pub addr: Option<SocketAddr>,
    /// Whether it acknowledged everything this replica holds.
    pub caught_up: bool,
}

/// A node's counters. Everything counts since the process started.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeStats {
    /// This replica.
    pub id: Option<ReplicaId>,
    /// The engine's sequence number.
    pub seq: u64,
    /// Sync messages sent, by kind.
    pub sent: BTreeMap<MessageKind, Traffic>,
    /// Sync messages received and decoded, by kind.
    pub received: BTreeMap<MessageKind, Traffic>,
    /// Datagrams and bytes put on the socket (sync frames with headers, and membership).
    pub datagrams_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// Of which membership (foca) bytes.
    pub membership_bytes_sent: u64,
    /// Datagrams received.
    pub datagrams_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// Datagrams the injected faults dropped.
    pub dropped_by_faults: u64,
    /// Datagrams the socket refused to send (buffer full).
    pub send_errors: u64,
    /// Sync frames addressed to another replica id (a previous incarnation): dropped.
    pub misaddressed: u64,
    /// Frames that did not parse or exceeded the size limit.
    pub bad_frames: u64,
    /// Received messages refused, by error (decoding, validation, out-of-range acks).
    pub refused: BTreeMap<String, u64>,
    /// Snapshots sent (a neighbour behind the collected log, new, or restarted, that did not
    /// answer the digest handshake).
    pub snapshots_sent: u64,
    /// Answers to a neighbour's digest: what it lacked, in place of a snapshot.
    pub digest_answers: u64,
    /// Delta-groups and snapshots the engine sent in acknowledged parts (over the datagram
    /// budget), and parts sent again.
    pub chunked_sent: u64,
    /// Parts sent again because their acknowledgement had not come.
    pub chunks_resent: u64,
    /// Handshakes sent (what this replica holds of a neighbour it (re)connected to).
    pub handshakes: u64,
    /// Sync datagrams over `max_datagram` (one irreducible larger than the budget).
    pub oversized: u64,
    /// Saves to the durable replica, bytes handed to it, and compactions among them.
    pub saves: u64,
    /// Bytes of the saved values (delta or state, plus the sequence number).
    pub save_bytes: u64,
    /// Saves that compacted the log.
    pub compactions: u64,
    /// Live members seen by SWIM (without this node).
    pub members: usize,
    /// Times a member on a known address came back as a different replica (a wiped disk): the
    /// old replica was dropped as a neighbour and the new one taken in.
    pub replaced_replicas: u64,
    /// Replica ids this node folded as their heir ([`SyncEngine::folds_made`]): a member came
    /// back under a new id on its address, this node was the lowest live id and started the
    /// retirement mark, and every live member followed it.
    pub retired_as_heir: u64,
    /// Retirement messages (records and acknowledgements) sent, and their bytes.
    pub retire_sent: Traffic,
    /// Retirement messages received and accepted.
    pub retire_received: Traffic,
    /// Times this node learned that its own id was retired and rejoined under a new id with
    /// the empty state.
    pub rejoined: u64,
    /// The neighbours and whether each is caught up.
    pub neighbours: Vec<PeerStatus>,
}

type Swim = Foca<MemberId, PostcardCodec, StdRng, NoCustomBroadcast>;

struct Inner<L, V> {
    engine: SyncEngine<L, V>,
    swim: Swim,
    runtime: AccumulatingRuntime<MemberId>,
    timers: Vec<(Instant, u64, Timer<MemberId>)>,
    timer_seq: u64,
    socket: Arc<UdpSocket>,
    addrs: HashMap<ReplicaId, SocketAddr>,
    store: Option<DurableReplica<L>>,
    unsaved: L,
    faults: Faults,
    /// For [`InjectedBug::AckWithoutApplying`]: new payload-carrying messages received, and
    /// whether each (by sender, kind, sequence number, part) was dropped. Grows with every
    /// message received: tests of the tests only.
    bug_count: u64,
    bug_dropped: HashMap<(ReplicaId, u8, u64, u32), bool>,
    rng: StdRng,
    stats: NodeStats,
    config: NodeConfig,
    changes: watch::Sender<u64>,
    next_sync: Instant,
    next_announce: Instant,
    next_reconcile: Instant,
    /// Neighbours no longer live, since when, and where they were.
    departed: HashMap<ReplicaId, (Instant, SocketAddr)>,
    /// The last replica SWIM reported on each address: a different one coming up there means
    /// the previous one lost its state (seen as a rename, or as down then up).
    last_replica_at: HashMap<SocketAddr, MemberId>,
    /// Replacement notices for the heir (it may not have seen a short-lived incarnation in
    /// membership): `(heir, replacement, sends left)`.
    notices: Vec<(ReplicaId, Replacement, u8)>,
    /// How many retirement records the store holds (saved again when the engine's number
    /// differs).
    saved_retirements: usize,
    /// The retirement marks the store holds (saved again when the engine's differ).
    saved_marks: Vec<RetireMark>,
}

/// A replica on the network: runs a [`SyncEngine`] for any state type `L` on one UDP socket,
/// with SWIM membership (foca) deciding the engine's neighbours and, optionally, a durable
/// replica on redb.
///
/// * [`start`](Self::start) binds, loads or creates the replica ([`DurableReplica::load_or_fresh`]),
///   announces to the configured peers and spawns the receive and timer tasks on the current
///   tokio runtime.
/// * [`update`](Self::update) runs a delta mutator; when it returns `Ok`, the delta is on disk
///   (before it is ever sent).
/// * [`subscribe`](Self::subscribe) tells about every change (local or remote), [`read`](Self::read)
///   reads the state, [`stats`](Self::stats) the counters.
///
/// Membership: every live SWIM member is a neighbour of the engine (with a full mesh; a ring
/// overlay takes two of them) and a member for retirement marks. A member that is declared
/// down is dropped (its buffers freed); when it comes back it gets a snapshot. A member that comes
/// back on the same address under a new replica id (it lost its disk) replaces the old one.
///
/// Received changes are saved before their acknowledgement is sent, so a peer never believes
/// this replica holds something a crash took away.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use convergent::GCounter;
/// use convergent_net::{Node, NodeConfig};
///
/// let a = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
/// let mut cb = NodeConfig::new("127.0.0.1:0".parse().unwrap());
/// cb.peers.push(a.local_addr());
/// let b = Node::<GCounter>::start(cb).await.unwrap();
///
/// a.update(|c, me| c.increment(me, 2)).unwrap();
/// let mut changes = b.subscribe();
/// while b.read(|c| c.value()) < 2 {
///     changes.changed().await.unwrap();
/// }
/// # });
/// ```
pub struct Node<L, V = WallClockCheck> {
    inner: Arc<Mutex<Inner<L, V>>>,
    changes: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

impl<L, V> std::fmt::Debug for Node<L, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl<L, V> Drop for Node<L, V> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock<L, V>(m: &Mutex<Inner<L, V>>) -> MutexGuard<'_, Inner<L, V>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The engine settings every incarnation of a node gets.
fn configure<L, V>(engine: SyncEngine<L>, validator: V, config: &NodeConfig) -> SyncEngine<L, V>
where
    L: Lattice + Digest + Decode + Prune + Clone,
    V: Validator<L>,
{
    engine
        .with_validator(validator)
        .with_resend_after(config.resend_after)
        .with_max_payload_bytes(frame::payload_budget(config.max_datagram))
        .with_digest_handshake()
}

/// How many times a replacement notice is sent to the heir (one per sync tick).
const NOTICE_SENDS: u8 = 10;

/// The heir of `r.replaced` in the view of the node `me` with the live `members`: the lowest
/// replica id among `me` and the members, leaving out `r.replaced`, `r.by`, every replica on
/// the address `r.at` (a later incarnation there may be a fresh one that holds none of the
/// retired id's events yet, and its id says nothing about it: when wipes come one after
/// another, a node that learns of an old one late may already see a newer incarnation with a
/// lower id), and every stale entry (a member whose address has since shown another replica
/// in `last_replica_at`). Nodes whose views hold the same members pick the same heir.
/// `O(members)`.
fn heir_of(
    me: MemberId,
    members: impl IntoIterator<Item = MemberId>,
    last_replica_at: &HashMap<SocketAddr, MemberId>,
    r: &Replacement,
) -> Option<ReplicaId> {
    members
        .into_iter()
        .filter(|m| last_replica_at.get(&m.addr).is_none_or(|l| l.replica == m.replica))
        .chain([me])
        .filter(|m| m.addr != r.at && m.replica != r.replaced && m.replica != r.by)
        .map(|m| m.replica)
        .min()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The error's variant name: `CounterOutOfRange`, `Malformed`, ...
fn error_name(e: &convergent::Error) -> String {
    let s = format!("{e:?}");
    s.split([' ', '{', '(']).next().unwrap_or("").to_string()
}

/// The node's default validator: every check of receipt
/// ([`Receive::validate_against`](convergent::Receive::validate_against) under the engine's
/// limits: own events from the future, replica and range limits of the joined state,
/// conflicting payloads) with the system clock, so LWW timestamps further than
/// [`Limits::max_clock_skew_ms`](convergent::Limits::max_clock_skew_ms) ahead of this machine's
/// clock are refused too. `O(payload)` per received payload.
///
/// ```
/// use convergent_net::{wall_clock_check, WallClockCheck};
/// let check: WallClockCheck = wall_clock_check();
/// assert!(check.now_ms() > 1_600_000_000_000);
/// ```
pub type WallClockCheck = ReceiveCheck<fn() -> u64>;

/// A [`WallClockCheck`] reading the system clock (milliseconds since the Unix epoch). `O(1)`.
///
/// ```
/// let check = convergent_net::wall_clock_check();
/// assert!(check.now_ms() > 0);
/// ```
#[must_use]
pub fn wall_clock_check() -> WallClockCheck {
    ReceiveCheck::new(now_ms as fn() -> u64)
}

impl<L> Node<L>
where
    L: Lattice + Digest + Decode + Prune + Receive + Clone + Send + 'static,
{
    /// Binds, opens or creates the replica, and starts the node's tasks on the current tokio
    /// runtime (which needs the `time` and `net` drivers). Every received payload passes
    /// [`WallClockCheck`] (every receipt check, with the system clock) before it touches the
    /// state; see [`start_with_validator`](Node::start_with_validator) for another policy.
    ///
    /// # Errors
    ///
    /// [`NodeError`] if the socket cannot be bound, the durable replica cannot be opened, or the
    /// datagram size is below [`frame::MIN_DATAGRAM`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use convergent::GCounter;
    /// use convergent_net::{Node, NodeConfig};
    ///
    /// let mut config = NodeConfig::new("127.0.0.1:0".parse().unwrap());
    /// config.data = Some(std::env::temp_dir().join(format!("doc-start-{}.redb", std::process::id())));
    /// # let _ = std::fs::remove_file(config.data.as_ref().unwrap());
    /// let node = Node::<GCounter>::start(config).await.unwrap();
    /// assert_eq!(node.read(|c| c.value()), 0);
    /// # });
    /// ```
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        Self::start_with_validator(config, wall_clock_check()).await
    }
}

impl<L, V> Node<L, V>
where
    L: Lattice + Digest + Decode + Prune + Clone + Send + 'static,
    V: Validator<L> + Clone + Send + 'static,
{
    /// As [`start`](Node::start), with a validator run on every received payload before it
    /// touches the state (for example [`OwnDotsCheck`](convergent::sync::OwnDotsCheck), which
    /// catches a replica id reused after lost state even among trusted peers, or
    /// [`ReceiveCheck`](convergent::sync::ReceiveCheck) for peers you do not trust). Refused
    /// messages are counted by error in [`NodeStats::refused`] and change nothing.
    ///
    /// # Errors
    ///
    /// As [`start`](Node::start).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use convergent::OrSet;
    /// use convergent::sync::OwnDotsCheck;
    /// use convergent_net::{Node, NodeConfig};
    ///
    /// let node = Node::<OrSet<String>, _>::start_with_validator(NodeConfig::new("127.0.0.1:0".parse().unwrap()), OwnDotsCheck)
    ///     .await
    ///     .unwrap();
    /// assert!(node.stats().refused.is_empty());
    /// # });
    /// ```
    pub async fn start_with_validator(config: NodeConfig, validator: V) -> Result<Self, NodeError> {
        if config.max_datagram < frame::MIN_DATAGRAM {
            return Err(NodeError::Config("max_datagram below the minimum"));
        }
        let socket = Arc::new(UdpSocket::bind(config.bind).await.map_err(NodeError::Io)?);
        let addr = socket.local_addr().map_err(NodeError::Io)?;
        let (store, engine, retirements, marks) = match &config.data {
            Some(path) => {
                let (store, loaded) = DurableReplica::<L>::load_or_fresh(path)?;
                let engine = if loaded.fresh {
                    let id = match config.bug {
                        Some(InjectedBug::ReuseIdAfterWipe(old)) => old,
                        _ => loaded.id,
                    };
                    SyncEngine::new(id, config.mode)
                } else {
                    SyncEngine::restore(loaded.id, config.mode, loaded.state, loaded.seq)
                        .map_err(|e| NodeError::Store(StoreError::Decode(e)))?
                        .with_sync_record(loaded.record)
                };
                (Some(store), engine, loaded.retirements, loaded.marks)
            }
            None => (None, SyncEngine::new(ReplicaId::random(), config.mode), Vec::new(), Vec::new()),
        };
        let saved_retirements = retirements.len();
        let engine =
            configure(engine, validator, &config).with_retirements(retirements).with_retirement_marks(marks);
        let saved_marks = engine.retirement_marks();
        let id = engine.id();
        let mut rng = match config.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        let mut membership = config.membership.clone();
        membership.max_packet_size =
            std::num::NonZeroUsize::new(config.max_datagram - 1).ok_or(NodeError::Config("max_datagram"))?;
        let me = MemberId { addr, replica: id, bump: now_ms() };
        let swim = Foca::new(me, membership, StdRng::seed_from_u64(rng.random()), PostcardCodec);
        let (tx, changes) = watch::channel(engine.seq());
        let now = Instant::now();
        let inner = Inner {
            engine,
            swim,
            runtime: AccumulatingRuntime::new(),
            timers: Vec::new(),
            timer_seq: 0,
            socket: socket.clone(),
            addrs: HashMap::new(),
            store,
            unsaved: L::bottom(),
            faults: Faults::default(),
            bug_count: 0,
            bug_dropped: HashMap::new(),
            rng,
            stats: NodeStats { id: Some(id), ..NodeStats::default() },
            config,
            changes: tx,
            next_sync: now,
            next_announce: now,
            next_reconcile: now,
            departed: HashMap::new(),
            last_replica_at: HashMap::new(),
            notices: Vec::new(),
            saved_retirements,
            saved_marks,
        };
        let inner = Arc::new(Mutex::new(inner));
        lock(&inner).announce();
        let recv = {
            let inner = inner.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                loop {
                    match socket.recv_from(&mut buf).await {
                        Ok((n, src)) => lock(&inner).on_datagram(&buf[..n], src),
                        Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
            })
        };
        let ticks = {
            let inner = inner.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(10));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    lock(&inner).on_tick(Instant::now());
                }
            })
        };
        Ok(Node { inner, changes, tasks: vec![recv, ticks], addr })
    }

    /// Runs a delta mutator on the state (see [`SyncEngine::update`]) and saves the delta before
    /// returning: `Ok(true)` means the change is durable (with a store) and will be sent. Blocks
    /// for the save (one redb transaction). Returns whether the state changed.
    ///
    /// # Errors
    ///
    /// [`NodeError::Store`] if the save failed: the change is applied in memory but not durable.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// assert!(node.update(|c, me| c.increment(me, 2)).unwrap());
    /// assert!(!node.update(|_, _| GCounter::new()).unwrap()); // nothing changed
    /// assert_eq!(node.read(|c| c.value()), 2);
    /// # });
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut L, ReplicaId) -> L) -> Result<bool, NodeError> {
        let mut g = lock(&self.inner);
        let mut delta = None;
        let changed = g.engine.update(|s, me| {
            let d = f(s, me);
            delta = Some(d.clone());
            d
        });
        if changed {
            if let Some(d) = delta {
                g.unsaved.join(d);
            }
            g.flush(false)?;
            let seq = g.engine.seq();
            g.changes.send_replace(seq);
        }
        Ok(changed)
    }

    /// Reads the state. `O(f)`, under the node's lock.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// assert_eq!(node.read(|c| c.value()), 0);
    /// # });
    /// ```
    pub fn read<R>(&self, f: impl FnOnce(&L) -> R) -> R {
        f(lock(&self.inner).engine.state())
    }

    /// A receiver told of every change of the state, local or remote: its value is the engine's
    /// sequence number.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// let changes = node.subscribe();
    /// node.update(|c, me| c.increment(me, 1)).unwrap();
    /// assert!(changes.has_changed().unwrap());
    /// # });
    /// ```
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// This replica's id.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// assert_eq!(node.stats().id, Some(node.id()));
    /// # });
    /// ```
    #[must_use]
    pub fn id(&self) -> ReplicaId {
        lock(&self.inner).engine.id()
    }

    /// The bound address.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// assert_ne!(node.local_addr().port(), 0);
    /// # });
    /// ```
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters, and each neighbour's status. `O(neighbours)`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// node.update(|c, me| c.increment(me, 1)).unwrap();
    /// let s = node.stats();
    /// assert_eq!((s.seq, s.members, s.neighbours.len()), (1, 0, 0));
    /// # });
    /// ```
    #[must_use]
    pub fn stats(&self) -> NodeStats {
        let g = lock(&self.inner);
        let mut s = g.stats.clone();
        s.seq = g.engine.seq();
        let e = g.engine.stats();
        s.snapshots_sent = e.snapshots;
        s.digest_answers = e.digest_answers;
        s.chunked_sent = e.chunked;
        s.chunks_resent = e.chunks_resent;
        s.handshakes = e.handshakes;
        s.members = g.swim.num_members();
        s.neighbours = g
            .engine
            .neighbours()
            .map(|r| PeerStatus {
                replica: r,
                addr: g.addrs.get(&r).copied(),
                caught_up: g.engine.acked(r) == Some(g.engine.seq()),
            })
            .collect();
        s
    }

    /// The live SWIM members (without this node).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// assert!(node.members().is_empty()); // alone
    /// # });
    /// ```
    #[must_use]
    pub fn members(&self) -> Vec<MemberId> {
        lock(&self.inner).swim.iter_members().map(|m| *m.id()).collect()
    }

    /// Replaces the injected faults.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// node.set_faults(convergent_net::Faults { loss: 0.2, ..Default::default() });
    /// # });
    /// ```
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner).faults = faults;
    }

    /// Stops the node's tasks and releases its socket and its file, WITHOUT saving what was
    /// received and not yet saved (call [`flush`](Self::flush) first for a clean stop): to the
    /// store this is a crash. Dropping a node stops its tasks too, but the socket and file are
    /// released only once the runtime has run the cancellation.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// let addr = node.local_addr();
    /// node.shutdown().await;
    /// let again = Node::<GCounter>::start(NodeConfig::new(addr)).await.unwrap(); // the address is free
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }

    /// Saves what was received and not yet saved, and the engine's sync record (what each
    /// neighbour acknowledged, what this replica holds of each). Updates save themselves and
    /// received changes are saved before their acknowledgement; the record is saved with them,
    /// so after a crash it may be a little behind and cost a snapshot. Call this before a
    /// planned stop: the restart then costs none.
    ///
    /// # Errors
    ///
    /// [`NodeError::Store`] if the save failed.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use convergent::GCounter;
    /// # use convergent_net::{Node, NodeConfig};
    /// let node = Node::<GCounter>::start(NodeConfig::new("127.0.0.1:0".parse().unwrap())).await.unwrap();
    /// node.flush().unwrap();
    /// # });
    /// ```
    pub fn flush(&self) -> Result<(), NodeError> {
        lock(&self.inner).flush(true)
    }
}

impl<L, V> Inner<L, V>
where
    L: Lattice + Digest + Decode + Prune + Clone,
    V: Validator<L> + Clone,
{
    fn send_datagram(&mut self, to: SocketAddr, bytes: &[u8], membership: bool) {
        if self.faults.blocked.contains(&to)
            || (self.faults.loss > 0.0 && self.rng.random_bool(self.faults.loss.min(1.0)))
        {
            self.stats.dropped_by_faults += 1;
            return;
        }
        match self.socket.try_send_to(bytes, to) {
            Ok(_) => {
                self.stats.datagrams_sent += 1;
                self.stats.bytes_sent += bytes.len() as u64;
                if membership {
                    self.stats.membership_bytes_sent += bytes.len() as u64;
                }
            }
            Err(_) => self.stats.send_errors += 1,
        }
    }

    /// Sends what foca asked for, schedules its timers and follows its membership changes.
    fn drain_swim(&mut self) {
        let mut buf = Vec::new();
        while let Some((to, data)) = self.runtime.to_send() {
            buf.clear();
            buf.push(TAG_MEMBERSHIP);
            buf.extend_from_slice(&data);
            self.send_datagram(to.addr, &buf.clone(), true);
        }
        let now = Instant::now();
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.timer_seq += 1;
            self.timers.push((now + after, self.timer_seq, timer));
        }
        let mut changed = false;
        while let Some(n) = self.runtime.to_notify() {
            match n {
                OwnedNotification::Rename(old, new) => {
                    self.seen(old);
                    self.seen(new);
                    changed = true;
                }
                OwnedNotification::MemberUp(m) | OwnedNotification::MemberDown(m) => {
                    self.seen(m);
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            self.reconcile();
        }
    }

    /// Makes the engine's neighbours the live members chosen by the overlay.
    fn reconcile(&mut self) {
        // A replacement foca made without a notification.
        let now_live: Vec<MemberId> = self.swim.iter_members().map(|m| *m.id()).collect();
        for m in now_live {
            self.seen(m);
        }
        let me = self.engine.id();
        // A member whose address has since shown another replica is a stale entry (a wiped
        // incarnation not yet dropped by SWIM): never a neighbour, or a ring could route around
        // the live members through it.
        let live: BTreeMap<ReplicaId, SocketAddr> = self
            .swim
            .iter_members()
            .map(|m| (m.id().replica, m.id().addr))
            .filter(|(r, a)| *r != me && self.last_replica_at.get(a).is_none_or(|m| m.replica == *r))
            .collect();
        let wanted: BTreeSet<ReplicaId> = match self.config.overlay {
            Overlay::FullMesh => live.keys().copied().collect(),
            Overlay::Ring => {
                let next = live.range(me..).next().or_else(|| live.iter().next()).map(|(r, _)| *r);
                let prev = live.range(..me).next_back().or_else(|| live.iter().next_back()).map(|(r, _)| *r);
                next.into_iter().chain(prev).collect()
            }
        };
        // Every live member must follow a retirement mark before its owner folds.
        self.engine.set_members(live.keys().copied());
        let current: BTreeSet<ReplicaId> = self.engine.neighbours().collect();
        let now = Instant::now();
        for r in current.difference(&wanted) {
            if !live.contains_key(r) {
                // Down (crashed, or cut off): kept with its buffers for a while.
                let Some(&addr) = self.addrs.get(r) else { continue };
                let (since, _) = *self.departed.entry(*r).or_insert((now, addr));
                if now.duration_since(since) < self.config.forget_after {
                    continue;
                }
            }
            self.engine.remove_neighbour(*r);
            self.departed.remove(r);
        }
        for r in wanted.difference(&current) {
            self.engine.add_neighbour(*r);
        }
        self.departed.retain(|r, _| !live.contains_key(r));
        // Addresses of every live member (acks go to non-neighbours too) and of the departed
        // neighbours still kept; forget the others.
        let mut addrs: HashMap<ReplicaId, SocketAddr> = live.into_iter().collect();
        addrs.extend(self.departed.iter().map(|(r, (_, a))| (*r, *a)));
        self.addrs = addrs;
    }

    fn announce(&mut self) {
        for p in self.config.peers.clone() {
            if p == self.socket.local_addr().ok().unwrap_or(p) && self.config.peers.len() > 1 {
                continue;
            }
            // The identity we announce to is a placeholder: foca learns the real one from the reply.
            let dst = MemberId { addr: p, replica: ReplicaId::from_u128(0), bump: 0 };
            let _ = self.swim.announce(dst, &mut self.runtime);
        }
        self.drain_swim();
    }

    fn on_tick(&mut self, now: Instant) {
        self.timers.sort_by_key(|(at, seq, _)| (*at, *seq));
        while self.timers.first().is_some_and(|(at, _, _)| *at <= now) {
            let (_, _, t) = self.timers.remove(0);
            let _ = self.swim.handle_timer(t, &mut self.runtime);
            self.drain_swim();
        }
        if self.swim.num_members() == 0 && now >= self.next_announce && !self.config.peers.is_empty() {
            self.next_announce = now + Duration::from_millis(500);
            self.announce();
        }
        if now >= self.next_reconcile {
            self.next_reconcile = now + Duration::from_millis(500);
            self.reconcile();
        }
        if now >= self.next_sync {
            self.next_sync = now + self.config.sync_interval;
            // Acknowledgements go out only for what is saved.
            if self.flush(false).is_ok() {
                self.sync();
            }
        }
    }

    /// Saves the received changes not yet saved, with the sync record, in one transaction;
    /// `always`: the record even without changes (a clean stop).
    fn flush(&mut self, always: bool) -> Result<(), NodeError> {
        if self.unsaved.is_bottom() && !always {
            return Ok(());
        }
        if let Some(store) = &mut self.store {
            let record = self.engine.sync_record();
            let cost = store.append(self.engine.seq(), &self.unsaved, self.engine.state(), &record)?;
            self.stats.saves += 1;
            self.stats.save_bytes += cost.bytes;
            self.stats.compactions += u64::from(cost.compacted);
        }
        self.unsaved = L::bottom();
        Ok(())
    }

    fn sync(&mut self) {
        let me = self.engine.id();
        for (heir, r, left) in std::mem::take(&mut self.notices) {
            if let Some(&addr) = self.addrs.get(&heir) {
                self.send_datagram(addr, &frame::encode_replaced(me, heir, &r), false);
            }
            if left > 1 {
                self.notices.push((heir, r, left - 1));
            }
        }
        let folds = self.engine.folds_made();
        let out = self.engine.poll_retirements();
        self.after_folds(folds);
        for (to, m) in out {
            let Some(&addr) = self.addrs.get(&to) else { continue };
            let datagram = frame::encode_retire(me, to, &m);
            self.stats.retire_sent.messages += 1;
            self.stats.retire_sent.bytes += (datagram.len() - frame::RETIRE_HEADER) as u64;
            self.stats.oversized += u64::from(datagram.len() > self.config.max_datagram);
            self.send_datagram(addr, &datagram, false);
        }
        // Polling drops the records every neighbour acknowledged.
        self.save_retirements();
        for e in self.engine.poll_envelopes() {
            let Some(&addr) = self.addrs.get(&e.to) else { continue };
            let kind = e.message.kind();
            let mut datagram = Vec::with_capacity(self.config.max_datagram);
            datagram.push(TAG_SYNC);
            datagram.extend_from_slice(&e.to_bytes());
            let t = self.stats.sent.entry(kind).or_default();
            t.messages += 1;
            t.bytes += datagram.len() as u64 - 1;
            self.stats.oversized += u64::from(datagram.len() > self.config.max_datagram);
            self.send_datagram(addr, &datagram, false);
        }
    }

    fn on_datagram(&mut self, d: &[u8], src: SocketAddr) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += d.len() as u64;
        match d.first() {
            Some(&TAG_MEMBERSHIP) => {
                let _ = self.swim.handle_data(&d[1..], &mut self.runtime);
                self.drain_swim();
            }
            Some(&TAG_SYNC) => self.on_sync_frame(d, src),
            Some(&TAG_RETIRE) => self.on_retire_frame(d, src),
            Some(&TAG_REPLACED) => self.on_replaced_frame(d),
            _ => self.stats.bad_frames += 1,
        }
    }

    /// Notes the identity `m` on its address. A different replica with a larger bump than the
    /// last one seen there (up, down or renamed) replaces it: the last one lost its state (seen
    /// as a rename, or as down then up). Older identities are ignored.
    fn seen(&mut self, m: MemberId) {
        match self.last_replica_at.get(&m.addr).copied() {
            None => {
                self.last_replica_at.insert(m.addr, m);
            }
            Some(p) if p.replica == m.replica => {
                if m.bump > p.bump {
                    self.last_replica_at.insert(m.addr, m);
                }
            }
            Some(p) if m.bump > p.bump => {
                self.last_replica_at.insert(m.addr, m);
                self.replaced(Replacement { replaced: p.replica, by: m.replica, at: m.addr });
            }
            Some(_) => {}
        }
    }

    /// `r.replaced` lost its state and came back as `r.by` on the same address: it will never
    /// write again. Dropped as a neighbour at once, and retired if this node is its heir.
    fn replaced(&mut self, r: Replacement) {
        self.stats.replaced_replicas += 1;
        self.engine.remove_neighbour(r.replaced);
        self.departed.remove(&r.replaced);
        self.retire_if_heir(r);
    }

    /// Retires `r.replaced` if this node is its heir ([`heir_of`], from this node's view).
    /// The state is then saved whole: a purge is not a join, the delta log must not be
    /// replayed over it. If another node is the heir, it gets a replacement notice (it may
    /// have missed a short-lived incarnation in membership), from the node that saw the
    /// replacement or from one that got a notice without being the heir in its own view: the
    /// notice goes on to a lower id each time (every view holds its own node), so it ends at
    /// a node that retires the id, whatever the order of wipes and notices.
    fn retire_if_heir(&mut self, r: Replacement) {
        if !self.config.retire_replaced {
            return;
        }
        let me = MemberId { replica: self.engine.id(), ..*self.swim.identity() };
        let heir = heir_of(me, self.swim.iter_members().map(|m| *m.id()), &self.last_replica_at, &r);
        if heir == Some(me.replica) {
            let folds = self.engine.folds_made();
            if self.engine.retire(r.replaced) {
                // A mark; folded at once only without other members.
                self.after_folds(folds);
                self.save_retirements();
            }
        } else if let Some(h) = heir {
            // Sent on the next sync ticks (a few times: datagrams get lost); once per heir and
            // id while its sends last (every copy of a notice that reaches a non-heir lands here).
            if !self.notices.iter().any(|(to, n, _)| *to == h && n.replaced == r.replaced) {
                self.notices.push((h, r, NOTICE_SENDS));
            }
        }
    }

    /// After the engine folded retired ids as their heir (its count was `before`): counted,
    /// and the state saved whole (the fold purged it).
    fn after_folds(&mut self, before: u64) {
        let now = self.engine.folds_made();
        if now != before {
            self.stats.retired_as_heir += now - before;
            self.save_whole();
            let seq = self.engine.seq();
            self.changes.send_replace(seq);
        }
    }

    /// Saves the state whole (after a retirement changed it by a purge) and clears the
    /// unsaved deltas, which the state holds.
    fn save_whole(&mut self) {
        if let Some(store) = &mut self.store {
            let record = self.engine.sync_record();
            if let Ok(cost) = store.replace_state(self.engine.seq(), self.engine.state(), &record) {
                self.stats.saves += 1;
                self.stats.save_bytes += cost.bytes;
                self.stats.compactions += 1;
                self.unsaved = L::bottom();
            }
            self.save_retirements();
        } else {
            self.unsaved = L::bottom();
        }
    }

    /// Saves the retirement records if their number changed since the last save (a new record,
    /// or records every neighbour acknowledged): a heir that crashes before its record reached
    /// everyone sends it again after the restart. And the retirement marks if they changed: a
    /// replica that followed another owner's mark never starts a competing one after a restart.
    /// `O(marks × members)` to compare.
    fn save_retirements(&mut self) {
        let n = self.engine.retirements();
        if let Some(store) = &mut self.store {
            if n != self.saved_retirements {
                let records = self.engine.retirement_records();
                if let Ok(cost) = store.save_retirements(&records) {
                    self.stats.saves += 1;
                    self.stats.save_bytes += cost.bytes;
                    self.saved_retirements = n;
                }
            }
            let marks = self.engine.retirement_marks();
            if marks != self.saved_marks {
                if let Ok(cost) = store.save_retirement_marks(&marks) {
                    self.stats.saves += 1;
                    self.stats.save_bytes += cost.bytes;
                    self.saved_marks = marks;
                }
            }
        }
    }

    /// Decodes a frame addressed by `(from, to)`: a refusal or a frame for another replica is
    /// counted, and gives `None`.
    fn addressed<T>(
        &mut self,
        decoded: Result<(ReplicaId, ReplicaId, T), convergent::Error>,
    ) -> Option<(ReplicaId, T)> {
        match decoded {
            Err(e) => {
                *self.stats.refused.entry(error_name(&e)).or_default() += 1;
                None
            }
            Ok((_, to, _)) if to != self.engine.id() => {
                self.stats.misaddressed += 1;
                None
            }
            Ok((from, _, x)) => Some((from, x)),
        }
    }

    /// A member saw `r.replaced` come back as `r.by` and names this node its heir. Ignored if
    /// the id is a live member here (this node will see the replacement itself); otherwise
    /// retired if this node's own view makes it the heir too, and sent on to the heir of its
    /// view if not.
    fn on_replaced_frame(&mut self, d: &[u8]) {
        let Some((_, r)) = self.addressed(frame::decode_replaced(d)) else { return };
        if r.replaced == self.engine.id()
            || r.replaced == r.by
            || self.swim.iter_members().any(|m| m.id().replica == r.replaced)
        {
            return;
        }
        self.retire_if_heir(r);
    }

    fn on_retire_frame(&mut self, d: &[u8], src: SocketAddr) {
        let decoded = frame::decode_retire::<L>(d, self.engine.limits());
        let Some((from, message)) = self.addressed(decoded) else { return };
        let records = matches!(message, convergent::sync::RetireMessage::Records(_));
        let folds = self.engine.folds_made();
        match self.engine.on_retirement(from, message) {
            Ok(()) => {
                self.stats.retire_received.messages += 1;
                self.stats.retire_received.bytes += (d.len() - frame::RETIRE_HEADER) as u64;
                self.addrs.entry(from).or_insert(src);
                if self.engine.is_retired() {
                    if let Err(e) = self.rejoin() {
                        *self.stats.refused.entry(format!("Rejoin:{e}")).or_default() += 1;
                    }
                } else if records {
                    self.stats.retired_as_heir += self.engine.folds_made() - folds;
                    self.save_whole();
                    let seq = self.engine.seq();
                    self.changes.send_replace(seq);
                } else if self.engine.folds_made() != folds {
                    // The answer to a mark completed this node's own: it folded.
                    self.after_folds(folds);
                } else {
                    // Acknowledgements may have dropped records.
                    self.save_retirements();
                }
            }
            Err(e) => *self.stats.refused.entry(error_name(&e)).or_default() += 1,
        }
    }

    /// This replica's id was retired (membership took it for gone): discard the engine and the
    /// stored state, take a new id with the empty state (as after a wiped disk), and announce
    /// the new identity; neighbours bootstrap it by the digest handshake or a snapshot.
    fn rejoin(&mut self) -> Result<(), NodeError> {
        let id = match &self.config.data {
            Some(path) => {
                self.store = None; // closes the file
                std::fs::remove_file(path).map_err(NodeError::Io)?;
                let (store, loaded) = DurableReplica::<L>::load_or_fresh(path)?;
                self.store = Some(store);
                loaded.id
            }
            None => ReplicaId::random(),
        };
        let engine =
            configure(SyncEngine::new(id, self.config.mode), self.engine.validator().clone(), &self.config);
        self.engine = engine;
        self.unsaved = L::bottom();
        self.saved_retirements = 0;
        self.saved_marks = Vec::new();
        self.stats.rejoined += 1;
        self.stats.id = Some(id);
        let addr = self.socket.local_addr().map_err(NodeError::Io)?;
        let me = MemberId { addr, replica: id, bump: now_ms().max(self.swim.identity().bump + 1) };
        let _ = self.swim.change_identity(me, &mut self.runtime);
        self.departed.clear();
        self.drain_swim();
        self.reconcile();
        let seq = self.engine.seq();
        self.changes.send_replace(seq);
        Ok(())
    }

    fn on_sync_frame(&mut self, d: &[u8], src: SocketAddr) {
        let bytes = &d[1..];
        let envelope = match Envelope::<L>::from_bytes(bytes, self.engine.limits()) {
            Ok(e) => e,
            Err(e) => {
                *self.stats.refused.entry(error_name(&e)).or_default() += 1;
                return;
            }
        };
        let mut envelope = envelope;
        if let Some(InjectedBug::AckWithoutApplying { every }) = self.config.bug {
            let key = match &envelope.message {
                Message::Delta { seq, .. } => Some((0, *seq, 0)),
                Message::Snapshot { seq, .. } => Some((1, *seq, 0)),
                Message::Chunk { seq, index, .. } => Some((2, *seq, *index)),
                _ => None,
            };
            if let Some((kind, seq, index)) = key {
                let count = &mut self.bug_count;
                let drop = *self.bug_dropped.entry((envelope.from, kind, seq, index)).or_insert_with(|| {
                    *count += 1;
                    *count % u64::from(every.max(1)) == 0
                });
                if drop {
                    envelope.message = match envelope.message {
                        Message::Delta { seq, .. } => Message::Delta { seq, delta: L::bottom() },
                        Message::Snapshot { seq, .. } => Message::Snapshot { seq, state: L::bottom() },
                        Message::Chunk { seq, index, count, .. } => {
                            Message::Chunk { seq, index, count, part: L::bottom() }
                        }
                        m => m,
                    };
                }
            }
        }
        let (sender, kind) = (envelope.from, envelope.message.kind());
        let payload = envelope.message.payload().cloned();
        let before = self.engine.seq();
        match self.engine.on_envelope(envelope) {
            Ok(()) => {
                let t = self.stats.received.entry(kind).or_default();
                t.messages += 1;
                t.bytes += bytes.len() as u64;
                // Acks go back to where the message came from, member or not yet.
                self.addrs.entry(sender).or_insert(src);
                if self.engine.seq() != before {
                    if let Some(p) = payload {
                        // As the engine joined it: purged of retired ids, which the log must
                        // not bring back at the next restart.
                        self.unsaved.join(self.engine.purged_of_retired(p));
                    }
                    let seq = self.engine.seq();
                    self.changes.send_replace(seq);
                }
            }
            Err(e) => {
                if matches!(e, convergent::Error::Misaddressed { .. }) {
                    self.stats.misaddressed += 1;
                }
                *self.stats.refused.entry(error_name(&e)).or_default() += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(port: u16, replica: u128, bump: u64) -> MemberId {
        MemberId {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            replica: ReplicaId::from_u128(replica),
            bump,
        }
    }

    /// The counterexample of the pruning process test (one retired id still named after 60 s
    /// of quiet): node 2 (port 9002) was wiped twice in a row, `x1 -> x2 -> x3`. Node 1 saw
    /// `x1 -> x2`, took node 0 for the heir and sent it a notice; node 0 never saw `x2` in
    /// membership, and when the notice came it already had `x3`, whose id is the lowest. It
    /// took `x3` for the heir and did nothing, and nobody told `x3`: `x1` stayed named
    /// forever. No incarnation on the wiped address is ever the heir (the fresh one holds
    /// none of the old one's events either), so both views pick node 0.
    #[test]
    fn a_later_incarnation_on_the_wiped_address_is_never_the_heir() {
        let (n0, n1) = (member(9000, 50, 1), member(9001, 70, 1));
        let (x1, x2, x3) = (member(9002, 30, 1), member(9002, 40, 2), member(9002, 10, 3));
        let r = Replacement { replaced: x1.replica, by: x2.replica, at: x1.addr };
        // Node 1 saw the replacement: x2 is on the address now, x1 still a stale member.
        let at_n1 = HashMap::from([(x2.addr, x2), (n0.addr, n0)]);
        assert_eq!(heir_of(n1, [n0, x1, x2], &at_n1, &r), Some(n0.replica));
        // Node 0 gets the notice with x3 already live (x1 and x2 never seen).
        let at_n0 = HashMap::from([(x3.addr, x3), (n1.addr, n1)]);
        assert_eq!(heir_of(n0, [n1, x3], &at_n0, &r), Some(n0.replica));
        // And x3 itself never takes it: it leaves itself out and names node 0 too.
        assert_eq!(heir_of(x3, [n0, n1], &HashMap::new(), &r), Some(n0.replica));
    }

    /// A stale entry (an address that has since shown another replica) is never the heir.
    #[test]
    fn a_stale_member_is_never_the_heir() {
        let (n0, n1, old, new) =
            (member(9000, 50, 1), member(9001, 70, 1), member(9003, 5, 1), member(9003, 6, 2));
        let x = member(9002, 1, 1);
        let r = Replacement { replaced: x.replica, by: ReplicaId::from_u128(2), at: x.addr };
        let at = HashMap::from([(new.addr, new)]);
        assert_eq!(heir_of(n1, [n0, old, new], &at, &r), Some(new.replica));
        assert_eq!(heir_of(n1, [n0, old], &HashMap::from([(old.addr, new)]), &r), Some(n0.replica));
    }
}
