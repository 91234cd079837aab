//! Memory stays flat under churn: 10^6 add/remove cycles of the same few elements leave an
//! OR-Set (and an OR-Map of counters) no bigger than 10^4 cycles did, in heap bytes and in
//! encoded bytes. No tombstones: a remove leaves only its dot in the causal context, and a
//! context whose dots are contiguous is one range per replica.
//!
//! This binary holds one test so that the counting allocator sees nothing else.
#![cfg(feature = "serde")]

use std::alloc::System;

use convergent::{Lattice, OrMap, OrSet, PnCounter, ReplicaId, wire};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use testkit::Rng;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap bytes a clone of `x` holds (a clone allocates to size, so this is deterministic).
fn heap_of<T: Clone>(x: &T) -> usize {
    let region = Region::new(GLOBAL);
    let c = x.clone();
    let s = region.change();
    drop(c);
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

const REPLICAS: usize = 3;
const ELEMENTS: u64 = 8;

/// Three replicas churn the same elements: each step one replica inserts or removes an element
/// (with its current knowledge) and its delta reaches the others after a random delay, so the
/// contexts have gaps in between. At each checkpoint everything in flight is delivered.
struct Churn {
    ids: Vec<ReplicaId>,
    sets: Vec<OrSet<u64>>,
    maps: Vec<OrMap<u64, PnCounter>>,
    set_inbox: Vec<Vec<OrSet<u64>>>,
    map_inbox: Vec<Vec<OrMap<u64, PnCounter>>>,
    rng: Rng,
}

impl Churn {
    fn new() -> Self {
        Churn {
            ids: (1..=REPLICAS as u128).map(ReplicaId::from_u128).collect(),
            sets: vec![OrSet::new(); REPLICAS],
            maps: vec![OrMap::new(); REPLICAS],
            set_inbox: vec![Vec::new(); REPLICAS],
            map_inbox: vec![Vec::new(); REPLICAS],
            rng: Rng::new(1_000_000),
        }
    }

    /// One add/remove cycle: an insert (and an increment) of an element, then its remove, each
    /// by a random replica.
    fn cycle(&mut self) {
        let e = self.rng.range(0, ELEMENTS - 1);
        for remove in [false, true] {
            let r = self.rng.below(REPLICAS);
            let me = self.ids[r];
            let (ds, dm) = if remove {
                (self.sets[r].remove(me, &e), self.maps[r].remove(me, &e))
            } else {
                (self.sets[r].insert(me, e), self.maps[r].update(me, e, |q| q.increment(1)).0)
            };
            for j in (0..REPLICAS).filter(|&j| j != r) {
                self.set_inbox[j].push(ds.clone());
                self.map_inbox[j].push(dm.clone());
            }
            // Deliver a random part of one replica's inbox: merges at random points.
            let j = self.rng.below(REPLICAS);
            let keep = self.rng.below(self.set_inbox[j].len() + 1);
            for d in self.set_inbox[j].drain(keep..) {
                self.sets[j].join(d);
            }
            let keep = self.rng.below(self.map_inbox[j].len() + 1);
            for d in self.map_inbox[j].drain(keep..) {
                self.maps[j].join(d);
            }
        }
    }

    /// Delivers everything in flight and clears; returns (heap, encoded) bytes of the set and
    /// the map.
    fn settle(&mut self) -> [(usize, usize); 2] {
        for j in 0..REPLICAS {
            for d in std::mem::take(&mut self.set_inbox[j]) {
                self.sets[j].join(d);
            }
            for d in std::mem::take(&mut self.map_inbox[j]) {
                self.maps[j].join(d);
            }
        }
        for j in 1..REPLICAS {
            assert_eq!(self.sets[j], self.sets[0], "set replica {j} diverged");
            assert_eq!(self.maps[j], self.maps[0], "map replica {j} diverged");
        }
        // Measure what the history left behind: clear everything (at replica 0, delivered to
        // all), so that only the causal context remains.
        let me = self.ids[0];
        let ds = self.sets[0].clear(me);
        let dm = self.maps[0].clear(me);
        for j in 1..REPLICAS {
            self.sets[j].join_ref(&ds);
            self.maps[j].join_ref(&dm);
        }
        for j in 1..REPLICAS {
            assert_eq!(self.sets[j], self.sets[0], "set replica {j} diverged");
            assert_eq!(self.maps[j], self.maps[0], "map replica {j} diverged");
        }
        [
            (heap_of(&self.sets[0]), wire::encoded_len(&self.sets[0])),
            (heap_of(&self.maps[0]), wire::encoded_len(&self.maps[0])),
        ]
    }
}

#[test]
fn a_million_add_remove_cycles_leave_memory_flat() {
    let mut churn = Churn::new();
    let mut at = Vec::new();
    let mut done = 0u64;
    for checkpoint in [10_000u64, 100_000, 1_000_000] {
        while done < checkpoint {
            churn.cycle();
            done += 1;
        }
        at.push((checkpoint, churn.settle()));
    }
    for (n, [(sh, se), (mh, me)]) in &at {
        println!("{n:>9} cycles: OrSet heap {sh} B, encoded {se} B; OrMap heap {mh} B, encoded {me} B");
    }
    let [(sh0, se0), (mh0, me0)] = at[0].1;
    for (n, [(sh, se), (mh, me)]) in &at[1..] {
        // Encoded: event numbers grow 100x, so each replica's range end takes at most one more
        // varint byte; nothing else may grow.
        assert!(*se <= se0 + REPLICAS, "OrSet encoding grew from {se0} to {se} B after {n} cycles");
        assert!(*me <= me0 + 2 * REPLICAS, "OrMap encoding grew from {me0} to {me} B after {n} cycles");
        // Heap: no element left and one range per replica. Hash tables keep the capacity of
        // their largest live size (a clone too), so a table may have doubled once when the
        // random deliveries let more concurrent dots be live at one time; a tombstone per
        // cycle would instead grow the heap 100x between checkpoints.
        assert!(*sh <= sh0 + sh0 / 2, "OrSet heap grew from {sh0} to {sh} B after {n} cycles");
        assert!(*mh <= mh0 + mh0 / 2, "OrMap heap grew from {mh0} to {mh} B after {n} cycles");
    }
    // Not vacuous: the history is in the contexts (the states are not bottom) but not in memory.
    assert!(!churn.sets[0].is_bottom() && !churn.maps[0].is_bottom());
    assert!(churn.sets[0].is_empty() && churn.maps[0].is_empty());
}
