//! What the digest handshake costs, counted (allocations and bytes from a counting allocator,
//! deterministic) at two sizes of state: taking a neighbour's digest costs the digest, not the
//! state; the answer sends what is missing, not the state, but computing it scans (and
//! allocates in proportion to) the state.
//!
//! This binary holds one test so that the counting allocator sees nothing else.
#![cfg(feature = "serde")]

use std::alloc::System;

use convergent::sync::{Digest, Message, Mode, SyncEngine};
use convergent::{OrSet, ReplicaId};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

struct Cost {
    take_allocs: usize,
    take_bytes: usize,
    answer_bytes_allocated: usize,
    answer_bytes_sent: usize,
}

/// `n` elements on the sender, a peer holding all but the last 10 updates.
fn cost(n: u64) -> Cost {
    let (a, b) = (r(1), r(2));
    let mut full = OrSet::new();
    for i in 0..n {
        let _ = full.insert(a, i);
    }
    let held = full.clone();
    for i in 0..10 {
        let _ = full.insert(a, n + i);
    }
    let mut x = SyncEngine::restore(a, Mode::DeltaBpRr, full, 7).unwrap().with_digest_handshake();
    x.add_neighbour(b);
    let digest = Message::Digest { digest: held.digest(), asks_back: true };
    let region = Region::new(GLOBAL);
    x.on_message(b, digest).unwrap();
    let take = region.change();
    let region = Region::new(GLOBAL);
    let out = x.poll_envelope_bytes();
    let answer = region.change();
    let sent: usize = out.iter().map(|(_, b)| b.len()).sum();
    Cost {
        take_allocs: take.allocations,
        take_bytes: take.bytes_allocated,
        answer_bytes_allocated: answer.bytes_allocated,
        answer_bytes_sent: sent,
    }
}

#[test]
fn a_digest_costs_the_digest_to_take_and_the_missing_updates_to_send() {
    let (small, large) = (cost(1_000), cost(10_000));
    for (n, c) in [(1_000, &small), (10_000, &large)] {
        eprintln!(
            "n = {n}: take {} allocations / {} bytes; answer sends {} bytes, allocates {} bytes",
            c.take_allocs, c.take_bytes, c.answer_bytes_sent, c.answer_bytes_allocated
        );
    }
    // Taking a digest: independent of the state.
    assert_eq!(small.take_allocs, large.take_allocs);
    assert_eq!(small.take_bytes, large.take_bytes);
    // The answer sent: the 10 missing inserts (and this replica's digest), not the state.
    assert_eq!(small.answer_bytes_sent, large.answer_bytes_sent);
    assert!(large.answer_bytes_sent < 400, "{}", large.answer_bytes_sent);
    // Computing it scans the state: the allocation grows with it (where we are not O(output)).
    assert!(large.answer_bytes_allocated > 5 * small.answer_bytes_allocated);
}
