//! Side by side with the `crdts` crate 7.3.2, one criterion group per row of the table in
//! `docs/performance.md`, each doing the SAME work on both sides, in one run:
//!
//! ```text
//! cargo bench --bench compare            # every row, a few minutes on 2 cores
//! cargo bench --bench compare -- orset   # the rows whose group name matches
//! ```
//!
//! Every group has two functions, `convergent` and `crdts`. After the run a table of medians and
//! ratios (`crdts` time / our time: above 1 means we are faster) is printed, in markdown, for the
//! rows measured by this run. Seeded, deterministic inputs; `crdts` actors are `u128`, the size
//! of our UUID replica ids. Our local operations return a delta (crdts: make the op, apply it);
//! a peer's update is `join(state, delta)` (crdts: `apply(op)`); decodes are validated.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use convergent::{
    GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId, Timestamp, wire,
};
use crdts::{CmRDT, CvRDT, Orswot};
use criterion::{BatchSize, Criterion};

/// The replica every measured local operation runs at.
const ME: u128 = 1;
/// A peer that has seen the whole state and sends one update.
const PEER: u128 = 9;
/// Timed operations per batch on large states; each batch is undone untimed.
const BATCH: u64 = 64;

/// (group, row label) in table order; filled by the benchmark functions.
static ROWS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    label: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    ROWS.lock().expect("rows").push((name.to_string(), label.to_string()));
    c.benchmark_group(name)
}

fn rid(i: u128) -> ReplicaId {
    ReplicaId::from_u128(i)
}

/// A G-Counter incremented by each of `n` replicas, ours and crdts'.
fn gcounters(n: u128) -> (GCounter, crdts::GCounter<u128>) {
    let mut ours = GCounter::new();
    let mut theirs = crdts::GCounter::new();
    for i in 1..=n {
        let _ = ours.increment(rid(i), i as u64);
        theirs.apply(theirs.inc_many(i, i as u64));
    }
    (ours, theirs)
}

fn counters(c: &mut Criterion) {
    for n in [16u128, 256] {
        let (ours, theirs) = gcounters(n);
        let mut g =
            group(c, &format!("gcounter_increment_{n}"), &format!("G-Counter increment, {n} replicas"));
        g.bench_function("convergent", |b| {
            b.iter_batched_ref(|| ours.clone(), |s| black_box(s.increment(rid(ME), 1)), BatchSize::SmallInput)
        });
        g.bench_function("crdts", |b| {
            b.iter_batched_ref(
                || theirs.clone(),
                |s| {
                    let op = s.inc(ME);
                    s.apply(op)
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();

        // A peer's one-entry update: our delta against crdts' `Dot` op.
        let mut src = ours.clone();
        let delta = src.increment(rid(ME), 1);
        let dot = theirs.inc(ME);
        let mut g = group(
            c,
            &format!("gcounter_join_delta_{n}"),
            &format!("G-Counter join a one-entry delta (crdts: apply(dot)), {n} replicas"),
        );
        g.bench_function("convergent", |b| {
            b.iter_batched_ref(|| ours.clone(), |s| s.join_ref(black_box(&delta)), BatchSize::SmallInput)
        });
        g.bench_function("crdts", |b| {
            b.iter_batched_ref(|| theirs.clone(), |s| s.apply(black_box(dot)), BatchSize::SmallInput)
        });
        g.finish();
    }

    let mut ours = PnCounter::new();
    let mut theirs = crdts::PNCounter::new();
    for i in 1..=16u128 {
        let _ = ours.increment(rid(i), 10);
        let _ = ours.decrement(rid(i), 3);
        theirs.apply(theirs.inc_many(i, 10));
        theirs.apply(theirs.dec_many(i, 3));
    }
    let mut g = group(c, "pncounter_decrement", "PN-Counter decrement, 16 replicas");
    g.bench_function("convergent", |b| {
        b.iter_batched_ref(|| ours.clone(), |s| black_box(s.decrement(rid(ME), 1)), BatchSize::SmallInput)
    });
    g.bench_function("crdts", |b| {
        b.iter_batched_ref(
            || theirs.clone(),
            |s| {
                let op = s.dec(ME);
                s.apply(op)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn lww<T: Clone + Ord + 'static>(c: &mut Criterion, name: &str, label: &str, old: T, new: T) {
    let mut base = LwwRegister::new();
    let _ = base.write(rid(ME), Timestamp::from_parts(1_000, 0), old.clone());
    let theirs = crdts::LWWReg { val: old, marker: 1_000u64 };
    let mut g = group(c, name, label);
    g.bench_function("convergent", |b| {
        b.iter_batched_ref(
            || (base.clone(), base.clone(), new.clone()),
            |(s, t, v)| {
                let d = s.write(rid(ME), Timestamp::from_parts(2_000, 0), v.clone());
                t.join(d)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("crdts", |b| {
        b.iter_batched_ref(
            || (theirs.clone(), theirs.clone(), new.clone()),
            |(s, t, v)| {
                s.update(v.clone(), 2_000);
                t.merge(s.clone())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn registers(c: &mut Criterion) {
    lww(c, "lww_write_join_u64", "LWW write + join, u64", 1u64, 2u64);
    lww(
        c,
        "lww_write_join_string",
        "LWW write + join, String",
        "a fairly ordinary title".to_string(),
        "new title".to_string(),
    );
}

/// Elements `0..m` (mapped by `elem`), the k-th inserted by replica `k % 3 + 1`, replicas
/// merged: ours and the same in `crdts::Orswot`.
fn sets<T: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug>(
    m: u64,
    elem: impl Fn(u64) -> T,
) -> (OrSet<T>, Orswot<T, u128>) {
    let mut ours: Vec<OrSet<T>> = (0..3).map(|_| OrSet::new()).collect();
    let mut theirs: Vec<Orswot<T, u128>> = (0..3).map(|_| Orswot::new()).collect();
    for e in 0..m {
        let r = (e % 3) as usize;
        let _ = ours[r].insert(rid(r as u128 + 1), elem(e));
        let op = theirs[r].add(elem(e), theirs[r].read_ctx().derive_add_ctx(r as u128 + 1));
        theirs[r].apply(op);
    }
    let ours = ours.into_iter().fold(OrSet::new(), Lattice::joined);
    let theirs = theirs.into_iter().fold(Orswot::new(), |mut a, b| {
        a.merge(b);
        a
    });
    (ours, theirs)
}

/// Runs `iters` timed calls of `timed` on items made (untimed) in batches of [`BATCH`] by
/// `make`; each batch is followed by the untimed `undo` of its items. Returns the timed total.
fn batched<S, I, R, U>(
    iters: u64,
    state: &mut S,
    mut make: impl FnMut() -> I,
    mut timed: impl FnMut(&mut S, &I) -> R,
    mut undo: impl FnMut(&mut S, I) -> U,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let k = BATCH.min(iters - done);
        let items: Vec<I> = (0..k).map(|_| make()).collect();
        let t = Instant::now();
        for i in &items {
            black_box(timed(state, i));
        }
        total += t.elapsed();
        for i in items {
            undo(state, i);
        }
        done += k;
    }
    total
}

/// A peer that has seen everything inserts one new element: our insert delta joined, crdts'
/// add op applied. The element is removed again (untimed) so the set keeps its size.
fn set_insert_join<T>(c: &mut Criterion, name: &str, label: &str, m: u64, elem: impl Fn(u64) -> T + Copy)
where
    T: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug,
{
    let (ours, theirs) = sets(m, elem);
    let mut g = group(c, name, label);
    g.bench_function("convergent", |b| {
        let (mut s, mut src, mut next) = (ours.clone(), ours.clone(), 1u64 << 40);
        b.iter_custom(|iters| {
            batched(
                iters,
                &mut s,
                || {
                    next += 1;
                    let e = elem(next);
                    (src.insert(rid(PEER), e.clone()), src.remove(rid(PEER), &e))
                },
                |s, (ins, _)| s.join_ref(ins),
                |s, (_, rm)| s.join(rm),
            )
        })
    });
    g.bench_function("crdts", |b| {
        let (mut s, mut src, mut next) = (theirs.clone(), theirs.clone(), 1u64 << 40);
        b.iter_custom(|iters| {
            batched(
                iters,
                &mut s,
                || {
                    next += 1;
                    let e = elem(next);
                    let add = src.add(e.clone(), src.read_ctx().derive_add_ctx(PEER));
                    src.apply(add.clone());
                    let rm = src.rm(e.clone(), src.contains(&e).derive_rm_ctx());
                    src.apply(rm.clone());
                    (add, rm)
                },
                |s, (add, _)| s.apply(add.clone()),
                |s, (_, rm)| s.apply(rm),
            )
        })
    });
    g.finish();
}

fn string_elem(e: u64) -> String {
    format!("element-{e:08}")
}

fn set_joins(c: &mut Criterion) {
    for m in [100u64, 1_000, 100_000] {
        set_insert_join(
            c,
            &format!("orset_insert_join_{m}"),
            &format!("OR-Set insert delta joined, {m} u64"),
            m,
            |e| e,
        );
    }
    set_insert_join(
        c,
        "orset_insert_join_string_1000",
        "OR-Set insert delta joined, 1000 String",
        1_000,
        string_elem,
    );
}

type TheirMvMap = crdts::Map<u64, crdts::MVReg<u64, u128>, u128>;

fn crdts_map_write(
    map: &mut TheirMvMap,
    actor: u128,
    key: u64,
    v: u64,
) -> crdts::map::Op<u64, crdts::MVReg<u64, u128>, u128> {
    let ctx = map.read_ctx().derive_add_ctx(actor);
    let op = map.update(key, ctx, |reg, ctx| reg.write(v, ctx));
    map.apply(op.clone());
    op
}

/// `m` keys to multi-value registers, key k written by replica `k % 3 + 1`: ours and crdts'.
fn mv_maps(m: u64) -> (OrMap<u64, MvRegister<u64>>, TheirMvMap) {
    let mut ours: Vec<OrMap<u64, MvRegister<u64>>> = (0..3).map(|_| OrMap::new()).collect();
    let mut theirs: Vec<TheirMvMap> = (0..3).map(|_| crdts::Map::new()).collect();
    for k in 0..m {
        let r = (k % 3) as usize;
        let _ = ours[r].update(rid(r as u128 + 1), k, |reg| reg.write(k));
        let _ = crdts_map_write(&mut theirs[r], r as u128 + 1, k, k);
    }
    let ours = ours.into_iter().fold(OrMap::new(), Lattice::joined);
    let theirs = theirs.into_iter().fold(crdts::Map::new(), |mut a, b| {
        a.merge(b);
        a
    });
    (ours, theirs)
}

fn maps(c: &mut Criterion) {
    let m = 1_000u64;
    let (ours, theirs) = mv_maps(m);
    let mut g = group(c, "ormap_update_1000", "OR-Map of MV-registers: update one key, 1000 keys");
    g.bench_function("convergent", |b| {
        let (mut s, mut k) = (ours.clone(), 0u64);
        b.iter(|| {
            k = (k + 1) % m;
            black_box(s.update(rid(ME), k, |r| r.write(k)))
        })
    });
    g.bench_function("crdts", |b| {
        let (mut s, mut k) = (theirs.clone(), 0u64);
        b.iter(|| {
            k = (k + 1) % m;
            crdts_map_write(&mut s, ME, k, k)
        })
    });
    g.finish();

    let mut g = group(c, "ormap_join_delta_1000", "OR-Map of MV-registers: join a one-key delta, 1000 keys");
    g.bench_function("convergent", |b| {
        let (mut s, mut src, mut k) = (ours.clone(), ours.clone(), 0u64);
        b.iter_custom(|iters| {
            batched(
                iters,
                &mut s,
                || {
                    k = (k + 1) % m;
                    src.update(rid(PEER), k, |r| r.write(k)).0
                },
                |s, d| s.join_ref(d),
                |_, _| {},
            )
        })
    });
    g.bench_function("crdts", |b| {
        let (mut s, mut src, mut k) = (theirs.clone(), theirs.clone(), 0u64);
        b.iter_custom(|iters| {
            batched(
                iters,
                &mut s,
                || {
                    k = (k + 1) % m;
                    crdts_map_write(&mut src, PEER, k, k)
                },
                |s, op| s.apply(op.clone()),
                |_, _| {},
            )
        })
    });
    g.finish();

    map_merge(
        c,
        "ormap_merge_equal_string_100000",
        "OR-Map<String, PN-Counter>: merge equal replicas, 10^5 keys",
        |k| format!("key-{k:08}"),
    );
    map_merge(
        c,
        "ormap_merge_equal_u64_100000",
        "OR-Map<u64, PN-Counter>: merge equal replicas, 10^5 keys",
        |k| k,
    );
}

/// Two equal replicas of a map of 10^5 keys to PN-Counters (key k incremented by replica
/// `k % 3 + 1`), merged. crdts' `merge` takes the other state by value: its clone is untimed,
/// and so is the clone of our receiving state.
fn map_merge<K>(c: &mut Criterion, name: &str, label: &str, key: impl Fn(u64) -> K)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug,
{
    let m = 100_000u64;
    let mut ours: Vec<OrMap<K, PnCounter>> = (0..3).map(|_| OrMap::new()).collect();
    let mut theirs: Vec<crdts::Map<K, crdts::PNCounter<u128>, u128>> =
        (0..3).map(|_| crdts::Map::new()).collect();
    for k in 0..m {
        let r = (k % 3) as usize;
        let a = r as u128 + 1;
        let _ = ours[r].update(rid(a), key(k), |c| c.increment(1));
        let op = theirs[r].update(key(k), theirs[r].read_ctx().derive_add_ctx(a), |c, _| c.inc(a));
        theirs[r].apply(op);
    }
    let ours = ours.into_iter().fold(OrMap::new(), Lattice::joined);
    let theirs = theirs.into_iter().fold(crdts::Map::new(), |mut a, b| {
        a.merge(b);
        a
    });
    let (ours2, theirs2) = (ours.clone(), theirs.clone());
    let mut g = group(c, name, label);
    g.sample_size(10);
    g.bench_function("convergent", |b| {
        b.iter_batched_ref(|| ours.clone(), |s| s.join_ref(black_box(&ours2)), BatchSize::LargeInput)
    });
    g.bench_function("crdts", |b| {
        b.iter_batched(
            || (theirs.clone(), theirs2.clone()),
            |(mut s, o)| {
                s.merge(o);
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Encode, or validated decode, of `ours` against bincode of `theirs`.
fn codec<O, T>(c: &mut Criterion, name: &str, label: &str, ours: &O, theirs: &T)
where
    O: wire::Decode,
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut g = group(c, &format!("encode_{name}"), &format!("encode {label}"));
    g.bench_function("convergent", |b| b.iter(|| wire::to_bytes(black_box(ours))));
    g.bench_function("crdts", |b| b.iter(|| bincode::serialize(black_box(theirs)).expect("encode")));
    g.finish();
    let (ob, tb) = (wire::to_bytes(ours), bincode::serialize(theirs).expect("encode"));
    let mut g =
        group(c, &format!("decode_{name}"), &format!("decode {label} ({} B / {} B)", ob.len(), tb.len()));
    g.bench_function("convergent", |b| b.iter(|| wire::from_bytes::<O>(black_box(&ob)).expect("valid")));
    g.bench_function("crdts", |b| b.iter(|| bincode::deserialize::<T>(black_box(&tb)).expect("decode")));
    g.finish();
}

fn encoding(c: &mut Criterion) {
    let m = 10_000u64;
    let (set, oset) = sets(m, |e| e);
    let mut src = set.clone();
    let ins = src.insert(rid(PEER), 1 << 40);
    let add = oset.add(1 << 40, oset.read_ctx().derive_add_ctx(PEER));
    codec(c, "insert_delta_u64", "one insert delta, u64 (ours / crdts bytes)", &ins, &add);
    let rm = src.remove(rid(PEER), &5);
    let orm = oset.rm(5, oset.contains(&5).derive_rm_ctx());
    codec(c, "remove_delta_u64", "a one-element remove delta, u64", &rm, &orm);

    let (sset, soset) = sets(m, string_elem);
    let mut ssrc = sset.clone();
    let e = string_elem(1 << 40);
    let sins = ssrc.insert(rid(PEER), e.clone());
    let sadd = soset.add(e, soset.read_ctx().derive_add_ctx(PEER));
    codec(c, "insert_delta_string", "one insert delta, String", &sins, &sadd);

    let mut g = group(c, "encode_orset_state_string_10000", "encode a 10^4 String OR-Set state");
    g.bench_function("convergent", |b| b.iter(|| wire::to_bytes(black_box(&sset))));
    g.bench_function("crdts", |b| b.iter(|| bincode::serialize(black_box(&soset)).expect("encode")));
    g.finish();
}

/// Criterion's median for `group/function` if this run (since `start`) measured it.
fn median_ns(dir: &std::path::Path, group: &str, function: &str, start: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(function).join("new").join("estimates.json");
    let fresh = std::fs::metadata(&path).and_then(|m| m.modified()).is_ok_and(|t| t >= start);
    if !fresh {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn show(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Prints the markdown table of the rows this run measured.
fn summary(start: SystemTime) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("criterion");
    println!("\n| operation | convergent | crdts 7.3.2 | ratio (crdts / ours) |\n|---|---|---|---|");
    for (group, label) in ROWS.lock().expect("rows").iter() {
        if let (Some(o), Some(t)) =
            (median_ns(&dir, group, "convergent", start), median_ns(&dir, group, "crdts", start))
        {
            println!("| {label} | {} | {} | {:.2} |", show(o), show(t), t / o);
        }
    }
}

fn main() {
    let start = SystemTime::now() - Duration::from_secs(1);
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .configure_from_args();
    counters(&mut c);
    registers(&mut c);
    set_joins(&mut c);
    maps(&mut c);
    encoding(&mut c);
    map_merges_diverged(&mut c);
    c.final_summary();
    summary(start);
}

/// Map merges of DIVERGED replicas, 10^5 keys to PN-Counters (built as in `map_merge`): from one
/// common state, replica 1 increments 1% of the keys; replica 2 increments another 1% and, in
/// the `removed` rows, removes a third 1%. Replica 1's state joins replica 2's. Without removes
/// the join has no remove work to do; with them, it visits only the removed keys.
fn map_merges_diverged(c: &mut Criterion) {
    for removed in [false, true] {
        let what = if removed { "updates and removes" } else { "updates only" };
        let tag = if removed { "removes" } else { "updates" };
        map_merge_diverged(
            c,
            &format!("ormap_merge_diverged_{tag}_string_100000"),
            &format!("OR-Map<String, PN-Counter>: merge diverged replicas ({what}, 1%), 10^5 keys"),
            removed,
            |k| format!("key-{k:08}"),
        );
        map_merge_diverged(
            c,
            &format!("ormap_merge_diverged_{tag}_u64_100000"),
            &format!("OR-Map<u64, PN-Counter>: merge diverged replicas ({what}, 1%), 10^5 keys"),
            removed,
            |k| k,
        );
    }
}

fn map_merge_diverged<K>(c: &mut Criterion, name: &str, label: &str, removed: bool, key: impl Fn(u64) -> K)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug,
{
    let m = 100_000u64;
    let mut ours: OrMap<K, PnCounter> = OrMap::new();
    let mut theirs: crdts::Map<K, crdts::PNCounter<u128>, u128> = crdts::Map::new();
    for k in 0..m {
        let a = (k % 3) as u128 + 1;
        let _ = ours.update(rid(a), key(k), |c| c.increment(1));
        let op = theirs.update(key(k), theirs.read_ctx().derive_add_ctx(a), |c, _| c.inc(a));
        theirs.apply(op);
    }
    let (mut ours1, mut theirs1) = (ours.clone(), theirs.clone());
    let (mut ours2, mut theirs2) = (ours, theirs);
    for k in (0..m).step_by(100) {
        let _ = ours1.update(rid(1), key(k), |c| c.increment(1));
        let op = theirs1.update(key(k), theirs1.read_ctx().derive_add_ctx(1), |c, _| c.inc(1));
        theirs1.apply(op);
        let _ = ours2.update(rid(2), key(k + 1), |c| c.increment(1));
        let op = theirs2.update(key(k + 1), theirs2.read_ctx().derive_add_ctx(2), |c, _| c.inc(2));
        theirs2.apply(op);
        if removed {
            let _ = ours2.remove(rid(2), &key(k + 2));
            let op = theirs2.rm(key(k + 2), theirs2.read_ctx().derive_rm_ctx());
            theirs2.apply(op);
        }
    }
    let mut g = group(c, name, label);
    g.sample_size(10);
    g.bench_function("convergent", |b| {
        b.iter_batched_ref(|| ours1.clone(), |s| s.join_ref(black_box(&ours2)), BatchSize::LargeInput)
    });
    g.bench_function("crdts", |b| {
        b.iter_batched(
            || (theirs1.clone(), theirs2.clone()),
            |(mut s, o)| {
                s.merge(o);
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}
