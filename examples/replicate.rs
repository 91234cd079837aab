//! The main job: five replicas edit one shared shopping list (a title, a set of tags, and a map
//! of item -> quantity) over a network that loses, duplicates, delays and reorders messages and
//! splits in two for a while. Each replica runs a [`SyncEngine`] on the deterministic simulator;
//! the same edits are replayed under full-state sync, classic delta sync and delta sync with
//! the BP+RR optimisations, and the bytes each sent are compared.
//!
//! Run: `cargo run --release --example replicate`
//!
//! [`SyncEngine`]: convergent::sync::SyncEngine

use std::collections::BTreeMap;

use convergent::{HybridClock, Lattice, LwwRegister, OrMap, OrSet, PnCounter, ReplicaId};
use convergent::{
    sim::{Faults, SimRng, Simulation, Stats, Topology},
    sync::Mode,
};

/// The application's document, composed from the crate's types. `#[derive(Lattice)]` makes the
/// struct one replicated type: join, order, deltas, encoding and validated receipt field by
/// field, and a delta mutator per field (`update_title`, `update_tags`, `update_items`).
#[derive(Clone, Debug, PartialEq, Lattice)]
struct ShoppingList {
    /// Last writer wins (hybrid logical clock timestamps).
    title: LwwRegister<String>,
    /// Add-wins set of tags.
    tags: OrSet<String>,
    /// Item -> quantity; removing an item is an observed reset of the counts it had seen.
    items: OrMap<String, PnCounter>,
}

/// What a user reads.
fn render(doc: &ShoppingList) -> String {
    let items: BTreeMap<&String, i64> = doc.items.iter().map(|(k, q)| (k, q.value())).collect();
    let mut tags: Vec<&String> = doc.tags.iter().collect();
    tags.sort();
    format!("{:?} tags {:?} items {:?}", doc.title.value().map_or("", |s| s.as_str()), tags, items)
}

const NODES: usize = 5;
const ROUNDS: u64 = 60;
const PARTITION: std::ops::Range<u64> = 20..40;
const ITEMS: [&str; 6] = ["milk", "eggs", "bread", "apples", "coffee", "rice"];
const TAGS: [&str; 4] = ["weekly", "party", "veggie", "urgent"];

/// One scripted edit by `node` in `round`: the same script in every mode. Returns the delta.
fn edit(
    doc: &mut ShoppingList,
    me: ReplicaId,
    clock: &mut HybridClock,
    node: usize,
    round: u64,
) -> ShoppingList {
    let mut rng = SimRng::new(0x5eed ^ ((node as u64) << 32) ^ round);
    let item = ITEMS[rng.below(ITEMS.len() as u64) as usize].to_string();
    let tag = TAGS[rng.below(TAGS.len() as u64) as usize].to_string();
    match rng.below(20) {
        0..=8 => doc.update_items(|m| m.update(me, item, |q| q.increment(1 + rng.below(3))).0),
        9..=10 => doc.update_items(|m| m.update(me, item, |q| q.decrement(1)).0),
        11..=12 => doc.update_items(|m| m.remove(me, &item)),
        13..=15 => doc.update_tags(|t| t.insert(me, tag)),
        16..=17 => doc.update_tags(|t| t.remove(me, &tag)),
        _ => {
            // Wall clocks that disagree by up to 2 s: the hybrid clock keeps writes ordered.
            let wall = 1_767_225_600_000 + round * 1_000 + rng.below(2_000);
            doc.update_title(|t| t.write_with(me, clock, wall, format!("list v{round} by node {node}")))
        }
    }
}

/// The conflict the partition makes: one side deletes the milk and retitles, the other side
/// buys more milk and retitles too, concurrently.
fn partition_conflict(sim: &mut Simulation<ShoppingList>, clocks: &mut [HybridClock], round: u64) {
    let wall = 1_767_225_600_000 + round * 1_000;
    sim.update(0, |d, me| d.update_items(|m| m.remove(me, "milk")));
    sim.update(0, |d, me| {
        d.update_title(|t| t.write_with(me, &mut clocks[0], wall, "no dairy this week".into()))
    });
    sim.update(3, |d, me| d.update_items(|m| m.update(me, "milk".into(), |q| q.increment(2)).0));
    sim.update(3, |d, me| {
        d.update_title(|t| t.write_with(me, &mut clocks[3], wall + 500, "party on saturday".into()))
    });
}

/// Runs the script under one sync mode; prints the story if `narrate`. Returns the stats and
/// the rounds it took to converge once the faults stopped; panics if a replica diverges.
fn run(mode: Mode, narrate: bool) -> (Stats, u64) {
    // Two laptops and a phone around a home server, a work laptop and a phone on the office
    // server, the two servers linked, and one phone that also talks to the home laptop.
    let topology = Topology::from_edges(NODES, &[(0, 1), (1, 2), (1, 3), (3, 4), (4, 0)]);
    let mut sim = Simulation::<ShoppingList>::new(topology, mode, 7);
    sim.set_faults(Faults { loss: 0.2, duplicate: 0.1, reorder: true, max_delay: 2, ..Faults::none() });
    let mut clocks: Vec<HybridClock> = (0..NODES).map(|_| HybridClock::new()).collect();
    for round in 0..ROUNDS {
        if round == PARTITION.start {
            sim.partition(&[0, 1, 2]);
            partition_conflict(&mut sim, &mut clocks, round);
            if narrate {
                println!("round {round}: the network splits {{0, 1, 2}} | {{3, 4}}; node 0 removes the milk");
                println!("          and retitles, node 3 buys 2 more milk and retitles, concurrently");
            }
        }
        if round == PARTITION.end {
            sim.heal();
            if narrate {
                println!("round {round}: the partition heals");
            }
        }
        for (node, clock) in clocks.iter_mut().enumerate() {
            if (round + node as u64) % 2 == 0 {
                sim.update(node, |d, me| edit(d, me, clock, node, round));
            }
        }
        sim.step();
        if narrate && (round == PARTITION.end - 1 || round == ROUNDS - 1) {
            println!("round {round}, while edits go on:");
            for node in 0..NODES {
                println!("  node {node}: {}", render(sim.state(node)));
            }
        }
    }
    sim.calm();
    let rounds = sim.run_until_converged(1_000).expect("replicas converge once the faults stop");
    let fin = sim.state(0).clone();
    for node in 1..NODES {
        assert_eq!(sim.state(node), &fin, "node {node} did not converge");
    }
    if narrate {
        println!("edits stop, the network calms: converged after {rounds} more round(s). Every node reads:");
        for node in 0..NODES {
            println!("  node {node}: {}", render(sim.state(node)));
        }
    }
    (*sim.stats(), rounds)
}

fn main() {
    println!("# A shared shopping list on {NODES} replicas, {ROUNDS} rounds of edits");
    println!(
        "# network: 20% loss, 10% duplication, reordering, delays of 0-2 rounds; partition in rounds {}..{}\n",
        PARTITION.start, PARTITION.end
    );
    println!("## Delta sync with BP+RR (the default mode)\n");
    let _ = run(Mode::DeltaBpRr, true);

    println!("\n## Bytes sent for the same edits (compact encoding: payload + metadata)\n");
    println!(
        "| mode | messages | payload bytes | metadata bytes | total bytes | vs BP+RR | rounds to converge |"
    );
    println!("|---|---|---|---|---|---|---|");
    let modes =
        [Mode::FullState, Mode::Delta, Mode::DeltaBp, Mode::DeltaRr, Mode::DeltaBpRr, Mode::DeltaBpRrEcho];
    let results: Vec<(Mode, Stats, u64)> = modes
        .iter()
        .map(|&m| {
            let (s, r) = run(m, false);
            (m, s, r)
        })
        .collect();
    let base = results.iter().find(|r| r.0 == Mode::DeltaBpRr).map_or(1, |r| r.1.bytes()) as f64;
    for (m, s, r) in &results {
        println!(
            "| {m:?} | {} | {} | {} | {} | {:.2}x | {r} |",
            s.messages,
            s.payload_bytes,
            s.metadata_bytes,
            s.bytes(),
            s.bytes() as f64 / base
        );
    }
}
