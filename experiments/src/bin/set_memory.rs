//! Memory and encoded size per element of an add-wins set, beside `crdts::Orswot` 7.3.2.
//!
//! The workload: 10 000 `u64` elements (0..10 000), each inserted by one of 3 replicas (element
//! `i` by replica `i % 3`, one insert call per element), then the three replicas merged into
//! one. Memory is what stays allocated on the heap for the merged set, counted by a counting
//! global allocator (`stats_alloc`) around the whole build (so it includes the spare capacity the
//! build left), after every other replica and delta was dropped; plus the value's inline size.
//! The same figure is given for a clone, whose vectors are allocated to size.
//!
//! Run: `cargo run --release -p experiments --bin set_memory`; the figures are quoted in
//! `docs/performance.md`.

use std::alloc::System;
use std::hint::black_box;

use convergent::{Lattice, OrSet, ReplicaId};
use crdts::{CmRDT, CvRDT, Orswot};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: u64 = 10_000;
const REPLICAS: u64 = 3;

/// Heap bytes still allocated that `f` allocated, with `f`'s result.
fn live_heap<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let region = Region::new(GLOBAL);
    let r = f();
    let s = region.change();
    // stats_alloc counts the growth of a realloc as allocated and a shrink as deallocated.
    (r, s.bytes_allocated.saturating_sub(s.bytes_deallocated))
}

fn build_ours() -> OrSet<u64> {
    let mut reps: Vec<OrSet<u64>> = (0..REPLICAS).map(|_| OrSet::new()).collect();
    for i in 0..N {
        let r = i % REPLICAS;
        let _ = reps[r as usize].insert(ReplicaId::from_u128(u128::from(r) + 1), i);
    }
    let mut it = reps.into_iter();
    let mut all = it.next().expect("3 replicas");
    for other in it {
        all.join(other);
    }
    all
}

fn build_crdts() -> Orswot<u64, u64> {
    let mut reps: Vec<Orswot<u64, u64>> = (0..REPLICAS).map(|_| Orswot::new()).collect();
    for i in 0..N {
        let r = (i % REPLICAS) as usize;
        let ctx = reps[r].read_ctx().derive_add_ctx(r as u64);
        let op = reps[r].add(i, ctx);
        reps[r].apply(op);
    }
    let mut it = reps.into_iter();
    let mut all = it.next().expect("3 replicas");
    for other in it {
        all.merge(other);
    }
    all
}

fn per_element(bytes: usize) -> f64 {
    bytes as f64 / N as f64
}

fn main() {
    let (ours, ours_heap) = live_heap(build_ours);
    let (ours_clone, ours_clone_heap) = live_heap(|| black_box(&ours).clone());
    let (theirs, theirs_heap) = live_heap(build_crdts);
    let (theirs_clone, theirs_clone_heap) = live_heap(|| black_box(&theirs).clone());
    assert_eq!(ours.len() as u64, N);
    assert_eq!(theirs.read().val.len() as u64, N);
    assert_eq!(ours_clone, ours);
    drop(theirs_clone);

    let ours_total = ours_heap + size_of::<OrSet<u64>>();
    let theirs_total = theirs_heap + size_of::<Orswot<u64, u64>>();
    println!("{N} u64 elements inserted by {REPLICAS} replicas, merged into one");
    println!();
    println!("memory per element (heap + inline)      as built   clone");
    println!(
        "  convergent::OrSet<u64>               {:>8.1} B {:>6.1} B",
        per_element(ours_total),
        per_element(ours_clone_heap + size_of::<OrSet<u64>>())
    );
    println!(
        "  crdts::Orswot<u64, u64> 7.3.2         {:>8.1} B {:>6.1} B",
        per_element(theirs_total),
        per_element(theirs_clone_heap + size_of::<Orswot<u64, u64>>())
    );

    let ours_wire = {
        use bincode::Options;
        let ours_wire = convergent::wire::encoded_len(&ours);
        let back: OrSet<u64> =
            convergent::wire::from_bytes(&convergent::wire::to_bytes(&ours)).expect("decodes");
        assert_eq!(back, ours);
        let theirs_bincode = bincode::DefaultOptions::new().serialize(&theirs).expect("encodes").len();
        let theirs_json = serde_json::to_vec(&theirs).expect("encodes").len();
        println!();
        println!("encoded size per element");
        println!("  convergent (postcard, wire::to_bytes)  {:>6.2} B", per_element(ours_wire));
        println!("  crdts (bincode, varint)                {:>6.2} B", per_element(theirs_bincode));
        println!("  crdts (serde_json)                     {:>6.2} B", per_element(theirs_json));
        ours_wire
    };

    // The targets the set was built to (docs/performance.md).
    assert!(per_element(ours_total) <= 64.0, "memory target: at most 64 B per element");
    assert!(per_element(ours_wire) <= 6.0, "size target: at most 6 B per element");
}
