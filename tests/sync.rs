//! The sync engine and the network simulator, through the public API.
#![cfg(feature = "serde")]

use std::collections::{BTreeMap, BTreeSet};

use convergent::{Decompose, Error, EwFlag, GCounter, Lattice, ReplicaId};
use convergent::{
    sim::{Faults, SimEvent, SimRng, Simulation, Stats, Topology},
    sync::{Message, Mode, OwnDotsCheck, SyncEngine},
};
use testkit::gset::GSet;

// A small lattice of one's own (`testkit::gset::GSet`): the engine works for any
// `Lattice + Decompose + serde`.

fn id(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

// ---------------------------------------------------------------------------------------------
// ICDE 2019 micro-benchmarks.

/// Each node does `events` events (one per round), syncing every round; then rounds until all
/// states are equal. Returns the counters.
fn icde<L>(
    topology: Topology,
    mode: Mode,
    events: u64,
    mut op: impl FnMut(&mut L, ReplicaId, usize, u64) -> L,
) -> Stats
where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq,
{
    let n = topology.len();
    let mut sim = Simulation::<L>::new(topology, mode, 0);
    for round in 0..events {
        for i in 0..n {
            assert!(sim.update(i, |s, me| op(s, me, i, round)));
        }
        sim.step();
    }
    assert!(sim.run_until_converged(1000).is_some(), "{mode:?} did not converge");
    *sim.stats()
}

fn gset_op(s: &mut GSet, _: ReplicaId, i: usize, round: u64) -> GSet {
    s.add(round * 1000 + i as u64)
}

fn gcounter_op(s: &mut GCounter, me: ReplicaId, _: usize, _: u64) -> GCounter {
    s.increment(me, 1)
}

#[test]
fn tree_bp_rr_sends_exactly_the_lower_bound() {
    // (N - 1) x new irreducibles: 14 x 1500 = 21 000, for both workloads.
    let s = icde(Topology::icde_tree(), Mode::DeltaBpRr, 100, gset_op);
    assert_eq!(s.payload_entries, 21_000);
    let c = icde(Topology::icde_tree(), Mode::DeltaBpRr, 100, gcounter_op);
    assert_eq!(c.payload_entries, 21_000);
    // BP alone is also optimal on a tree.
    assert_eq!(icde(Topology::icde_tree(), Mode::DeltaBp, 100, gset_op).payload_entries, 21_000);
    // Echo suppression cannot do better than the floor, and must not do worse.
    assert_eq!(icde(Topology::icde_tree(), Mode::DeltaBpRrEcho, 100, gset_op).payload_entries, 21_000);
    assert_eq!(icde(Topology::icde_tree(), Mode::DeltaBpRrEchoDefer, 100, gset_op).payload_entries, 21_000);
}

#[test]
fn tree_bp_rr_sends_exactly_the_lower_bound_for_a_causal_map() {
    // G-Map 10% on the crate's OrMap of LWW registers: the removed dots of overwritten values
    // are irreducibles too, and RR keeps them; BP+RR still sends each irreducible once per edge.
    use convergent::{LwwRegister, OrMap, Timestamp};
    let mut sim = Simulation::<OrMap<u32, LwwRegister<u64>>>::new(Topology::icde_tree(), Mode::DeltaBpRr, 0);
    let mut new = 0u64;
    for r in 0..30u64 {
        for i in 0..15usize {
            sim.update(i, |m, me| {
                let (d, _) = m.mutate(me, |h| {
                    for j in 0..7 {
                        let key = (i * 67 + ((r as usize * 7 + j) % 67)) as u32;
                        h.update(key, |v| v.write_at(Timestamp::from_parts(r + 1, 0), r));
                    }
                });
                new += d.irreducible_count() as u64;
                d
            });
        }
        sim.step();
    }
    assert!(sim.run_until_converged(100).is_some());
    assert_eq!(sim.stats().payload_entries, 14 * new);
    assert!(new > 15 * 30 * 7); // overwrites carry their removed dot
}

#[test]
fn mesh_modes_are_ordered_as_in_the_paper() {
    // The modes that ship whole states are slow in a debug build: order them on a short run.
    let short: Vec<u64> =
        Mode::ALL.iter().map(|&m| icde(Topology::icde_mesh(), m, 20, gset_op).entries()).collect();
    let [state, classic, bp, rr, bprr, echo, defer] = short[..] else { unreachable!() };
    assert!(
        state > classic && classic >= bp && bp > rr && rr > bprr && bprr > echo && echo > defer,
        "{short:?}"
    );
    let s: Vec<Stats> = Mode::ALL
        .iter()
        .map(|&m| if m.rr() { icde(Topology::icde_mesh(), m, 100, gset_op) } else { Stats::default() })
        .collect();
    let (rr, bprr) = (s[3].entries(), s[4].entries());
    // The paper's oracle: BP+RR sends 3.28 times the lower bound of 14 x 1500 irreducibles.
    let ratio = |x: &Stats| x.payload_entries as f64 / 21_000.0;
    assert_eq!((ratio(&s[4]) * 100.0).round(), 328.0);
    // RR-only sends 1.26 times what BP+RR sends (the published ratio).
    assert_eq!((rr as f64 / bprr as f64 * 100.0).round(), 126.0);
    // Beyond the paper, still above the floor.
    assert!(
        ratio(&s[5]) < 2.6 && ratio(&s[6]) < 2.3 && ratio(&s[6]) >= 1.0,
        "{} {}",
        ratio(&s[5]),
        ratio(&s[6])
    );
}

#[test]
fn metadata_of_bp_rr_is_flat_in_n() {
    let per_node_round = |n: usize| {
        let s = icde(Topology::partial_mesh(n), Mode::DeltaBpRr, 20, gset_op);
        s.metadata_bytes as f64 / (n as f64 * s.rounds as f64)
    };
    let (a, b, c) = (per_node_round(16), per_node_round(32), per_node_round(64));
    // Four neighbours: per round a delta-group header and an ack each way; no version vector.
    for x in [a, b, c] {
        assert!((12.0..=40.0).contains(&x), "{a} {b} {c}");
    }
    assert!(c / a < 1.25, "metadata grows with n: {a} {b} {c}");
}

// ---------------------------------------------------------------------------------------------
// The engine.

fn pair(mode: Mode) -> (SyncEngine<GSet>, SyncEngine<GSet>) {
    let mut a = SyncEngine::new(id(1), mode);
    let mut b = SyncEngine::new(id(2), mode);
    a.add_neighbour(id(2));
    b.add_neighbour(id(1));
    (a, b)
}

/// Delivers everything `x` has for `y` and returns how many messages went.
fn pump(x: &mut SyncEngine<GSet>, y: &mut SyncEngine<GSet>) -> usize {
    let out = x.messages_for(y.id());
    let n = out.len();
    for m in out {
        y.on_message(x.id(), m).unwrap();
    }
    n
}

#[test]
fn deltas_are_collected_once_acknowledged() {
    let (mut a, mut b) = pair(Mode::DeltaBpRr);
    for x in 0..5 {
        a.update(|s, _| s.add(x));
    }
    assert_eq!(a.buffered(), 5);
    assert_eq!(pump(&mut a, &mut b), 1); // one group of five
    assert_eq!(b.state().0.len(), 5);
    assert_eq!(a.buffered(), 5); // not acknowledged yet
    pump(&mut b, &mut a); // the ack
    assert_eq!(a.buffered(), 0);
    assert_eq!(a.acked(id(2)), Some(5));
    // BP: b does not send a's group back; having nothing else, it counts a as up to date.
    assert_eq!(pump(&mut b, &mut a), 0);
    assert_eq!(b.buffered(), 0);
}

#[test]
fn lost_messages_are_resent_until_acknowledged() {
    let (mut a, mut b) = pair(Mode::DeltaBpRr);
    a.update(|s, _| s.add(1));
    let _lost = a.poll_outgoing();
    a.update(|s, _| s.add(2));
    let out = a.messages_for(id(2));
    assert!(matches!(&out[..], [Message::Delta { seq: 2, delta }] if delta.0.len() == 2));
    for m in out {
        b.on_message(id(1), m).unwrap();
    }
    assert_eq!(b.poll_acks(), [(id(1), Message::Ack { seq: 2 })]);
}

#[test]
fn a_neighbour_behind_the_collected_log_gets_a_snapshot() {
    let (mut a, mut b) = pair(Mode::DeltaBpRr);
    a.update(|s, _| s.add(1));
    pump(&mut a, &mut b);
    pump(&mut b, &mut a);
    assert_eq!(a.buffered(), 0);
    a.add_neighbour(id(3));
    let out = a.messages_for(id(3));
    assert!(matches!(&out[..], [Message::Snapshot { seq: 1, state }] if state.0.len() == 1));
    // A new engine that never collected its log starts a late neighbour from delta 0.
    let mut c = SyncEngine::<GSet>::new(id(4), Mode::DeltaBpRr);
    c.add_neighbour(id(5));
    c.update(|s, _| s.add(9));
    c.add_neighbour(id(6));
    assert!(matches!(&c.messages_for(id(6))[..], [Message::Delta { seq: 1, .. }]));
}

#[test]
fn rr_buffers_only_what_was_new() {
    let mut a = SyncEngine::<GSet>::new(id(1), Mode::DeltaRr);
    a.add_neighbour(id(2));
    a.add_neighbour(id(3));
    a.update(|s, _| s.add(1));
    let g = GSet(BTreeSet::from([1, 2, 3]));
    a.on_message(id(2), Message::Delta { seq: 1, delta: g.clone() }).unwrap();
    let out = a.messages_for(id(3));
    // Our own {1} and the new part {2, 3} of the group: three irreducibles, not four.
    assert!(matches!(&out[..], [Message::Delta { delta, .. }] if delta.0.len() == 3));
    // Classic delta buffers the whole group.
    let mut c = SyncEngine::<GSet>::new(id(1), Mode::Delta);
    c.add_neighbour(id(2));
    c.update(|s, _| s.add(1));
    c.on_message(id(2), Message::Delta { seq: 1, delta: g }).unwrap();
    let m = c.messages_for(id(2));
    // No BP either: the group goes back to its sender, with our own delta.
    assert!(matches!(&m[1], Message::Delta { delta, .. } if delta.0.len() == 3));
}

#[test]
fn echo_suppression_drops_what_the_target_sent_us() {
    let mut a = SyncEngine::<GSet>::new(id(1), Mode::DeltaBpRrEcho);
    a.add_neighbour(id(2));
    a.add_neighbour(id(3));
    // x arrives from 2 first, then from 3 in the same round.
    a.on_message(id(2), Message::Delta { seq: 1, delta: GSet(BTreeSet::from([7])) }).unwrap();
    a.on_message(id(3), Message::Delta { seq: 1, delta: GSet(BTreeSet::from([7, 8])) }).unwrap();
    // BP+RR would send {7} to 3 (it was buffered from 2); echo knows 3 sent it.
    let to3 = a.messages_for(id(3));
    assert_eq!(to3, [Message::Ack { seq: 1 }]);
    assert_eq!(a.acked(id(3)), Some(2));
    let to2 = a.messages_for(id(2));
    assert!(matches!(&to2[1], Message::Delta { delta, .. } if delta.0 == BTreeSet::from([8])));
}

#[test]
fn full_state_mode_sends_the_state_every_poll_without_acks() {
    let (mut a, mut b) = pair(Mode::FullState);
    a.update(|s, _| s.add(1));
    for _ in 0..2 {
        let out = a.messages_for(id(2));
        assert!(matches!(&out[..], [Message::State { state }] if state.0.len() == 1));
        for m in out {
            b.on_message(id(1), m).unwrap();
        }
        assert!(b.poll_acks().is_empty());
    }
    assert_eq!(a.buffered(), 0);
}

#[test]
fn bad_input_changes_nothing() {
    let (mut a, mut b) = pair(Mode::DeltaBpRr);
    a.update(|s, _| s.add(1));
    pump(&mut a, &mut b);
    b.update(|s, _| s.add(2));
    let before = b.clone();
    let good = Message::Delta { seq: 2, delta: GSet(BTreeSet::from([3])) }.to_bytes();
    // Truncations, every single-bit flip that breaks decoding, a bad version, an ack from the
    // future, a sequence number out of range: refused, and b is exactly what it was.
    for cut in 0..good.len() {
        assert!(b.on_bytes(id(1), &good[..cut]).is_err());
    }
    assert_eq!(b.on_bytes(id(1), &[1, 2, 3, 0]), Err(Error::UnsupportedVersion { found: 2 }));
    assert_eq!(b.on_bytes(id(1), &[7, 1, 3, 0]), Err(Error::UnsupportedVersion { found: 7 }));
    assert!(matches!(b.on_message(id(1), Message::Ack { seq: 99 }), Err(Error::CounterOutOfRange { .. })));
    let huge = Message::Delta { seq: u64::MAX, delta: GSet::default() };
    assert!(matches!(
        b.on_bytes(id(1), &huge.to_bytes()),
        Err(Error::CounterOutOfRange { field: "seq", .. })
    ));
    assert_eq!(b, before);
    b.on_bytes(id(1), &good).unwrap();
    assert_ne!(b, before);
}

#[test]
fn a_validator_runs_before_the_join() {
    let picky = |inc: &GSet, _: &GSet, _: ReplicaId| {
        if inc.0.iter().any(|&x| x >= 100) { Err(Error::Malformed { field: "element" }) } else { Ok(()) }
    };
    let mut a = SyncEngine::<GSet>::new(id(1), Mode::DeltaBpRr).with_validator(picky);
    a.add_neighbour(id(2));
    let before = a.clone();
    let bad = Message::Delta { seq: 1, delta: GSet(BTreeSet::from([5, 500])) };
    assert_eq!(a.on_message(id(2), bad), Err(Error::Malformed { field: "element" }));
    assert_eq!(a.state(), before.state());
    assert_eq!(a.buffered(), 0);
    assert!(a.poll_acks().is_empty()); // not acknowledged either
}

#[test]
fn restart_with_durable_state_catches_up() {
    let (mut a, mut b) = pair(Mode::DeltaBpRr);
    a.update(|s, _| s.add(1));
    pump(&mut a, &mut b);
    pump(&mut b, &mut a);
    // b changes, persists, crashes before sending.
    b.update(|s, _| s.add(2));
    let (state, seq) = (b.state().clone(), b.seq());
    a.update(|s, _| s.add(3));
    let mut b = SyncEngine::restore(id(2), Mode::DeltaBpRr, state, seq).unwrap();
    b.add_neighbour(id(1));
    // b's buffers are gone: it sends a snapshot; a resumes sending deltas from b's last ack.
    let out = b.messages_for(id(1));
    assert!(matches!(&out[..], [Message::Snapshot { .. }]));
    for m in out {
        a.on_message(id(2), m).unwrap();
    }
    let to_b = a.messages_for(id(2));
    assert!(matches!(&to_b[1], Message::Delta { delta, .. } if delta.0 == BTreeSet::from([3])));
    for m in to_b {
        b.on_message(id(1), m).unwrap();
    }
    pump(&mut b, &mut a);
    assert_eq!(a.state(), b.state());
    assert_eq!(a.state().0, BTreeSet::from([1, 2, 3]));
}

#[test]
fn lost_state_under_the_old_id_is_detected() {
    let (me, peer) = (id(1), id(2));
    let mut a = SyncEngine::<EwFlag>::new(me, Mode::DeltaBpRr).with_validator(OwnDotsCheck);
    let mut b = SyncEngine::<EwFlag>::new(peer, Mode::DeltaBpRr).with_validator(OwnDotsCheck);
    a.add_neighbour(peer);
    b.add_neighbour(me);
    a.update(|f, r| f.enable(r));
    for m in a.messages_for(peer) {
        b.on_message(me, m).unwrap();
    }
    // a loses its disk and wrongly comes back under the same id.
    let mut a = SyncEngine::<EwFlag>::new(me, Mode::DeltaBpRr).with_validator(OwnDotsCheck);
    a.add_neighbour(peer);
    let snap = Message::Snapshot { seq: b.seq(), state: b.state().clone() };
    assert!(matches!(a.on_message(peer, snap.clone()), Err(Error::OwnDotFromFuture { found: 1, .. })));
    // Under a new id, all is well.
    let mut a2 = SyncEngine::<EwFlag>::new(id(3), Mode::DeltaBpRr).with_validator(OwnDotsCheck);
    a2.on_message(peer, snap).unwrap();
    assert!(a2.state().is_enabled());
}

// ---------------------------------------------------------------------------------------------
// Convergence under faults.

/// Jepsen's set checker over a simulated cluster of GSet replicas.
#[derive(Default)]
struct SetCheck {
    attempted: BTreeSet<u64>,
    /// By element: the node and incarnation that acknowledged it.
    acked: BTreeMap<u64, (usize, ReplicaId)>,
    /// Acknowledged by a replica that then lost its disk before anyone else had it.
    lost_with_disk: BTreeSet<u64>,
}

impl SetCheck {
    fn after_step(&mut self, sim: &mut Simulation<GSet>) {
        for e in sim.take_events() {
            if let SimEvent::Wiped { old, .. } = e {
                let survivors: BTreeSet<u64> =
                    (0..sim.len()).flat_map(|i| sim.state(i).0.iter().copied()).collect();
                for (x, (_, by)) in &self.acked {
                    if *by == old && !survivors.contains(x) {
                        self.lost_with_disk.insert(*x);
                    }
                }
            }
        }
    }

    /// (lost, unexpected) against a final state.
    fn check(&self, fin: &GSet) -> (usize, usize) {
        let lost =
            self.acked.keys().filter(|x| !self.lost_with_disk.contains(x) && !fin.0.contains(x)).count();
        let unexpected = fin.0.iter().filter(|x| !self.attempted.contains(x)).count();
        (lost, unexpected)
    }
}

/// One seeded run: `ops` adds spread over `rounds` rounds under `faults`, then calm and converge.
fn faulty_run(
    mode: Mode,
    topology: Topology,
    seed: u64,
    ops: u64,
    faults: Faults,
) -> (Simulation<GSet>, SetCheck) {
    paced_run(mode, topology, seed, ops, faults, 1)
}

fn paced_run(
    mode: Mode,
    topology: Topology,
    seed: u64,
    ops: u64,
    faults: Faults,
    pace: u32,
) -> (Simulation<GSet>, SetCheck) {
    let n = topology.len();
    let mut sim = Simulation::<GSet>::new(topology, mode, seed);
    sim.set_faults(faults);
    sim.set_resend_after(pace);
    let mut work = SimRng::new(seed ^ 0xABCD);
    let mut check = SetCheck::default();
    for x in 0..ops {
        let i = work.below(n as u64) as usize;
        check.attempted.insert(x);
        if sim.update(i, |s, _| s.add(x)) {
            check.acked.insert(x, (i, sim.replica_id(i)));
        }
        if x % 5 == 4 {
            sim.step();
            check.after_step(&mut sim);
        }
    }
    sim.calm();
    let r = sim.run_until_converged(500);
    check.after_step(&mut sim);
    assert!(r.is_some(), "seed {seed} {mode:?} did not converge");
    (sim, check)
}

#[test]
fn every_seed_converges_under_faults_and_loses_nothing() {
    let faults = Faults { wipe: 0.2, ..Faults::chaos() };
    let mut total = Stats::default();
    for seed in 0..12 {
        for mode in Mode::ALL {
            let (sim, check) = faulty_run(mode, Topology::ring(5), seed, 150, faults);
            let (lost, unexpected) = check.check(sim.state(0));
            assert_eq!((lost, unexpected), (0, 0), "seed {seed} {mode:?}");
            assert_eq!(sim.stats().rejected, 0);
            let s = sim.stats();
            total.lost += s.lost;
            total.duplicated += s.duplicated;
            total.crashes += s.crashes;
            total.wipes += s.wipes;
            total.snapshot_messages += s.snapshot_messages;
        }
    }
    // The faults did happen.
    assert!(total.lost > 0 && total.duplicated > 0 && total.crashes > 10 && total.wipes > 0, "{total:?}");
    assert!(total.snapshot_messages > 0);
}

#[test]
fn paced_retransmission_converges_with_fewer_snapshot_bytes() {
    let faults = Faults { wipe: 0.2, ..Faults::chaos() };
    let (mut eager, mut paced) = (0, 0);
    for seed in 0..6 {
        for (pace, total) in [(1, &mut eager), (4, &mut paced)] {
            let (sim, check) = paced_run(Mode::DeltaBpRr, Topology::ring(5), seed, 150, faults, pace);
            assert_eq!(check.check(sim.state(0)), (0, 0), "seed {seed} pace {pace}");
            *total += sim.stats().payload_bytes;
        }
    }
    assert!(paced < eager, "{paced} >= {eager}");
}

#[test]
fn delta_sync_ends_where_full_state_sync_ends() {
    // Network faults and partitions but no crash: every add is acknowledged in every mode, and
    // every mode must end in the state full-state sync ends in.
    let faults = Faults { crash: 0.0, ..Faults::chaos() };
    for seed in 0..8 {
        let (full, check) = faulty_run(Mode::FullState, Topology::partial_mesh(9), seed, 150, faults);
        assert_eq!(check.acked.len(), 150);
        for mode in Mode::ALL {
            let (sim, _) = faulty_run(mode, Topology::partial_mesh(9), seed, 150, faults);
            assert_eq!(sim.state(0), full.state(0), "seed {seed} {mode:?}");
        }
    }
}

/// Workload operations shared by the convergence tests below: each returns its delta.
fn gcounter_inc_op(w: &mut SimRng, c: &mut GCounter, me: ReplicaId) -> GCounter {
    c.increment(me, 1 + w.below(5))
}

fn pncounter_op(w: &mut SimRng, c: &mut convergent::PnCounter, me: ReplicaId) -> convergent::PnCounter {
    if w.chance(0.5) { c.increment(me, 1 + w.below(5)) } else { c.decrement(me, 1 + w.below(5)) }
}

fn lww_op(
    w: &mut SimRng,
    r: &mut convergent::LwwRegister<u64>,
    me: ReplicaId,
) -> convergent::LwwRegister<u64> {
    r.write(me, convergent::Timestamp::from_parts(1_000 + w.below(500), 0), w.below(100))
}

/// Random operations under chaos (crashes keep the disk): every mode must converge to the join
/// of every delta made, where full-state sync of the same operations ends.
fn converges_to_join_of_all_deltas<L, V>(
    seeds: u64,
    validator: V,
    op: impl Fn(&mut SimRng, &mut L, ReplicaId) -> L,
) where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq + Clone + std::fmt::Debug,
    V: convergent::sync::Validator<L> + Clone,
{
    for seed in 0..seeds {
        for mode in Mode::ALL {
            let mut sim =
                Simulation::<L, V>::with_validator(Topology::partial_mesh(9), mode, seed, validator.clone());
            sim.set_faults(Faults::chaos());
            let mut work = SimRng::new(seed);
            let mut deltas = Vec::new();
            for k in 0..200 {
                let i = work.below(9) as usize;
                sim.update(i, |s, me| {
                    let d = op(&mut work, s, me);
                    deltas.push(d.clone());
                    d
                });
                if k % 3 == 0 {
                    sim.step();
                }
            }
            sim.calm();
            assert!(sim.run_until_converged(500).is_some(), "seed {seed} {mode:?}");
            assert_eq!(sim.state(0), &convergent::Lattice::join_all(deltas), "seed {seed} {mode:?}");
            assert_eq!(sim.stats().rejected, 0);
        }
    }
}

#[test]
fn causal_type_with_removes_converges_to_the_join_of_all_deltas() {
    converges_to_join_of_all_deltas::<EwFlag, _>(4, OwnDotsCheck, |w, f, me| {
        if w.chance(0.5) { f.enable(me) } else { f.disable(me) }
    });
}

#[test]
fn or_set_with_removes_converges_to_the_join_of_all_deltas() {
    // Eight elements only, to force concurrent adds and removes of the same element.
    converges_to_join_of_all_deltas::<convergent::OrSet<u64>, _>(3, OwnDotsCheck, |w, s, me| {
        let x = w.below(8);
        if w.chance(0.6) { s.insert(me, x) } else { s.remove(me, &x) }
    });
}

#[test]
fn nested_maps_and_mv_registers_converge_to_the_join_of_all_deltas() {
    use convergent::{MvRegister, OrMap, OrSet};
    // A map of sets over a few keys: nested inserts and removes, and key removes (observed resets).
    converges_to_join_of_all_deltas::<OrMap<u8, OrSet<u8>>, _>(
        2,
        OwnDotsCheck,
        testkit::workload::map_of_sets,
    );
    converges_to_join_of_all_deltas::<MvRegister<u64>, _>(2, OwnDotsCheck, testkit::workload::mv_register);
}

#[test]
fn counters_and_registers_converge_to_the_join_of_all_deltas() {
    use convergent::sync::AcceptAll;
    use convergent::{LwwRegister, PnCounter};
    converges_to_join_of_all_deltas::<GCounter, _>(2, AcceptAll, gcounter_inc_op);
    converges_to_join_of_all_deltas::<PnCounter, _>(2, AcceptAll, pncounter_op);
    converges_to_join_of_all_deltas::<LwwRegister<u64>, _>(2, AcceptAll, lww_op);
}

/// Validated receipt has no false positives: under chaos, honest histories of every type are
/// never refused by `ReceiveCheck` (own dots, clock skew, one dot with two payloads).
#[test]
fn validated_receipt_never_refuses_honest_histories() {
    use convergent::sync::ReceiveCheck;
    use convergent::{CausalCounter, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, Timestamp};
    fn clock() -> u64 {
        10_000
    }
    let check = ReceiveCheck::new(clock as fn() -> u64);
    converges_to_join_of_all_deltas::<GCounter, _>(1, check, gcounter_inc_op);
    converges_to_join_of_all_deltas::<PnCounter, _>(1, check, pncounter_op);
    converges_to_join_of_all_deltas::<CausalCounter, _>(1, check, |w, c, me| match w.below(4) {
        0 => c.reset(me),
        1 => c.decrement(me, 1 + w.below(5)),
        _ => c.increment(me, 1 + w.below(5)),
    });
    converges_to_join_of_all_deltas::<LwwRegister<u64>, _>(1, check, lww_op);
    converges_to_join_of_all_deltas::<OrSet<u64>, _>(1, check, |w, s, me| {
        let x = w.below(8);
        if w.chance(0.6) { s.insert(me, x) } else { s.remove(me, &x) }
    });
    converges_to_join_of_all_deltas::<MvRegister<u64>, _>(1, check, testkit::workload::mv_register);
    converges_to_join_of_all_deltas::<OrMap<u8, OrSet<u8>>, _>(1, check, testkit::workload::map_of_sets);
    converges_to_join_of_all_deltas::<OrMap<u8, LwwRegister<u64>>, _>(1, check, |w, m, me| {
        let (k, x) = (w.below(4) as u8, w.below(100));
        if w.chance(0.8) {
            m.update(me, k, |r| r.write_at(Timestamp::from_parts(1_000 + w.below(500), 0), x)).0
        } else {
            m.remove(me, &k)
        }
    });
}

#[test]
fn a_seed_replays_exactly() {
    let a = faulty_run(Mode::DeltaBpRr, Topology::ring(5), 7, 100, Faults::chaos()).0;
    let b = faulty_run(Mode::DeltaBpRr, Topology::ring(5), 7, 100, Faults::chaos()).0;
    assert_eq!(a.stats(), b.stats());
    assert_eq!(a, b);
}
