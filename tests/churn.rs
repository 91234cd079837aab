//! Replica-id churn (issue 14): the metadata every value keeps after wiped restarts, without
//! and with pruning of retired ids, and whether a fresh replica can still bootstrap from a
//! snapshot under the default limits.
//!
//! Without pruning every id ever minted stays in every context and version vector (~18 bytes per
//! churn). With pruning ([`Prune`]: the heir folds the old incarnation's contributions, every
//! replica purges its id) the metadata follows the 5 live replicas. The same churn through the
//! sync engine, with acknowledged retirement records, is `tests/pruning.rs`.
//!
//! `cargo test --release --all-features --test churn -- --ignored --nocapture` prints the figures
//! for 10^3 and 10^5 churns, before and after; the quick tests pin the growth without pruning at
//! 10^3 and the bound with pruning at 10^3 and 10^5.

use convergent::{CausalCounter, EwFlag, GCounter, OrSet, Prune, ReplicaId, wire};

/// A 5-replica cluster where, `churns` times, one replica is wiped and restarts under a new id:
/// it bootstraps from a survivor's snapshot and then writes once (the value is joined back into
/// the cluster at once, as a sync would). With `prune`, the incarnation it replaces is retired:
/// the lowest live id folds it, and the cluster purges it. Returns the encoded size of the
/// converged value and whether `wire::from_bytes` accepts it under the default limits.
fn churn<T>(churns: u64, prune: bool, write: impl Fn(&mut T, ReplicaId) -> T) -> (usize, bool)
where
    T: Prune + Clone + serde::Serialize + wire::Decode,
{
    let mut cluster: T = T::bottom();
    for n in 1..=churns {
        let id = ReplicaId::from_u128(u128::from(n));
        // The fresh replica bootstraps from a snapshot of the converged cluster and writes; the
        // cluster joins its delta: the same state as writing on the converged value itself.
        let _ = write(&mut cluster, id);
        // Ids n-4..=n are live; id n-5 was the incarnation that n replaced.
        if prune && n > 5 {
            let (old, heir) =
                (ReplicaId::from_u128(u128::from(n - 5)), ReplicaId::from_u128(u128::from(n - 4)));
            let _fold = cluster.fold(old, heir); // joined into the cluster already
            cluster.purge(old);
        }
    }
    let bytes = wire::to_bytes(&cluster);
    (bytes.len(), wire::from_bytes::<T>(&bytes).is_ok())
}

fn report(churns: u64, prune: bool) -> Vec<(&'static str, usize, bool)> {
    vec![
        ("EwFlag", churn::<EwFlag>(churns, prune, |f, r| f.enable(r))),
        ("CausalCounter", churn::<CausalCounter>(churns, prune, |c, r| c.increment(r, 1))),
        ("GCounter", churn::<GCounter>(churns, prune, |c, r| c.increment(r, 1))),
        ("OrSet<u8>", churn::<OrSet<u8>>(churns, prune, |s, r| s.insert(r, 1))),
    ]
    .into_iter()
    .map(|(n, (b, ok))| (n, b, ok))
    .collect()
}

/// Without pruning, a value's metadata grows with every id ever seen: ~18 bytes per churn (a
/// 16-byte id and its counter), whatever the live state.
#[test]
fn without_pruning_metadata_grows_with_every_churn() {
    for (name, bytes, ok) in report(1_000, false) {
        println!("{name}: {bytes} bytes after 10^3 churns, decodes under default limits: {ok}");
        assert!(bytes > 16 * 1_000, "{name}: {bytes} bytes");
        assert!(ok);
    }
}

/// With pruning, the metadata follows the 5 live replicas: the same size after 10^3 and 10^5
/// churns (up to the varint width of the event numbers), at most 5 ids of 16 bytes and their
/// counters.
#[test]
fn with_pruning_metadata_follows_the_live_replicas() {
    let small = report(1_000, true);
    let large = report(100_000, true);
    for ((name, a, ok_a), (_, b, ok_b)) in small.into_iter().zip(large) {
        println!("{name}: pruned, {a} bytes after 10^3 churns, {b} after 10^5");
        assert!(ok_a && ok_b);
        assert!(b <= 5 * 28, "{name}: {b} bytes after 10^5 churns");
        assert!(b <= a + 5 * 2, "{name}: {a} -> {b} bytes");
    }
}

#[test]
#[ignore = "measurement: 10^5 churns without pruning (run in release)"]
fn churn_figures() {
    for churns in [1_000, 100_000] {
        for ((name, before, ok_before), (_, after, ok_after)) in
            report(churns, false).into_iter().zip(report(churns, true))
        {
            println!(
                "{name}: {churns} churns: {before} bytes without pruning (decodes: {ok_before}), \
                 {after} with pruning (decodes: {ok_after})"
            );
        }
    }
}
