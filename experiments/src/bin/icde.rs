//! The ICDE 2019 micro-benchmarks of delta synchronisation, reproduced on the simulator, plus
//! the fault-convergence runs and the metadata scaling of BP+RR.
//!
//! ```text
//! cargo run --release -p experiments --bin icde > docs/icde.md  # everything (about 10 minutes)
//! cargo run --release -p experiments --bin icde -- figure1      # transmission tables only
//! cargo run --release -p experiments --bin icde -- faults       # fault convergence only
//! cargo run --release -p experiments --bin icde -- scaling      # metadata scaling only
//! ```
//!
//! Enes, Almeida, Baquero, Leitão, *Efficient Synchronization of State-based CRDTs*, ICDE 2019:
//! 15 nodes on a tree or a 4-regular partial mesh, 100 events per node, one event per node per
//! round, every node syncing with its neighbours every round. Transmission is counted in
//! "entries" (CRDT irreducibles sent, plus 1 per delta-group and 1 per ack) and in bytes of the
//! compact encoding.

use std::collections::{BTreeMap, BTreeSet};

use convergent::{
    Decompose, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId,
    Timestamp,
};
use convergent::{
    sim::{Faults, SimEvent, SimRng, Simulation, Stats, Topology},
    sync::Mode,
};
use serde::{Deserialize, Serialize};
use testkit::gset::GSet;

// ---------------------------------------------------------------------------------------------
// A workload type of our own: the simulator takes any `Lattice + Decompose + serde` type, as a
// user would write it. The crate's own types are used as they are.

/// A grow-only map of LWW registers, as in the paper's G-Map: keys are never removed, values
/// join pointwise; irreducibles are the written keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct GMap(BTreeMap<u32, LwwRegister<u64>>);

impl convergent::wire::Decode for GMap {}

impl Lattice for GMap {
    fn bottom() -> Self {
        GMap::default()
    }
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }
    fn join_ref(&mut self, other: &Self) -> bool {
        let mut changed = false;
        for (k, v) in &other.0 {
            changed |= self.0.entry(*k).or_default().join_ref(v);
        }
        changed
    }
}

impl Decompose for GMap {
    fn decompose(&self) -> Vec<Self> {
        self.0.iter().map(|(k, v)| GMap(BTreeMap::from([(*k, v.clone())]))).collect()
    }
    fn irreducible_count(&self) -> usize {
        self.0.len()
    }
    fn delta(&self, other: &Self) -> Self {
        GMap(
            self.0
                .iter()
                .filter(|(k, v)| other.0.get(k).is_none_or(|o| !v.leq(o)))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        )
    }
}

/// The G-Map K% workload: node `i` owns keys `67 i .. 67 i + 67`; each event writes `k` of them,
/// chosen at random (seeded by node and round), with LWW values stamped by the round.
fn gmap_keys(i: usize, round: u64, k: u64) -> Vec<u32> {
    let mut rng = SimRng::new((i as u64) << 32 | round);
    let mut own: Vec<u32> = (0..67).map(|j| (i * 67 + j) as u32).collect();
    rng.shuffle(&mut own);
    own.truncate(k as usize);
    own
}

// ---------------------------------------------------------------------------------------------
// Figure 1: transmission relative to BP+RR.

/// One event: `(state, replica, node, round) -> delta`.
type Op<L> = dyn Fn(&mut L, ReplicaId, usize, u64) -> L;

/// Runs `events` rounds of one event per node, then rounds until every state is equal.
/// Also returns the network lower bound: `(N - 1) x` the irreducibles of every local delta.
fn run<L>(topology: &Topology, mode: Mode, events: u64, op: &Op<L>) -> (Stats, u64)
where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq,
{
    let n = topology.len();
    let mut sim = Simulation::<L>::new(topology.clone(), mode, 0);
    let mut new = 0;
    for round in 0..events {
        for i in 0..n {
            sim.update(i, |s, me| {
                let d = op(s, me, i, round);
                new += d.irreducible_count() as u64;
                d
            });
        }
        sim.step();
    }
    sim.run_until_converged(10_000).expect("converges");
    (*sim.stats(), (n as u64 - 1) * new)
}

/// Every mode on one workload: the counters, and the lower bound.
fn cell<L>(topology: &Topology, events: u64, op: &Op<L>) -> (Vec<Stats>, u64)
where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq,
{
    let runs: Vec<(Stats, u64)> = MODES.iter().map(|&m| run(topology, m, events, op)).collect();
    let floor = runs[0].1;
    (runs.into_iter().map(|r| r.0).collect(), floor)
}

const MODES: [Mode; 7] = Mode::ALL;

/// Published ratios to BP+RR (state, classic, bp, rr), from the authors' raw data.
fn published(workload: &str, topo: &str) -> [&'static str; 4] {
    let workload =
        if workload.starts_with("G-Set") { "G-Set" } else { workload.trim_end_matches(" as OrMap") };
    match (workload, topo) {
        ("G-Set", "mesh") => ["58.4", "56.9", "56.7", "1.26"],
        ("G-Set", "tree") => ["82.0", "41-81", "1.00", "1.79"],
        ("G-Counter", "mesh") => ["1.12", "1.27", "1.27", "1.26"],
        ("G-Counter", "tree") => ["1.60", "1.80", "1.00", "1.79"],
        ("G-Map 10%", "tree") => ["17.4", "~state", "1.00", "1.96-1.99"],
        ("G-Map 30%", "tree") => ["6.23", "~state", "1.00", "1.96-1.99"],
        ("G-Map 60%", "tree") => ["3.26", "~state", "1.00", "1.96-1.99"],
        ("G-Map 100%", "tree") => ["2.03", "~state", "1.00", "1.96-1.99"],
        ("G-Map 10%", "mesh") => ["11.1", "~state", "~state", "1.30"],
        ("G-Map 30%", "mesh") => ["4.03", "~state", "~state", "1.30"],
        ("G-Map 60%", "mesh") => ["2.11", "~state", "~state", "1.30"],
        ("G-Map 100%", "mesh") => ["1.33", "~state", "~state", "1.30"],
        _ => ["", "", "", ""],
    }
}

fn figure1() {
    eprintln!("figure 1: 22 workload x topology cells, 7 modes each (a few minutes in release)...");
    let events = 100;
    let tree = Topology::icde_tree();
    let mesh = Topology::icde_mesh();
    let gset: &Op<GSet> = &|s, _, i, r| s.add(r * 1000 + i as u64);
    let gcounter: &Op<GCounter> = &|s, me, _, _| s.increment(me, 1);
    let orset: &Op<OrSet<u64>> = &|s, me, i, r| s.insert(me, r * 1000 + i as u64);
    let mut rows: Vec<(String, &str, Vec<Stats>, u64)> = Vec::new();
    let gmaps: Vec<(u64, u64)> = vec![(10, 7), (30, 21), (60, 41), (100, 67)];
    for (topo_name, topo) in [("tree", &tree), ("mesh", &mesh)] {
        {
            let (st, fl) = cell(topo, events, gset);
            rows.push(("G-Set".into(), topo_name, st, fl));
        }
        {
            let (st, fl) = cell(topo, events, orset);
            rows.push(("G-Set as add-only OrSet".into(), topo_name, st, fl));
        }
        for &(pct, k) in &gmaps {
            let gmap: &Op<GMap> = &move |s, me, i, r| {
                let mut d = GMap::default();
                for key in gmap_keys(i, r, k) {
                    let reg = s.0.entry(key).or_default();
                    let dv = reg.write(me, Timestamp::from_parts(r + 1, 0), r);
                    d.0.insert(key, dv);
                }
                d
            };
            {
                let (st, fl) = cell(topo, events, gmap);
                rows.push((format!("G-Map {pct}%"), topo_name, st, fl));
            }
            let ormap: &Op<OrMap<u32, LwwRegister<u64>>> = &move |s, me, i, r| {
                s.mutate(me, |h| {
                    for key in gmap_keys(i, r, k) {
                        h.update(key, |v| v.write_at(Timestamp::from_parts(r + 1, 0), r));
                    }
                })
                .0
            };
            {
                let (st, fl) = cell(topo, events, ormap);
                rows.push((format!("G-Map {pct}% as OrMap"), topo_name, st, fl));
            }
        }
        {
            let (st, fl) = cell(topo, events, gcounter);
            rows.push(("G-Counter".into(), topo_name, st, fl));
        }
    }

    let floor = 14 * 15 * events; // (N - 1) x new irreducibles, for G-Set and G-Counter
    println!("## Figure 1: transmission relative to delta BP+RR (15 nodes, {events} events per node)\n");
    println!(
        "Network lower bound (\"floor\"): (N-1) x the irreducibles of every local delta: {floor} CRDT entries"
    );
    println!("for G-Set and G-Counter. G-Map K%: node i owns 67 keys, each event writes K% of them (random");
    println!(
        "subset) with LWW values; \"G-Map\" is a grow-only map of LWW registers as in the paper, \"as OrMap\""
    );
    println!(
        "the crate's OrMap of LwwRegister, whose irreducibles also count every overwritten (removed) dot:"
    );
    println!("its state-based entries therefore grow with history, while its bytes (ranges) do not.\n");
    println!("### In entries (irreducibles + 1 per delta-group + 1 per ack); measured (published)\n");
    println!(
        "| Workload | Topology | State-based | Classic delta | BP only | RR only | BP+RR entries | BP+RR CRDT entries / floor | BP+RR+echo | BP+RR+echo+defer | echo CRDT entries / floor | echo+defer CRDT entries / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (w, t, s, floor) in &rows {
        let base = s[4].entries() as f64;
        let p = published(w, t);
        println!(
            "| {w} | {t} | {:.2} ({}) | {:.2} ({}) | {:.2} ({}) | {:.2} ({}) | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            s[0].entries() as f64 / base,
            p[0],
            s[1].entries() as f64 / base,
            p[1],
            s[2].entries() as f64 / base,
            p[2],
            s[3].entries() as f64 / base,
            p[3],
            s[4].entries(),
            s[4].payload_entries as f64 / *floor as f64,
            s[5].entries() as f64 / base,
            s[6].entries() as f64 / base,
            s[5].payload_entries as f64 / *floor as f64,
            s[6].payload_entries as f64 / *floor as f64,
        );
    }
    println!("\n### In bytes (postcard; payload + metadata), relative to BP+RR\n");
    println!(
        "| Workload | Topology | State-based | Classic delta | BP only | RR only | BP+RR bytes (metadata) | BP+RR+echo | BP+RR+echo+defer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (w, t, s, _) in &rows {
        let base = s[4].bytes() as f64;
        println!(
            "| {w} | {t} | {:.2} | {:.2} | {:.2} | {:.2} | {} ({}) | {:.2} | {:.2} |",
            s[0].bytes() as f64 / base,
            s[1].bytes() as f64 / base,
            s[2].bytes() as f64 / base,
            s[3].bytes() as f64 / base,
            s[4].bytes(),
            s[4].metadata_bytes,
            s[5].bytes() as f64 / base,
            s[6].bytes() as f64 / base,
        );
    }
    println!("\n### Raw counts\n");
    println!(
        "| Workload | Topology | Mode | messages | CRDT entries | metadata entries | payload bytes | metadata bytes | rounds |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (w, t, s, _) in &rows {
        for (m, st) in MODES.iter().zip(s) {
            println!(
                "| {w} | {t} | {} | {} | {} | {} | {} | {} | {} |",
                m.name(),
                st.messages,
                st.payload_entries,
                st.metadata_entries,
                st.payload_bytes,
                st.metadata_bytes,
                st.rounds
            );
        }
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// Figure 4: metadata scaling of BP+RR.

fn scaling() {
    println!("## Metadata of delta BP+RR on partial meshes (i±1, i±4), G-Set, 100 events per node\n");
    println!(
        "| N | rounds | metadata bytes / node / round | metadata entries / node / round | CRDT entries / floor |"
    );
    println!("|---|---|---|---|---|");
    let gset: &Op<GSet> = &|s, _, i, r| s.add(r * 100_000 + i as u64);
    for n in [16usize, 32, 64, 256] {
        let (s, _) = run(&Topology::partial_mesh(n), Mode::DeltaBpRr, 100, gset);
        let nr = (n as u64 * s.rounds) as f64;
        let floor = ((n - 1) * n * 100) as f64;
        println!(
            "| {n} | {} | {:.2} | {:.2} | {:.2} |",
            s.rounds,
            s.metadata_bytes as f64 / nr,
            s.metadata_entries as f64 / nr,
            s.payload_entries as f64 / floor
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// Figure 3: convergence under faults.

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    runs: u64,
    converged: u64,
    attempted: u64,
    acknowledged: u64,
    lost_with_disk: u64,
    lost: u64,
    unexpected: u64,
    mismatches: u64,
    stats: Stats,
}

fn add(t: &mut Stats, s: &Stats) {
    t.messages += s.messages;
    t.lost += s.lost;
    t.duplicated += s.duplicated;
    t.undeliverable += s.undeliverable;
    t.rejected += s.rejected;
    t.crashes += s.crashes;
    t.restarts += s.restarts;
    t.wipes += s.wipes;
    t.snapshot_messages += s.snapshot_messages;
    t.payload_bytes += s.payload_bytes;
    t.metadata_bytes += s.metadata_bytes;
}

/// A set-like type for Jepsen's set checker: add an element, list the elements.
trait SetLike: Lattice + Decompose + convergent::wire::Decode + PartialEq + Clone {
    fn add_element(&mut self, me: ReplicaId, x: u64) -> Self;
    fn elements(&self) -> BTreeSet<u64>;
}

impl SetLike for GSet {
    fn add_element(&mut self, _: ReplicaId, x: u64) -> Self {
        self.add(x)
    }
    fn elements(&self) -> BTreeSet<u64> {
        self.0.clone()
    }
}

impl SetLike for OrSet<u64> {
    fn add_element(&mut self, me: ReplicaId, x: u64) -> Self {
        self.insert(me, x)
    }
    fn elements(&self) -> BTreeSet<u64> {
        self.iter().copied().collect()
    }
}

/// One seeded run of distinct adds with Jepsen's set checker; returns the final state if it
/// converged.
fn set_fault_run<L: SetLike>(
    mode: Mode,
    seed: u64,
    ops: u64,
    faults: Faults,
    pace: u32,
    tally: &mut Tally,
) -> Option<L> {
    let n = 5;
    let mut sim = Simulation::<L>::new(Topology::full_mesh(n), mode, seed);
    sim.set_resend_after(pace);
    sim.set_faults(faults);
    let mut work = SimRng::new(seed ^ 0x5EED);
    let mut acked: BTreeMap<u64, ReplicaId> = BTreeMap::new();
    let mut lost_with_disk = BTreeSet::new();
    let mut note_wipes = |sim: &mut Simulation<L>, acked: &BTreeMap<u64, ReplicaId>| {
        for e in sim.take_events() {
            if let SimEvent::Wiped { old, .. } = e {
                let alive: BTreeSet<u64> = (0..sim.len()).flat_map(|i| sim.state(i).elements()).collect();
                lost_with_disk.extend(
                    acked.iter().filter(|(x, by)| **by == old && !alive.contains(x)).map(|(x, _)| *x),
                );
            }
        }
    };
    for x in 0..ops {
        let i = work.below(n as u64) as usize;
        if sim.update(i, |s, me| s.add_element(me, x)) {
            acked.insert(x, sim.replica_id(i));
        }
        if x % 5 == 4 {
            sim.step();
            note_wipes(&mut sim, &acked);
        }
    }
    sim.calm();
    let ok = sim.run_until_converged(2_000).is_some();
    note_wipes(&mut sim, &acked);
    tally.runs += 1;
    tally.attempted += ops;
    tally.acknowledged += acked.len() as u64;
    tally.lost_with_disk += lost_with_disk.len() as u64;
    add(&mut tally.stats, sim.stats());
    if !ok {
        return None;
    }
    tally.converged += 1;
    let fin = sim.state(0).clone();
    let present = fin.elements();
    tally.lost += acked.keys().filter(|x| !lost_with_disk.contains(x) && !present.contains(x)).count() as u64;
    tally.unexpected += present.iter().filter(|x| **x >= ops).count() as u64;
    Some(fin)
}

/// The set-checker table of one set-like type: chaos with lost disks, then delta sync against
/// full-state sync on the same adds (no crashes, so every add is acknowledged whatever the mode).
fn set_table<L: SetLike>(name: &str, seeds: u64, ops: u64) {
    let wipes = Faults { wipe: 0.2, ..Faults::chaos() };
    let no_crash = Faults { crash: 0.0, ..Faults::chaos() };
    for mode in MODES {
        let mut t = Tally::default();
        for seed in 0..seeds {
            set_fault_run::<L>(mode, seed, ops, wipes, 1, &mut t);
        }
        for seed in 0..seeds {
            let mut scratch = Tally::default();
            let full = set_fault_run::<L>(Mode::FullState, seed, ops, no_crash, 1, &mut scratch);
            let this = set_fault_run::<L>(mode, seed, ops, no_crash, 1, &mut scratch);
            if full.is_none() || full != this {
                t.mismatches += 1;
            }
        }
        print_tally(name, mode.name(), &t);
    }
    // Retransmission paced to every 4th poll (the round trip here is up to 6 rounds).
    let mut t = Tally::default();
    for seed in 0..seeds {
        set_fault_run::<L>(Mode::DeltaBpRr, seed, ops, wipes, 4, &mut t);
    }
    print_tally(name, "bp+rr, resend after 4 polls", &t);
}

/// One seeded run of a random workload: with crashes that keep the disk, every operation is
/// durable, so the converged state must be the join of every delta made, which is exactly where
/// full-state sync of the same operations ends.
fn oracle_run<L>(
    mode: Mode,
    seed: u64,
    ops: u64,
    faults: Faults,
    op: &dyn Fn(&mut SimRng, &mut L, ReplicaId, u64) -> L,
    tally: &mut Tally,
) where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq + Clone,
{
    let mut sim = Simulation::<L>::new(Topology::full_mesh(5), mode, seed);
    sim.set_faults(faults);
    let mut work = SimRng::new(seed ^ 0x0AC1E);
    let mut deltas = Vec::new();
    for k in 0..ops {
        let i = work.below(5) as usize;
        let round = sim.round();
        if sim.update(i, |s, me| {
            let d = op(&mut work, s, me, round);
            deltas.push(d.clone());
            d
        }) {
            tally.acknowledged += 1;
        }
        if k % 5 == 4 {
            sim.step();
        }
    }
    sim.calm();
    let ok = sim.run_until_converged(2_000).is_some();
    tally.runs += 1;
    tally.attempted += ops;
    add(&mut tally.stats, sim.stats());
    if ok {
        tally.converged += 1;
        if sim.state(0) != &convergent::Lattice::join_all(deltas) {
            tally.mismatches += 1;
        }
    }
}

fn oracle_table<L>(name: &str, seeds: u64, ops: u64, op: &dyn Fn(&mut SimRng, &mut L, ReplicaId, u64) -> L)
where
    L: Lattice + Decompose + convergent::wire::Decode + PartialEq + Clone,
{
    for mode in MODES {
        let mut t = Tally::default();
        for seed in 0..seeds {
            oracle_run(mode, seed, ops, Faults::chaos(), op, &mut t);
        }
        print_tally(name, mode.name(), &t);
    }
}

fn faults() {
    let seeds = 100;
    let ops = 500;
    println!("## Convergence under faults: {seeds} seeds x 5 replicas x {ops} operations per mode\n");
    println!("Faults while operations run: 20% loss, 10% duplication, reordering, delays of 0-3 rounds,");
    println!("crashes (2% per replica-round; restarts 50% per round; in the G-Set runs 20% of restarts lose");
    println!("the disk and come back under a new id), random partitions (5% per round, healing 25%).");
    println!(
        "Then the faults stop, and the replicas sync until their states are equal (at most 2000 rounds)."
    );
    println!(
        "G-Set and OrSet (adds): Jepsen's set checker (lost = acknowledged adds missing at the end, except those whose"
    );
    println!("only copy was on a wiped disk; unexpected = elements never added); mismatches = end state of");
    println!("this mode differs from full-state sync of the same adds (runs without crashes). Other types:");
    println!("mismatches = end state differs from the join of every delta made (full-state sync's end).\n");
    println!(
        "| Type | Mode | runs | converged | attempted | applied | lost with a wiped disk | lost | unexpected | delta vs full-state mismatches | messages | lost msgs | dup msgs | crashes | wipes | snapshots | bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    set_table::<GSet>("G-Set", seeds, ops);
    set_table::<OrSet<u64>>("OrSet, adds", seeds, ops);
    // Adds and removes over 8 elements, to force conflicts (as AntidoteDB's tests do with {a, b}).
    oracle_table::<OrSet<u64>>("OrSet, add/remove", seeds, ops, &|w, s, me, _| {
        let x = w.below(8);
        if w.chance(0.6) { s.insert(me, x) } else { s.remove(me, &x) }
    });
    oracle_table::<OrMap<u8, OrSet<u8>>>("OrMap of OrSet", seeds, ops, &|w, m, me, _| {
        testkit::workload::map_of_sets(w, m, me)
    });
    oracle_table::<MvRegister<u64>>("MvRegister", seeds, ops, &|w, r, me, _| {
        testkit::workload::mv_register(w, r, me)
    });
    oracle_table::<EwFlag>("EwFlag", seeds, ops, &|w, f, me, _| {
        if w.chance(0.5) { f.enable(me) } else { f.disable(me) }
    });
    oracle_table::<GCounter>("GCounter", seeds, ops, &|w, c, me, _| c.increment(me, 1 + w.below(3)));
    oracle_table::<PnCounter>("PnCounter", seeds, ops, &|w, c, me, _| {
        if w.chance(0.5) { c.increment(me, 1 + w.below(3)) } else { c.decrement(me, 1 + w.below(3)) }
    });
    oracle_table::<LwwRegister<u64>>("LwwRegister", seeds, ops, &|w, r, me, round| {
        // Wall clocks a little apart: some writes lose to a later one they never saw.
        let ts = Timestamp::from_parts(1_000 + round * 10 + w.below(30), 0);
        r.write(me, ts, w.below(1_000))
    });
    println!();
}

fn print_tally(ty: &str, mode: &str, t: &Tally) {
    let s = &t.stats;
    println!(
        "| {ty} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        mode,
        t.runs,
        t.converged,
        t.attempted,
        t.acknowledged,
        t.lost_with_disk,
        t.lost,
        t.unexpected,
        t.mismatches,
        s.messages,
        s.lost,
        s.duplicated,
        s.crashes,
        s.wipes,
        s.snapshot_messages,
        s.bytes()
    );
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if what == "all" {
        println!(
            "<!-- Output of `cargo run --release -p experiments --bin icde > docs/icde.md` \
             (deterministic: every run prints these numbers). -->\n"
        );
    }
    if what == "all" || what == "figure1" {
        figure1();
    }
    if what == "all" || what == "scaling" {
        scaling();
    }
    if what == "all" || what == "faults" {
        faults();
    }
}
