//! OR-Set benchmarks.
//!
//! * `set_join_delta/{insert,remove}/N`: joining ONE one-element delta (an insert of a new
//!   element, or a remove of one) into a set of N elements, N = 10^2 .. 10^6. The cost must
//!   follow the delta, not N. Deltas are made by another replica that has seen the whole set;
//!   each timed batch of 64 joins is undone (untimed) by the opposite deltas, so the set stays
//!   at N elements. Removed elements are picked at random, so their memory is cold.
//!   `hashset_{insert,remove}/N` do the same to a `hashbrown::HashSet<u64>`: the share of the
//!   growth with N that is the memory hierarchy's (cache and TLB misses), not the algorithm's.
//! * `set_merge/*`: full-state merges of 10 000 `u64` elements written by 3 replicas, beside
//!   `crdts::Orswot<u64, u64>` 7.3.2: two equal replicas, and two disjoint parts (6 668 elements
//!   by two replicas, 3 332 by the third) merged both ways. Clones are made outside the timing.
//!   `crdts` merges by value (it consumes the other side): `join` (by value) is the like-for-like
//!   figure, `join_ref` the one a user of this crate normally pays.
//!
//! Run: `cargo bench --bench set` (about two minutes).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use convergent::{Lattice, OrSet, ReplicaId};
use crdts::{CmRDT, CvRDT, Orswot};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use hashbrown::HashSet;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

fn rid(n: u64) -> ReplicaId {
    ReplicaId::from_u128(u128::from(n) + 1)
}

/// A set of the given elements, the k-th inserted by replica `replicas[k % len]` (one insert
/// call each), replicas merged.
fn ours(elems: impl Iterator<Item = u64>, replicas: &[u64]) -> OrSet<u64> {
    let mut reps: Vec<OrSet<u64>> = replicas.iter().map(|_| OrSet::new()).collect();
    for (k, e) in elems.enumerate() {
        let r = k % replicas.len();
        let _ = reps[r].insert(rid(replicas[r]), e);
    }
    reps.into_iter().fold(OrSet::new(), |mut acc, r| {
        acc.join(r);
        acc
    })
}

fn theirs(elems: impl Iterator<Item = u64>, replicas: &[u64]) -> Orswot<u64, u64> {
    let mut reps: Vec<Orswot<u64, u64>> = replicas.iter().map(|_| Orswot::new()).collect();
    for (k, e) in elems.enumerate() {
        let r = k % replicas.len();
        let ctx = reps[r].read_ctx().derive_add_ctx(replicas[r]);
        let op = reps[r].add(e, ctx);
        reps[r].apply(op);
    }
    reps.into_iter().fold(Orswot::new(), |mut acc, r| {
        acc.merge(r);
        acc
    })
}

/// Deltas per timed batch.
const CHUNK: usize = 64;

/// The state of the join-cost benchmark at one size.
struct Fixture {
    n: u64,
    /// The set of n elements.
    big: OrSet<u64>,
    /// Replica w's copy: it has seen all of `big` and makes the deltas.
    w_state: OrSet<u64>,
    w: ReplicaId,
    /// The baseline.
    plain: HashSet<u64>,
    rng: SmallRng,
    fresh: u64,
}

impl Fixture {
    fn fresh(&mut self) -> u64 {
        self.fresh += 1;
        self.fresh
    }

    /// `k` distinct random elements of `0..n`.
    fn existing(&mut self, k: usize) -> Vec<u64> {
        let mut v: Vec<u64> = Vec::with_capacity(k);
        while v.len() < k.min(self.n as usize) {
            let e = self.rng.gen_range(0..self.n);
            if !v.contains(&e) {
                v.push(e);
            }
        }
        v
    }
}

/// Runs `iters` timed steps in batches of `CHUNK`: `prepare` makes a batch (untimed), `timed`
/// applies it, `undo` restores the set's size (untimed).
fn batched<B>(
    f: &mut Fixture,
    iters: u64,
    prepare: impl Fn(&mut Fixture, usize) -> Vec<B>,
    timed: impl Fn(&mut Fixture, &B),
    undo: impl Fn(&mut Fixture, Vec<B>),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0u64;
    while done < iters {
        let batch = prepare(f, CHUNK.min((iters - done) as usize));
        let t = Instant::now();
        for b in &batch {
            timed(f, b);
        }
        total += t.elapsed();
        done += batch.len() as u64;
        undo(f, batch);
    }
    total
}

fn join_delta(c: &mut Criterion) {
    let mut g = c.benchmark_group("set_join_delta");
    g.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for exp in 2..=6u32 {
        let n = 10u64.pow(exp);
        let big = ours(0..n, &[0, 1, 2]);
        let mut f = Fixture {
            n,
            w_state: big.clone(),
            big,
            w: rid(7),
            plain: (0..n).collect(),
            rng: SmallRng::seed_from_u64(n),
            fresh: 1 << 40,
        };
        // Insert of a new element (undone by its remove).
        g.bench_function(BenchmarkId::new("insert", n), |b| {
            b.iter_custom(|iters| {
                batched(
                    &mut f,
                    iters,
                    |f, k| {
                        (0..k)
                            .map(|_| {
                                let e = f.fresh();
                                (e, f.w_state.insert(f.w, e))
                            })
                            .collect()
                    },
                    |f, (_, d)| {
                        black_box(f.big.join_ref(d));
                    },
                    |f, batch| {
                        for (e, _) in batch {
                            let d = f.w_state.remove(f.w, &e);
                            f.big.join(d);
                        }
                    },
                )
            });
        });
        // Remove of a random element present (undone by a re-insert).
        g.bench_function(BenchmarkId::new("remove", n), |b| {
            b.iter_custom(|iters| {
                batched(
                    &mut f,
                    iters,
                    |f, k| f.existing(k).into_iter().map(|e| (e, f.w_state.remove(f.w, &e))).collect(),
                    |f, (_, d)| {
                        black_box(f.big.join_ref(d));
                    },
                    |f, batch| {
                        for (e, _) in batch {
                            let d = f.w_state.insert(f.w, e);
                            f.big.join(d);
                        }
                    },
                )
            });
        });
        assert_eq!(f.big.len() as u64, n);
        assert!(f.big == f.w_state);

        // Baseline: the same inserts and removes on a plain hash set of the same size, to
        // separate the memory hierarchy's share of the growth from the algorithm's.
        g.bench_function(BenchmarkId::new("hashset_insert", n), |b| {
            b.iter_custom(|iters| {
                batched(
                    &mut f,
                    iters,
                    |f, k| (0..k).map(|_| f.fresh()).collect(),
                    |f, e| {
                        black_box(f.plain.insert(*e));
                    },
                    |f, batch| {
                        for e in batch {
                            f.plain.remove(&e);
                        }
                    },
                )
            });
        });
        g.bench_function(BenchmarkId::new("hashset_remove", n), |b| {
            b.iter_custom(|iters| {
                batched(
                    &mut f,
                    iters,
                    |f, k| f.existing(k),
                    |f, e| {
                        black_box(f.plain.remove(e));
                    },
                    |f, batch| f.plain.extend(batch),
                )
            });
        });
    }
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("set_merge");
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    const N: u64 = 10_000;
    const SPLIT: u64 = 6_668;
    let full = ours(0..N, &[0, 1, 2]);
    let full_c = theirs(0..N, &[0, 1, 2]);
    let big = ours(0..SPLIT, &[0, 1]);
    let big_c = theirs(0..SPLIT, &[0, 1]);
    let small = ours(SPLIT..N, &[2]);
    let small_c = theirs(SPLIT..N, &[2]);
    assert_eq!(big.clone().joined(small.clone()).len(), full.len());

    type Case<'a> = (&'a str, &'a OrSet<u64>, &'a OrSet<u64>, &'a Orswot<u64, u64>, &'a Orswot<u64, u64>);
    let cases: [Case<'_>; 3] = [
        ("equal_10000", &full, &full, &full_c, &full_c),
        ("disjoint_6668_with_3332", &big, &small, &big_c, &small_c),
        ("disjoint_3332_with_6668", &small, &big, &small_c, &big_c),
    ];
    for (name, a, b, ac, bc) in cases {
        g.bench_function(BenchmarkId::new("convergent_join_ref", name), |bench| {
            bench.iter_batched(
                || a.clone(),
                |mut x| {
                    black_box(x.join_ref(b));
                    x
                },
                BatchSize::SmallInput,
            );
        });
        g.bench_function(BenchmarkId::new("convergent_join", name), |bench| {
            bench.iter_batched(
                || (a.clone(), b.clone()),
                |(mut x, y)| {
                    black_box(x.join(y));
                    x
                },
                BatchSize::SmallInput,
            );
        });
        g.bench_function(BenchmarkId::new("crdts_merge", name), |bench| {
            bench.iter_batched(
                || (ac.clone(), bc.clone()),
                |(mut x, y)| {
                    x.merge(y);
                    x
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, join_delta, merge);
criterion_main!(benches);
