//! Side by side with the `crdts` crate 7.3.2: one row per operation, each doing the SAME work on
//! both sides, measured PAIRED and INTERLEAVED in one run:
//!
//! ```text
//! cargo bench --bench compare            # every row, a few minutes on 2 cores
//! cargo bench --bench compare -- orset   # the rows whose name contains "orset"
//! ```
//!
//! Each row runs a batch of our operations, then a batch of crdts' (the order swaps every round),
//! for [`ROUNDS`] rounds; a batch is calibrated once to about [`BATCH_TIME`]. A load spike on this
//! shared machine hits both sides of a round alike, so the row reports the median time per
//! operation of each side and the MEDIAN OF THE PER-ROUND RATIOS (crdts time / our time: above 1
//! means we are faster), with the 25th-75th percentile range of those ratios. The table is
//! printed in markdown at the end.
//!
//! Seeded, deterministic inputs (`common/`); `crdts` actors are `u128`, the size of our UUID
//! replica ids. Our local operations return a delta (crdts: make the op, apply it); a peer's
//! update is `join(state, delta)` by value (crdts: `apply(op)`, by value: each side drops what it
//! received inside the timed loop); decodes are validated. Every result and state passes through
//! `black_box` alike on both sides (see [`looped`]).
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{ME, PEER, rid};
use convergent::{Lattice, LwwRegister, OrMap, PnCounter, Timestamp, wire};
use crdts::{CmRDT, CvRDT};

/// Rounds per row (odd: the median is one round's figure).
const ROUNDS: usize = 201;
/// The time one batch of one side aims at.
const BATCH_TIME: Duration = Duration::from_micros(200);
/// Rows whose rounds take longer than this run fewer rounds (at least [`MIN_ROUNDS`]).
const ROW_BUDGET: Duration = Duration::from_secs(6);
const MIN_ROUNDS: usize = 5;
/// Timed operations per untimed preparation step on large states.
const STEP: u64 = 64;

/// One side of a row: runs `n` operations, returns the time they took (preparation untimed).
type Side = Box<dyn FnMut(u64) -> Duration>;

/// A measured row.
struct Row {
    label: String,
    ours_ns: f64,
    theirs_ns: f64,
    ratio: f64,
    ratio_range: (f64, f64),
    rounds: usize,
}

struct Harness {
    filter: Option<String>,
    rows: Vec<Row>,
}

impl Harness {
    fn wants(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    /// Measures one row if the filter selects `name`; `make` builds both sides (untimed).
    fn row(&mut self, name: &str, label: &str, make: impl FnOnce() -> (Side, Side)) {
        if !self.wants(name) {
            return;
        }
        let (mut ours, mut theirs) = make();
        let (n_ours, n_theirs) = (calibrate(&mut ours), calibrate(&mut theirs));
        let round_time = ours(n_ours) + theirs(n_theirs); // warm-up, and a round's length
        let rounds = if round_time * ROUNDS as u32 > ROW_BUDGET {
            ((ROW_BUDGET.as_secs_f64() / round_time.as_secs_f64()) as usize).max(MIN_ROUNDS) | 1
        } else {
            ROUNDS
        };
        let (mut o, mut t, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = ours(n_ours);
                (a, theirs(n_theirs))
            } else {
                let b = theirs(n_theirs);
                (ours(n_ours), b)
            };
            let (a, b) = (a.as_nanos() as f64 / n_ours as f64, b.as_nanos() as f64 / n_theirs as f64);
            o.push(a);
            t.push(b);
            r.push(b / a);
        }
        let row = Row {
            label: label.to_string(),
            ours_ns: median(&mut o),
            theirs_ns: median(&mut t),
            ratio: median(&mut r),
            ratio_range: (r[r.len() / 4], r[r.len() * 3 / 4]),
            rounds,
        };
        println!(
            "{name:<44} ours {:>10}  crdts {:>10}  ratio {:.2} ({:.2}-{:.2}, {} rounds)",
            show(row.ours_ns),
            show(row.theirs_ns),
            row.ratio,
            row.ratio_range.0,
            row.ratio_range.1,
            rounds
        );
        self.rows.push(row);
    }

    fn table(&self) {
        println!(
            "\n| operation | convergent | crdts 7.3.2 | ratio (crdts / ours), median of rounds | \
             25th-75th percentile |\n|---|---|---|---|---|"
        );
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {:.2} | {:.2}-{:.2} |",
                r.label,
                show(r.ours_ns),
                show(r.theirs_ns),
                r.ratio,
                r.ratio_range.0,
                r.ratio_range.1
            );
        }
        let fewer: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.rounds < ROUNDS)
            .map(|r| format!("{} ({})", r.label, r.rounds))
            .collect();
        println!("\n{ROUNDS} rounds per row; fewer where a round is long: {}", fewer.join(", "));
    }
}

/// Operations per batch so that one batch takes about [`BATCH_TIME`].
fn calibrate(side: &mut Side) -> u64 {
    let mut n = 1u64;
    loop {
        let t = side(n);
        if t >= BATCH_TIME / 4 || n >= 1 << 24 {
            let per_op = t.as_secs_f64() / n as f64;
            return ((BATCH_TIME.as_secs_f64() / per_op.max(1e-10)) as u64).clamp(1, 1 << 26);
        }
        n *= 4;
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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

/// A side that runs `op` `n` times on `state`.
///
/// After every operation the result (by reference, then dropped) and the state pass through
/// [`black_box`], on both sides alike: the state is in memory between operations, as it is in an
/// application. Without the state's, a side whose operation returns `()` (crdts' `apply`,
/// `merge`) kept its state in registers across the loop while ours, whose result is a value,
/// reloaded it after every `black_box` of that value: the LWW u64 row measured that difference
/// (0.7 ns against 1.7 ns), not the operations. The result by value (`black_box(r)`) was copied
/// out of `black_box`'s slot with wide loads just after being stored with narrow ones, a
/// store-forwarding stall charged to whichever side returns a value (a third of the PN-Counter
/// decrement row).
fn looped<S: 'static, R>(mut state: S, mut op: impl FnMut(&mut S) -> R + 'static) -> Side {
    Box::new(move |n| {
        let t = Instant::now();
        for _ in 0..n {
            let r = op(&mut state);
            black_box(&r);
            drop(r);
            black_box(&mut state);
        }
        t.elapsed()
    })
}

/// A side that times `timed` on items made (untimed) `step` at a time by `make`, each step
/// followed by the untimed `undo` of its items (so a large state keeps its size).
fn stepped<S: 'static, I: 'static, R, U>(
    mut state: S,
    step: u64,
    mut make: impl FnMut() -> I + 'static,
    mut timed: impl FnMut(&mut S, &mut I) -> R + 'static,
    mut undo: impl FnMut(&mut S, I) -> U + 'static,
) -> Side {
    Box::new(move |n| {
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < n {
            let k = step.min(n - done);
            let mut items: Vec<I> = (0..k).map(|_| make()).collect();
            let t = Instant::now();
            for i in &mut items {
                let r = timed(&mut state, i);
                black_box(&r);
                drop(r);
                black_box(&mut state);
            }
            total += t.elapsed();
            for i in items {
                undo(&mut state, i);
            }
            done += k;
        }
        total
    })
}

fn counters(h: &mut Harness) {
    for n in [16usize, 256] {
        h.row(&format!("gcounter_increment_{n}"), &format!("G-Counter increment, {n} replicas"), || {
            let (ours, theirs) = common::gcounters(n);
            (
                looped(ours, |s| s.increment(rid(ME), 1)),
                looped(theirs, |s| {
                    let op = s.inc(ME);
                    s.apply(op)
                }),
            )
        });
        // A peer's one-entry update: our delta against crdts' `Dot` op, each one new.
        h.row(
            &format!("gcounter_join_delta_{n}"),
            &format!("G-Counter join a one-entry delta (crdts: apply(dot)), {n} replicas"),
            || {
                let (ours, theirs) = common::gcounters(n);
                let (mut src, mut tsrc) = (ours.clone(), theirs.clone());
                (
                    stepped(ours, STEP, move || src.increment(rid(PEER), 1), |s, d| s.join_ref(d), |_, _| ()),
                    stepped(
                        theirs,
                        STEP,
                        move || {
                            let d = tsrc.inc(PEER);
                            tsrc.apply(d);
                            d
                        },
                        |s, d| s.apply(*d),
                        |_, _| (),
                    ),
                )
            },
        );
    }
    h.row("pncounter_decrement", "PN-Counter decrement, 16 replicas", || {
        let (ours, theirs) = common::pncounters(16);
        (
            looped(ours, |s| s.decrement(rid(ME), 1)),
            looped(theirs, |s| {
                let op = s.dec(ME);
                s.apply(op)
            }),
        )
    });
}

/// A local write at a later time, and the peer's join of it (crdts: `update`, `merge`).
///
/// crdts' marker is `(time, actor)`: ours orders writes by timestamp and then by the writing
/// replica's id, and crdts' register needs the actor in its marker to do the same (with a bare
/// `u64` marker, two replicas writing different values at one time never converge: `update`
/// keeps whichever it holds). A bare `u64` marker measured a register that stores and compares
/// half the data (0.7 ns against our 1.7 ns).
fn lww<T: Clone + Ord + 'static>(h: &mut Harness, name: &str, label: &str, old: T, new: T) {
    h.row(name, label, move || {
        let mut base = LwwRegister::new();
        let _ = base.write(rid(ME), Timestamp::from_parts(1_000, 0), old.clone());
        let theirs = crdts::LWWReg { val: old, marker: (1_000u64, ME) };
        let (v, tv) = (new.clone(), new);
        let (mut time, mut marker) = (1_000u64, 1_000u64);
        (
            looped((base.clone(), base), move |(s, t)| {
                time += 1;
                let d = s.write(rid(ME), Timestamp::from_parts(time, 0), v.clone());
                t.join(d)
            }),
            looped((theirs.clone(), theirs), move |(s, t)| {
                marker += 1;
                s.update(tv.clone(), (marker, ME));
                t.merge(s.clone())
            }),
        )
    });
}

fn registers(h: &mut Harness) {
    lww(h, "lww_write_join_u64", "LWW write + join, u64 (crdts marker: (u64, actor))", 1u64, 2u64);
    lww(
        h,
        "lww_write_join_string",
        "LWW write + join, String (crdts marker: (u64, actor))",
        "a fairly ordinary title".to_string(),
        "new title".to_string(),
    );
}

/// A peer that has seen everything inserts one new element: our insert delta joined, crdts'
/// add op applied, each by value (a received delta is owned; crdts' `apply` takes its op by
/// value, and a clone of the op inside the timed loop made crdts pay an allocation ours did not).
/// The element is removed again (untimed) so the set keeps its size.
fn set_insert_join<T>(h: &mut Harness, name: &str, label: &str, m: u64, elem: fn(u64) -> T)
where
    T: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug + 'static,
{
    h.row(name, label, move || {
        let (ours, theirs) = common::sets(m, elem);
        let (mut src, mut tsrc) = (ours.clone(), theirs.clone());
        let (mut next, mut tnext) = (1u64 << 40, 1u64 << 40);
        (
            stepped(
                ours,
                STEP,
                move || {
                    next += 1;
                    let e = elem(next);
                    (Some(src.insert(rid(PEER), e.clone())), src.remove(rid(PEER), &e))
                },
                |s, (ins, _)| s.join(ins.take().expect("joined once")),
                |s, (_, rm)| s.join(rm),
            ),
            stepped(
                theirs,
                STEP,
                move || {
                    tnext += 1;
                    let e = elem(tnext);
                    let add = tsrc.add(e.clone(), tsrc.read_ctx().derive_add_ctx(PEER));
                    tsrc.apply(add.clone());
                    let rm = tsrc.rm(e.clone(), tsrc.contains(&e).derive_rm_ctx());
                    tsrc.apply(rm.clone());
                    (Some(add), rm)
                },
                |s, (add, _)| s.apply(add.take().expect("applied once")),
                |s, (_, rm)| s.apply(rm),
            ),
        )
    });
}

fn set_joins(h: &mut Harness) {
    for (m, tag) in [(100u64, "10^2"), (1_000, "10^3"), (1_000_000, "10^6")] {
        set_insert_join(
            h,
            &format!("orset_insert_join_u64_{m}"),
            &format!("OR-Set insert delta joined, {tag} u64"),
            m,
            |e| e,
        );
    }
    set_insert_join(
        h,
        "orset_insert_join_string_1000",
        "OR-Set insert delta joined, 10^3 String",
        1_000,
        common::string_elem,
    );
}

fn maps(h: &mut Harness) {
    let m = 1_000u64;
    h.row("ormap_update_1000", "OR-Map of MV-registers: update one key, 10^3 keys", move || {
        let (ours, theirs) = common::mv_maps(m);
        let (mut k, mut tk) = (0u64, 0u64);
        (
            looped(ours, move |s| {
                k = (k + 1) % m;
                s.update(rid(ME), k, |r| r.write(k))
            }),
            looped(theirs, move |s| {
                tk = (tk + 1) % m;
                common::crdts_map_write(s, ME, tk, tk)
            }),
        )
    });
    // A peer's one-key update, by value on both sides (see `set_insert_join`).
    h.row("ormap_join_delta_1000", "OR-Map of MV-registers: join a one-key delta, 10^3 keys", move || {
        let (ours, theirs) = common::mv_maps(m);
        let (mut src, mut tsrc) = (ours.clone(), theirs.clone());
        let (mut k, mut tk) = (0u64, 0u64);
        (
            stepped(
                ours,
                STEP,
                move || {
                    k = (k + 1) % m;
                    Some(src.update(rid(PEER), k, |r| r.write(k)).0)
                },
                |s, d| s.join(d.take().expect("joined once")),
                |_, _| (),
            ),
            stepped(
                theirs,
                STEP,
                move || {
                    tk = (tk + 1) % m;
                    Some(common::crdts_map_write(&mut tsrc, PEER, tk, tk))
                },
                |s, op| s.apply(op.take().expect("applied once")),
                |_, _| (),
            ),
        )
    });
    map_merge(
        h,
        "ormap_merge_equal_string_100000",
        "OR-Map<String, PN-Counter>: merge equal replicas, 10^5 keys",
        |k| format!("key-{k:08}"),
    );
    map_merge(
        h,
        "ormap_merge_equal_u64_100000",
        "OR-Map<u64, PN-Counter>: merge equal replicas, 10^5 keys",
        |k| k,
    );
    map_merge_received(
        h,
        "ormap_merge_received_string_100000",
        "OR-Map<String, PN-Counter>: merge an equal state decoded from bytes, 10^5 keys",
        |k| format!("key-{k:08}"),
    );
    map_merge_received(
        h,
        "ormap_merge_received_u64_100000",
        "OR-Map<u64, PN-Counter>: merge an equal state decoded from bytes, 10^5 keys",
        |k| k,
    );
    for removed in [false, true] {
        let what = if removed { "updates and removes" } else { "updates only" };
        let tag = if removed { "removes" } else { "updates" };
        map_merge_diverged(
            h,
            &format!("ormap_merge_diverged_{tag}_string_100000"),
            &format!("OR-Map<String, PN-Counter>: merge diverged replicas ({what}, 1%), 10^5 keys"),
            removed,
            |k| format!("key-{k:08}"),
        );
        map_merge_diverged(
            h,
            &format!("ormap_merge_diverged_{tag}_u64_100000"),
            &format!("OR-Map<u64, PN-Counter>: merge diverged replicas ({what}, 1%), 10^5 keys"),
            removed,
            |k| k,
        );
    }
}

/// `a` joins `b`, both sides; the receiving state (and crdts' by-value argument) is cloned
/// untimed before every merge, and dropped untimed after it.
fn merge_sides<K>(
    a: OrMap<K, PnCounter>,
    b: OrMap<K, PnCounter>,
    ta: common::TheirPnMap<K>,
    tb: common::TheirPnMap<K>,
) -> (Side, Side)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug + 'static,
{
    (
        stepped(b, 1, move || a.clone(), |b, a| a.join_ref(black_box(b)), |_, _| ()),
        stepped(
            (),
            1,
            move || (ta.clone(), Some(tb.clone())),
            |_, (s, o)| s.merge(o.take().expect("once")),
            |_, _| (),
        ),
    )
}

/// Two equal replicas of a map of 10^5 keys to PN-Counters, merged.
fn map_merge<K>(h: &mut Harness, name: &str, label: &str, key: fn(u64) -> K)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug + 'static,
{
    h.row(name, label, move || {
        let (ours, theirs) = common::pn_maps(100_000, key);
        merge_sides(ours.clone(), ours, theirs.clone(), theirs)
    });
}

/// Map merges of equal replicas where the merged state was received from a peer: decoded from
/// its bytes (ours: `wire`, crdts: bincode) before the row starts, so it has its own hasher and
/// its own heap layout, unlike a clone (decode untimed).
fn map_merge_received<K>(h: &mut Harness, name: &str, label: &str, key: fn(u64) -> K)
where
    K: Clone
        + std::hash::Hash
        + Eq
        + Ord
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + 'static,
    OrMap<K, PnCounter>: wire::Decode,
{
    h.row(name, label, move || {
        let (ours, theirs) = common::pn_maps(100_000, key);
        let received: OrMap<K, PnCounter> = wire::from_bytes(&wire::to_bytes(&ours)).expect("decode");
        let theirs_received: common::TheirPnMap<K> =
            bincode::deserialize(&bincode::serialize(&theirs).expect("encode")).expect("decode");
        merge_sides(ours, received, theirs, theirs_received)
    });
}

/// Map merges of DIVERGED replicas of 10^5 keys: from one common state, replica 1 increments 1%
/// of the keys; replica 2 increments another 1% and, with `removed`, removes a third 1%.
/// Replica 1's state joins replica 2's.
fn map_merge_diverged<K>(h: &mut Harness, name: &str, label: &str, removed: bool, key: fn(u64) -> K)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug + 'static,
{
    h.row(name, label, move || {
        let (ours, theirs) = common::pn_maps(100_000, key);
        let (mut ours1, mut theirs1) = (ours.clone(), theirs.clone());
        let (mut ours2, mut theirs2) = (ours, theirs);
        for k in (0..100_000).step_by(100) {
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
        merge_sides(ours1, ours2, theirs1, theirs2)
    });
}

/// Encode of `ours` (`wire::to_bytes`: the type's direct encoder) against bincode of `theirs`.
fn encode_row<O, T>(h: &mut Harness, name: &str, label: &str, ours: O, theirs: T)
where
    O: wire::Decode + 'static,
    T: serde::Serialize + 'static,
{
    h.row(&format!("encode_{name}"), &format!("encode {label}"), move || {
        (
            looped(ours, |o| wire::to_bytes(black_box(&*o))),
            looped(theirs, |t| bincode::serialize(black_box(&*t)).expect("encode")),
        )
    });
}

/// Validated decode of `ours`' bytes against bincode's decode of `theirs`' bytes.
fn decode_row<O, T>(h: &mut Harness, name: &str, label: &str, ours: O, theirs: T)
where
    O: wire::Decode + 'static,
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let (ob, tb) = (wire::to_bytes(&ours), bincode::serialize(&theirs).expect("encode"));
    h.row(
        &format!("decode_{name}"),
        &format!("decode {label} ({} B / {} B)", ob.len(), tb.len()),
        move || {
            (
                looped(ob, |b| wire::from_bytes::<O>(black_box(&b[..])).expect("valid")),
                looped(tb, |b| bincode::deserialize::<T>(black_box(&b[..])).expect("decode")),
            )
        },
    );
}

fn encoding(h: &mut Harness) {
    // The rows below, by name: their inputs (sets of 10^4 elements) are built only if one is
    // wanted.
    const ROWS: [&str; 7] = [
        "encode_insert_delta_u64",
        "decode_insert_delta_u64",
        "encode_remove_delta_u64",
        "decode_remove_delta_u64",
        "encode_insert_delta_string",
        "decode_insert_delta_string",
        "encode_orset_state_string_10000",
    ];
    if !ROWS.iter().any(|r| h.wants(r)) {
        return;
    }
    let m = 10_000u64;
    let (set, oset) = common::sets(m, |e| e);
    let mut src = set.clone();
    let ins = src.insert(rid(PEER), 1 << 40);
    let add = oset.add(1 << 40, oset.read_ctx().derive_add_ctx(PEER));
    encode_row(h, "insert_delta_u64", "one insert delta, u64", ins.clone(), add.clone());
    decode_row(h, "insert_delta_u64", "one insert delta, u64 (ours / crdts bytes)", ins, add);
    let rm = src.remove(rid(PEER), &5);
    let orm = oset.rm(5, oset.contains(&5).derive_rm_ctx());
    encode_row(h, "remove_delta_u64", "a one-element remove delta, u64", rm.clone(), orm.clone());
    decode_row(h, "remove_delta_u64", "a one-element remove delta, u64", rm, orm);

    let (sset, soset) = common::sets(m, common::string_elem);
    let mut ssrc = sset.clone();
    let e = common::string_elem(1 << 40);
    let sins = ssrc.insert(rid(PEER), e.clone());
    let sadd = soset.add(e, soset.read_ctx().derive_add_ctx(PEER));
    encode_row(h, "insert_delta_string", "one insert delta, String", sins.clone(), sadd.clone());
    decode_row(h, "insert_delta_string", "one insert delta, String", sins, sadd);
    encode_row(h, "orset_state_string_10000", "a 10^4 String OR-Set state", sset, soset);
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument filters rows by name.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut h = Harness { filter, rows: Vec::new() };
    counters(&mut h);
    registers(&mut h);
    set_joins(&mut h);
    maps(&mut h);
    encoding(&mut h);
    h.table();
}
