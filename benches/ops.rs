//! Operation, join and encoding benchmarks, side by side with the `crdts` crate 7.3.2 where both
//! have the type. Seeded inputs; `cargo bench --bench ops`.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::time::Duration;

use convergent::{GCounter, Lattice, LwwRegister, PnCounter, ReplicaId, Timestamp, wire};
use crdts::{CmRDT, CvRDT};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn ids(n: usize) -> Vec<ReplicaId> {
    (0..n as u128).map(|i| ReplicaId::from_u128(i + 1)).collect()
}

/// A G-Counter incremented by each of `n` replicas, ours and crdts'.
fn gcounters(n: usize) -> (GCounter, crdts::GCounter<u128>) {
    let mut ours = GCounter::new();
    let mut theirs = crdts::GCounter::new();
    for (i, r) in ids(n).into_iter().enumerate() {
        let _ = ours.increment(r, i as u64 + 1);
        theirs.apply(theirs.inc_many(i as u128 + 1, i as u64 + 1));
    }
    (ours, theirs)
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

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = counters, registers, encoding }
criterion_main!(benches);
