//! Operation, join and encoding benchmarks, side by side with the `crdts` crate 7.3.2 where both
//! have the type (G-Counter, PN-Counter, LWW register, OR-Set = `Orswot`, map = `crdts::Map` of
//! `MVReg` or of `Orswot`). Seeded, deterministic inputs; `crdts` actors are `u128`, the size of
//! our UUID replica ids. `cargo bench --bench ops` (a few minutes).
//!
//! * `*/op`: one local operation. Ours returns a delta; crdts' is "make the op, apply it".
//!   On large states the operation is undone after each batch of 64 (untimed), so the state
//!   keeps its size and nothing large is cloned per iteration.
//! * `*/join`: one update from a peer that has seen everything, as `join(state, delta)` (crdts:
//!   `apply(op)`, its equivalent) against `join(state, state)` with the peer's whole state
//!   (crdts: `merge`, which takes the other state by value; its clone is untimed). The delta
//!   join follows the delta; the state join follows the state.
//! * `encoding/*`: encode and validated decode of 10 000-element states and of one-update
//!   deltas, against crdts' state and op through bincode; byte counts are printed once.
#![allow(missing_docs)] // criterion_group! generates undocumented items

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{ME, PEER, crdts_map_write, gcounters, mv_maps};
use convergent::{
    CausalCounter, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId,
    Timestamp, wire,
};
use crdts::{CmRDT, CvRDT, Orswot};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};

fn ids(n: usize) -> Vec<ReplicaId> {
    (0..n as u128).map(|i| ReplicaId::from_u128(i + 1)).collect()
}

fn counters(c: &mut Criterion) {
    let mut g = c.benchmark_group("gcounter/increment");
    for n in [16usize, 256] {
        let (ours, theirs) = gcounters(n);
        let me = ReplicaId::from_u128(1);
        g.bench_with_input(BenchmarkId::new("convergent (delta)", n), &n, |b, _| {
            b.iter_batched_ref(|| ours.clone(), |s| black_box(s.increment(me, 1)), BatchSize::SmallInput)
        });
        g.bench_with_input(BenchmarkId::new("crdts (op)", n), &n, |b, _| {
            b.iter_batched_ref(
                || theirs.clone(),
                |s| {
                    let op = s.inc(1);
                    s.apply(op)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("gcounter/join");
    for n in [16usize, 256] {
        let (ours, theirs) = gcounters(n);
        let mut other = ours.clone();
        let delta = other.increment(ReplicaId::from_u128(1), 1_000);
        g.bench_with_input(BenchmarkId::new("convergent join(state, delta)", n), &n, |b, _| {
            b.iter_batched_ref(|| ours.clone(), |s| s.join_ref(&delta), BatchSize::SmallInput)
        });
        g.bench_with_input(BenchmarkId::new("convergent join(state, state)", n), &n, |b, _| {
            b.iter_batched_ref(|| ours.clone(), |s| s.join_ref(&other), BatchSize::SmallInput)
        });
        let mut theirs_other = theirs.clone();
        theirs_other.apply(theirs_other.inc_many(1, 1_000));
        g.bench_with_input(BenchmarkId::new("crdts merge(state, state)", n), &n, |b, _| {
            b.iter_batched_ref(|| theirs.clone(), |s| s.merge(theirs_other.clone()), BatchSize::SmallInput)
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pncounter/decrement");
    let me = ReplicaId::from_u128(1);
    let mut ours = PnCounter::new();
    let mut theirs = crdts::PNCounter::new();
    for (i, r) in ids(16).into_iter().enumerate() {
        let _ = ours.increment(r, 10);
        let _ = ours.decrement(r, 3);
        theirs.apply(theirs.inc_many(i as u128 + 1, 10));
        theirs.apply(theirs.dec_many(i as u128 + 1, 3));
    }
    g.bench_function("convergent (delta)", |b| {
        b.iter_batched_ref(|| ours.clone(), |s| black_box(s.decrement(me, 1)), BatchSize::SmallInput)
    });
    g.bench_function("crdts (op)", |b| {
        b.iter_batched_ref(
            || theirs.clone(),
            |s| {
                let op = s.dec(1);
                s.apply(op)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn registers(c: &mut Criterion) {
    let mut g = c.benchmark_group("lww/write+join");
    let me = ReplicaId::from_u128(1);
    let mut base = LwwRegister::new();
    let _ = base.write(me, Timestamp::from_parts(1_000, 0), "a fairly ordinary title".to_string());
    g.bench_function("convergent", |b| {
        b.iter_batched_ref(
            || (base.clone(), base.clone()),
            |(s, t)| {
                let d = s.write(me, Timestamp::from_parts(2_000, 0), "new title".to_string());
                t.join(d)
            },
            BatchSize::SmallInput,
        )
    });
    let theirs = crdts::LWWReg { val: "a fairly ordinary title".to_string(), marker: 1_000u64 };
    g.bench_function("crdts", |b| {
        b.iter_batched_ref(
            || (theirs.clone(), theirs.clone()),
            |(s, t)| {
                s.update("new title".to_string(), 2_000);
                t.merge(s.clone())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("gcounter/encode+decode");
    for n in [16usize, 256] {
        let (ours, theirs) = gcounters(n);
        g.bench_with_input(BenchmarkId::new("convergent postcard (validated)", n), &n, |b, _| {
            b.iter(|| {
                let bytes = wire::to_bytes(&ours);
                wire::from_bytes::<GCounter>(&bytes).expect("valid")
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts bincode", n), &n, |b, _| {
            b.iter(|| {
                let bytes = bincode::serialize(&theirs).expect("encode");
                bincode::deserialize::<crdts::GCounter<u128>>(&bytes).expect("decode")
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Helpers for benchmarks on large states: a timed operation is undone (untimed) after each batch
// of 64, so the state keeps its size, and no large state is cloned per iteration.

const BATCH: u64 = 64;

/// Runs `iters` timed calls in batches of [`BATCH`], each on a fresh key (`next`, `next + 1`,
/// ...): per batch, `prepare` makes the batch's inputs (untimed), `timed` runs on each (timed,
/// its result kept from the optimizer), then `after` takes each input back (untimed). Returns
/// the timed total.
fn batched<S, X, R>(
    iters: u64,
    state: &mut S,
    next: &mut u64,
    mut prepare: impl FnMut(&mut S, u64) -> X,
    mut timed: impl FnMut(&mut S, &mut X) -> R,
    mut after: impl FnMut(&mut S, X),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let k = BATCH.min(iters - done);
        let mut inputs: Vec<X> = (*next..*next + k).map(|key| prepare(state, key)).collect();
        *next += k;
        let t = Instant::now();
        for x in &mut inputs {
            black_box(timed(state, x));
        }
        total += t.elapsed();
        for x in inputs {
            after(state, x);
        }
        done += k;
    }
    total
}

/// [`batched`] of an operation on each fresh key, undone after each batch (untimed).
fn undone<S>(
    iters: u64,
    state: &mut S,
    next: &mut u64,
    mut timed: impl FnMut(&mut S, u64),
    mut undo: impl FnMut(&mut S, u64),
) -> Duration {
    batched(iters, state, next, |_, key| key, |s, &mut key| timed(s, key), |s, key| undo(s, key))
}

/// `join(state, state)` of ours against crdts' `merge(state, state)` on states of size `m`: a
/// replica takes in a peer's whole state (crdts' `merge` takes it by value: cloned untimed).
fn state_joins<O: Lattice + Clone, T: CvRDT + Clone>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    m: u64,
    (ours, ours_peer): (&O, &O),
    (theirs, theirs_peer): (&T, &T),
) {
    g.bench_with_input(BenchmarkId::new("convergent join(state, state)", m), &m, |b, _| {
        b.iter_batched_ref(|| ours.clone(), |s| s.join_ref(ours_peer), BatchSize::LargeInput)
    });
    g.bench_with_input(BenchmarkId::new("crdts merge(state, state)", m), &m, |b, _| {
        b.iter_batched(
            || (theirs.clone(), theirs_peer.clone()),
            |(mut s, p)| {
                s.merge(p);
                s
            },
            BatchSize::LargeInput,
        )
    });
}

type TheirSetMap = crdts::Map<u64, Orswot<u64, u128>, u128>;

/// A map of `m` keys to OR-Sets of one element each, key k written by replica `k % 3`.
fn set_maps(m: u64) -> (OrMap<u64, OrSet<u64>>, TheirSetMap) {
    let mut ours: Vec<OrMap<u64, OrSet<u64>>> = (0..3).map(|_| OrMap::new()).collect();
    let mut theirs: Vec<TheirSetMap> = (0..3).map(|_| crdts::Map::new()).collect();
    for k in 0..m {
        let r = (k % 3) as usize;
        let _ = ours[r].update(ReplicaId::from_u128(r as u128 + 1), k, |s| s.insert(k));
        let ctx = theirs[r].read_ctx().derive_add_ctx(r as u128 + 1);
        let op = theirs[r].update(k, ctx, |s, ctx| s.add(k, ctx));
        theirs[r].apply(op);
    }
    let ours = ours.into_iter().fold(OrMap::new(), Lattice::joined);
    let theirs = theirs.into_iter().fold(crdts::Map::new(), |mut a, b| {
        a.merge(b);
        a
    });
    (ours, theirs)
}

fn set_ops(c: &mut Criterion) {
    let me = ReplicaId::from_u128(ME);
    let mut g = c.benchmark_group("orset/op");
    for m in [1_000u64, 100_000] {
        let (ours, theirs) = common::sets(m, |e| e);
        let fresh = 1 << 40;
        g.bench_with_input(BenchmarkId::new("convergent insert (delta)", m), &m, |b, _| {
            let (mut s, mut next) = (ours.clone(), fresh);
            b.iter_custom(|iters| {
                undone(
                    iters,
                    &mut s,
                    &mut next,
                    |s, e| drop(black_box(s.insert(me, e))),
                    |s, e| drop(s.remove(me, &e)),
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts add (op + apply)", m), &m, |b, _| {
            let (mut s, mut next) = (theirs.clone(), fresh);
            b.iter_custom(|iters| {
                undone(
                    iters,
                    &mut s,
                    &mut next,
                    |s, e| {
                        let op = s.add(e, s.read_ctx().derive_add_ctx(ME));
                        s.apply(op);
                    },
                    |s, e| {
                        let op = s.rm(e, s.contains(&e).derive_rm_ctx());
                        s.apply(op);
                    },
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("convergent remove (delta)", m), &m, |b, _| {
            let (mut s, mut next) = (ours.clone(), fresh);
            // Insert untimed first, then time the removes.
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |s, e| {
                        let _ = s.insert(me, e);
                        e
                    },
                    |s, &mut e| drop(black_box(s.remove(me, &e))),
                    |_, _| {},
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts rm (op + apply)", m), &m, |b, _| {
            let (mut s, mut next) = (theirs.clone(), fresh);
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |s, e| {
                        let op = s.add(e, s.read_ctx().derive_add_ctx(ME));
                        s.apply(op);
                        e
                    },
                    |s, &mut e| {
                        let op = s.rm(e, s.contains(&e).derive_rm_ctx());
                        s.apply(op);
                    },
                    |_, _| {},
                )
            })
        });
    }
    g.finish();
}

fn set_joins(c: &mut Criterion) {
    let peer = ReplicaId::from_u128(PEER);
    let mut g = c.benchmark_group("orset/join");
    for m in [100u64, 10_000, 100_000] {
        let (ours, theirs) = common::sets(m, |e| e);
        let fresh = 1 << 40;
        // One new element from a peer that has seen everything: as a delta (an op for crdts),
        // and as the peer's whole state.
        g.bench_with_input(BenchmarkId::new("convergent join(state, delta)", m), &m, |b, _| {
            let (mut s, mut src, mut next) = (ours.clone(), ours.clone(), fresh);
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |_, e| (src.insert(peer, e), src.remove(peer, &e)),
                    |s, (ins, _)| s.join_ref(ins),
                    |s, (_, rm)| {
                        s.join_ref(&rm);
                    },
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts apply(op)", m), &m, |b, _| {
            let (mut s, mut src, mut next) = (theirs.clone(), theirs.clone(), fresh);
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |_, e| {
                        let add = src.add(e, src.read_ctx().derive_add_ctx(PEER));
                        src.apply(add.clone());
                        let rm = src.rm(e, src.contains(&e).derive_rm_ctx());
                        src.apply(rm.clone());
                        (add, rm)
                    },
                    |s, (add, _)| s.apply(add.clone()),
                    |s, (_, rm)| s.apply(rm),
                )
            })
        });
        let mut ours_peer = ours.clone();
        let _ = ours_peer.insert(peer, fresh);
        let mut theirs_peer = theirs.clone();
        theirs_peer.apply(theirs_peer.add(fresh, theirs_peer.read_ctx().derive_add_ctx(PEER)));
        state_joins(&mut g, m, (&ours, &ours_peer), (&theirs, &theirs_peer));
    }
    g.finish();
}

fn map_ops(c: &mut Criterion) {
    let me = ReplicaId::from_u128(ME);
    let peer = ReplicaId::from_u128(PEER);
    let mut g = c.benchmark_group("ormap_mvreg/op");
    for m in [1_000u64, 100_000] {
        let (ours, theirs) = mv_maps(m);
        // Overwrite an existing key (cycling through the keys): the map keeps its size.
        g.bench_with_input(BenchmarkId::new("convergent update (delta)", m), &m, |b, _| {
            let (mut s, mut k) = (ours.clone(), 0u64);
            b.iter(|| {
                k = (k + 1) % m;
                black_box(s.update(me, k, |r| r.write(k)))
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts update (op + apply)", m), &m, |b, _| {
            let (mut s, mut k) = (theirs.clone(), 0u64);
            b.iter(|| {
                k = (k + 1) % m;
                crdts_map_write(&mut s, ME, k, k)
            })
        });
        g.bench_with_input(BenchmarkId::new("convergent remove (delta)", m), &m, |b, _| {
            let (mut s, mut next) = (ours.clone(), 0);
            b.iter_custom(|iters| {
                undone(
                    iters,
                    &mut s,
                    &mut next,
                    |s, k| drop(black_box(s.remove(me, &(k % m)))),
                    |s, k| drop(s.update(me, k % m, |r| r.write(k))),
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts rm (op + apply)", m), &m, |b, _| {
            let (mut s, mut next) = (theirs.clone(), 0);
            b.iter_custom(|iters| {
                undone(
                    iters,
                    &mut s,
                    &mut next,
                    |s, k| {
                        let op = s.rm(k % m, s.get(&(k % m)).derive_rm_ctx());
                        s.apply(op);
                    },
                    |s, k| drop(crdts_map_write(s, ME, k % m, k)),
                )
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("ormap_mvreg/join");
    for m in [100u64, 10_000, 100_000] {
        let (ours, theirs) = mv_maps(m);
        // A peer that has seen everything overwrites one key: delta (op) against its whole state.
        g.bench_with_input(BenchmarkId::new("convergent join(state, delta)", m), &m, |b, _| {
            let (mut s, mut src, mut next) = (ours.clone(), ours.clone(), 0u64);
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |_, k| {
                        let k = (k + 1) % m;
                        src.update(peer, k, |r| r.write(k)).0
                    },
                    |s, d| s.join_ref(d),
                    |_, _| {},
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("crdts apply(op)", m), &m, |b, _| {
            let (mut s, mut src, mut next) = (theirs.clone(), theirs.clone(), 0u64);
            b.iter_custom(|iters| {
                batched(
                    iters,
                    &mut s,
                    &mut next,
                    |_, k| {
                        let k = (k + 1) % m;
                        Some(crdts_map_write(&mut src, PEER, k, k))
                    },
                    // The op moved out and applied by value (no clone timed).
                    |s, op| s.apply(op.take().expect("applied once")),
                    |_, _| {},
                )
            })
        });
        let mut ours_peer = ours.clone();
        let _ = ours_peer.update(peer, 0, |r| r.write(7));
        let mut theirs_peer = theirs.clone();
        let _ = crdts_map_write(&mut theirs_peer, PEER, 0, 7);
        state_joins(&mut g, m, (&ours, &ours_peer), (&theirs, &theirs_peer));
    }
    g.finish();

    let mut g = c.benchmark_group("ormap_orset/update");
    let m = 10_000u64;
    let (ours, theirs) = set_maps(m);
    let fresh = 1 << 40;
    // Insert a new element into an existing key's set; removed again untimed.
    g.bench_with_input(BenchmarkId::new("convergent insert in key (delta)", m), &m, |b, _| {
        let (mut s, mut next) = (ours.clone(), fresh);
        b.iter_custom(|iters| {
            undone(
                iters,
                &mut s,
                &mut next,
                |s, e| drop(black_box(s.update(me, e % m, |set| set.insert(e)))),
                |s, e| drop(s.update(me, e % m, |set| set.remove(&e))),
            )
        })
    });
    g.bench_with_input(BenchmarkId::new("crdts insert in key (op + apply)", m), &m, |b, _| {
        let (mut s, mut next) = (theirs.clone(), fresh);
        b.iter_custom(|iters| {
            undone(
                iters,
                &mut s,
                &mut next,
                |s, e| {
                    let op = s.update(e % m, s.read_ctx().derive_add_ctx(ME), |set, ctx| set.add(e, ctx));
                    s.apply(op);
                },
                |s, e| {
                    let op = s.update(e % m, s.read_ctx().derive_add_ctx(ME), |set, _| {
                        set.rm(e, set.contains(&e).derive_rm_ctx())
                    });
                    s.apply(op);
                },
            )
        })
    });
    g.finish();
}

fn causal_registers(c: &mut Criterion) {
    let me = ReplicaId::from_u128(ME);
    let mut g = c.benchmark_group("mvreg/write");
    for n in [1u128, 16] {
        // n concurrent values (one per replica), merged; the write overwrites them all.
        let mut ours = MvRegister::new();
        let mut theirs: crdts::MVReg<u64, u128> = crdts::MVReg::new();
        for r in 1..=n {
            let mut o = MvRegister::new();
            let _ = o.write(ReplicaId::from_u128(r), r as u64);
            ours.join(o);
            let mut t: crdts::MVReg<u64, u128> = crdts::MVReg::new();
            t.apply(t.write(r as u64, t.read_ctx().derive_add_ctx(r)));
            theirs.merge(t);
        }
        g.bench_with_input(BenchmarkId::new("convergent (delta)", n), &n, |b, _| {
            b.iter_batched_ref(|| ours.clone(), |s| black_box(s.write(me, 99)), BatchSize::SmallInput)
        });
        g.bench_with_input(BenchmarkId::new("crdts (op + apply)", n), &n, |b, _| {
            b.iter_batched_ref(
                || theirs.clone(),
                |s| {
                    let op = s.write(99, s.read_ctx().derive_add_ctx(ME));
                    s.apply(op)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("ewflag");
    let mut flag = EwFlag::new();
    for r in 1..=16 {
        let mut f = EwFlag::new();
        let _ = f.enable(ReplicaId::from_u128(r));
        flag.join(f);
    }
    g.bench_function("convergent enable (16 enables, delta)", |b| {
        b.iter_batched_ref(|| flag.clone(), |f| black_box(f.enable(me)), BatchSize::SmallInput)
    });
    g.bench_function("convergent disable (16 enables, delta)", |b| {
        b.iter_batched_ref(|| flag.clone(), |f| black_box(f.disable(me)), BatchSize::SmallInput)
    });
    g.finish();

    let mut g = c.benchmark_group("ccounter/increment");
    let mut cc = CausalCounter::new();
    for r in 1..=16 {
        let _ = cc.increment(ReplicaId::from_u128(r), 3);
    }
    g.bench_function("convergent (16 replicas, delta)", |b| {
        b.iter_batched_ref(|| cc.clone(), |c| black_box(c.increment(me, 1)), BatchSize::SmallInput)
    });
    g.finish();
}

/// Encode and decode (validated) of full states and one-element deltas, against crdts' state
/// and op through bincode. Prints the byte counts once.
fn state_encoding(c: &mut Criterion) {
    let m = 10_000u64;
    let (set, oset) = common::sets(m, |e| e);
    let mut src = set.clone();
    let delta = src.insert(ReplicaId::from_u128(PEER), 1 << 40);
    let op = oset.add(1 << 40, oset.read_ctx().derive_add_ctx(PEER));
    let (map, omap) = mv_maps(m);
    let mut msrc = map.clone();
    let mdelta = msrc.update(ReplicaId::from_u128(PEER), 5, |r| r.write(7));
    let mut omsrc = omap.clone();
    let mop = crdts_map_write(&mut omsrc, PEER, 5, 7);

    fn pair<O, T>(c: &mut Criterion, name: &str, ours: &O, theirs: &T)
    where
        O: wire::Decode,
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let ob = wire::to_bytes(ours);
        let tb = bincode::serialize(theirs).expect("encode");
        eprintln!("bytes {name}: convergent {} B, crdts bincode {} B", ob.len(), tb.len());
        let mut g = c.benchmark_group(name);
        g.throughput(criterion::Throughput::Elements(1));
        g.bench_function("convergent encode", |b| b.iter(|| wire::to_bytes(black_box(ours))));
        g.bench_function("convergent decode (validated)", |b| {
            b.iter(|| wire::from_bytes::<O>(black_box(&ob)).expect("valid"))
        });
        g.bench_function("crdts bincode encode", |b| {
            b.iter(|| bincode::serialize(black_box(theirs)).expect("encode"))
        });
        g.bench_function("crdts bincode decode", |b| {
            b.iter(|| bincode::deserialize::<T>(black_box(&tb)).expect("decode"))
        });
        g.finish();
    }
    pair(c, "encoding/orset state 10k", &set, &oset);
    pair(c, "encoding/orset insert delta", &delta, &op);
    pair(c, "encoding/ormap_mvreg state 10k", &map, &omap);
    pair(c, "encoding/ormap_mvreg update delta", &mdelta, &mop);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = counters, registers, encoding, set_ops, set_joins, map_ops, causal_registers, state_encoding
}
criterion_main!(benches);
