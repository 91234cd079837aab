//! The bodies of the fuzz targets, generic over the type under test (the binaries in
//! `fuzz_targets/` only dispatch on the first input byte).

use arbitrary::{Arbitrary, Unstructured};
use convergent::{Lattice, Limits, counter::MAX_COUNT, wire};
use convergent::{
    sim::{Faults, Simulation, Topology},
    sync::{Message, Mode, SyncEngine},
};

use crate::{History, Subject, check, history, join_checked, laws, replica_id, run};

// ---------------------------------------------------------------------------------------------
// laws
// ---------------------------------------------------------------------------------------------

/// Plays a history (checking every delta mutator) and checks the lattice laws on triples of its
/// states, deltas and delta-groups.
pub fn laws_of<T: Subject>(u: Unstructured<'_>) {
    let Some(h) = history::<T>(u) else { return };
    let r = run::<T>(&h);
    let s = &r.states;
    laws(&s[0], &s[1], &s[s.len() - 1]);
    let bot = T::bottom();
    let d = r.deltas.last().unwrap_or(&bot);
    let g = r.groups.last().unwrap_or(&bot);
    laws(d, &s[0], g);
    laws(g, d, &s[1]);
    if let Some(d0) = r.deltas.first() {
        laws(d0, d, &s[s.len() - 1]);
    }
}

// ---------------------------------------------------------------------------------------------
// convergence
// ---------------------------------------------------------------------------------------------

/// How the deltas of a history reach three fresh receivers.
#[derive(Arbitrary, Debug)]
pub struct Delivery {
    /// Per receiver: delta indices (mod the delta count), in delivery order, repeats allowed.
    pub orders: [Vec<u8>; 3],
    /// Per receiver: where the delivery sequence is cut into delta-groups.
    pub cuts: [Vec<u8>; 3],
}

/// An arbitrary history; its deltas delivered to each of three receivers in an arbitrary order,
/// with duplicates, grouped arbitrarily into delta-groups: each receiver must end at the join of
/// the replicas' final states (the full-state merge), which must be the join of all deltas.
pub fn convergence_of<T: Subject>(mut u: Unstructured<'_>) {
    let Ok(delivery) = Delivery::arbitrary(&mut u) else { return };
    let Some(h) = history::<T>(u) else { return };
    let r = run::<T>(&h);
    let full = Lattice::join_all(r.states.iter().cloned());
    check("full-state merge", &full);
    assert_eq!(
        Lattice::join_all(r.deltas.iter().cloned()),
        full,
        "the join of all deltas is not the full-state merge"
    );
    // The full states merged in another order and grouping.
    let rev = r.states.iter().rev().fold(T::bottom(), |acc, s| s.clone().joined(acc));
    assert_eq!(rev, full, "full-state merge depends on the order");
    if r.deltas.is_empty() {
        return;
    }
    let n = r.deltas.len();
    for (k, (order, cuts)) in delivery.orders.iter().zip(&delivery.cuts).enumerate() {
        let mut seq: Vec<usize> = order.iter().take(4 * n + 8).map(|&i| usize::from(i) % n).collect();
        // Every delta arrives at least once: the missing ones at the end, rotated per receiver.
        let mut seen = vec![false; n];
        for &i in &seq {
            seen[i] = true;
        }
        seq.extend((0..n).map(|i| (i + k) % n).filter(|&i| !seen[i]));
        let mut cut_at: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (seq.len() + 1)).collect();
        cut_at.push(seq.len());
        cut_at.sort_unstable();
        cut_at.dedup();
        let mut receiver = T::bottom();
        let mut prev = 0;
        for &c in &cut_at {
            let group = Lattice::join_all(seq[prev..c].iter().map(|&i| r.deltas[i].clone()));
            check("delivered delta-group", &group);
            join_checked(&mut receiver, &group);
            check("receiver", &receiver);
            assert!(receiver.leq(&full), "a receiver went beyond the full-state merge");
            prev = c;
        }
        assert_eq!(receiver, full, "receiver {k} did not converge to the full-state merge");
    }
}

// ---------------------------------------------------------------------------------------------
// sync
// ---------------------------------------------------------------------------------------------

/// Fault probabilities, each byte scaled to `0..=0.5` (heal and restart to `0.05..=1`).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct FaultSpec {
    pub loss: u8,
    pub duplicate: u8,
    pub reorder: bool,
    pub max_delay: u8,
    pub crash: u8,
    pub restart: u8,
    pub wipe: u8,
    pub partition: u8,
    pub heal: u8,
}

impl FaultSpec {
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
pub enum SimStep<O> {
    Update {
        node: u8,
        op: O,
    },
    Step,
    Steps(u8),
    Crash(u8),
    Restart(u8),
    Wipe(u8),
    /// The nodes whose bit is set form one side.
    Partition(u8),
    Heal,
    SetFaults(FaultSpec),
}

#[derive(Arbitrary, Debug)]
pub struct SimInput<O> {
    pub nodes: u8,
    pub topology: u8,
    pub mode: u8,
    pub seed: u64,
    pub faults: FaultSpec,
    pub steps: Vec<SimStep<O>>,
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
pub fn sync_of<T: Subject>(u: Unstructured<'_>) {
    let Ok(input) = SimInput::<T::Op>::arbitrary_take_rest(u) else { return };
    let n = 2 + usize::from(input.nodes) % 3;
    let mode = Mode::ALL[usize::from(input.mode) % Mode::ALL.len()];
    let mut sim = Simulation::<T>::new(topology(n, input.topology), mode, input.seed);
    sim.set_faults(input.faults.faults());
    let mut made = T::bottom();
    let mut rounds = 0u64;
    let mut wiped = false;
    for step in input.steps.iter().take(48) {
        match step {
            SimStep::Update { node, op } => {
                let i = usize::from(*node) % n;
                let mut delta = None;
                sim.update(i, |s, me| {
                    let d = s.apply(me, op);
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
pub fn round_trip_one<T: Subject>(x: &T, seq: u64) {
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

/// Every state, delta and delta-group of an arbitrary history round-trips, and equal values
/// built in different orders encode to the same bytes.
pub fn round_trip_of<T: Subject>(mut u: Unstructured<'_>) {
    let Ok(seq) = u64::arbitrary(&mut u) else { return };
    let Some(h) = history::<T>(u) else { return };
    let r = run::<T>(&h);
    for x in r.values() {
        round_trip_one(x, seq);
    }
    let fwd = Lattice::join_all(r.states.iter().cloned());
    let bwd = r.states.iter().rev().fold(T::bottom(), |acc, s| acc.joined(s.clone()));
    let deltas = Lattice::join_all(r.deltas.iter().rev().cloned());
    assert_eq!(fwd, bwd);
    assert_eq!(wire::to_bytes(&fwd), wire::to_bytes(&bwd), "equal values, different bytes");
    assert_eq!(wire::to_bytes(&fwd), wire::to_bytes(&deltas), "equal values, different bytes");
    round_trip_one(&fwd, seq);
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

/// A live replica of `T` to join decoded values into: a short fixed history.
pub fn live<T: Subject>() -> T {
    const SCRIPT: [u8; 40] = [
        1, 0, 0, 1, 0, 3, 5, 7, 0, 1, 1, 0, 2, 9, 4, 1, 2, 0, 0, 1, 1, 1, 1, 2, 0, 3, 0, 2, 1, 0, 0, 6, 1, 2,
        3, 4, 5, 6, 7, 8,
    ];
    match History::<T::Op>::arbitrary_take_rest(Unstructured::new(&SCRIPT)) {
        Ok(h) => Lattice::join_all(run::<T>(&h).states),
        Err(_) => T::bottom(),
    }
}

/// Arbitrary bytes into `T` and into `Message<T>`: never a panic; anything accepted is valid,
/// canonical (re-encodes to the same bytes), and joins into a live replica (directly and through
/// a sync engine) with a result above both.
pub fn decode_of<T: Subject>(bytes: &[u8]) {
    let live = live::<T>();
    if let Ok(v) = wire::from_bytes::<T>(bytes) {
        check("decoded value", &v);
        assert_eq!(wire::to_bytes(&v), bytes, "accepted a non-canonical encoding");
        let mut x = live.clone();
        join_checked(&mut x, &v);
        check("live ⊔ decoded", &x);
        assert!(live.leq(&x) && v.leq(&x), "join not above its operands");
        assert_eq!(x, v.clone().joined(live.clone()), "join with a decoded value not commutative");
        // A context of a few bytes may hold millions of dots, each one irreducible: decompose
        // only small values (`decompose` is documented linear in the dots).
        if v.irreducible_count() <= 4096 {
            crate::decomposition(&v);
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
    let (me, peer) = (replica_id(0), replica_id(1));
    for mode in [Mode::DeltaBpRr, Mode::FullState] {
        let mut e = SyncEngine::<T>::restore(me, mode, live.clone(), 3);
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
