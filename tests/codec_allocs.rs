//! Allocations of the wire codec per operation, ours against `crdts` 7.3.2 doing the same work
//! (its op through bincode), asserted at or below: encoding one delta (`wire::to_bytes`, the
//! types' direct encoders) and the validated decode of it.
//! Counts come from a counting allocator and are deterministic; each row is measured for deltas
//! cut from a source of 10^3 and of 10^4 elements (the count must not follow the source).
//!
//! This binary holds one test so that the counting allocator sees nothing else.
#![cfg(feature = "serde")]

use std::alloc::System;

use convergent::{Lattice, OrSet, ReplicaId, wire};
use crdts::{CmRDT, CvRDT, Orswot};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const PEER: u128 = 9;
/// Operations per measured row: counts are totals over this many, reported per operation.
const OPS: usize = 1_000;

fn rid(i: u128) -> ReplicaId {
    ReplicaId::from_u128(i)
}

/// Allocations per operation of `f`, run [`OPS`] times; the least of three such runs.
///
/// The allocator counts every thread: one run of 1 000 String encodes on a loaded machine counted
/// 4 allocations more than `f` makes (1.004 per op, a failure; five reruns counted exactly 1.00),
/// so something outside `f` allocated meanwhile. `f` repeats the same work, so its own count is
/// the same in every run, and the least of three drops the stray ones.
fn per_op(mut f: impl FnMut()) -> f64 {
    let run = |f: &mut dyn FnMut()| {
        let region = Region::new(GLOBAL);
        for _ in 0..OPS {
            f();
        }
        region.change().allocations
    };
    let least = (0..3).map(|_| run(&mut f)).min().expect("three runs");
    least as f64 / OPS as f64
}

/// `m` elements inserted by three replicas and merged, ours and crdts'.
fn sets<T: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug>(
    m: u64,
    elem: impl Fn(u64) -> T,
) -> (OrSet<T>, Orswot<T, u128>) {
    let mut ours: Vec<OrSet<T>> = vec![OrSet::new(); 3];
    let mut theirs: Vec<Orswot<T, u128>> = vec![Orswot::new(); 3];
    for e in 0..m {
        let r = (e % 3) as usize;
        let _ = ours[r].insert(rid(r as u128 + 1), elem(e));
        let op = theirs[r].add(elem(e), theirs[r].read_ctx().derive_add_ctx(r as u128 + 1));
        theirs[r].apply(op);
    }
    let (mut o, mut t) = (ours.pop().expect("3"), theirs.pop().expect("3"));
    for (a, b) in ours.iter().zip(&theirs) {
        o.join_ref(a);
        t.merge(b.clone());
    }
    (o, t)
}

struct Row {
    name: String,
    ours: f64,
    theirs: f64,
}

/// The codec rows for deltas of a source of `m` elements: one insert (u64 and String) and one
/// remove of a one-dot element.
fn rows(m: u64) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |name: &str, ours: f64, theirs: f64| {
        rows.push(Row { name: format!("{name}, source of {m}"), ours, theirs })
    };

    let (mut set, oset) = sets(m, |e| e);
    let ins = set.insert(rid(PEER), 1 << 40);
    let add = oset.add(1 << 40, oset.read_ctx().derive_add_ctx(PEER));
    let rm = set.remove(rid(PEER), &5);
    let orm = oset.rm(5, oset.contains(&5).derive_rm_ctx());
    type Op = crdts::orswot::Op<u64, u128>;
    for (what, delta, op) in
        [("one insert delta, u64", &ins, &add), ("a one-element remove delta, u64", &rm, &orm)]
    {
        let theirs = per_op(|| drop(bincode::serialize(op).expect("encode")));
        push(&format!("encode {what} (wire::to_bytes)"), per_op(|| drop(wire::to_bytes(delta))), theirs);
        let (ob, tb) = (wire::to_bytes(delta), bincode::serialize(op).expect("encode"));
        push(
            &format!("decode {what} (validated)"),
            per_op(|| drop(wire::from_bytes::<OrSet<u64>>(&ob).expect("valid"))),
            per_op(|| drop(bincode::deserialize::<Op>(&tb).expect("decode"))),
        );
    }

    let (mut sset, soset) = sets(m, |e| format!("element-{e:08}"));
    let e = String::from("element-1099511627776");
    let sins = sset.insert(rid(PEER), e.clone());
    let sadd = soset.add(e, soset.read_ctx().derive_add_ctx(PEER));
    type SOp = crdts::orswot::Op<String, u128>;
    let theirs = per_op(|| drop(bincode::serialize(&sadd).expect("encode")));
    push("encode one insert delta, String (wire::to_bytes)", per_op(|| drop(wire::to_bytes(&sins))), theirs);
    let (ob, tb) = (wire::to_bytes(&sins), bincode::serialize(&sadd).expect("encode"));
    push(
        "decode one insert delta, String (validated)",
        per_op(|| drop(wire::from_bytes::<OrSet<String>>(&ob).expect("valid"))),
        per_op(|| drop(bincode::deserialize::<SOp>(&tb).expect("decode"))),
    );
    rows
}

#[test]
fn codec_allocations_at_or_below_crdts() {
    let rows: Vec<Row> = [1_000, 10_000].into_iter().flat_map(rows).collect();
    eprintln!("| operation | convergent allocs/op | crdts allocs/op |\n|---|---|---|");
    for r in &rows {
        eprintln!("| {} | {:.2} | {:.2} |", r.name, r.ours, r.theirs);
    }
    for r in &rows {
        assert!(r.ours <= r.theirs, "{}: {} allocations per op, crdts {}", r.name, r.ours, r.theirs);
    }
    // Exact: one allocation to encode (the output), none to decode a u64 insert (the element's
    // slot and the one-replica context are inline), none to decode a remove (no element), one
    // to decode a String insert (the String).
    let exact = |name: &str| rows.iter().find(|r| r.name.starts_with(name)).map(|r| r.ours);
    assert_eq!(exact("encode one insert delta, u64"), Some(1.0));
    assert_eq!(exact("encode a one-element remove delta, u64"), Some(1.0));
    assert_eq!(exact("encode one insert delta, String"), Some(1.0));
    assert_eq!(exact("decode one insert delta, u64"), Some(0.0));
    assert_eq!(exact("decode a one-element remove delta, u64"), Some(0.0));
    assert_eq!(exact("decode one insert delta, String"), Some(1.0));
}
