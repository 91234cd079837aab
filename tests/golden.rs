//! Golden vectors pinning the wire format, and determinism of the encoding.
//!
//! * [`golden_vectors`]: every value of `tests/data/vectors.rs`, rebuilt from its history, must
//!   encode to exactly the bytes of `tests/data/<name>.bin` and the JSON of
//!   `tests/data/<name>.json`, and both stored files must decode back to the value. A change that
//!   alters the format fails here. If the change is deliberate, bump `wire::FORMAT_VERSION` when
//!   old bytes no longer decode to the same value, then regenerate with
//!   `CONVERGENT_BLESS=1 cargo test --all-features --test golden` and commit `tests/data/`.
//!   Without `CONVERGENT_BLESS=1` nothing is ever written.
//! * [`version_byte_is_checked`]: the first byte is `wire::FORMAT_VERSION`; every other value
//!   of it is refused (and a message's second byte is `PROTOCOL_VERSION`).
//! * The `determinism_*` tests: the bytes of a state depend only on the state, not on the
//!   history that built it, the order of merges, or the hash seeds (hashbrown's default hasher,
//!   foldhash, seeds every map instance differently, and every process differently).
#![cfg(feature = "serde")]

#[path = "data/vectors.rs"]
mod vectors;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;

use convergent::sync::{Message, PROTOCOL_VERSION};
use convergent::{
    CausalCounter, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId,
    Timestamp, wire,
};
use testkit::Rng;
use vectors::{A, B, C, Golden, Map3};

const BLESS_HINT: &str = "If this change of the wire format is deliberate: bump wire::FORMAT_VERSION if \
     existing bytes no longer decode to the same value, then regenerate the vectors with\n\n    \
     CONVERGENT_BLESS=1 cargo test --all-features --test golden\n\nreview `git diff tests/data/` \
     and commit it together with the change (and a CHANGELOG entry).";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data")
}

fn blessing() -> bool {
    std::env::var("CONVERGENT_BLESS").is_ok_and(|v| v == "1")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where two byte strings first differ, shown with some context.
fn byte_diff(found: &[u8], stored: &[u8]) -> String {
    let at = found.iter().zip(stored).position(|(a, b)| a != b).unwrap_or(found.len().min(stored.len()));
    let lo = at.saturating_sub(8);
    format!(
        "lengths: built {} bytes, stored {} bytes; first difference at offset {at}\n  built  [{lo}..]: {}\n  stored [{lo}..]: {}",
        found.len(),
        stored.len(),
        hex(&found[lo.min(found.len())..(at + 16).min(found.len())]),
        hex(&stored[lo.min(stored.len())..(at + 16).min(stored.len())]),
    )
}

#[test]
fn golden_vectors() {
    let dir = data_dir();
    let bless = blessing();
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    for v in vectors::all() {
        let name = v.name();
        assert!(names.insert(name), "vector name {name} used twice");
        let bytes = v.bytes();
        let json = format!("{}\n", v.json());
        let (bin_path, json_path) = (dir.join(format!("{name}.bin")), dir.join(format!("{name}.json")));
        // The freshly built value round-trips by itself, whatever is stored.
        if let Err(e) = v.check_stored(&bytes, &json) {
            failures.push(format!("{name}: the built value does not round-trip: {e}"));
            continue;
        }
        if bless {
            if std::fs::read(&bin_path).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&bin_path, &bytes).expect("write .bin");
                eprintln!("blessed {}", bin_path.display());
            }
            if std::fs::read_to_string(&json_path).ok().as_deref() != Some(&json[..]) {
                std::fs::write(&json_path, &json).expect("write .json");
                eprintln!("blessed {}", json_path.display());
            }
            continue;
        }
        match std::fs::read(&bin_path) {
            Err(e) => failures.push(format!("{name}: cannot read {}: {e}", bin_path.display())),
            Ok(stored) if stored != bytes => failures.push(format!(
                "{name}: the compact encoding changed ({}):\n{}",
                bin_path.display(),
                byte_diff(&bytes, &stored)
            )),
            Ok(stored) => {
                if let Err(e) = v.check_stored(&stored, &json) {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
        match std::fs::read_to_string(&json_path) {
            Err(e) => failures.push(format!("{name}: cannot read {}: {e}", json_path.display())),
            Ok(stored) if stored != json => failures.push(format!(
                "{name}: the JSON changed ({}):\n--- stored\n{stored}--- built\n{json}",
                json_path.display()
            )),
            Ok(stored) => {
                if let Err(e) = v.check_stored(&bytes, &stored) {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden vector check(s) failed:\n\n{}\n\n{BLESS_HINT}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every file in `tests/data/` belongs to a vector (a vector removed or renamed leaves no stale
/// file behind), and every vector has both files.
#[test]
fn no_stray_or_missing_files() {
    if blessing() {
        return;
    }
    let expected: BTreeSet<String> = vectors::all()
        .iter()
        .flat_map(|v| [format!("{}.bin", v.name()), format!("{}.json", v.name())])
        .chain(["vectors.rs".to_string()])
        .collect();
    let found: BTreeSet<String> = std::fs::read_dir(data_dir())
        .expect("tests/data exists")
        .map(|e| e.expect("dir entry").file_name().into_string().expect("utf-8 file name"))
        .collect();
    let stray: Vec<_> = found.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    assert!(
        stray.is_empty() && missing.is_empty(),
        "stray files {stray:?}, missing files {missing:?}\n{BLESS_HINT}"
    );
}

/// The first byte of every encoding is the format version; every other first byte is refused, as
/// is the empty input. Messages carry the protocol version next, and refuse any other.
#[test]
fn version_byte_is_checked() {
    for v in vectors::all() {
        let bytes = v.bytes();
        assert_eq!(bytes[0], wire::FORMAT_VERSION, "{}: first byte", v.name());
        assert!(matches!(v.try_input(&bytes), Ok(vectors::Outcome::AcceptedValid)), "{}", v.name());
        assert!(matches!(v.try_input(&[]), Ok(vectors::Outcome::Rejected(_))), "{}: empty input", v.name());
        for other in (0..=255u8).filter(|&b| b != wire::FORMAT_VERSION) {
            let mut m = bytes.clone();
            m[0] = other;
            match v.try_input(&m) {
                Ok(vectors::Outcome::Rejected(e)) => assert!(!e.is_empty()),
                r => panic!("{}: version byte {other} was not refused: {r:?}", v.name()),
            }
        }
        if v.name().starts_with("message_") {
            assert_eq!(bytes[1], PROTOCOL_VERSION, "{}: second byte", v.name());
            for other in (0..=255u8).filter(|&b| b != PROTOCOL_VERSION) {
                let mut m = bytes.clone();
                m[1] = other;
                assert!(
                    matches!(v.try_input(&m), Ok(vectors::Outcome::Rejected(_))),
                    "{}: protocol byte {other} was not refused",
                    v.name()
                );
            }
        }
    }
    // The documented layout of the smallest message: versions, tag 3 (Ack), varint 300.
    assert_eq!(
        Message::<EwFlag>::Ack { seq: 300 }.to_bytes(),
        [wire::FORMAT_VERSION, PROTOCOL_VERSION, 3, 0xac, 0x02]
    );
    assert_eq!(wire::to_bytes(&GCounter::new()), [wire::FORMAT_VERSION, 0]);
}

// ---------------------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------------------

const REPLICAS: [ReplicaId; 3] = [A, B, C];

/// The outcome of one simulated history.
struct History<T> {
    /// Every replica's state after a final full exchange (all equal).
    finals: Vec<T>,
    /// Every delta made, in the order made.
    deltas: Vec<T>,
}

/// Three replicas doing local operations (`op` returns the delta), exchanging random windows of
/// each other's pending deltas in shuffled order (so deltas arrive out of causal order,
/// duplicated, and contexts get gaps), occasionally merging whole states; then a final exchange
/// of everything in a random order.
fn simulate<T: Lattice + Clone + PartialEq + Debug>(
    seed: u64,
    steps: usize,
    mut op: impl FnMut(&mut T, ReplicaId, &mut Rng) -> T,
) -> History<T> {
    let mut rng = Rng::new(seed);
    let mut states: Vec<T> = (0..3).map(|_| T::bottom()).collect();
    // inbox[i]: deltas not yet delivered to replica i.
    let mut inbox: Vec<Vec<T>> = vec![Vec::new(); 3];
    let mut deltas = Vec::new();
    for _ in 0..steps {
        let i = rng.below(3);
        match rng.below(10) {
            0..=5 => {
                let d = op(&mut states[i], REPLICAS[i], &mut rng);
                for (j, ib) in inbox.iter_mut().enumerate() {
                    if j != i {
                        ib.push(d.clone());
                    }
                }
                deltas.push(d);
            }
            6..=8 => {
                // Deliver a random subset of the inbox, shuffled; some deltas are duplicated.
                let mut pending = std::mem::take(&mut inbox[i]);
                rng.shuffle(&mut pending);
                let k = rng.below(pending.len() + 1);
                let later = pending.split_off(k);
                for d in pending {
                    if rng.chance(10) {
                        states[i].join_ref(&d);
                    }
                    states[i].join(d);
                }
                inbox[i] = later;
            }
            _ => {
                let j = rng.below(3);
                let other = states[j].clone();
                states[i].join(other);
            }
        }
    }
    for (i, ib) in inbox.iter_mut().enumerate() {
        let mut pending = std::mem::take(ib);
        rng.shuffle(&mut pending);
        for d in pending {
            states[i].join(d);
        }
    }
    History { finals: states, deltas }
}

/// The join of `items` grouped as a random binary tree.
fn tree_join<T: Lattice + Clone>(mut items: Vec<T>, rng: &mut Rng) -> T {
    if items.is_empty() {
        return T::bottom();
    }
    while items.len() > 1 {
        let i = rng.below(items.len() - 1);
        let b = items.remove(i + 1);
        items[i].join(b);
    }
    items.pop().expect("one left")
}

/// For one type: many histories; in each, every replica's final state, and the join of all the
/// deltas in several random orders and groupings, must be the same state with the same bytes;
/// those bytes must decode and re-encode to themselves. Returns the bytes of each history.
fn check_determinism<T: Golden + Lattice>(
    what: &str,
    seeds: std::ops::Range<u64>,
    steps: usize,
    mut op: impl FnMut(&mut T, ReplicaId, &mut Rng) -> T,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for seed in seeds {
        let h = simulate::<T>(seed, steps, &mut op);
        let reference = h.finals[0].clone();
        let bytes = reference.encode();
        for (i, f) in h.finals.iter().enumerate() {
            assert_eq!(f, &reference, "{what} seed {seed}: replica {i} did not converge");
            assert_eq!(f.encode(), bytes, "{what} seed {seed}: replica {i} encodes differently");
        }
        let mut rng = Rng::new(seed ^ 0xFFFF);
        for round in 0..6 {
            let mut ds = h.deltas.clone();
            rng.shuffle(&mut ds);
            let joined = if round % 2 == 0 {
                let mut acc = T::bottom();
                for d in ds {
                    acc.join(d);
                }
                acc
            } else {
                tree_join(ds, &mut rng)
            };
            assert_eq!(joined, reference, "{what} seed {seed} round {round}: join of all deltas");
            assert_eq!(
                hex(&joined.encode()),
                hex(&bytes),
                "{what} seed {seed} round {round}: same state, different bytes"
            );
        }
        let back = T::decode(&bytes).unwrap_or_else(|e| panic!("{what} seed {seed}: {e}"));
        assert_eq!(back, reference, "{what} seed {seed}: decode");
        assert_eq!(back.encode(), bytes, "{what} seed {seed}: decode then encode");
        // A clone made through JSON (fresh maps, fresh hash seeds) encodes the same too.
        let via_json: T =
            serde_json::from_str(&serde_json::to_string(&reference).expect("json")).expect("json back");
        assert_eq!(via_json.encode(), bytes, "{what} seed {seed}: JSON round trip changed the bytes");
        out.push(bytes);
    }
    out
}

fn word(rng: &mut Rng, n: usize) -> String {
    const WORDS: [&str; 12] =
        ["apple", "pear", "plum", "fig", "kiwi", "lime", "date", "yuzu", "sloe", "quince", "grape", "melon"];
    WORDS[rng.below(n.min(WORDS.len()))].to_string()
}

fn op_orset_u64(s: &mut OrSet<u64>, r: ReplicaId, rng: &mut Rng) -> OrSet<u64> {
    let x = rng.below(40) as u64 * 1_000_003;
    match rng.below(10) {
        0..=5 => s.insert(r, x),
        6..=8 => s.remove(r, &x),
        _ => s.clear(r),
    }
}

fn op_orset_string(s: &mut OrSet<String>, r: ReplicaId, rng: &mut Rng) -> OrSet<String> {
    let x = word(rng, 12);
    if rng.chance(60) { s.insert(r, x) } else { s.remove(r, &x) }
}

fn op_map_sets(
    m: &mut OrMap<String, OrSet<String>>,
    r: ReplicaId,
    rng: &mut Rng,
) -> OrMap<String, OrSet<String>> {
    let k = word(rng, 5);
    let x = word(rng, 8);
    match rng.below(10) {
        0..=4 => {
            m.update(r, k, |s| {
                s.insert(x);
            })
            .0
        }
        5..=7 => {
            m.update(r, k, |s| {
                s.remove(&x);
            })
            .0
        }
        _ => m.remove(r, &k),
    }
}

fn op_map3(m: &mut Map3, r: ReplicaId, rng: &mut Rng) -> Map3 {
    let (k1, k2, k3) = (word(rng, 3), rng.below(4) as u64, word(rng, 3));
    let v = rng.next_u64() % 1000;
    match rng.below(10) {
        0..=5 => m.update(r, k1, |l2| l2.update(k2, |l3| l3.update(k3, |reg| reg.write(v)))).0,
        6 => m.update(r, k1, |l2| l2.update(k2, |l3| l3.remove(&k3))).0,
        7 => m.update(r, k1, |l2| l2.remove(&k2)).0,
        8 => m.remove(r, &k1),
        _ => {
            m.mutate(r, |h| {
                h.update(word(rng, 3), |l2| {
                    l2.update(0, |l3| l3.update(String::from("x"), |reg| reg.write(1)))
                });
                h.remove(&word(rng, 3));
            })
            .0
        }
    }
}

fn op_map_counters(
    m: &mut OrMap<String, CausalCounter>,
    r: ReplicaId,
    rng: &mut Rng,
) -> OrMap<String, CausalCounter> {
    let k = word(rng, 6);
    let n = rng.next_u64() % 50;
    match rng.below(10) {
        0..=4 => m.update(r, k, |c| c.increment(n)).0,
        5..=7 => m.update(r, k, |c| c.decrement(n)).0,
        _ => m.remove(r, &k),
    }
}

fn op_map_lww(
    m: &mut OrMap<String, LwwRegister<String>>,
    r: ReplicaId,
    rng: &mut Rng,
) -> OrMap<String, LwwRegister<String>> {
    let k = word(rng, 4);
    // Few distinct timestamps: ties between replicas are common.
    let t = Timestamp::from_parts(vectors::T0_MS + rng.next_u64() % 5, (rng.next_u64() % 2) as u16);
    let v = word(rng, 12);
    if rng.chance(80) {
        m.update(r, k, |reg| {
            reg.write_at(t, v);
        })
        .0
    } else {
        m.remove(r, &k)
    }
}

fn op_mvreg(m: &mut MvRegister<String>, r: ReplicaId, rng: &mut Rng) -> MvRegister<String> {
    if rng.chance(85) { m.write(r, word(rng, 12)) } else { m.clear(r) }
}

fn op_flag(f: &mut EwFlag, r: ReplicaId, rng: &mut Rng) -> EwFlag {
    if rng.chance(50) { f.enable(r) } else { f.disable(r) }
}

fn op_pn(c: &mut PnCounter, r: ReplicaId, rng: &mut Rng) -> PnCounter {
    let n = rng.next_u64() % 300;
    if rng.chance(50) { c.increment(r, n) } else { c.decrement(r, n) }
}

/// Runs every determinism scenario on `seeds`, returning `(scenario, bytes)` per history.
fn all_scenarios(seeds: std::ops::Range<u64>, steps: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |what: &str, bs: Vec<Vec<u8>>| {
        for (i, b) in bs.into_iter().enumerate() {
            out.push((format!("{what}#{i}"), b));
        }
    };
    push("orset_u64", check_determinism::<OrSet<u64>>("orset_u64", seeds.clone(), steps, op_orset_u64));
    push(
        "orset_string",
        check_determinism::<OrSet<String>>("orset_string", seeds.clone(), steps, op_orset_string),
    );
    push("map_sets", check_determinism("map_sets", seeds.clone(), steps, op_map_sets));
    push("map3", check_determinism("map3", seeds.clone(), steps, op_map3));
    push("map_counters", check_determinism("map_counters", seeds.clone(), steps, op_map_counters));
    push("map_lww", check_determinism("map_lww", seeds.clone(), steps, op_map_lww));
    push("mvreg", check_determinism("mvreg", seeds.clone(), steps, op_mvreg));
    push("flag", check_determinism("flag", seeds.clone(), steps, op_flag));
    push("pncounter", check_determinism("pncounter", seeds, steps, op_pn));
    out
}

#[test]
fn determinism_across_histories_merge_orders_and_map_instances() {
    let out = all_scenarios(0..12, 160);
    assert_eq!(out.len(), 9 * 12);
    // The histories are not trivial: most end in a non-empty state.
    let non_trivial = out.iter().filter(|(_, b)| b.len() > 20).count();
    assert!(non_trivial > out.len() / 2, "only {non_trivial} of {} histories end non-trivially", out.len());
}

/// The same elements reaching a set by very different routes: inserted one by one and mostly
/// removed (the hash tables grew to 2 000 entries), versus only the survivors' inserts and the
/// removes (the tables never grew): equal states, equal bytes.
#[test]
fn determinism_independent_of_table_growth_and_insertion_order() {
    let mut big = OrSet::new();
    let mut deltas = Vec::new();
    for x in 0..2_000u64 {
        deltas.push(big.insert(A, x * 7919));
    }
    let mut removes = Vec::new();
    for x in (0..2_000u64).filter(|x| x % 100 != 3) {
        removes.push(big.remove(B, &(x * 7919)));
    }
    assert_eq!(big.len(), 20);
    let bytes = wire::to_bytes(&big);
    let mut rng = Rng::new(99);
    for round in 0..5 {
        // Removes first (the inserts they cover are then never stored), survivors' inserts in a
        // shuffled order, the covered inserts last.
        let mut small = OrSet::new();
        let mut rs = removes.clone();
        rng.shuffle(&mut rs);
        for r in rs {
            small.join(r);
        }
        let mut ds: Vec<_> = deltas.iter().cloned().enumerate().collect();
        rng.shuffle(&mut ds);
        ds.sort_by_key(|(i, _)| i % 100 != 3);
        for (_, d) in ds {
            small.join(d);
        }
        assert_eq!(small, big, "round {round}");
        assert_eq!(wire::to_bytes(&small), bytes, "round {round}: same set, different bytes");
    }

    // Maps: the same keys written in opposite orders, by a transaction or one by one.
    let keys: Vec<String> = (0..300).map(|i| format!("key-{i:03}")).collect();
    let mut m1: OrMap<String, EwFlag> = OrMap::new();
    let mut log = Vec::new();
    for k in &keys {
        log.push(m1.update(A, k.clone(), |f| f.enable()).0);
    }
    let mut m2: OrMap<String, EwFlag> = OrMap::new();
    for d in log.iter().rev() {
        m2.join_ref(d);
    }
    let m3: OrMap<String, EwFlag> = log.iter().cloned().fold(OrMap::new(), Lattice::joined);
    assert_eq!(m1, m2);
    assert_eq!(wire::to_bytes(&m1), wire::to_bytes(&m2));
    assert_eq!(wire::to_bytes(&m1), wire::to_bytes(&m3));
}

/// What the hash seed is: hashbrown 0.15's default hasher is `foldhash::fast::RandomState`,
/// whose seed is drawn per `RandomState`, that is per map instance (from a stack address mixed
/// with a global counter), on top of a per-process global seed (from ASLR addresses). So two maps
/// with the same keys built in one process iterate in different orders. This test checks that
/// this is still so (otherwise the in-process determinism tests would lose their teeth and the
/// cross-process test becomes the only one that varies the seed), and that the encoding does
/// not care.
#[test]
fn determinism_hash_seed_is_per_map_instance() {
    let build = || {
        let mut m: OrMap<u64, EwFlag> = OrMap::new();
        for k in 0..64u64 {
            let _ = m.update(A, k, |f| f.enable());
        }
        m
    };
    let mut orders = BTreeSet::new();
    let mut encodings = BTreeSet::new();
    for _ in 0..16 {
        let m = build();
        orders.insert(m.keys().copied().collect::<Vec<_>>());
        encodings.insert(wire::to_bytes(&m));
    }
    assert_eq!(encodings.len(), 1, "one state, one encoding");
    assert!(
        orders.len() > 1,
        "16 maps with the same 64 keys all iterated in the same order: the hasher is no longer seeded \
         per instance; determinism across hash seeds is then only exercised by the cross-process test"
    );
}

/// The child half of [`determinism_across_processes`]: prints the encodings of this process.
/// Does nothing unless spawned by it.
#[test]
fn determinism_child_process() {
    if std::env::var("CONVERGENT_GOLDEN_CHILD").is_err() {
        return;
    }
    for (name, bytes) in encodings_for_processes() {
        println!("GOLDEN-CHILD {name} {}", hex(&bytes));
    }
    let mut m: OrMap<u64, EwFlag> = OrMap::new();
    for k in 0..32u64 {
        let _ = m.update(A, k, |f| f.enable());
    }
    println!("GOLDEN-ORDER {:?}", m.keys().collect::<Vec<_>>());
}

fn encodings_for_processes() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> =
        vectors::all().iter().map(|v| (v.name().to_string(), v.bytes())).collect();
    out.extend(all_scenarios(100..103, 160));
    out
}

/// Fresh processes (fresh global hash seeds, fresh address-space layout) produce the same bytes
/// for the golden vectors and for the converged states of the same histories.
#[test]
fn determinism_across_processes() {
    let here = encodings_for_processes();
    let exe = std::env::current_exe().expect("test binary path");
    let mut orders = BTreeSet::new();
    for child in 0..3 {
        let out = std::process::Command::new(&exe)
            .args(["determinism_child_process", "--exact", "--nocapture", "--test-threads=1"])
            .env("CONVERGENT_GOLDEN_CHILD", "1")
            .env_remove("CONVERGENT_BLESS")
            .output()
            .expect("spawn the test binary");
        assert!(out.status.success(), "child {child} failed: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        let theirs: Vec<(String, String)> = stdout
            .lines()
            .filter_map(|l| l.find("GOLDEN-CHILD ").map(|i| &l[i + "GOLDEN-CHILD ".len()..]))
            .map(|l| {
                let (n, h) = l.split_once(' ').expect("name and hex");
                (n.to_string(), h.to_string())
            })
            .collect();
        assert_eq!(theirs.len(), here.len(), "child {child} printed {} encodings", theirs.len());
        for ((n, b), (tn, th)) in here.iter().zip(&theirs) {
            assert_eq!(n, tn, "child {child}: order of scenarios");
            assert_eq!(&hex(b), th, "child {child}: {n} encodes differently in another process");
        }
        orders.extend(stdout.lines().filter(|l| l.contains("GOLDEN-ORDER ")).map(str::to_string));
    }
    // Informational: how many distinct iteration orders the children saw for one map.
    println!("distinct key orders across 3 child processes: {}", orders.len());
}
