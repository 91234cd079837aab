//! The bodies of the fuzz targets (feature `fuzz`), generic over the type under test: the
//! binaries in `fuzz/fuzz_targets/` only read the first input byte as the type ([`dispatch!`])
//! and hand the rest here. The structured targets read a [`Script`] through `arbitrary` and check
//! it with the same laws, histories, invariants and specifications as the tests.

use arbitrary::{Arbitrary, Unstructured};
use convergent::causal::VersionVector;
use convergent::counter::MAX_COUNT;
use convergent::sim::{Faults, Simulation, Topology};
use convergent::sync::{Digest, Envelope, Message, Mode, SyncEngine};
use convergent::{Limits, ReplicaId, wire};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::laws::{self, decomposition_of};
use crate::{
    Law, MAX_STEPS, OpCx, Rng, Script, Subject, deliver, join_checked, op, replica_ids, run_checked, script,
    sync,
};

/// What a fuzzed type provides beyond [`Subject`]: decomposition, digests and serde.
pub trait FuzzSubject: Subject + Digest + Serialize + DeserializeOwned + convergent::Receive {}
impl<T: Subject + Digest + Serialize + DeserializeOwned + convergent::Receive> FuzzSubject for T {}

/// The number of types [`dispatch!`] selects from.
pub const TYPES: u8 = 17;

/// Calls the generic function `$f::<T>(args)` for the type selected by `$sel` (mod [`TYPES`]).
#[macro_export]
macro_rules! dispatch {
    ($sel:expr, $f:ident ( $($arg:expr),* )) => {{
        use convergent::*;
        match $sel % $crate::fuzz::TYPES {
            0 => $f::<GCounter>($($arg),*),
            1 => $f::<PnCounter>($($arg),*),
            2 => $f::<LwwRegister<u8>>($($arg),*),
            3 => $f::<MvRegister<u8>>($($arg),*),
            4 => $f::<EwFlag>($($arg),*),
            5 => $f::<CausalCounter>($($arg),*),
            6 => $f::<OrSet<u8>>($($arg),*),
            7 => $f::<OrMap<u8, PnCounter>>($($arg),*),
            8 => $f::<OrMap<u8, CausalCounter>>($($arg),*),
            9 => $f::<OrMap<u8, OrSet<u8>>>($($arg),*),
            10 => $f::<OrMap<u8, MvRegister<u8>>>($($arg),*),
            11 => $f::<OrMap<u8, OrMap<u8, MvRegister<u8>>>>($($arg),*),
            12 => $f::<OrMap<u8, EwFlag>>($($arg),*),
            13 => $f::<OrMap<u8, GCounter>>($($arg),*),
            14 => $f::<OrMap<u8, LwwRegister<u8>>>($($arg),*),
            15 => $f::<OrMap<u8, OrMap<u8, OrSet<u8>>>>($($arg),*),
            _ => $f::<OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>>($($arg),*),
        }
    }};
}

/// The script in the rest of the input, cut to [`MAX_STEPS`] steps.
pub fn fuzz_script(u: Unstructured<'_>) -> Option<Script> {
    let mut s = Script::arbitrary_take_rest(u).ok()?;
    s.steps.truncate(MAX_STEPS);
    Some(s)
}

/// Runs each law on `s`, panicking with the law's name, the script and the law's message.
fn hold(s: &Script, laws: &[(&str, Law)]) {
    for (name, law) in laws {
        if let Err(e) = law(s.clone()) {
            panic!("law {name} broken by {s:?}\n{e}");
        }
    }
}

/// Panics with a readable message if `x` breaks its invariants.
pub fn check<T: Subject>(what: &str, x: &T) {
    if let Err(e) = x.check() {
        panic!("{what}: invariant broken: {e}\n{}", x.show());
    }
}

// ---------------------------------------------------------------------------------------------
// laws
// ---------------------------------------------------------------------------------------------

/// Every law of [`laws`] (lattice, delta mutators with invariants after every step, delta-groups,
/// decomposition, optimal deltas, the specification) on an arbitrary history.
pub fn laws_of<T: FuzzSubject>(u: Unstructured<'_>) {
    let Some(s) = fuzz_script(u) else { return };
    hold(
        &s,
        &[
            ("commutative", laws::commutative::<T>),
            ("associative", laws::associative::<T>),
            ("idempotent", laws::idempotent::<T>),
            ("bottom_identity", laws::bottom_identity::<T>),
            ("order", laws::order::<T>),
            ("join_reports_change", laws::join_reports_change::<T>),
            ("mutator_delta", laws::mutator_delta::<T>),
            ("delta_groups", laws::delta_groups::<T>),
            ("decomposition", laws::decomposition::<T>),
            ("optimal_delta", laws::optimal_delta::<T>),
            ("specification", laws::specification::<T>),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// convergence
// ---------------------------------------------------------------------------------------------

/// The convergence laws on an arbitrary history: its deltas delivered in order, shuffled,
/// duplicated and pre-joined, full-state anti-entropy and optimal-delta sync all end at the join
/// of the final states.
pub fn convergence_of<T: FuzzSubject>(u: Unstructured<'_>) {
    let Some(s) = fuzz_script(u) else { return };
    hold(
        &s,
        &[
            ("delivery_orders", laws::delivery_orders::<T>),
            ("anti_entropy", laws::anti_entropy::<T>),
            ("optimal_delta_sync", laws::optimal_delta_sync::<T>),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// sync
// ---------------------------------------------------------------------------------------------

/// Fault probabilities, each byte scaled to `0..=0.5` (heal and restart to `0.05..=1`).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct FaultSpec {
    /// Message loss.
    pub loss: u8,
    /// Message duplication.
    pub duplicate: u8,
    /// Whether messages are reordered.
    pub reorder: bool,
    /// The longest delay, in rounds (mod 4).
    pub max_delay: u8,
    /// Node crashes.
    pub crash: u8,
    /// Restart of a crashed node.
    pub restart: u8,
    /// Lost disks (only above 240).
    pub wipe: u8,
    /// Partitions.
    pub partition: u8,
    /// Healing of a partition.
    pub heal: u8,
}

impl FaultSpec {
    /// The simulator's fault settings.
    pub fn faults(self) -> Faults {
        let p = |x: u8| f64::from(x) / 510.0;
        let q = |x: u8| 0.05 + f64::from(x) / 268.0;
        Faults {
            loss: p(self.loss),
            duplicate: p(self.duplicate),
            reorder: self.reorder,
            max_delay: u64::from(self.max_delay % 4),
            crash: p(self.crash) / 4.0,
            restart: q(self.restart),
            // Lost disks are rare: a wiped replica's unsent updates are gone.
            wipe: if self.wipe > 240 { p(self.wipe) / 4.0 } else { 0.0 },
            partition: p(self.partition) / 2.0,
            heal: q(self.heal),
        }
    }
}

/// One step of a simulation schedule. Node indices are taken modulo the node count.
#[derive(Arbitrary, Debug, Clone)]
pub enum SimStep {
    /// A local operation at `node`, generated from `seed` by the type's op source.
    /// A local operation at `node`, generated from `seed` by the type's op source.
    Update {
        /// The node (mod the node count).
        node: u8,
        /// The seed of the operation.
        seed: u64,
    },
    /// One round.
    Step,
    /// Up to 7 rounds.
    Steps(u8),
    /// Crash a node.
    Crash(u8),
    /// Restart a node.
    Restart(u8),
    /// Wipe a node's disk.
    Wipe(u8),
    /// The nodes whose bit is set form one side.
    Partition(u8),
    /// Heal every partition.
    Heal,
    /// New fault settings.
    SetFaults(FaultSpec),
}

/// A simulation: its size, topology, mode, seed, initial faults and schedule.
#[derive(Arbitrary, Debug)]
pub struct SimInput {
    /// Node count (2 + this mod 3).
    pub nodes: u8,
    /// Topology selector (see [`topology`]).
    pub topology: u8,
    /// Index into `Mode::ALL`.
    pub mode: u8,
    /// The simulator's seed.
    pub seed: u64,
    /// The initial faults.
    pub faults: FaultSpec,
    /// The schedule (at most 48 steps played).
    pub steps: Vec<SimStep>,
}

/// The topology of `n` (2..=4) nodes selected by `k`: line, ring, star or full mesh.
pub fn topology(n: usize, k: u8) -> Topology {
    let mut edges = Vec::new();
    match k % 4 {
        0 => edges.extend((1..n).map(|i| (i - 1, i))),
        1 => {
            edges.extend((1..n).map(|i| (i - 1, i)));
            if n > 2 {
                edges.push((n - 1, 0));
            }
        }
        2 => edges.extend((1..n).map(|i| (0, i))),
        _ => {
            for i in 0..n {
                edges.extend((i + 1..n).map(|j| (i, j)));
            }
        }
    }
    Topology::from_edges(n, &edges)
}

/// The most rounds a calm network may take to converge.
pub const CALM_ROUNDS: u64 = 400;

/// The sync engine under an arbitrary fault schedule: updates at arbitrary nodes, rounds,
/// crashes, restarts, lost disks and partitions; then the network calms down and must converge
/// to the join of every delta made (or below it if a replica lost its disk).
pub fn sync_of<T: FuzzSubject>(u: Unstructured<'_>) {
    let Ok(input) = SimInput::arbitrary_take_rest(u) else { return };
    let n = 2 + usize::from(input.nodes) % 3;
    let ids = replica_ids(n);
    let mode = Mode::ALL[usize::from(input.mode) % Mode::ALL.len()];
    let mut sim = Simulation::<T>::new(topology(n, input.topology), mode, input.seed);
    sim.set_faults(input.faults.faults());
    let mut made = T::bottom();
    let mut rounds = 0u64;
    let mut wiped = false;
    for step in input.steps.iter().take(48) {
        match step {
            SimStep::Update { node, seed } => {
                let i = usize::from(*node) % n;
                let mut delta = None;
                sim.update(i, |s, me| {
                    let op = T::gen_op(&mut Rng::new(*seed), &OpCx { ids: &ids, me: i }, s);
                    let d = s.apply(me, &op);
                    delta = Some(d.clone());
                    d
                });
                if let Some(d) = delta {
                    check("delta", &d);
                    made.join(d);
                }
            }
            SimStep::Step => {
                sim.step();
                rounds += 1;
            }
            SimStep::Steps(k) => {
                for _ in 0..k % 8 {
                    sim.step();
                }
                rounds += u64::from(k % 8);
            }
            SimStep::Crash(i) => sim.crash(usize::from(*i) % n),
            SimStep::Restart(i) => sim.restart(usize::from(*i) % n),
            SimStep::Wipe(i) => {
                sim.wipe(usize::from(*i) % n);
                wiped = true;
            }
            SimStep::Partition(mask) => {
                let side: Vec<usize> = (0..n).filter(|&i| mask >> i & 1 == 1).collect();
                sim.partition(&side);
            }
            SimStep::Heal => sim.heal(),
            SimStep::SetFaults(f) => sim.set_faults(f.faults()),
        }
        if rounds > 200 {
            break;
        }
    }
    wiped |= sim.stats().wipes > 0;
    sim.calm();
    let took = sim.run_until_converged(CALM_ROUNDS);
    assert!(took.is_some(), "no convergence within {CALM_ROUNDS} calm rounds ({mode:?})");
    let s = sim.state(0).clone();
    check("converged state", &s);
    for i in 1..n {
        assert_eq!(sim.state(i), &s, "node {i} differs after convergence");
    }
    if wiped {
        assert!(s.leq(&made), "converged beyond every delta made");
    } else {
        assert_eq!(s, made, "converged state is not the join of every delta made ({mode:?})");
    }
}

// ---------------------------------------------------------------------------------------------
// round trip
// ---------------------------------------------------------------------------------------------

/// A value through the compact encoding, JSON, and every kind of sync message.
pub fn round_trip_one<T: FuzzSubject>(x: &T, seq: u64) {
    let bytes = wire::to_bytes(x);
    assert_eq!(wire::encoded_len(x), bytes.len(), "encoded_len wrong");
    match wire::from_bytes::<T>(&bytes) {
        Ok(back) => assert_eq!(&back, x, "compact round trip changed the value"),
        Err(e) => panic!("compact round trip refused a valid value: {e:?}\n{x:?}"),
    }
    let json = serde_json::to_string(x).expect("JSON encoding");
    match serde_json::from_str::<T>(&json) {
        Ok(back) => assert_eq!(&back, x, "JSON round trip changed the value"),
        Err(e) => panic!("JSON round trip refused a valid value: {e}\n{json}"),
    }
    let seq = seq % (MAX_COUNT + 1);
    let msgs = [
        Message::State { state: x.clone() },
        Message::Delta { seq, delta: x.clone() },
        Message::Snapshot { seq, state: x.clone() },
        Message::Ack { seq },
    ];
    for m in msgs {
        let b = m.to_bytes();
        assert_eq!(m.encoded_len(), b.len(), "message encoded_len wrong");
        match Message::<T>::from_bytes(&b, &Limits::default()) {
            Ok(back) => assert!(back == m, "message round trip changed it"),
            Err(e) => panic!("message round trip refused a valid message: {e:?}"),
        }
    }
}

/// The encoding law of [`laws::serde_round_trip`] (compact and JSON round trips, canonical bytes,
/// damaged bytes) on an arbitrary history, and every value of the history through every kind of
/// sync message.
pub fn round_trip_of<T: FuzzSubject>(mut u: Unstructured<'_>) {
    let Ok(seq) = u64::arbitrary(&mut u) else { return };
    let Some(s) = fuzz_script(u) else { return };
    hold(&s, &[("serde_round_trip", laws::serde_round_trip::<T>)]);
    let h = run_checked::<T>(&s).unwrap_or_else(|e| panic!("{s:?}\n{e}"));
    for x in h.pool() {
        round_trip_one(x, seq);
    }
    round_trip_one(&h.full(), seq);
}

// ---------------------------------------------------------------------------------------------
// decode
// ---------------------------------------------------------------------------------------------

/// Small limits: anything accepted under them must be accepted, equal, under the defaults.
pub fn tight_limits() -> Limits {
    Limits {
        max_bytes: 96,
        max_replicas: 2,
        max_ranges: 3,
        max_dots: 3,
        max_elements: 2,
        max_counter: 1000,
        max_depth: 2,
        ..Limits::default()
    }
}

/// A live replica of `T` to join decoded values into: the join of a short fixed history.
pub fn live<T: Subject>() -> T {
    let s = script(
        3,
        0,
        &[
            op(0, 1),
            op(1, 2),
            op(2, 3),
            deliver(0, 1, 0, 1),
            op(1, 4),
            sync(1, 2),
            op(2, 5),
            op(0, 6),
            op(0, 7),
        ],
    );
    run_checked::<T>(&s).map_or_else(|_| T::bottom(), |h| h.full())
}

/// Arbitrary bytes into `T` and into `Message<T>`: never a panic; anything accepted is valid,
/// canonical (re-encodes to the same bytes), and joins into a live replica (directly and through
/// a sync engine) with a result above both.
pub fn decode_of<T: FuzzSubject>(bytes: &[u8]) {
    let live = live::<T>();
    if let Ok(v) = wire::from_bytes::<T>(bytes) {
        check("decoded value", &v);
        assert_eq!(wire::to_bytes(&v), bytes, "accepted a non-canonical encoding");
        // The join is a lattice join only for values that receipt accepts: a decoded value may
        // carry one of the live replica's dots with another payload (`ConflictingPayload`), and
        // the join keeps the receiver's payload, so it does not commute. Receipt refuses exactly
        // that (regression `regression_conflicting_payload_in_a_decoded_map_of_counters`).
        let policy = convergent::ReceivePolicy::new(ReplicaId::from_u128(u128::MAX), u64::MAX / 2);
        if convergent::Receive::validate_against(&v, &live, &policy).is_ok() {
            let mut x = live.clone();
            join_checked(&mut x, &v).unwrap_or_else(|e| panic!("live ⊔ decoded: {e}"));
            check("live ⊔ decoded", &x);
            assert!(live.leq(&x) && v.leq(&x), "join not above its operands");
            assert_eq!(x, v.clone().joined(live.clone()), "join with a decoded value not commutative");
        }
        // A context of a few bytes may hold millions of dots, each one irreducible: decompose
        // only small values (`decompose` is documented linear in the dots).
        if v.irreducible_count() <= 4096 {
            decomposition_of(&v).unwrap_or_else(|e| panic!("decoded value: {e}"));
        }
    }
    let tight = Message::<T>::from_bytes(bytes, &tight_limits());
    let m = Message::<T>::from_bytes(bytes, &Limits::default());
    if let Ok(t) = &tight {
        assert!(m.as_ref().is_ok_and(|m| m == t), "accepted under tight limits, not under the defaults");
    }
    let Ok(m) = m else { return };
    assert_eq!(m.to_bytes(), bytes, "accepted a non-canonical message");
    if let Some(p) = m.payload() {
        check("decoded payload", p);
    }
    let (me, peer): (ReplicaId, ReplicaId) = (replica_ids(2)[0], replica_ids(2)[1]);
    for mode in [Mode::DeltaBpRr, Mode::FullState] {
        let mut e = SyncEngine::<T>::restore(me, mode, live.clone(), 3).expect("seq in range");
        e.add_neighbour(peer);
        let mut e2 = e.clone();
        let ok = e.on_message(peer, m.clone()).is_ok();
        let ok2 = e2.on_bytes(peer, bytes).is_ok();
        assert_eq!(ok, ok2, "on_message and on_bytes disagree");
        assert!(e.state() == e2.state(), "on_message and on_bytes disagree on the state");
        check("engine state", e.state());
        assert!(live.leq(e.state()), "receipt lost information");
        if ok {
            if let Some(p) = m.payload() {
                assert!(p.leq(e.state()), "accepted payload not in the state");
            }
        } else {
            assert!(e.state() == &live, "a refused message changed the state");
        }
        let _ = e.poll_outgoing();
        let _ = e.poll_acks();
    }
}

// ---------------------------------------------------------------------------------------------
// envelopes, handshakes and chunks
// ---------------------------------------------------------------------------------------------

/// Arbitrary bytes into `Envelope<T>` (protocol version 2), delivered to an engine with the
/// digest handshake and a small message bound: never a panic; anything accepted re-encodes to
/// the same bytes; a misaddressed or refused envelope changes nothing and is not acknowledged;
/// an accepted payload ends up in the state.
pub fn envelope_decode_of<T: FuzzSubject>(bytes: &[u8]) {
    let live = live::<T>();
    let tight = Envelope::<T>::from_bytes(bytes, &tight_limits());
    let m = Envelope::<T>::from_bytes(bytes, &Limits::default());
    if let Ok(t) = &tight {
        assert!(m.as_ref().is_ok_and(|m| m == t), "accepted under tight limits, not under the defaults");
    }
    let Ok(env) = m else { return };
    assert_eq!(env.to_bytes(), bytes, "accepted a non-canonical envelope");
    if let Some(p) = env.message.payload() {
        check("decoded payload", p);
    }
    let (me, peer) = (env.to, env.from);
    if me == peer {
        return;
    }
    let mut e = SyncEngine::<T>::restore(me, Mode::DeltaBpRr, live.clone(), 3)
        .expect("seq in range")
        .with_max_payload_bytes(24)
        .with_digest_handshake();
    e.add_neighbour(peer);
    let before = e.clone();
    let ok = e.on_envelope_bytes(bytes).is_ok();
    check("engine state", e.state());
    assert!(live.leq(e.state()), "receipt lost information");
    if ok {
        if let Some(p) = env.message.payload() {
            assert!(p.leq(e.state()), "accepted payload not in the state");
        }
    } else {
        assert!(e.state() == before.state(), "a refused envelope changed the state");
    }
    // Misaddressed: refused, nothing owed.
    let mut other = before.clone();
    let mut wrong = env.clone();
    wrong.to = ReplicaId::from_u128(u128::MAX - 7);
    if wrong.to != me {
        assert!(other.on_envelope(wrong).is_err(), "a misaddressed envelope was accepted");
        assert!(other == before, "a misaddressed envelope changed the engine");
    }
    for out in e.poll_envelopes() {
        assert_eq!(out.from, me);
        let b = out.to_bytes();
        assert_eq!(
            Envelope::<T>::from_bytes(&b, &Limits::default()).as_ref(),
            Ok(&out),
            "own envelope does not decode"
        );
    }
}

/// An arbitrary message of the handshake and chunk kinds, with payloads from `pool`.
fn hostile_message<T: FuzzSubject>(u: &mut Unstructured<'_>, pool: &[&T]) -> arbitrary::Result<Message<T>> {
    let pick = |u: &mut Unstructured<'_>| -> arbitrary::Result<T> {
        if pool.is_empty() {
            return Ok(T::bottom());
        }
        Ok(pool[usize::from(u8::arbitrary(u)?) % pool.len()].clone())
    };
    Ok(match u8::arbitrary(u)? % 5 {
        0 => {
            let parts = usize::from(u8::arbitrary(u)? % 4);
            let mut digest = Vec::with_capacity(parts);
            for _ in 0..parts {
                let n = usize::from(u8::arbitrary(u)? % 4);
                let mut v = Vec::new();
                for _ in 0..n {
                    let r = replica_ids(4)[usize::from(u8::arbitrary(u)? % 4)];
                    v.push((r, u64::arbitrary(u)? % (MAX_COUNT + 2)));
                }
                digest.push(v.into_iter().filter(|(_, n)| *n > 0).collect::<VersionVector>());
            }
            Message::Digest { digest, asks_back: bool::arbitrary(u)? }
        }
        1 => {
            let count = u32::arbitrary(u)?;
            Message::Chunk { seq: u64::arbitrary(u)? % 64, index: u32::arbitrary(u)?, count, part: pick(u)? }
        }
        2 => Message::ChunkAck { seq: u64::arbitrary(u)? % 64, index: u32::arbitrary(u)? % 8 },
        3 => Message::Ack { seq: u64::arbitrary(u)? % 64 },
        _ => Message::Delta { seq: u64::arbitrary(u)? % 64, delta: pick(u)? },
    })
}

/// Two engines with the digest handshake and a small message bound, restored from two states
/// of an arbitrary history (neither knowing what the other holds), exchange envelopes under
/// arbitrary loss, duplication and reordering (so stale digests and acks arrive late), with
/// stale digests and arbitrary digests, chunks, chunk acks, acks and delta-groups injected in
/// the peer's name: never a panic, a refused message changes no state, and once calm both hold
/// the join of their states and of every payload they accepted, unless an injected message
/// lied in the peer's name and was accepted (a forged ack or digest can make a sender skip
/// what the peer needs; stopping that takes authenticated peers, not a protocol).
pub fn handshake_of<T: FuzzSubject>(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let Ok(sel) = <(u8, u8, u8)>::arbitrary(&mut u) else { return };
    let Ok(bound) = u8::arbitrary(&mut u) else { return };
    let Ok(actions) = Vec::<(u8, u8)>::arbitrary(&mut u) else { return };
    let Ok(hostile) = Vec::<u8>::arbitrary(&mut u) else { return };
    let Some(s) = fuzz_script(u) else { return };
    let Ok(h) = run_checked::<T>(&s) else { return };
    let pool = h.pool();
    let at = |i: u8| pool.get(usize::from(i) % pool.len().max(1)).map_or_else(T::bottom, |x| (*x).clone());
    let (a, b) = (ReplicaId::from_u128(u128::MAX - 1), ReplicaId::from_u128(u128::MAX - 2));
    let max = 16 + usize::from(bound);
    // Receipt's policies (claims far ahead: regression `regression_handshake_pn_counter`, a
    // counter at 2^53 in the history) are the hostile targets' business: here every value
    // comes from a valid history, and the protocol is under test.
    let mk = |id, x: T, seq| {
        SyncEngine::<T>::restore(id, Mode::DeltaBpRr, x, seq)
            .expect("seq in range")
            .with_max_payload_bytes(max)
            .with_digest_handshake()
            .with_validator(convergent::sync::AcceptAll)
    };
    let mut e = [mk(a, at(sel.0), 5), mk(b, at(sel.1), 9)];
    let mut made = e[0].state().clone().joined(e[1].state().clone());
    e[0].add_neighbour(b);
    e[1].add_neighbour(a);
    let mut mail: Vec<Envelope<T>> = Vec::new();
    let mut hu = Unstructured::new(&hostile);
    let mut lied = false;
    for (act, arg) in actions.into_iter().take(200) {
        match act % 5 {
            0 | 1 => mail.extend(e[usize::from(act % 2)].poll_envelopes()),
            2 if !mail.is_empty() => {
                let k = usize::from(arg) % mail.len();
                let m = if arg & 0x80 != 0 { mail[k].clone() } else { mail.swap_remove(k) };
                let to = usize::from(m.to == b);
                let before = e[to].state().clone();
                let payload = m.message.payload().cloned();
                if e[to].on_envelope(m).is_ok() {
                    if let Some(p) = payload {
                        made.join(p);
                    }
                } else {
                    assert!(e[to].state() == &before, "a refused message changed the state");
                }
            }
            3 => {
                // A stale digest of the peer: a lower bound of what it holds, honest.
                let (to, from) = if arg % 2 == 0 { (0, 1) } else { (1, 0) };
                let digest = if arg & 2 == 0 { T::bottom().digest() } else { e[from].state().digest() };
                let id = e[from].id();
                let m = Message::Digest { digest, asks_back: arg & 4 != 0 };
                e[to].on_message(id, m).expect("an honest digest is accepted");
            }
            _ => {
                let Ok(m) = hostile_message::<T>(&mut hu, &pool) else { continue };
                let (to, from) = if arg % 2 == 0 { (0, b) } else { (1, a) };
                let before = e[to].state().clone();
                let payload = m.payload().cloned();
                match e[to].on_message(from, m) {
                    Ok(()) => {
                        lied = true;
                        if let Some(p) = payload {
                            made.join(p);
                        }
                    }
                    Err(_) => assert!(e[to].state() == &before, "a refused message changed the state"),
                }
            }
        }
    }
    let _ = sel.2;
    // Calm: lossless rounds.
    for _ in 0..64 {
        for i in 0..2 {
            for m in e[i].poll_envelopes() {
                let to = usize::from(m.to == b);
                let payload = m.message.payload().cloned();
                if let (Ok(()), Some(p)) = (e[to].on_envelope(m), payload) {
                    made.join(p);
                }
            }
        }
        if e[0].state() == e[1].state() && e[0].caught_up(b) && e[1].caught_up(a) {
            break;
        }
    }
    check("engine state", e[0].state());
    check("engine state", e[1].state());
    assert!(e[0].state().leq(&made) && e[1].state().leq(&made), "a state beyond what was accepted");
    if lied {
        return;
    }
    assert!(e[0].state() == e[1].state(), "not converged after calm rounds: {:?}\n{:?}", e[0], e[1]);
    assert!(e[0].state() == &made, "converged state is not the join of what was accepted");
}
