//! Replica-id churn (issue 14): the metadata every value keeps after wiped restarts, without
//! and with pruning of retired ids, and whether a fresh replica can still bootstrap from a
//! snapshot under the default limits.
//!
//! Without pruning every id ever minted stays in every context and version vector (~18 bytes per
//! churn). With pruning ([`Prune`]: the heir folds the old incarnation's contributions, every
//! replica purges its id) the metadata follows the 5 live replicas. The same churn through the
//! sync engine, with acknowledged retirement records, is `tests/pruning.rs`.
//!
//! `cargo test --release --all-features --test churn -- --ignored --nocapture` prints the figures
//! for 10^3 and 10^5 churns, before and after; the quick tests pin the growth without pruning at
//! 10^3 and the bound with pruning at 10^3 and 10^5.

use convergent::{CausalCounter, EwFlag, GCounter, OrSet, Prune, ReplicaId, wire};

/// A 5-replica cluster where, `churns` times, one replica is wiped and restarts under a new id:
/// it bootstraps from a survivor's snapshot and then writes once (the value is joined back into
/// the cluster at once, as a sync would). With `prune`, the incarnation it replaces is retired:
/// the lowest live id folds it, and the cluster purges it. Returns the encoded size of the
/// converged value and whether `wire::from_bytes` accepts it under the default limits.
fn churn<T>(churns: u64, prune: bool, write: impl Fn(&mut T, ReplicaId) -> T) -> (usize, bool)
where
    T: Prune + Clone + serde::Serialize + wire::Decode,
{
    let mut cluster: T = T::bottom();
    for n in 1..=churns {
        let id = ReplicaId::from_u128(u128::from(n));
        // The fresh replica bootstraps from a snapshot of the converged cluster and writes; the
        // cluster joins its delta: the same state as writing on the converged value itself.
        let _ = write(&mut cluster, id);
        // Ids n-4..=n are live; id n-5 was the incarnation that n replaced.
        if prune && n > 5 {
            let (old, heir) =
                (ReplicaId::from_u128(u128::from(n - 5)), ReplicaId::from_u128(u128::from(n - 4)));
            let _fold = cluster.fold(old, heir); // joined into the cluster already
            cluster.purge(old);
        }
    }
    let bytes = wire::to_bytes(&cluster);
    (bytes.len(), wire::from_bytes::<T>(&bytes).is_ok())
}

fn report(churns: u64, prune: bool) -> Vec<(&'static str, usize, bool)> {
    vec![
        ("EwFlag", churn::<EwFlag>(churns, prune, |f, r| f.enable(r))),
        ("CausalCounter", churn::<CausalCounter>(churns, prune, |c, r| c.increment(r, 1))),
        ("GCounter", churn::<GCounter>(churns, prune, |c, r| c.increment(r, 1))),
        ("OrSet<u8>", churn::<OrSet<u8>>(churns, prune, |s, r| s.insert(r, 1))),
    ]
    .into_iter()
    .map(|(n, (b, ok))| (n, b, ok))
    .collect()
}

/// Without pruning, a value's metadata grows with every id ever seen: ~18 bytes per churn (a
/// 16-byte id and its counter), whatever the live state.
#[test]
fn without_pruning_metadata_grows_with_every_churn() {
    for (name, bytes, ok) in report(1_000, false) {
        println!("{name}: {bytes} bytes after 10^3 churns, decodes under default limits: {ok}");
        assert!(bytes > 16 * 1_000, "{name}: {bytes} bytes");
        assert!(ok);
    }
}

/// With pruning, the metadata follows the 5 live replicas: the same size after 10^3 and 10^5
/// churns (up to the varint width of the event numbers), at most 5 ids of 16 bytes and their
/// counters.
#[test]
fn with_pruning_metadata_follows_the_live_replicas() {
    let small = report(1_000, true);
    let large = report(100_000, true);
    for ((name, a, ok_a), (_, b, ok_b)) in small.into_iter().zip(large) {
        println!("{name}: pruned, {a} bytes after 10^3 churns, {b} after 10^5");
        assert!(ok_a && ok_b);
        assert!(b <= 5 * 28, "{name}: {b} bytes after 10^5 churns");
        assert!(b <= a + 5 * 2, "{name}: {a} -> {b} bytes");
    }
}

#[test]
#[ignore = "measurement: 10^5 churns without pruning (run in release)"]
fn churn_figures() {
    for churns in [1_000, 100_000] {
        for ((name, before, ok_before), (_, after, ok_after)) in
            report(churns, false).into_iter().zip(report(churns, true))
        {
            println!(
                "{name}: {churns} churns: {before} bytes without pruning (decodes: {ok_before}), \
                 {after} with pruning (decodes: {ok_after})"
            );
        }
    }
}

/// Churn and retirement through the simulator ([`Simulation::set_retire_wiped`]): the simulator
/// routes the retirement messages next to the data.
#[cfg(feature = "sim")]
mod simulated {
    use std::collections::BTreeSet;

    use convergent::sim::{Faults, SimEvent, SimRng, Simulation, Topology};
    use convergent::sync::Mode;
    use convergent::{EwFlag, GCounter, Lattice, OrSet, ReplicaId};

    type T = (GCounter, OrSet<u64>, EwFlag);

    /// Every replica id the value names.
    fn named(v: &T) -> BTreeSet<ReplicaId> {
        let mut ids: BTreeSet<ReplicaId> = v.0.iter().map(|(r, _)| r).collect();
        ids.extend(v.1.context().ranges().map(|(r, _)| r));
        ids.extend(v.2.context().ranges().map(|(r, _)| r));
        ids
    }

    fn live(sim: &Simulation<T>) -> BTreeSet<ReplicaId> {
        (0..sim.len()).map(|i| sim.replica_id(i)).collect()
    }

    /// Wipes between settled periods on a lossy, duplicating, reordering ring: every read is
    /// exact against a model (nothing lost, nothing counted twice, nothing resurrected), and no
    /// value names more than the live ids.
    #[test]
    fn simulated_churn_with_retirement_reads_exactly_and_names_only_live_ids() {
        for seed in 0..6 {
            let mut sim = Simulation::<T>::new(Topology::ring(5), Mode::DeltaBpRr, seed);
            sim.set_retire_wiped(true);
            let faults = Faults { loss: 0.2, duplicate: 0.1, reorder: true, max_delay: 2, ..Faults::none() };
            let mut work = SimRng::new(seed ^ 0x5EED);
            let (mut total, mut set, mut x) = (0u64, BTreeSet::new(), 0u64);
            for churn in 0..40 {
                sim.set_faults(faults);
                for _ in 0..10 {
                    let i = work.below(5) as usize;
                    match work.below(3) {
                        0 => {
                            total += 1;
                            sim.update(i, |v, me| (v.0.increment(me, 1), OrSet::bottom(), EwFlag::bottom()));
                        }
                        1 => {
                            x += 1;
                            set.insert(x);
                            sim.update(i, |v, me| (GCounter::bottom(), v.1.insert(me, x), EwFlag::bottom()));
                        }
                        _ => {
                            // Remove the oldest element, if this replica holds it.
                            let Some(&y) = sim.state(i).1.iter().min() else { continue };
                            set.remove(&y);
                            sim.update(i, |v, me| (GCounter::bottom(), v.1.remove(me, &y), v.2.enable(me)));
                        }
                    }
                    sim.step();
                }
                sim.calm();
                assert!(
                    sim.run_until_converged(500).is_some(),
                    "seed {seed}: converges before churn {churn}"
                );
                sim.wipe(churn % 5);
                // Operations resume once the record reached everyone: a remove concurrent with
                // a fold does not remove the heir's replacement (docs/pruning.md).
                sim.set_faults(faults);
                for _ in 0..200 {
                    if sim.converged() && (0..5).all(|i| sim.engine(i).retirements() == 0) {
                        break;
                    }
                    sim.step();
                }
            }
            sim.calm();
            assert!(sim.run_until_converged(500).is_some(), "seed {seed}");
            // Records and their acknowledgements settle too.
            for _ in 0..10 {
                sim.step();
            }
            let v = sim.state(0);
            assert_eq!(v.0.value(), total, "seed {seed}: counted once");
            assert_eq!(v.1.iter().copied().collect::<BTreeSet<u64>>(), set, "seed {seed}");
            assert!(named(v).is_subset(&live(&sim)), "seed {seed}: {:?} names a retired id", named(v));
            for i in 0..5 {
                assert_eq!(sim.engine(i).retirements(), 0, "seed {seed}: records dropped");
            }
            let retired = sim.take_events().iter().filter(|e| matches!(e, SimEvent::Retired { .. })).count();
            assert_eq!((retired as u64, sim.stats().retirements), (40, 40));
            assert!(sim.stats().retire_messages > 0);
        }
    }

    /// Random crashes, restarts, wipes and partitions with retirement on: the cluster converges
    /// and, once calm, names only live ids, except an id whose heir was wiped right after it
    /// retired it (seeds 101 and 104: wiped 1-2 rounds later, record and fold lost with it).
    ///
    /// Regressions: (1) a crashed replica lost its retirement records on restart (it had
    /// purged the id alone: seed 100 ended with one replica reading 410, the others 628, every
    /// buffer empty); records are now durable ((`SyncEngine::retirement_records`)). (2) A
    /// record's fold, made by a heir that had not applied an earlier record yet, brought that
    /// earlier retired id back into a replica that had purged it; folds are now purged of every
    /// id the receiver retired. (3) Buffered delta-groups still named a retired id and re-taught
    /// it to a replica restarted since (which had forgotten the retirement): the log is purged
    /// with the state.
    #[test]
    fn simulated_chaos_with_retirement_converges_and_leaks_only_ids_whose_heir_lost_its_disk() {
        for seed in 0..6 {
            let mut sim = Simulation::<T>::new(Topology::ring(5), Mode::DeltaBpRr, 100 + seed);
            sim.set_retire_wiped(true);
            sim.set_faults(Faults {
                loss: 0.1,
                duplicate: 0.05,
                reorder: true,
                max_delay: 2,
                crash: 0.02,
                restart: 0.3,
                wipe: 0.5,
                partition: 0.01,
                heal: 0.2,
            });
            for n in 0..400u64 {
                let i = (n % 5) as usize;
                if sim.is_up(i) {
                    sim.update(i, |v, me| (v.0.increment(me, 1), v.1.insert(me, n % 7), EwFlag::bottom()));
                }
                sim.step();
            }
            sim.calm();
            if sim.run_until_converged(1_000).is_none() {
                for i in 0..5 {
                    let e = sim.engine(i);
                    eprintln!(
                        "node {i} {:?}: records {} buffered {} value {} set {:?} named {:?}",
                        e.id(),
                        e.retirements(),
                        e.buffered(),
                        e.state().0.value(),
                        e.state().1.iter().collect::<Vec<_>>(),
                        named(e.state())
                            .iter()
                            .map(|r| (r.to_string(), e.state().0.get(*r)))
                            .collect::<Vec<_>>()
                    );
                }
                panic!("seed {seed}: {sim:?}");
            }
            for _ in 0..20 {
                sim.step();
            }
            assert!(sim.converged());
            assert!(sim.stats().retirements > 0, "seed {seed}: some wipes");
            let v = sim.state(0).clone();
            let v = &v;
            // The one leak: a heir wiped (its disk lost) before its record left it takes the
            // record and the fold with it, and no replica retires that id again. Every id still
            // named must be such a one.
            let events = sim.take_events();
            for id in named(v).difference(&live(&sim)) {
                let lost_with_heir = events.iter().enumerate().any(|(k, e)| match e {
                    SimEvent::Retired { round, heir, retired } if retired == id => {
                        events[k + 1..].iter().find_map(|e| match e {
                            SimEvent::Wiped { round: w, node, .. } if node == heir => Some(*w <= round + 5),
                            SimEvent::Restarted { node, .. } if node == heir => Some(false),
                            _ => None,
                        }) == Some(true)
                    }
                    _ => false,
                });
                assert!(lost_with_heir, "seed {seed}: {id} still named, its heir kept its disk");
            }
        }
    }
}
